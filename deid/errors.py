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
