"""Re-identification vault for an honest broker: original -> pseudonym, encrypted. Off by default.

`deid run --vault FILE` keeps, for every output it writes, the patient IDs, UIDs and
accession numbers it replaced, so that a person holding the *vault key* (never the
pseudonym key) can answer "whose is P-1A2B..." or "what did 1.2.840... become". The
file is SQLite and holds no plaintext: per mapping, its kind, two keyed indexes
HMAC(index key, kind NUL value) (one for the original, one for the pseudonym) and the
AES-GCM ciphertext of the JSON pair. The index and encryption keys are derived from the
vault key by HKDF-SHA256 with distinct labels and a per-vault random salt; a key check
value in `meta` makes a wrong key fail before any lookup. Losing the vault key makes
the vault unreadable, by design (docs/vault.md).
"""
from __future__ import annotations

import csv
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import VaultError
from .pseudonym import create_key_file, decode_key

Mapping = tuple[str, str, str]            # (kind, original, pseudonym)
KINDS = ("patient-id", "uid", "accession")
FORMAT = "deid-vault/1"
ENV = "DEID_VAULT_KEY"
WRONG_KEY = "the vault key does not open this vault"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS mappings (
  ix BLOB PRIMARY KEY, rix BLOB NOT NULL, kind TEXT NOT NULL, box BLOB NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS mappings_rix ON mappings(rix);
"""
# ix = HMAC(index key, kind NUL original): one row per mapping (INSERT OR IGNORE);
# rix = HMAC(index key, kind NUL pseudonym); box = nonce || AES-GCM(JSON [original, pseudonym]).


def load_vault_key(key_file: Path | None, *, create: bool) -> tuple[bytes, str]:
    """(vault key, where it came from): --vault-key-file (created, mode 0600, when missing
    and `create`), else DEID_VAULT_KEY. There is no default: the key must be chosen."""
    if key_file is not None:
        if key_file.is_file():
            return decode_key(key_file.read_bytes(), str(key_file)), str(key_file)
        if not create:
            raise VaultError(f"vault key file {key_file} does not exist")
        return create_key_file(key_file), f"created {key_file}"
    env = os.environ.get(ENV)
    if env:
        return decode_key(env.encode("utf-8"), ENV), ENV
    made = " (created when missing)" if create else ""
    raise VaultError(f"no vault key: pass --vault-key-file FILE{made} or set {ENV}")


def _derive(secret: bytes, salt: bytes, label: str) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt, f"{FORMAT} {label}".encode("ascii")).derive(secret)


@dataclass(frozen=True)
class _Keys:
    enc: AESGCM
    index: "hmac.HMAC"
    check: bytes

    @classmethod
    def derive(cls, secret: bytes, salt: bytes) -> "_Keys":
        return cls(AESGCM(_derive(secret, salt, "encrypt")),
                   hmac.new(_derive(secret, salt, "index"), digestmod=hashlib.sha256),
                   _derive(secret, salt, "key-check"))

    def ix(self, kind: str, value: str) -> bytes:
        h = self.index.copy()
        h.update(kind.encode("ascii") + b"\x00" + value.encode("utf-8", "surrogatepass"))
        return h.digest()


class Vault:
    """One vault file. `create=True` (a run): opened for writing, made when missing;
    else read-only. Rows added are committed by commit() or close(), in batches."""

    MAX_SEEN = 65536   # mappings of recent files remembered, so repeats skip the crypto

    def __init__(self, path: Path, secret: bytes, *, create: bool = False):
        self.path = Path(path)
        fresh = not (self.path.is_file() and self.path.stat().st_size > 0)
        if fresh and not create:
            raise VaultError(f"vault {self.path} does not exist (or is empty)")
        try:
            if fresh:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))  # 0600 before any row
            self.db = sqlite3.connect(str(self.path) if create else f"file:{self.path}?mode=ro", uri=not create)
            if fresh:
                self._init(secret)
            meta = dict(self.db.execute("SELECT name, value FROM meta"))
        except sqlite3.DatabaseError:
            raise VaultError(f"{self.path} is not a deid vault") from None
        if meta.get("format") != FORMAT or not isinstance(meta.get("salt"), bytes):
            self.db.close()
            raise VaultError(f"{self.path} is not a deid vault ({FORMAT})")
        self.keys = _Keys.derive(secret, meta["salt"])
        check = meta.get("check")
        if not isinstance(check, bytes) or not hmac.compare_digest(self.keys.check, check):
            self.db.close()
            raise VaultError(WRONG_KEY)
        if create:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
        self._seen: set[bytes] = set()

    def _init(self, secret: bytes) -> None:
        salt = secrets.token_bytes(16)
        self.db.executescript(SCHEMA)
        self.db.executemany("INSERT INTO meta VALUES (?,?)",
                            [("format", FORMAT), ("salt", salt), ("check", _Keys.derive(secret, salt).check)])
        self.db.commit()

    # -- writing -----------------------------------------------------------------
    def add(self, mappings: Iterable[Mapping]) -> None:
        """Queue mappings in the open transaction; one row per (kind, original)."""
        rows = []
        for kind, original, pseudonym in mappings:
            ix = self.keys.ix(kind, original)
            if ix in self._seen:
                continue
            if len(self._seen) >= self.MAX_SEEN:
                self._seen.clear()
            self._seen.add(ix)
            nonce = secrets.token_bytes(12)
            box = nonce + self.keys.enc.encrypt(nonce, json.dumps([original, pseudonym]).encode("utf-8"),
                                                kind.encode("ascii") + b"\x00" + ix)
            rows.append((ix, self.keys.ix(kind, pseudonym), kind, box))
        if rows:
            self.db.executemany("INSERT OR IGNORE INTO mappings VALUES (?,?,?,?)", rows)

    def commit(self) -> None:
        """Make the queued rows durable; the audit log calls this before its own commit,
        so an input never counts as done (for --resume) before its mappings are stored."""
        self.db.commit()

    def close(self) -> None:
        self.db.commit()
        self.db.close()

    def __enter__(self) -> "Vault":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    # -- reading -----------------------------------------------------------------
    def _open(self, kind: str, ix: bytes, box: bytes) -> Mapping:
        try:
            original, pseudonym = json.loads(self.keys.enc.decrypt(box[:12], box[12:],
                                                                   kind.encode("ascii") + b"\x00" + ix))
        except (InvalidTag, TypeError, ValueError):
            raise VaultError(f"{self.path}: a row fails its integrity check (the vault was altered)") from None
        return kind, original, pseudonym

    def _select(self, sql: str, args: tuple) -> Iterator[tuple]:
        """Rows of a query; a damaged file is a VaultError (whose message holds no row)."""
        self.db.text_factory = bytes  # a box altered into TEXT is then an integrity error, not a crash
        try:
            yield from self.db.execute(sql, args)
        except sqlite3.DatabaseError as exc:
            raise VaultError(f"{self.path}: unreadable ({type(exc).__name__})") from None

    def lookup(self, *, original: str | None = None, pseudonym: str | None = None,
               kind: str | None = None) -> list[Mapping]:
        """Mappings whose original (or pseudonym) is this value, of one kind or of any."""
        value, col = (original, "ix") if original is not None else (pseudonym, "rix")
        found = []
        for k in (kind,) if kind else KINDS:
            for ix, box in self._select(f"SELECT ix, box FROM mappings WHERE {col}=? AND kind=?",
                                        (self.keys.ix(k, (value or "").strip()), k)):
                found.append(self._open(k, ix, box))
        return found

    def rows(self, kind: str | None = None) -> Iterator[Mapping]:
        """Every mapping (of one kind), in index order (not the order of the run)."""
        sql, args = "SELECT kind, ix, box FROM mappings", ()
        if kind:
            sql, args = sql + " WHERE kind=?", (kind,)
        for k, ix, box in self._select(sql + " ORDER BY kind, ix", args):
            yield self._open(k.decode("ascii", "replace"), ix, box)


def open_for_run(vault: Path | None, key_file: Path | None, pseudonym_key: bytes,
                 out_dir: Path) -> tuple[Vault, str]:
    """The vault a run writes, and where its key came from; refuses a vault key that is the
    pseudonym key (one leaked file would then undo both) and a vault inside the output."""
    if vault is None:
        raise VaultError("--vault-key-file needs --vault FILE")
    for p in (vault, key_file):
        if p is not None and (p.resolve() == out_dir or out_dir in p.resolve().parents):
            raise VaultError("the vault and its key must not be inside --out: uploading the output would upload them")
    if key_file is not None and vault.is_file() and not key_file.is_file():
        raise VaultError(f"vault {vault} exists but its key file {key_file} does not: a new key cannot open it")
    secret, where = load_vault_key(key_file, create=True)
    if hmac.compare_digest(secret, pseudonym_key):
        raise VaultError("the vault key is the pseudonym key: use a separate key (--vault-key-file or "
                         f"{ENV}), so the pseudonym key alone can never reverse the pseudonyms")
    return Vault(vault, secret, create=True), where


MIDI_B = {"uid_mapping.csv": "uid", "patid_mapping.csv": "patient-id"}


def export(vault: Vault, fmt: str, out_dir: Path) -> dict[Path, int]:
    """Write the mapping tables (each atomically, mode 0600: they hold originals); returns
    each file and its row count. midi-b: uid_mapping.csv and patid_mapping.csv with the
    header id_old,id_new that the MIDI-B validation script reads; csv: kind,id_old,id_new."""
    from .engine.writer import atomic_open

    if fmt not in ("midi-b", "csv"):
        raise VaultError("--format must be midi-b or csv")
    plan = MIDI_B if fmt == "midi-b" else {"vault_mapping.csv": None}
    written: dict[Path, int] = {}
    for name, kind in plan.items():
        path, n = out_dir / name, 0
        with atomic_open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["id_old", "id_new"] if kind else ["kind", "id_old", "id_new"])
            for k, original, pseudonym in vault.rows(kind):
                w.writerow([original, pseudonym] if kind else [k, original, pseudonym])
                n += 1
        written[path] = n
    return written


def open_to_read(path: Path, key_file: Path | None) -> Vault:
    """A vault opened read-only with its key (--vault-key-file, else DEID_VAULT_KEY)."""
    secret, _where = load_vault_key(key_file, create=False)
    return Vault(path, secret)
