"""One exception family. Messages say what to do and never carry an identifying value."""


class DeidError(Exception):
    """Base class of every error deid raises on purpose."""


class PolicyError(DeidError):
    """A pipeline YAML is invalid; the message names the key and the fix."""


class KeyError_(DeidError):
    """The secret key is missing, unreadable or too short."""


class InputError(DeidError):
    """An input could not be read or fully processed; the item is quarantined."""


class AuditError(DeidError):
    """The audit log is missing, unreadable or fails verification."""


class VaultError(DeidError):
    """The re-identification vault or its key is missing, wrong or unusable."""


class QuarantineError(InputError):
    """An input is quarantined with what was found on the way: audit events (rule ids,
    locations, fingerprints) and details for its reason file (box coordinates, counts).
    Like every message here, neither holds an identifying value."""

    def __init__(self, reason: str, events: list | None = None, details: dict | None = None):
        super().__init__(reason)
        self.events = list(events or [])
        self.details = dict(details or {})
