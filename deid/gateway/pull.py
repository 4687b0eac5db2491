"""`deid pull`: fetch a researcher's list of studies from a PACS (C-FIND, then C-GET at
study level: PS3.4 C.4.1, C.4.3), into the gateway's spool, then through the same
engine and sink as `deid serve`.

The list is a CSV with a header naming one column per row's key: AccessionNumber,
PatientID or StudyInstanceUID (the first of them a row fills is used). Each row's key
is remembered, once all its studies are in the spool, as a keyed fingerprint in
<spool>/pull-done.txt (never the value): a rerun skips those rows, and what was spooled
but not forwarded is forwarded first. Nothing here logs or prints a key's value; rows
are named by their number.

C-GET (not C-MOVE) brings the instances back on the same association, so the PACS
needs to know deid's AE title but not an address to send to.
"""

from __future__ import annotations

import csv
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ContextManager

from ..audit.events import AuditEvent
from ..engine.sinks.cstore import Peer, tune
from ..errors import DeidError
from ..util import fsync_dir
from .spool import Spool

if TYPE_CHECKING:
    from pynetdicom.association import Association
    from pynetdicom.events import Event

    from .config import GatewayConfig
    from .service import Forwarder

log = logging.getLogger(__name__)

KEYS = {  # CSV header (lower case, no separators) -> DICOM keyword at STUDY level
    "accessionnumber": "AccessionNumber",
    "accession": "AccessionNumber",
    "patientid": "PatientID",
    "studyinstanceuid": "StudyInstanceUID",
    "studyuid": "StudyInstanceUID",
}
DONE = "pull-done.txt"


@dataclass(frozen=True)
class Row:
    number: int  # 1-based, after the header
    keyword: str
    value: str = field(repr=False)


