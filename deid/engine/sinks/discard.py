"""The sink of a walk that writes nothing (`deid check`): the engine's executors run the
items, and every write is refused, so a check can never leave an output behind."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Iterator, Mapping


class Discard:
    """Stores nothing; a write is a bug in the caller (RuntimeError, never a silent loss)."""

    @property
    def where(self) -> str:
        return "(nothing is written)"

    def folders(self) -> list[Path]:
        return []

    def prepare(self) -> None:
        pass

    def put(self, rel: str, data: bytes) -> str:
        raise RuntimeError("this walk writes nothing")

    def preview(self, rel: str, suffix: str, png: bytes) -> None:
        raise RuntimeError("this walk writes nothing")

    def set_aside(self, rel: str, source: str) -> str:
        raise RuntimeError("this walk writes nothing")

    def quarantine(self, rel: str, reason: str, details: dict | None = None) -> str:
        raise RuntimeError("this walk writes nothing")

    def note(self, item: str, reason: str, status: str) -> None:
        raise RuntimeError("this walk writes nothing")

    def has(self, rel: str) -> bool:
        return False

    def open(self, rel: str) -> BinaryIO:
        raise FileNotFoundError(rel)

    def partials(self) -> Iterator[Path]:
        return iter(())

    def remove_partials(self) -> int:
        return 0

    def resume_index(self, done: Mapping[str, str]) -> Mapping[str, str]:
        return {}

    def close(self) -> None:
        pass
