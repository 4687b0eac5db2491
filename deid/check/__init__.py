"""`deid check`: scan files for identifying content that is still there, writing nothing.

The last line of defence before an upload: DICOM headers (identity attributes holding
values that are not deid pseudonyms or dummies, PatientIdentityRemoved missing, private
tags outside the safe list, identifiers in any text value), burned-in text whose OCR
matches identity values or the recognizers (optional), and patient records (fields and
free text that the record pipeline would still change). A finding names the file, the
location and the category, never the value; `--show-excerpts` adds a masked excerpt.
"""

from __future__ import annotations

from ..categories import HIGH
from ..findings import Finding
from ..operators.mask import mask_excerpt as mask
from ..pseudonym import is_own_pseudonym

__all__ = ["HIGH", "Finding", "is_own_pseudonym", "mask"]
