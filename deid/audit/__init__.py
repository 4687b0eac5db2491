"""Audit trail: what was removed, where, by which rule; fingerprints, never values. See docs/audit.md."""

from .events import AuditEvent
from .log import AuditLog, FileRecord, iter_events, runs, verify

__all__ = ["AuditEvent", "AuditLog", "FileRecord", "iter_events", "runs", "verify"]
