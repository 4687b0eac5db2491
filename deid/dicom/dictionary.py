"""The DICOM data dictionary, as the DICOM package names it: the lookup itself lives in
deid/dicomdict.py, in the bottom layer, so the policy can check keywords without
importing deid.dicom (the policy sits below the file kinds)."""

from __future__ import annotations

from ..dicomdict import MAIN, entry, tag_for_keyword

__all__ = ["MAIN", "entry", "tag_for_keyword"]
