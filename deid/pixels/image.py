"""Moved: DICOM pixel data in and out is the DICOM adapter's, deid/dicom/pixels.py.

Kept for callers not yet moved (check/dicom.py): a unit of its own in the ```layers block
of docs/architecture.md, above `dicom`, so the pixel core below it never imports DICOM.
Delete it once nothing imports deid.pixels.image.
"""
from __future__ import annotations

from ..dicom.pixels import Pixels, check_jp2_boxes, decode, encode, set_burned_in_no

__all__ = ["Pixels", "check_jp2_boxes", "decode", "encode", "set_burned_in_no"]