def read_list(path: Path) -> list[Row]:
    """The CSV's rows; DeidError when it names none of the keys."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            cols = {
                c: KEYS[c.lower().replace("_", "").replace(" ", "")]
                for c in reader.fieldnames or []
                if c and c.lower().replace("_", "").replace(" ", "") in KEYS
            }
            if not cols:
                raise DeidError(f"--list {path}: the header must name AccessionNumber, PatientID or StudyInstanceUID")
            rows = []
            for n, rec in enumerate(reader, 1):
                for col, kw in cols.items():
                    v = (rec.get(col) or "").strip()
                    if v:
                        _exact(path, n, kw, v)
                        rows.append(Row(n, kw, v))
                        break
            return rows
    except OSError as exc:
        raise DeidError(f"cannot read --list {path}: {exc.strerror or type(exc).__name__}") from None
    except (UnicodeDecodeError, csv.Error):
        raise DeidError(f"--list {path} is not a UTF-8 CSV file") from None


def _exact(path: Path, n: int, keyword: str, value: str) -> None:
    """A value C-FIND matches as itself only: no wildcard (*, ?) and no list (\\), which
    would fetch studies that are not on the list; a UID that is a UID. DeidError naming
    the row, never the value."""
    if any(c in value for c in "*?\\"):
        raise DeidError(
            f"--list {path}: row {n} holds *, ? or \\, which C-FIND reads as a wildcard or a list "
            "(other patients' studies would be fetched): list exact values"
        )
    if (keyword == "StudyInstanceUID" and not re.fullmatch(r"[0-9]+(\.[0-9]+)*", value)) or len(value) > 64:
        raise DeidError(f"--list {path}: row {n}: {keyword} is not a valid DICOM value")


@dataclass
class PullResult:
    rows: int = 0
    done_earlier: int = 0
    fetched: int = 0  # rows whose studies are all in the spool
    not_found: int = 0  # rows the PACS found no study for
    failed: int = 0  # rows whose C-FIND or C-GET failed (tried again on the next run)
    instances: int = 0  # received by C-GET
    exit_code: int = 0


class DoneList:
    """Keyed fingerprints of the rows fetched: appended and fsynced one per line."""

    def __init__(self, spool: Spool, fingerprint: Callable[[str], str]):
        self.path = spool.root / DONE
        self.fp = fingerprint
        self.done = set(self.path.read_text("ascii").split()) if self.path.exists() else set()

    def key(self, row: Row) -> str:
        return self.fp(f"pull:{row.keyword}={row.value}")

    def __contains__(self, row: Row) -> bool:
        return self.key(row) in self.done

    def add(self, row: Row) -> None:
        k = self.key(row)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (k + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(self.path.parent)
        self.done.add(k)


class Puller:
    """One association to the PACS for C-FIND and C-GET; received instances go to the spool."""

    def __init__(self, source: Peer, ae_title: str, spool: Spool, timeout: float = 120.0):
        self.source, self.ae_title, self.spool, self.timeout = source, ae_title, spool, timeout
        self.received = 0
        self.failed_stores = 0
        self.assoc: Association | None = None

    def __enter__(self) -> Puller:
        from pynetdicom import AE, StoragePresentationContexts, build_role, evt
        from pynetdicom.sop_class import (  # type: ignore[attr-defined]
            StudyRootQueryRetrieveInformationModelFind,
            StudyRootQueryRetrieveInformationModelGet,
        )

        ae = AE(ae_title=self.ae_title)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = self.timeout
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
        roles = []
        for cx in StoragePresentationContexts[:126]:  # 128 contexts at most, 2 used above
            ae.add_requested_context(str(cx.abstract_syntax))
            roles.append(build_role(str(cx.abstract_syntax), scp_role=True))
        assoc = ae.associate(
            self.source.host,
            self.source.port,
            ae_title=self.source.ae_title,
            ext_neg=roles,  # type: ignore[arg-type]
            evt_handlers=[(evt.EVT_C_STORE, self._store)],
        )
        if not assoc.is_established:
            raise DeidError(
                f"--from {self.source}: no association ({'rejected: is ' + self.ae_title + ' known to the PACS?' if assoc.is_rejected else 'cannot connect'})"
            )
        tune(assoc)
        self.assoc = assoc
        return self

    def __exit__(self, *exc: object) -> None:
        if self.assoc is not None and self.assoc.is_established:
            self.assoc.release()

    def _store(self, event: Event) -> int:
        try:
            self.spool.put(event.encoded_dataset(include_meta=True))
        except Exception as exc:
            self.failed_stores += 1
            log.error("cannot spool a retrieved instance (%s)", type(exc).__name__)
            return 0xA700
        self.received += 1
        return 0x0000

    def studies(self, row: Row) -> list[str] | None:
        """Study Instance UIDs for the row's key (None: the C-FIND failed)."""
        from pydicom.dataset import Dataset
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind  # type: ignore[attr-defined]

        assert self.assoc is not None
        q = Dataset()
        q.QueryRetrieveLevel = "STUDY"
        q.StudyInstanceUID = ""
        setattr(q, row.keyword, row.value)
        uids: list[str] = []
        for status, ident in self.assoc.send_c_find(q, StudyRootQueryRetrieveInformationModelFind):
            code = getattr(status, "Status", None)
            if code is None or (code not in (0x0000, 0xFF00, 0xFF01)):
                return None
            if code in (0xFF00, 0xFF01) and ident is not None and ident.get("StudyInstanceUID"):
                uids.append(str(ident.StudyInstanceUID))
        return list(dict.fromkeys(uids))

    def get(self, study_uid: str) -> bool:
        """C-GET one study into the spool; True when every sub-operation succeeded."""
        from pydicom.dataset import Dataset
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelGet  # type: ignore[attr-defined]

        assert self.assoc is not None
        q = Dataset()
        q.QueryRetrieveLevel = "STUDY"
        q.StudyInstanceUID = study_uid
        before = self.failed_stores
        final: Any = None
        for status, _ident in self.assoc.send_c_get(q, StudyRootQueryRetrieveInformationModelGet):
            if status is not None and "Status" in status:
                final = status
        code = getattr(final, "Status", None)
        failed = getattr(final, "NumberOfFailedSuboperations", 0) or 0
        return code == 0x0000 and not failed and self.failed_stores == before


