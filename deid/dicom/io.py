"""Read a DICOM file fully (or say clearly why not) and write a valid Part 10 file.

Reasons are short codes chosen here, never pydicom's messages, which can quote values.
"""
from __future__ import annotations

import io
import struct
import zlib
import warnings
from contextlib import contextmanager
from typing import Iterator

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID

from ..errors import InputError


@contextmanager
def quiet_pydicom() -> Iterator[None]:
    """No warnings (they can quote values) and no value validation (deid writes only
    values it generated or kept unchanged, and validation only ever warns)."""
    from pydicom import config

    saved = config.settings.reading_validation_mode, config.settings.writing_validation_mode
    config.settings.reading_validation_mode = config.settings.writing_validation_mode = config.IGNORE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        config.settings.reading_validation_mode, config.settings.writing_validation_mode = saved


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
    """Parse the file; raise InputError(reason) when it is not fully readable.

    Elements stay raw until the walker needs them (that is what keeps this fast);
    a sequence that fails to parse later raises inside the handler, which
    quarantines the file, and truncation is caught here by _check_complete.
    """
    if not looks_like_dicom(data):
        raise InputError("not-dicom: no DICM prefix and no recognisable first tag")
    with quiet_pydicom():
        try:
            ds = pydicom.dcmread(io.BytesIO(data), force=data[128:132] != b"DICM")
        except InvalidDicomError:
            raise InputError("not-dicom: parser rejected the file") from None
        except (EOFError, struct.error, OSError, ValueError, KeyError, TypeError, IndexError,
                NotImplementedError, AttributeError, OverflowError, zlib.error) as exc:
            raise InputError(f"unreadable: {type(exc).__name__} while parsing") from None
        _check_complete(ds, data)
    if "SOPClassUID" not in ds or "SOPInstanceUID" not in ds:
        raise InputError("not-composite: no SOPClassUID/SOPInstanceUID, cannot write a valid file")
    return ds


SEQ_DELIM = (b"\xfe\xff\xdd\xe0\x00\x00\x00\x00", b"\xff\xfe\xe0\xdd\x00\x00\x00\x00")


def _check_complete(ds: Dataset, data: bytes) -> None:
    """pydicom stops quietly at a truncated element; a file that does not end where its
    last element ends is truncated (or has unparsed bytes) and must not pass as clean."""
    if not len(ds):
        raise InputError("truncated: no data elements")
    if str(getattr(getattr(ds, "file_meta", None), "get", lambda *_: "")("TransferSyntaxUID", "")) == \
            "1.2.840.10008.1.2.1.99":
        return  # deflated: offsets are in the inflated stream; zlib reports truncation itself
    last = ds.get_item(max(ds.keys()))
    tell, length = getattr(last, "value_tell", None), getattr(last, "length", None)
    if tell is None or length is None:
        return
    if length == 0xFFFFFFFF:
        if not data.rstrip(b"\x00").endswith(SEQ_DELIM) and not data.endswith(SEQ_DELIM):
            raise InputError("truncated: undefined-length element has no delimiter at end of file")
        return
    end = tell + length
    if end > len(data):
        raise InputError("truncated: last element is cut short")
    if data[end:].strip(b"\x00"):
        raise InputError("truncated: bytes after the last readable element could not be parsed")


def write_dataset(ds: Dataset) -> bytes:
    """Write a Part 10 file; create file meta when the input had none."""
    meta = getattr(ds, "file_meta", None)
    if meta is None or "TransferSyntaxUID" not in meta:
        new = FileMetaDataset()
        if meta is not None:
            new.update(meta)
        implicit, little = getattr(ds, "original_encoding", (True, True))
        if implicit is None:
            implicit, little = True, True
        new.TransferSyntaxUID = (ImplicitVRLittleEndian if implicit else
                                 ExplicitVRLittleEndian if little else ExplicitVRBigEndian)
        ds.file_meta = meta = new
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    if "ImplementationVersionName" in meta:
        del meta.ImplementationVersionName
    ds.preamble = b"\x00" * 128  # the preamble is free-form and may carry anything
    buf = io.BytesIO()
    with quiet_pydicom():
        try:
            ds.save_as(buf, enforce_file_format=True)
        except Exception as exc:
            raise InputError(f"write-failed: {type(exc).__name__}") from None
    return buf.getvalue()


def verify_readable(data: bytes) -> None:
    """The written bytes must parse again without force (fail closed if not)."""
    with quiet_pydicom():
        try:
            pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
        except Exception as exc:
            raise InputError(f"verify-failed: output does not re-read ({type(exc).__name__})") from None
