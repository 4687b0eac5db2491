"""deid command line. Thin: parse, call, print; one module per command group.

Exit codes are in common.py (and in `deid --help`).
"""

from __future__ import annotations

from .common import EXIT_CODES, typer_app

app = typer_app("De-identify DICOM and patient records, and prove what was removed.\n\n" + EXIT_CODES)
policy_app = typer_app("Inspect and validate pipelines.")
audit_app = typer_app("Verify, show, export and report audit logs.")
vault_app = typer_app("The honest broker's re-identification vault: look up, export.")
key_app = typer_app("The secret key behind every pseudonym, UID and date offset.")
app.add_typer(policy_app, name="policy")
app.add_typer(audit_app, name="audit")
app.add_typer(vault_app, name="vault")
app.add_typer(key_app, name="key")

from . import audit, check, key, policy, risk, run, serve, vault  # noqa: E402,F401  (each registers its commands)


@app.command()
def version() -> None:
    """Print the version."""
    from .. import __version__
    from .common import out

    out.print(f"deid {__version__}", markup=False)


def main() -> None:  # console script
    """Ctrl-C before a command has started (while its options are parsed) is exit 3 like
    any other interruption, not click's 130."""
    import signal
    import sys

    import click

    from .common import INTERRUPTED

    try:
        app()
    except KeyboardInterrupt:
        sys.exit(INTERRUPTED)
    except click.exceptions.Exit as exc:
        sys.exit(INTERRUPTED if exc.exit_code == 130 else exc.exit_code)
    except SystemExit as exc:
        sys.exit(INTERRUPTED if exc.code == 130 else exc.code)
    finally:  # the command is over and its exit code chosen: a late Ctrl-C cannot change it
        signal.signal(signal.SIGINT, signal.SIG_IGN)
