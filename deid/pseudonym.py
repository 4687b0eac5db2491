"""Keyed, stateless pseudonymization: every consistent value comes from HMAC(secret, namespace, value).

Same patient -> same pseudonym and same date offset in every file, on every
worker, in every run, in DICOM and in records, with no shared state. The
secret comes from --key-file or DEID_KEY; a first run without one creates a
key file (mode 0600) and says where.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import KeyError_

MIN_KEY_BYTES = 16


def default_key_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "deid" / "key"


def decode_key(text: bytes, where: str) -> bytes:
    key = text.strip()
    if len(key) < MIN_KEY_BYTES:
        raise KeyError_(f"the key from {where} is shorter than {MIN_KEY_BYTES} bytes; "
                        "use `python -c 'import secrets; print(secrets.token_hex(32))'` to make one")
    return key


def load_key(key_file: str | os.PathLike | None = None, *, create: bool = True) -> tuple[bytes, str]:
    """Return (secret, where it came from). Creates a new key file only when none is given."""
    if key_file is not None:
        path = Path(key_file)
        if not path.is_file():
            if not create:
                raise KeyError_(f"key file {path} does not exist")
            return create_key_file(path), f"created {path}"
        return decode_key(path.read_bytes(), str(path)), str(path)
    env = os.environ.get("DEID_KEY")
    if env:
        return decode_key(env.encode("utf-8"), "DEID_KEY"), "DEID_KEY"
    path = default_key_path()
    if path.is_file():
        return decode_key(path.read_bytes(), str(path)), str(path)
    if not create:
        raise KeyError_("no key: pass --key-file FILE or set DEID_KEY")
    return create_key_file(path), f"created {path}"


def create_key_file(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode("ascii")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key + b"\n")
    return key


@lru_cache(maxsize=8)
def _pads(secret: bytes) -> tuple:
    """HMAC-SHA256's inner and outer hashes with the key already absorbed (RFC 2104):
    the key schedule is done once per key, and each value costs two C-level copies."""
    block = hashlib.sha256(secret).digest() if len(secret) > 64 else secret
    block = block.ljust(64, b"\0")
    return (hashlib.sha256(bytes(b ^ 0x36 for b in block)), hashlib.sha256(bytes(b ^ 0x5C for b in block)))


def _mac(secret: bytes, namespace: str, value: str | bytes) -> bytes:
    """HMAC-SHA256(secret, namespace NUL value) from the precomputed pads (not cached:
    a cache would keep the values themselves in memory from file to file)."""
    data = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    inner, outer = _pads(secret)
    h = inner.copy()
    h.update(namespace.encode("ascii") + b"\x00" + data)
    o = outer.copy()
    o.update(h.digest())
    return o.digest()


@dataclass(frozen=True)
class Pseudonymizer:
    """All keyed derivations. Picklable: holds only the secret."""

    secret: bytes

    def _mac(self, namespace: str, value: str | bytes) -> bytes:
        """HMAC-SHA256(secret, namespace NUL value)."""
        return _mac(self.secret, namespace, value)

    @property
    def key_id(self) -> str:
        """Identifies the key in the audit log without revealing it."""
        return self._mac("key-id", b"").hex()[:16]

    def fingerprint(self, value: str | bytes) -> str:
        """Audit fingerprint of a removed value: lets an auditor match values, never read them."""
        return self._mac("audit", value).hex()[:24]

    def pseudonym(self, value: str, prefix: str = "P-", namespace: str = "patient") -> str:
        return prefix + self._mac(namespace, value.strip()).hex()[:12].upper()

    def uid(self, old: str) -> str:
        """Keyed UID remap: 2.25.<128-bit int> (PS3.5 B.2), at most 44 characters."""
        return "2.25." + str(int.from_bytes(self._mac("uid", old.strip().rstrip("\x00"))[:16], "big"))

    def date_offset(self, patient_key: str, lo: int, hi: int) -> int:
        """Per-patient day offset in [lo, hi]; never 0 unless the range is only 0."""
        span = hi - lo + 1
        n = int.from_bytes(self._mac("date-offset", patient_key)[:8], "big")
        off = lo + n % span
        if off == 0 and span > 1:
            off = lo if lo != 0 else hi
        return off

    def per_file(self) -> "FilePseudonymizer":
        """The same derivations for one file's work, each value's HMAC computed once."""
        return FilePseudonymizer(self.secret)


MEMO_LIMIT = 50_000   # HMACs remembered per file (a bound, not a cache size to tune)


class FilePseudonymizer(Pseudonymizer):
    """A Pseudonymizer for one file's scrubber: a row repeats its patient's key (name
    and ID fields, its dates' offset) and a column repeats its values, so each HMAC is
    computed once. The values are held only while the file is worked on: it is made
    per file and dropped with it, never shared."""

    def __init__(self, secret: bytes):
        super().__init__(secret)
        object.__setattr__(self, "_memo", {})

    def _mac(self, namespace: str, value: str | bytes) -> bytes:
        memo, k = self._memo, (namespace, value)
        try:
            return memo[k]
        except KeyError:
            if len(memo) >= MEMO_LIMIT:
                memo.clear()
            mac = memo[k] = _mac(self.secret, namespace, value)
            return mac