def pull(
    cfg: GatewayConfig,
    source: Peer,
    rows: list[Row],
    progress: Callable[[int], ContextManager[Callable[[], None]]],
    say: Callable[[str], None] = log.warning,
) -> PullResult:
    """Fetch every row not done earlier into the spool, forwarding as it goes."""
    from ..dicom.io import pydicom_silenced

    with pydicom_silenced():  # a PACS's bad value must not be quoted on stderr
        return _pull(cfg, source, rows, progress, say)


def _pull(
    cfg: GatewayConfig,
    source: Peer,
    rows: list[Row],
    progress: Callable[[int], ContextManager[Callable[[], None]]],
    say: Callable[[str], None],
) -> PullResult:
    from ..audit.log import AuditLog
    from ..engine.lock import hold
    from ..engine.session import versions
    from ..pseudonym import Pseudonymizer
    from .service import Forwarder

    spool = Spool(cfg.spool)
    sink = cfg.sink()
    res = PullResult(rows=len(rows))
    pseudo = Pseudonymizer(cfg.secret)
    with hold(cfg.spool, cfg.audit):
        spool.prepare()
        sink.prepare()
        sink.remove_partials()  # a killed run's workers' temp files
        done = DoneList(spool, pseudo.fingerprint)
        todo = [r for r in rows if r not in done]
        res.done_earlier = len(rows) - len(todo)
        audit = AuditLog(cfg.audit, durable=True)  # spool entries go right after a commit
        audit.start_run(cfg.pipeline.name, cfg.pipeline.policy_hash, versions(), pseudo.key_id)
        fwd = Forwarder(cfg, spool, sink, audit)
        try:
            if spool.depth():
                say(f"forwarding {spool.depth()} instances spooled by an earlier run first")
                _drain(fwd)
            with Puller(source, cfg.ae_title, spool) as p, progress(len(todo)) as step:
                for row in todo:
                    uids = p.studies(row)
                    if uids is None:
                        res.failed += 1
                        log.warning("row %d: C-FIND failed", row.number)
                    elif not uids:
                        res.not_found += 1
                        log.warning("row %d: no study found", row.number)
                    elif all([p.get(u) for u in uids]):
                        done.add(row)
                        res.fetched += 1
                    else:
                        res.failed += 1
                        log.warning("row %d: C-GET did not complete", row.number)
                    _drain(fwd)
                    step()
                res.instances = p.received
            audit.record_note(
                "<pull>",
                [
                    _event(
                        f"source_ae={source.ae_title} rows={res.rows} done_earlier={res.done_earlier} "
                        f"fetched={res.fetched} not_found={res.not_found} failed={res.failed} instances={res.instances}"
                    )
                ],
            )
        finally:
            fwd.release()
            audit.finish_run()
            audit.close()
    n = fwd.n
    left = spool.depth()
    res.exit_code = 3 if left else (1 if res.failed or res.not_found or n.quarantined or n.errors else 0)
    say(
        f"rows {res.rows}: fetched {res.fetched}, done earlier {res.done_earlier}, not found {res.not_found}, "
        f"failed {res.failed}; instances {res.instances}: forwarded {n.forwarded}, quarantined {n.quarantined}"
        + (f", still spooled {left} (run again to forward them)" if left else "")
    )
    return res


def _drain(fwd: Forwarder) -> None:
    """Forward the spool until it is empty, or the destination is down (left for later)."""
    while fwd.batch():
        pass


def _event(detail: str) -> AuditEvent:
    return AuditEvent("<pull>", "retrieve", "network", "gateway:pull", "", detail)
