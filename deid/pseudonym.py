"""Keyed, stateless pseudonymization: every consistent value comes from HMAC(secret, namespace, value).

Same patient -> same pseudonym and same date offset in every file, on every
worker, in every run, in DICOM and in records, with no shared state. The
secret comes from --key-file, DEID_KEY or ~/.config/deid/key. A key is made only
when asked for (`deid key new`): a mistyped --key-file must never start a new key,
which would change every pseudonym. A key file others can read, or a key with less
than 128 bits of material, is refused.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import secrets
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import KeyError_

MIN_KEY_BITS = 128
MIN_DISTINCT = 8  # a random key of 128 bits or more never has fewer distinct symbols
# the alphabets a key is usually written in, smallest first: bits per symbol of each
ALPHABETS = (
    (set(string.hexdigits), 4.0),
    (set(string.ascii_letters + string.digits + "+/=-_"), 6.0),
    (set(string.printable) - set(string.whitespace), math.log2(94)),
)
MAKE_ONE = "make one with `deid key new`"

# deid's own pseudonyms: P- (patients, DICOM values), N- (other people), H- (hashes and
# record values), then 8 to 12 upper-case hex digits (Pseudonymizer.pseudonym)
OWN = r"[PNH]-[0-9A-F]{8,12}"
_OWN_IN_TEXT = re.compile(rf"(?<![0-9A-Za-z]){OWN}(?![0-9A-Za-z])")
# a whole value deid wrote: a pseudonym, a FHIR id pseudonym (12 hex with a letter: twelve
# digits are an identifier's shape, not deid's), a [TAG], a DICOM dummy, or nothing at all
_OWN_VALUE = re.compile(rf"^(?:{OWN}|(?=[0-9]*[A-F])[0-9A-F]{{12}}|\[[^\]]{{1,20}}\]|ANONYMIZED|DEID|)$")
PREFIXES = ("P-", "N-", "H-")


def is_own_pseudonym(value: str, prefix: bool = False) -> bool:
    """Whether `value` (whole, as given) is what deid writes in place of an identifier:
    never an identifier itself, so re-running deid or `deid check` on its output leaves
    it. `prefix`: also any value that starts with a pseudonym's prefix (P-, N-, H-), as
    `deid check` judges record values."""
    return _OWN_VALUE.match(value) is not None or (prefix and value.startswith(PREFIXES))


def own_pseudonyms(text: str) -> list[tuple[int, int]]:
    """(start, end) of every pseudonym of deid's standing as a word in `text`."""
    return [m.span() for m in _OWN_IN_TEXT.finditer(text)]


def default_key_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "deid" / "key"


def key_bits(key: bytes) -> float:
    """Bits of material in a key, counted generously: its length times the bits per symbol
    of the smallest usual alphabet it is written in (hex, base64, printable, bytes), and
    none when it is one short pattern repeated or has too few distinct symbols (16 x 'a')."""
    text = key.decode("latin-1")
    if len(set(text)) < MIN_DISTINCT or text in (text + text)[1:-1]:
        return 0.0
    per = next((bits for alphabet, bits in ALPHABETS if set(text) <= alphabet), 8.0)
    return len(text) * per


def decode_key(text: bytes, where: str) -> bytes:
    key = text.strip()
    if key_bits(key) < MIN_KEY_BITS:
        raise KeyError_(
            f"the key from {where} has less than {MIN_KEY_BITS} bits of key material (too short, or "
            f"too regular); {MAKE_ONE}"
        )
    return key


def read_key_file(path: Path, what: str = "key file") -> bytes:
    """A key from its file: a regular file readable by its owner only, with enough material."""
    try:
        st = path.stat()
        if not path.is_file():
            raise KeyError_(f"{what} {path} is not a file")
        if st.st_mode & 0o077:
            raise KeyError_(
                f"{what} {path} can be read by other users (mode {st.st_mode & 0o777:o}): "
                f"run `chmod 600 {path}`, and make a new key if others may have read it"
            )
        return decode_key(path.read_bytes(), str(path))
    except FileNotFoundError:
        raise KeyError_(
            f"{what} {path} does not exist; {MAKE_ONE} --key-file {path} if this is the first "
            "run (a new key gives new pseudonyms)"
        ) from None
    except OSError as exc:
        raise KeyError_(f"cannot read {what} {path}: {exc.strerror or type(exc).__name__}") from None


def load_key(key_file: str | os.PathLike | None = None) -> tuple[bytes, str]:
    """Return (secret, where it came from): --key-file, else DEID_KEY, else the default
    key file. Never makes a key."""
    if key_file is not None:
        return read_key_file(Path(key_file)), str(key_file)
    env = os.environ.get("DEID_KEY")
    if env:
        return decode_key(env.encode("utf-8"), "DEID_KEY"), "DEID_KEY"
    path = default_key_path()
    if path.exists():
        return read_key_file(path), str(path)
    raise KeyError_(f"no key: {MAKE_ONE} (it writes {path}, mode 0600), or pass --key-file FILE or set DEID_KEY")


def create_key_file(path: Path) -> bytes:
    """A new random key (256 bits, hex) in a new file, mode 0600; never over an existing one."""
    key = secrets.token_hex(32).encode("ascii")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyError_(
            f"{path} exists: a new key there would change every pseudonym; remove it first if that is what you want"
        ) from None
    except OSError as exc:
        raise KeyError_(
            f"cannot create key file {path}: {exc.strerror or type(exc).__name__}; choose a "
            "folder you can write, e.g. under your home"
        ) from None
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


MEMO_LIMIT = 50_000  # HMACs remembered per file (a bound, not a cache size to tune)


class FilePseudonymizer(Pseudonymizer):
    """A Pseudonymizer for one file's scrubber: a row repeats its patient's key (name
    and ID fields, its dates' offset) and a column repeats its values, so each HMAC is
    computed once. The values are held only while the file is worked on: it is made
    per file and dropped with it, never shared."""

    _memo: dict[tuple[str, str | bytes], bytes]  # set in __init__ (the base is frozen)

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
