"""Re-identification vault for an honest broker: original -> pseudonym, encrypted. Off by default.

`deid run --vault FILE` keeps, for every output it writes, the patient IDs, UIDs and
accession numbers it replaced, so that a person holding the *vault key* (never the
pseudonym key) can answer "whose is P-1A2B..." or "what did 1.2.840... become". The
file is SQLite and holds no plaintext: per mapping, its kind, a row id HMAC(row key,
[kind, original, pseudonym]), two keyed indexes HMAC(index key, kind NUL value) (one for
the original, one for the pseudonym) and the AES-GCM ciphertext of the JSON pair, bound
to the kind, the row id and both indexes. The keys are derived from the vault key by
HKDF-SHA256 with distinct labels and a per-vault random salt; a key check value in `meta`
makes a wrong key fail before any lookup. Losing the vault key makes the vault
unreadable, by design (docs/vault.md).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import quote

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import VaultError
from .pseudonym import Pseudonymizer, create_key_file, decode_key, read_key_file
from .sqlite_errors import kind as sqlite_kind

Mapping = tuple[str, str, str]  # (kind, original, pseudonym)
KINDS = ("patient-id", "uid", "accession")
FORMAT = "deid-vault/2"
ENV = "DEID_VAULT_KEY"
WRONG_KEY = "the vault key does not open this vault"
OTHER_PSEUDONYM_KEY = "this vault belongs to another pseudonym key; use a new vault"

SCHEMA = (
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL)",
    "CREATE TABLE mappings (id BLOB PRIMARY KEY, ix BLOB NOT NULL, rix BLOB NOT NULL, kind TEXT NOT NULL, "
    "box BLOB NOT NULL) WITHOUT ROWID",
    "CREATE INDEX mappings_ix ON mappings(ix)",
    "CREATE INDEX mappings_rix ON mappings(rix)",
)
# id = HMAC(row key, JSON [kind, original, pseudonym]): one row per mapping (INSERT OR IGNORE);
# ix = HMAC(index key, kind NUL original), rix = HMAC(index key, kind NUL pseudonym), neither
# unique: one original can have two pseudonyms (PatientID under `hash` in DICOM, `pseudonym`
# in a record); box = nonce || AES-GCM(JSON [original, pseudonym], AD kind NUL id ix rix).


def load_vault_key(key_file: Path | None, *, create: bool) -> tuple[bytes, str]:
    """(vault key, where it came from): --vault-key-file (created, mode 0600, when missing
    and `create`), else DEID_VAULT_KEY. There is no default: the key must be chosen."""
    if key_file is not None:
        if key_file.exists() or not create:
            return read_key_file(key_file, "vault key file"), str(key_file)
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
    row: "hmac.HMAC"
    check: bytes

    @classmethod
    def derive(cls, secret: bytes, salt: bytes) -> "_Keys":
        return cls(
            AESGCM(_derive(secret, salt, "encrypt")),
            hmac.new(_derive(secret, salt, "index"), digestmod=hashlib.sha256),
            hmac.new(_derive(secret, salt, "row"), digestmod=hashlib.sha256),
            _derive(secret, salt, "key-check"),
        )

    def ix(self, kind: str, value: str) -> bytes:
        h = self.index.copy()
        h.update(kind.encode("ascii") + b"\x00" + value.encode("utf-8", "surrogatepass"))
        return h.digest()

    def row_id(self, kind: str, original: str, pseudonym: str) -> bytes:
        h = self.row.copy()
        h.update(json.dumps([kind, original, pseudonym]).encode("ascii"))
        return h.digest()


def _ad(kind: str, row_id: bytes, ix: bytes, rix: bytes) -> bytes:
    """AES-GCM associated data: a box opens only in the row it was written for."""
    return kind.encode("ascii") + b"\x00" + row_id + ix + rix


def _problem(path: Path, exc: sqlite3.Error, doing: str) -> str:
    """What a SQLite error means for the vault, in words; SQLite's own messages hold no value."""
    what = sqlite_kind(exc)
    if what == "busy":
        return (
            f"vault {path} is in use by another process (a deid run holds its vault until it ends): "
            "wait for that run to end; a second run at the same time needs a vault of its own"
        )
    if what == "not-a-db":
        return f"{path} is not a deid vault ({FORMAT})"
    return f"vault {path}: cannot {doing} ({type(exc).__name__}: {exc})"


