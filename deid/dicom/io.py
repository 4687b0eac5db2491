"""Read a DICOM file fully (or say clearly why not) and write a valid Part 10 file.

Little-endian Part 10 files, nearly all of them, are read and written by raw.py
without pydicom. The rest (explicit VR big endian, deflated, no preamble, no
transfer syntax) are first normalised by pydicom into explicit VR little
endian Part 10 bytes, then go the same way; their output is explicit VR
little endian (PS3.5 A.2), which every reader accepts.

Reasons are short codes chosen here, never a parser's messages, which can quote values.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

from ..errors import InputError
from .raw import Elem, RawFile, parse_part10, write_part10

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

EXPLICIT_LE = "1.2.840.10008.1.2.1"
DEFLATED = frozenset({"1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.4.95"})
NEEDS_NORMALISING = DEFLATED | {"1.2.840.10008.1.2.2"}  # and explicit VR big endian
UNCOMPRESSED = frozenset({"", "1.2.840.10008.1.2", EXPLICIT_LE})
# deid's Implementation Class UID (PS3.7 D.3.3.2): a UUID-derived 2.25 UID, fixed for the project.
IMPLEMENTATION_CLASS_UID = "2.25.5471200698515217653556301254925829187"
META_VERSION, META_SOP_CLASS, META_SOP_INSTANCE = 0x00020001, 0x00020002, 0x00020003
META_TS, META_IMPL = 0x00020010, 0x00020012
SOP_CLASS, SOP_INSTANCE = 0x00080016, 0x00080018


@contextmanager
def quiet_pydicom() -> Iterator[None]:
    """No warnings (they can quote values) and no value validation."""
    from pydicom import config

    saved = config.settings.reading_validation_mode, config.settings.writing_validation_mode
    config.settings.reading_validation_mode = config.settings.writing_validation_mode = config.IGNORE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        config.settings.reading_validation_mode, config.settings.writing_validation_mode = saved


@contextmanager
def pydicom_silenced() -> Iterator[None]:
    """quiet_pydicom for the whole process and every thread, while a gateway runs
    (pynetdicom decodes requests and datasets on its own threads, outside any `with`): no
    value validation, no warnings, and pydicom's and pynetdicom's loggers kept off stderr
    (their messages can quote a value or a traceback). DEID_DEBUG=1 leaves pynetdicom's
    logger as it is. Everything is put back when the block ends."""
    import logging
    import os

    from pydicom import config

    saved = config.settings.reading_validation_mode, config.settings.writing_validation_mode
    loggers = [logging.getLogger("pydicom")] + (
        [] if os.environ.get("DEID_DEBUG") else [logging.getLogger("pynetdicom")]
    )
    was = [lg.disabled for lg in loggers]
    config.settings.reading_validation_mode = config.settings.writing_validation_mode = config.IGNORE
    for lg in loggers:
        lg.disabled = True
    try:
        with warnings.catch_warnings():  # process-wide filters: threads see them too
            warnings.simplefilter("ignore")
            yield
    finally:
        config.settings.reading_validation_mode, config.settings.writing_validation_mode = saved
        for lg, w in zip(loggers, was):
            lg.disabled = w


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


def _native(ts: str) -> bool:
    return ts not in NEEDS_NORMALISING


def read_file(data: bytes) -> RawFile:
    """Parse the file; raise InputError(reason) when it is not fully readable."""
    if not looks_like_dicom(data):
        raise InputError("not-dicom: no DICM prefix and no recognisable first tag")
    f = None
    if data[128:132] == b"DICM":
        try:
            f = parse_part10(data, _native)
        except InputError as exc:
            if str(exc) != "needs-normalising":
                raise
    if f is None:
        f = parse_part10(normalise(data), _native)
    tags = {e.tag for e in f.elems}
    if SOP_CLASS not in tags or SOP_INSTANCE not in tags:
        raise InputError("not-composite: no SOPClassUID/SOPInstanceUID, cannot write a valid file")
    return f


def normalise(data: bytes) -> bytes:
    """Any file pydicom reads -> explicit VR little endian Part 10 bytes (values converted)."""
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.errors import InvalidDicomError
    from pydicom.uid import UID

    with quiet_pydicom():
        try:
            ds = pydicom.dcmread(io.BytesIO(data), force=data[128:132] != b"DICM")
            _check_complete(ds, data)
            big_endian = not ds.is_little_endian
            for elem in ds.iterall():  # decode every element, so it is re-encoded, not copied
                if big_endian and elem.VR in _SWAP and isinstance(elem.value, bytes):
                    width = _SWAP[elem.VR]
                    if elem.tag == 0x7FE00010 and ds.get("BitsAllocated") in (32, 64):
                        width = ds.BitsAllocated // 8  # pixels are swapped as whole samples
                    elem.value = _swap(elem.value, width)
            meta = FileMetaDataset()
            meta.update(getattr(ds, "file_meta", None) or FileMetaDataset())
            ts = str(meta.get("TransferSyntaxUID", "") or "")
            # an encapsulated (compressed) syntax stays: its data set is explicit VR LE already
            meta.TransferSyntaxUID = UID(EXPLICIT_LE if ts in NEEDS_NORMALISING | UNCOMPRESSED else ts)
            if "SOPClassUID" in ds and "SOPInstanceUID" in ds:
                meta.MediaStorageSOPClassUID = ds.SOPClassUID
                meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.file_meta = meta
            buf = io.BytesIO()
            pydicom.dcmwrite(buf, ds, implicit_vr=False, little_endian=True, enforce_file_format=False)
        except InputError:
            raise
        except InvalidDicomError:
            raise InputError("not-dicom: parser rejected the file") from None
        except (
            EOFError,
            struct.error,
            OSError,
            ValueError,
            KeyError,
            TypeError,
            IndexError,
            NotImplementedError,
            AttributeError,
            OverflowError,
            zlib.error,
        ) as exc:
            raise InputError(f"unreadable: {type(exc).__name__} while parsing") from None
    out = buf.getvalue()
    if out[128:132] != b"DICM":
        out = b"\x00" * 128 + b"DICM" + out
    return out


_SWAP = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}


def _swap(value: bytes, width: int) -> bytes:
    """Big-endian words -> little-endian (pydicom converts numbers, not OW/OF/... bytes)."""
    if len(value) % width:
        raise InputError("unreadable: odd-length word data in a big-endian file")
    import numpy as np

    return np.frombuffer(value, dtype=f">u{width}").astype(f"<u{width}").tobytes()


SEQ_DELIM = (b"\xfe\xff\xdd\xe0\x00\x00\x00\x00", b"\xff\xfe\xe0\xdd\x00\x00\x00\x00")


def _check_complete(ds: Dataset, data: bytes) -> None:
    """pydicom stops quietly at a truncated element; a file that does not end where its
    last element ends is truncated (or has unparsed bytes) and must not pass as clean."""
    if not len(ds):
        raise InputError("truncated: no data elements")
    meta = getattr(ds, "file_meta", None)
    if meta is not None and str(meta.get("TransferSyntaxUID", "")) in DEFLATED:
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


def _top(f: RawFile, tag: int) -> Elem | None:
    for e in f.elems:
        if e.tag == tag:
            return e
    return None


def write_file(f: RawFile) -> bytes:
    """Part 10 bytes: zero preamble, file meta rebuilt from an allowlist, the data set as is."""
    sop_class, sop_instance = _top(f, SOP_CLASS), _top(f, SOP_INSTANCE)
    if sop_class is None or sop_instance is None or not sop_instance.value.strip(b"\x00 "):
        raise InputError("write-failed: no SOPClassUID/SOPInstanceUID left after de-identification")
    version = next((e for e in f.meta if e.tag == META_VERSION), None)
    meta = [
        version or Elem.new(META_VERSION, "OB", b"\x00\x01"),
        Elem.new(META_SOP_CLASS, "UI", sop_class.value),
        Elem.new(META_SOP_INSTANCE, "UI", sop_instance.value),
        Elem.new(META_TS, "UI", uid_bytes(f.transfer_syntax)),
        Elem.new(META_IMPL, "UI", uid_bytes(IMPLEMENTATION_CLASS_UID)),
    ]
    return write_part10(meta, f.elems, f.explicit)


def uid_bytes(uid: str) -> bytes:
    """A UID value padded to even length with NUL."""
    b = uid.encode("ascii")
    return b + b"\x00" if len(b) % 2 else b


def verify_readable(data: bytes) -> None:
    """The written bytes must parse again, structurally complete (fail closed if not)."""
    try:
        f = parse_part10(data, _native)
    except InputError as exc:
        raise InputError(f"verify-failed: output does not re-read ({str(exc).split(':')[0]})") from None
    if not f.elems:
        raise InputError("verify-failed: output has no data set")
