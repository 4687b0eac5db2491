"""Text encodings of record files: read UTF-8 (with or without BOM), UTF-16 with a BOM,
or GB18030 (a superset of GBK and GB2312), and write back in the same encoding."""

from __future__ import annotations

import codecs
from typing import NoReturn

from ...errors import InputError


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name to write it back with)."""
    if data.startswith(codecs.BOM_UTF8):
        body = data[len(codecs.BOM_UTF8) :]
        if not _ok(body, "utf-8"):
            _fail()
        return body.decode("utf-8"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            _fail()
    if _ok(data, "utf-8"):
        return _no_nul(data.decode("utf-8")), "utf-8"
    if _ok(data, "gb18030") and _looks_chinese(data):
        return _no_nul(data.decode("gb18030")), "gb18030"
    return _fail(), ""


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise InputError("undecodable-text: NUL characters in a text file (UTF-16 without a byte-order mark?)")
    return text


def _looks_chinese(data: bytes) -> bool:
    """GB18030 decodes almost any byte string; real Chinese text is mostly GB2312 pairs
    (both bytes 0xA1-0xFE). Windows-1252 or Latin-1 text (Müller, François) is not: an
    accented letter followed by an ASCII one makes a 'character' with a low second byte."""
    pairs = gb2312 = 0
    i, n = 0, len(data)
    while i < n - 1:
        b = data[i]
        if b >= 0x81:
            pairs += 1
            gb2312 += 0xA1 <= b <= 0xFE and 0xA1 <= data[i + 1] <= 0xFE
            i += 2
        else:
            i += 1
    return pairs == 0 or gb2312 >= 0.7 * pairs


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


def _fail() -> NoReturn:
    raise InputError("undecodable-text: the file is not UTF-8, UTF-16 (with BOM) or GB18030; convert it to UTF-8 first")
