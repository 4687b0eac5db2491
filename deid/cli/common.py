"""What every deid command shares: the exit codes, the consoles, and the one place that
turns an exception into an exit code and one line (never a traceback, which can show
values).

Exit codes (`deid --help`, README, docs/operations.md):
  0 all inputs clean (check: nothing found)
  1 some inputs quarantined or not readable (check/verify: something found)
  2 usage or configuration error: one line says what to fix; nothing was processed
  3 interrupted or stopped (Ctrl-C, SIGTERM, disk full, audit log unwritable): run the
    same command again to resume
  4 internal error: a bug in deid, including a run whose accounting does not balance
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, TextIO

import click
import typer
from rich.console import Console
from typer.core import TyperGroup

from ..errors import DeidError

try:  # typer >= 0.2x carries its own click (typer._click): its usage errors are not click's
    from typer.exceptions import TyperException
except ImportError:  # an older typer runs on click itself
    TyperException = click.ClickException  # type: ignore[misc, assignment]
from ..printable import display

OK, FOUND, USAGE, INTERRUPTED, INTERNAL = 0, 1, 2, 3, 4
EXIT_CODES = (
    "Exit codes: 0 clean; 1 some inputs quarantined or not read / check found something; "
    "2 usage or configuration error; 3 interrupted or stopped (disk full): rerun to resume; "
    "4 internal error (a bug, or a run whose accounting does not balance)."
)

# machine-readable output is never wrapped: soft_wrap, and a wide console when not a terminal
console = Console(stderr=True, soft_wrap=True, highlight=False, width=None if sys.stderr.isatty() else 10_000)
out = Console(soft_wrap=True, highlight=False, width=None if sys.stdout.isatty() else 10_000)


def emit(line: str) -> None:
    """One line of machine-readable output on stdout, as it is: rich would expand tabs and
    wrap; the caller has escaped what needs escaping."""
    typer.echo(line)


def fail(msg: str, code: int = USAGE) -> None:
    """One line on stderr, then exit."""
    console.print(f"[red]error:[/red] {_escape(msg)}")
    raise typer.Exit(code)


def _escape(msg: str) -> str:
    from rich.markup import escape

    return escape(display(msg))


class DeidGroup(TyperGroup):
    """Every command's exceptions become an exit code and one line: DeidError 2 (usage or
    configuration), KeyboardInterrupt 3, anything else 4 (internal: the class name only;
    DEID_DEBUG=1 shows the traceback, which may hold values)."""

    def invoke(self, ctx: Any) -> Any:  # a click.Context: click's or typer's own (see TyperException)
        try:
            return super().invoke(ctx)
        except (
            typer.Exit,
            typer.Abort,
            TyperException,
            click.exceptions.Exit,
            click.ClickException,
            click.Abort,
            SystemExit,
        ):
            raise
        except DeidError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            console.print("interrupted")
            raise typer.Exit(INTERRUPTED) from None
        except BrokenPipeError:  # stdout closed early (| head): the output was not all delivered
            sys.stdout = open(os.devnull, "w")
            raise typer.Exit(INTERNAL) from None
        except BaseException as exc:  # Exception, and a native library's panic (a BaseException)
            if os.environ.get("DEID_DEBUG"):
                raise
            fail(
                f"internal error ({type(exc).__name__}): a bug in deid. Run again with DEID_DEBUG=1 to see the "
                "traceback (it may show values from the data), and report it",
                INTERNAL,
            )


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record comes (a test runner swaps it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def set_log_level(level: str) -> None:
    """deid's own loggers (counts and stages, never a value) to stderr from `level` up."""
    if level.upper() not in LOG_LEVELS:
        fail(f"--log-level must be one of {', '.join(LOG_LEVELS)}")
    logger = logging.getLogger("deid")
    if not any(isinstance(h, _Stderr) for h in logger.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("deid %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level.upper())


def typer_app(help: str) -> typer.Typer:
    """A command group with plain help (never truncated) and exit codes as above."""
    return typer.Typer(
        cls=DeidGroup,
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        help=help,
    )
