"""`deid vault lookup|export`: the honest broker's side of the vault."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from ..printable import display
from . import vault_app
from .common import FOUND, console, fail, out


@vault_app.command("lookup")
def vault_lookup(
    file: Path = typer.Argument(..., help="The vault (deid run --vault)."),
    vault_key_file: Optional[Path] = typer.Option(None, "--vault-key-file", help="Else DEID_VAULT_KEY."),
    pseudonym: Optional[str] = typer.Option(
        None, "--pseudonym", help="Print the original of this pseudonym ('-': read it from stdin)."
    ),
    original: Optional[str] = typer.Option(
        None,
        "--original",
        help="Print the pseudonym of this original "
        "('-': read it from stdin, so it is not in `ps` or the shell history).",
    ),
    kind: Optional[str] = typer.Option(None, "--kind", help="patient-id, uid or accession (default: any)."),
) -> None:
    """Print the other side of a mapping, one per line. Exit 0 found, 1 not found, 2 no vault
    or a wrong key. It prints an original value when asked: run it only where that is allowed."""
    from ..vault import KINDS, open_to_read

    if (pseudonym is None) == (original is None):
        fail("give one of --pseudonym or --original")
    if kind is not None and kind not in KINDS:
        fail(f"--kind must be one of {', '.join(KINDS)}")
    if "-" in (original, pseudonym):
        value = _stdin_value()
        original, pseudonym = (value, None) if original == "-" else (None, value)
    with open_to_read(file, vault_key_file) as v:
        found = v.lookup(original=original, pseudonym=pseudonym, kind=kind)
    if not found:
        console.print("not found")
        raise typer.Exit(FOUND)
    for _kind, orig, pseud in found:
        typer.echo(display(pseud if original is not None else orig))


def _stdin_value() -> str:
    """One value from stdin (typed without echo at a terminal): never in argv."""
    if sys.stdin.isatty():
        import getpass

        value = getpass.getpass("value: ").strip()
    else:
        value = sys.stdin.readline().strip()
    if not value:
        fail("'-' reads the value from stdin, which gave none")
    return value


@vault_app.command("export")
def vault_export(
    file: Path = typer.Argument(..., help="The vault (deid run --vault)."),
    vault_key_file: Optional[Path] = typer.Option(None, "--vault-key-file", help="Else DEID_VAULT_KEY."),
    fmt: str = typer.Option(
        "midi-b",
        "--format",
        help="midi-b: uid_mapping.csv and patid_mapping.csv (id_old,"
        "id_new); csv: vault_mapping.csv (kind,id_old,id_new).",
    ),
    dest: Path = typer.Option(..., "--out", help="Folder for the CSV files (mode 0600: they hold originals)."),
) -> None:
    """Write the vault's mappings as CSV, for an honest broker or the MIDI-B validation script."""
    from ..vault import export, open_to_read

    with open_to_read(file, vault_key_file) as v:
        written = export(v, fmt, dest)
    for path, n in written.items():
        out.print(f"{display(str(path))}: {n} rows", markup=False)
