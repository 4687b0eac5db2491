"""The file kinds deid handles, in routing order: the first handler whose `sniff` says yes
takes the file. Adding a kind is its handler module (a deid.core.Handler) plus one line
in HANDLERS.

The shared types (Item, Context, Result, Status, Handler) live in deid.core; they are
named here too for code that imported them from this module.
"""

from __future__ import annotations

from .core import AuditEvent, Context, FileHandler, Handler, Item, Result, Status
from .dicom.handler import DicomHandler
from .records.handler import RecordHandler

HANDLERS: list[type[Handler]] = [
    DicomHandler,  # by content (preamble or first tag), or a .dcm/.dicom name
    RecordHandler,  # patient records by suffix (.csv, .tsv, .json, .jsonl, .txt, .hl7)
]

_instances: dict[type, Handler] = {}


def handler_for(path: str, head: bytes) -> Handler | None:
    """The handler for a file, from its name and its first bytes (at least 132); None when
    no kind takes it."""
    for cls in HANDLERS:
        handler = _instances.get(cls)
        if handler is None:
            handler = _instances[cls] = cls()
        if handler.sniff(path, head):
            return handler
    return None


__all__ = [
    "AuditEvent",
    "Context",
    "DicomHandler",
    "FileHandler",
    "HANDLERS",
    "Handler",
    "Item",
    "RecordHandler",
    "Result",
    "Status",
    "handler_for",
]
