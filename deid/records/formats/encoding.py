"""Text encodings of record files: read UTF-8 (with or without BOM), UTF-16 with a BOM,
or GB18030 (a superset of GBK and GB2312), and write back in the same encoding."""
from __future__ import annotations

import codecs

from ...errors import InputError


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name to write it back with)."""
    if data.startswith(codecs.BOM_UTF8):
        body = data[len(codecs.BOM_UTF8):]
        if not _ok(body, "utf-8"):
            _fail()
        return body.decode("utf-8"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            _fail()
    for enc in ("utf-8", "gb18030"):
        if _ok(data, enc):
            return data.decode(enc), enc
    return _fail(), ""


def encode(text: str, encoding: str) -> bytes:
    try:
        return text.encode(encoding)
    except UnicodeEncodeError:
        raise InputError(f"encode-failed: output text cannot be written as {encoding}") from None


def _ok(data: bytes, enc: str) -> bool:
    try:
        data.decode(enc, "strict")
    except UnicodeDecodeError:
        return False
    return True


def _fail():
    raise InputError("undecodable-text: the file is not UTF-8, UTF-16 (with BOM) or GB18030")
