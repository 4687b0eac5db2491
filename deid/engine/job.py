"""What the engine hands to every worker (Job) and what comes back for each input (Outcome)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..handlers import Context, Result


@dataclass(frozen=True)
class Job:
    ctx: Context
    out: Path
    quarantine_dir: Path
    naming: str = "mirror"
    preview_dir: Path | None = None
    dry_run: bool = False                 # process, count, write nothing
    timeout: float = 0.0                  # seconds one input may take (0: no limit), in every engine


@dataclass
class Outcome:
    item: str            # the path deid wrote for it (identifying names replaced): the audit's name
    status: str          # ok | quarantined | error | stop (the run cannot go on: see reason)
    reason: str
    output: str
    result: Result
    source: str = ""     # the input's relative path (for the resume index, as a keyed fingerprint)
