"""DICOM header de-identification per PS3.15 Annex E.

pydicom's own warnings and log lines can quote element values, so they are
silenced here: deid reports problems itself, by tag and reason only.
"""

import logging

logging.getLogger("pydicom").setLevel(logging.CRITICAL + 1)
logging.getLogger("pydicom").propagate = False
