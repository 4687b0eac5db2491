"""Read a DICOM file fully (or say clearly why not) and write a valid Part 10 file.

Reasons are short codes chosen here, never pydicom's messages, which can quote values.
"""
from __future__ import annotations

import io
import struct
import warnings

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID

from ..errors import InputError


def looks_like_dicom(data: bytes) -> bool:
    """Part 10 preamble, or a raw dataset starting with a group 0002/0008 little-endian tag."""
    if len(data) >= 132 and data[128:132] == b"DICM":
        return True
    if len(data) >= 8:
        for fmt in ("<HH", ">HH"):
            group, elem = struct.unpack(fmt, data[:4])
            if group in (0x0002, 0x0008) and elem < 0x0100:
                return True
    return False


def read_dataset(data: bytes) -> Dataset:
    """Parse every element; raise InputError(reason) when the file is not fully readable."""
    if not looks_like_dicom(data):
        raise InputError("not-dicom: no DICM prefix and no recognisable first tag")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(io.BytesIO(data), force=data[128:132] != b"DICM")
        except InvalidDicomError:
            raise InputError("not-dicom: parser rejected the file") from None
        except (EOFError, struct.error, OSError, ValueError, KeyError, TypeError, IndexError,
                NotImplementedError, AttributeError, OverflowError) as exc:
            raise InputError(f"unreadable: {type(exc).__name__} while parsing") from None
        try:
            _touch_all(ds)
        except Exception as exc:  # any element that will not parse: fail closed
            raise InputError(f"unreadable-element: {type(exc).__name__}") from None
    if "SOPClassUID" not in ds or "SOPInstanceUID" not in ds:
        raise InputError("not-composite: no SOPClassUID/SOPInstanceUID, cannot write a valid file")
    return ds


def _touch_all(ds: Dataset) -> None:
    """Parse sequences all the way down, so truncation inside items is found now, not on write."""
    for elem in ds.iterall():
        if elem.VR == "SQ":
            continue


def write_dataset(ds: Dataset) -> bytes:
    """Write a Part 10 file; create file meta when the input had none."""
    meta = getattr(ds, "file_meta", None)
    if meta is None or "TransferSyntaxUID" not in meta:
        new = FileMetaDataset()
        if meta is not None:
            new.update(meta)
        implicit = getattr(ds, "is_implicit_VR", None)
        if implicit is None:
            enc = getattr(ds, "original_encoding", (True, True))
            implicit = enc[0]
        new.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
        ds.file_meta = meta = new
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    if "ImplementationVersionName" in meta:
        del meta.ImplementationVersionName
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds.save_as(buf, enforce_file_format=True)
        except Exception as exc:
            raise InputError(f"write-failed: {type(exc).__name__}") from None
    return buf.getvalue()


def verify_readable(data: bytes) -> None:
    """The written bytes must parse again without force (fail closed if not)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
        except Exception as exc:
            raise InputError(f"verify-failed: output does not re-read ({type(exc).__name__})") from None
