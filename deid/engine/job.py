"""What the engine hands to every worker (Job) and what comes back for each input (Outcome)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from ..handlers import Context, Result

if TYPE_CHECKING:
    from .sinks import Sink


class Naming(str, Enum):
    """`deid run --naming`: the values are the option's words."""

    MIRROR = "mirror"  # the input's relative path, identifying names replaced
    PSEUDONYMIZED = "pseudonymized"  # the handler's new name

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Job:
    ctx: Context
    sink: Sink  # where outputs go and inputs are set aside (sinks/)
    naming: str = Naming.MIRROR
    dry_run: bool = False  # process, count, write nothing
    timeout: float = 0.0  # seconds one input may take (0: no limit), in every engine


@dataclass
class Outcome:
    item: str  # the path deid wrote for it (identifying names replaced): the audit's name
    status: str  # ok | quarantined | error | stop (the run cannot go on: see reason)
    reason: str
    output: str
    result: Result
    source: str = ""  # the input's relative path (for the resume index, as a keyed fingerprint)