class Vault:
    """One vault file. Given `pseudonym_key_id` (a run): opened for writing, made when missing,
    and locked until close(), so a second run on it fails at once; else read-only. Rows added
    are committed by commit() or close(), in batches."""

    MAX_SEEN = 65536  # mappings of recent files remembered, so repeats skip the crypto
    BUSY_SECONDS = 2.0  # how long opening waits for another process to let go of the file

    def __init__(self, path: Path, secret: bytes, *, pseudonym_key_id: str | None = None):
        self.path = Path(path)
        self.writing = pseudonym_key_id is not None
        self._seen: set[bytes] = set()
        self._failed = ""  # set by a failed write: nothing later may count as stored
        self._inited = False
        self.db: sqlite3.Connection | None = None
        if not self.writing and not (self.path.is_file() and self.path.stat().st_size > 0):
            raise VaultError(f"vault {self.path} does not exist (or is empty)")
        made = False
        try:
            if self.writing:
                made = self._create_file()
            with self._sql("open"):
                self.db = self._connect()
                if self.writing and self.path.stat().st_size == 0:  # checked under the lock
                    self._init(secret, pseudonym_key_id or "")
                meta = dict(self.db.execute("SELECT name, value FROM meta"))
            self.keys = self._check(meta, secret, pseudonym_key_id)
            if self.writing:
                with self._sql("open"):
                    self.db.execute("COMMIT")  # what _init wrote; the lock stays (locking_mode)
                    self.db.execute("BEGIN")
        except BaseException:
            # only a file this call made *and* initialised goes: another run may have made
            # the file's rows in the meantime (it won the lock), and its vault must stay
            self._abandon(made and self._inited)
            raise

    def _create_file(self) -> bool:
        """The file, mode 0600 before any row; True when this call made it."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            return True
        except FileExistsError:
            return False
        except OSError as exc:
            raise VaultError(f"cannot create vault {self.path}: {exc.strerror or type(exc).__name__}") from None

    def _connect(self) -> sqlite3.Connection:
        """A run's connection takes an exclusive lock, held until close (the default rollback
        journal, not WAL: readers then need no -shm file and no write access to the folder)."""
        if not self.writing:
            if Path(f"{self.path}-journal").exists():
                self._roll_back()
            return sqlite3.connect(
                f"file:{quote(str(self.path))}?mode=ro", uri=True, timeout=self.BUSY_SECONDS, isolation_level=None
            )
        db = sqlite3.connect(str(self.path), timeout=self.BUSY_SECONDS, isolation_level=None)
        self.db = db  # closed by _abandon if locking fails
        db.execute("PRAGMA locking_mode=EXCLUSIVE")
        db.execute("BEGIN EXCLUSIVE")
        return db

    def _roll_back(self) -> None:
        """A run killed mid-batch leaves a hot journal, which a read-only connection cannot
        roll back: open the file writable once so SQLite restores it (nothing is added)."""
        try:
            db = sqlite3.connect(str(self.path), timeout=self.BUSY_SECONDS)
            try:
                db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            finally:
                db.close()
        except sqlite3.Error:
            raise VaultError(
                f"vault {self.path}: an interrupted run left an unfinished write (its -journal "
                "file); run this once where its folder is writable, so SQLite can undo it"
            ) from None

    def _init(self, secret: bytes, pseudonym_key_id: str) -> None:
        self._inited = True
        os.chmod(self.path, 0o600)  # an empty file that was there before may have had another mode
        salt = secrets.token_bytes(16)
        assert self.db is not None  # _connect'ed
        for statement in SCHEMA:
            self.db.execute(statement)
        self.db.executemany(
            "INSERT INTO meta VALUES (?,?)",
            [
                ("format", FORMAT),
                ("salt", salt),
                ("check", _Keys.derive(secret, salt).check),
                ("pseudonym-key", pseudonym_key_id),
            ],
        )

    def _check(self, meta: dict, secret: bytes, pseudonym_key_id: str | None) -> _Keys:
        if meta.get("format") != FORMAT or not isinstance(meta.get("salt"), bytes):
            raise VaultError(f"{self.path} is not a deid vault ({FORMAT})")
        keys = _Keys.derive(secret, meta["salt"])
        check = meta.get("check")
        if not isinstance(check, bytes) or not hmac.compare_digest(keys.check, check):
            raise VaultError(WRONG_KEY)
        if pseudonym_key_id is not None and meta.get("pseudonym-key") != pseudonym_key_id:
            raise VaultError(OTHER_PSEUDONYM_KEY)
        return keys

    def _abandon(self, made: bool) -> None:
        """After a failed open: no connection left behind, nor a vault file this open made."""
        if self.db is not None:
            self.db.close()
            self.db = None
        if made:
            self.path.unlink(missing_ok=True)

    @contextmanager
    def _sql(self, doing: str) -> Iterator[None]:
        """SQLite errors as a VaultError (whose message holds no value)."""
        try:
            yield
        except sqlite3.Error as exc:
            raise VaultError(_problem(self.path, exc, doing)) from None

    # -- writing -----------------------------------------------------------------
    def add(self, mappings: Iterable[Mapping]) -> None:
        """Queue mappings in the open transaction; one row per (kind, original, pseudonym)."""
        rows = []
        for kind, original, pseudonym in mappings:
            rid = self.keys.row_id(kind, original, pseudonym)
            if rid in self._seen:
                continue
            ix, rix = self.keys.ix(kind, original), self.keys.ix(kind, pseudonym)
            nonce = secrets.token_bytes(12)
            box = nonce + self.keys.enc.encrypt(
                nonce, json.dumps([original, pseudonym]).encode("ascii"), _ad(kind, rid, ix, rix)
            )
            rows.append((rid, ix, rix, kind, box))
        if not rows:
            return
        with self._storing():
            assert self.db is not None, "the vault is closed"
            self.db.executemany("INSERT OR IGNORE INTO mappings VALUES (?,?,?,?,?)", rows)
        if len(self._seen) + len(rows) > self.MAX_SEEN:
            self._seen.clear()
        self._seen.update(r[0] for r in rows)

    @contextmanager
    def _storing(self) -> Iterator[None]:
        """A write of the run; once one fails, every later one fails too (what the open
        transaction held may be lost, so nothing after it may count as stored)."""
        if self._failed:
            raise VaultError(self._failed)
        try:
            with self._sql("store mappings"):
                yield
        except VaultError as exc:
            self._failed = (
                f"{exc}; the run stopped: inputs whose mappings were not stored do not count as "
                "done, so the same command, run again once the vault can be written, redoes them"
            )
            raise VaultError(self._failed) from None

    def commit(self) -> None:
        """Make the queued rows durable; the audit log calls this before its own commit,
        so an input never counts as done (for --resume) before its mappings are stored."""
        if self.writing:
            with self._storing():
                assert self.db is not None, "the vault is closed"
                self.db.execute("COMMIT")
                self.db.execute("BEGIN")

    def close(self) -> None:
        """Commit (unless a write failed before) and close; a second close does nothing."""
        if self.db is None:
            return
        try:
            if self.writing and not self._failed:
                with self._storing():
                    self.db.execute("COMMIT")
        finally:
            self.db.close()
            self.db = None

    def __enter__(self) -> "Vault":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- reading -----------------------------------------------------------------
    def _integrity(self) -> VaultError:
        return VaultError(f"{self.path}: a row fails its integrity check (the vault was altered)")

    def _open(self, kind: str, rid: bytes, ix: bytes, rix: bytes, box: bytes) -> Mapping:
        try:
            original, pseudonym = json.loads(self.keys.enc.decrypt(box[:12], box[12:], _ad(kind, rid, ix, rix)))
        except (InvalidTag, TypeError, ValueError):
            raise self._integrity() from None
        return kind, original, pseudonym

    def _select(self, sql: str, args: tuple) -> Iterator[tuple]:
        """Rows of a query; a damaged file is a VaultError (whose message holds no row)."""
        assert self.db is not None, "the vault is closed"
        self.db.text_factory = bytes  # a box altered into TEXT is then an integrity error, not a crash
        with self._sql("read it"):
            yield from self.db.execute(sql, args)

    def lookup(
        self, *, original: str | None = None, pseudonym: str | None = None, kind: str | None = None
    ) -> list[Mapping]:
        """Every mapping whose original (or pseudonym) is this value, of one kind or of any;
        each decrypted row must hold the value asked for, else the vault was altered."""
        value, col, side = (original, "ix", 1) if original is not None else (pseudonym, "rix", 2)
        value = (value or "").strip()
        found = []
        for k in (kind,) if kind else KINDS:
            for row in self._select(
                f"SELECT id, ix, rix, box FROM mappings WHERE {col}=? AND kind=? ORDER BY id",
                (self.keys.ix(k, value), k),
            ):
                mapping = self._open(k, *row)
                if mapping[side] != value:
                    raise self._integrity()
                found.append(mapping)
        return found

    def rows(self, kind: str | None = None) -> Iterator[Mapping]:
        """Every mapping (of one kind), in index order (not the order of the run)."""
        sql, args = "SELECT kind, id, ix, rix, box FROM mappings", tuple[str, ...]()
        if kind:
            sql, args = sql + " WHERE kind=?", (kind,)
        for k, rid, ix, rix, box in self._select(sql + " ORDER BY kind, ix, id", args):
            yield self._open(k.decode("ascii", "replace"), rid, ix, rix, box)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def open_for_run(
    vault: Path | None,
    key_file: Path | None,
    pseudonym_key: bytes,
    written: Path | Iterable[Path],
    inputs: Iterable[Path] = (),
) -> tuple[Vault, str]:
    """The vault a run writes, and where its key came from; refuses a vault key that is the
    pseudonym key (one leaked file would then undo both), a vault made under another
    pseudonym key, and a vault or key inside a folder the run writes (`written`: its sink's
    local folders, Sink.folders(): the output, the quarantine, previews) or an input. A key
    file made here is removed again when the vault does not open."""
    if vault is None:
        raise VaultError("--vault-key-file needs --vault FILE")
    folders = [p.resolve() for p in inputs]
    outs = [p.resolve() for p in ([written] if isinstance(written, Path) else written)]
    for p in (vault, key_file):
        if p is None:
            continue
        if any(_inside(p.resolve(), o) for o in outs):
            raise VaultError(
                "the vault and its key must not be inside --out, its quarantine or --preview: uploading the output would upload them"
            )
        if any(_inside(p.resolve(), f) for f in folders):
            raise VaultError("the vault and its key must not be inside an input: the run would read them as inputs")
    if key_file is not None and vault.is_file() and not key_file.is_file():
        raise VaultError(f"vault {vault} exists but its key file {key_file} does not: a new key cannot open it")
    secret, where = load_vault_key(key_file, create=True)
    try:
        if hmac.compare_digest(secret, pseudonym_key):
            raise VaultError(
                "the vault key is the pseudonym key: use a separate key (--vault-key-file or "
                f"{ENV}), so the pseudonym key alone can never reverse the pseudonyms"
            )
        return Vault(vault, secret, pseudonym_key_id=Pseudonymizer(pseudonym_key).key_id), where
    except BaseException:
        # a key made here goes again, unless a vault is there now: another run that named the
        # same new key file may have read it and built its vault under it
        if where.startswith("created") and key_file is not None and not (vault.is_file() and vault.stat().st_size > 0):
            key_file.unlink(missing_ok=True)
        raise


MIDI_B = {"uid_mapping.csv": "uid", "patid_mapping.csv": "patient-id"}


def export(vault: Vault, fmt: str, out_dir: Path) -> dict[Path, int]:
    """Write the mapping tables (each atomically, mode 0600: they hold originals); returns
    each file and its row count. midi-b: uid_mapping.csv and patid_mapping.csv with the
    header id_old,id_new that the MIDI-B validation script reads; csv: kind,id_old,id_new."""
    from .util import atomic_open

    if fmt not in ("midi-b", "csv"):
        raise VaultError("--format must be midi-b or csv")
    plan = MIDI_B if fmt == "midi-b" else {"vault_mapping.csv": None}
    written: dict[Path, int] = {}
    for name, kind in plan.items():
        path, n = out_dir / name, 0
        try:
            with atomic_open(path, "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh, lineterminator="\n")
                w.writerow(["id_old", "id_new"] if kind else ["kind", "id_old", "id_new"])
                for k, original, pseudonym in vault.rows(kind):
                    w.writerow([original, pseudonym] if kind else [k, original, pseudonym])
                    n += 1
        except OSError as exc:
            raise VaultError(f"cannot write {path}: {exc.strerror or type(exc).__name__}") from None
        written[path] = n
    return written


def open_to_read(path: Path, key_file: Path | None) -> Vault:
    """A vault opened read-only with its key (--vault-key-file, else DEID_VAULT_KEY)."""
    secret, _where = load_vault_key(key_file, create=False)
    return Vault(path, secret)
