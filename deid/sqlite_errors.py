"""What a SQLite error means, as one word: the audit log and the vault each turn it into
a message that says what to do (SQLite's own messages hold no value, but say little)."""

from __future__ import annotations

import sqlite3


def kind(exc: sqlite3.Error) -> str:
    """busy (another process holds a lock), full (disk or quota), not-a-db, read-only,
    cannot-open, or other."""
    name, text = getattr(exc, "sqlite_errorname", ""), str(exc)
    if name in ("SQLITE_BUSY", "SQLITE_LOCKED") or "locked" in text:
        return "busy"
    if name == "SQLITE_FULL" or "disk is full" in text:
        return "full"
    if name == "SQLITE_NOTADB" or "no such table" in text or "not a database" in text:
        return "not-a-db"
    if name == "SQLITE_READONLY" or "readonly" in text:
        return "read-only"
    if name == "SQLITE_CANTOPEN" or "unable to open" in text:
        return "cannot-open"
    return "other"
