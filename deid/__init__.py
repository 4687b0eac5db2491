"""deid: de-identify medical images and records, and prove what was removed."""

__version__ = "0.1.0"
