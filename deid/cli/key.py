"""`deid key new`: the one way a key is made. A run never makes one: a mistyped
--key-file must fail, not start a new key that changes every pseudonym."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..printable import display
from . import key_app
from .common import out


@key_app.command("new")
def key_new(
    key_file: Optional[Path] = typer.Option(
        None, "--key-file", help="Where to write it (default: ~/.config/deid/key). Never over an existing file."
    ),
) -> None:
    """Make a new secret key (256 bits, mode 0600). Keep it and reuse it: the same key gives the
    same pseudonyms, UIDs and date offsets in every run; a new key gives new ones."""
    from ..pseudonym import Pseudonymizer, create_key_file, default_key_path

    path = key_file or default_key_path()
    key = create_key_file(path)
    out.print(f"new key: {display(str(path))} (mode 0600, key id {Pseudonymizer(key).key_id})", markup=False)
