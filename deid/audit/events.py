"""AuditEvent: one action on one location. Holds a keyed fingerprint, never the value.

Defined in deid.core (handlers, at a lower layer than the audit log, create events);
named here too, for code that imports it from the audit package."""

from __future__ import annotations

from ..core import AuditEvent

__all__ = ["AuditEvent"]
