"""Real peers for the gateway tests, on loopback only: Orthanc (Debian `orthanc`, with the
DICOMweb plugin from `orthanc-dicomweb` when present) started with a generated config on
free ports, its storage under the test's tmp_path; DCMTK's storescu/echoscu (Debian
`dcmtk`) as senders; `deid serve` as a subprocess (so SIGTERM and kill -9 are real).

Orthanc has no bind-address option: it listens on every interface, so the config
accepts DICOM only from known modalities at 127.0.0.1 (DicomCheckModalityHost, no
DicomAlwaysAllow*), and HTTP only from loopback (RemoteAccessAllowed false).
Every value here is synthetic.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from pydicom.uid import generate_uid

from helpers import REPO, make_ds, write

ORTHANC = shutil.which("Orthanc") or ("/usr/sbin/Orthanc" if os.path.exists("/usr/sbin/Orthanc") else None)
DCMTK = "/usr/bin"  # Debian dcmtk; pynetdicom's own `storescu` script may shadow it on PATH
STORESCU = os.path.join(DCMTK, "storescu")
ECHOSCU = os.path.join(DCMTK, "echoscu")
DICOMWEB_PLUGIN = next(
    (p for p in ("/usr/share/orthanc/plugins/libOrthancDicomWeb.so",) if os.path.exists(p)),
    None,
)
LOOPBACK = "127.0.0.1"

needs_orthanc = pytest.mark.skipif(
    ORTHANC is None, reason="Orthanc is not installed (Debian `orthanc`; .ci/run installs it)"
)
needs_dcmtk = pytest.mark.skipif(
    not os.path.exists(STORESCU), reason="DCMTK is not installed (Debian `dcmtk`; .ci/run installs it)"
)
needs_dicomweb = pytest.mark.skipif(
    DICOMWEB_PLUGIN is None, reason="Orthanc's DICOMweb plugin is not installed (Debian `orthanc-dicomweb`)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


@dataclass
class Orthanc:
    root: Path
    dicom_port: int
    http_port: int
    aet: str = "ORTHANC"
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.http_port}"

    @property
    def peer(self) -> str:
        return f"{self.aet}@{LOOPBACK}:{self.dicom_port}"

    def get(self, path: str):
        with urllib.request.urlopen(self.url + path, timeout=30) as rsp:
            body = rsp.read()
        return json.loads(body) if body[:1] in (b"{", b"[") else body

    def instances(self) -> list[str]:
        return self.get("/instances")

    def statistics(self) -> dict:
        return self.get("/statistics")

    def download(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        out = []
        for i, oid in enumerate(self.instances()):
            p = folder / f"{i:05d}.dcm"
            p.write_bytes(self.get(f"/instances/{oid}/file"))
            out.append(p)
        return out

    def sop_uids(self) -> list[str]:
        return [self.get(f"/instances/{oid}")["MainDicomTags"]["SOPInstanceUID"] for oid in self.instances()]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_orthanc(
    root: Path, modalities: dict[str, int | None], dicomweb: bool = False, ports: tuple[int, int] | None = None
) -> Orthanc:
    """An Orthanc on free loopback ports; `modalities`: AE title -> port of the peers that
    may talk to it (all at 127.0.0.1; None: one that only calls in)."""
    root.mkdir(parents=True, exist_ok=True)
    o = Orthanc(root, *(ports or (free_port(), free_port())))
    cfg = {
        "Name": "deid-test",
        "StorageDirectory": str(root / "storage"),
        "IndexDirectory": str(root / "index"),
        "DicomAet": o.aet,
        "DicomPort": o.dicom_port,
        "HttpPort": o.http_port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomCheckModalityHost": True,
        "DicomAlwaysAllowEcho": False,
        "DicomAlwaysAllowStore": False,
        "DicomAlwaysAllowFind": False,
        "DicomAlwaysAllowGet": False,
        "DicomAlwaysAllowMove": False,
        "DicomModalities": {aet: [aet, LOOPBACK, port or 104] for aet, port in modalities.items()},
        "StorageCompression": False,
        "HttpCompressionEnabled": False,
        "SyncStorageArea": False,
        "ConcurrentJobs": 1,
        "Plugins": [DICOMWEB_PLUGIN] if dicomweb and DICOMWEB_PLUGIN else [],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        "UnknownSopClassAccepted": True,
    }
    (root / "orthanc.json").write_text(json.dumps(cfg))
    log = open(root / "orthanc.log", "wb")
    o.proc = subprocess.Popen(
        [ORTHANC, str(root / "orthanc.json")], stdout=log, stderr=subprocess.STDOUT, env=dcmtk_env()
    )  # Orthanc's DICOM side is DCMTK: TCP_NODELAY=1, or ~40 ms per response
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if o.proc.poll() is not None:
            raise RuntimeError("Orthanc exited at start: " + (root / "orthanc.log").read_text(errors="replace")[-2000:])
        try:
            o.get("/system")
            return o
        except OSError:
            time.sleep(0.1)
    o.stop()
    raise RuntimeError("Orthanc did not start within 30 s")


# -- inputs --------------------------------------------------------------------------
def ct_instance(patient: int, study_uid: str, series_uid: str, number: int, **extra):
    """A small CT-like instance: a full header with identifying values and 8x8 pixels."""
    ds = make_ds(
        patient_id=f"PID-{patient:04d}",
        name=f"TESTPERSON^PAT{patient:04d}",
        study_uid=study_uid,
        SeriesInstanceUID=series_uid,
        InstanceNumber=number,
        AccessionNumber=f"ACC{patient:04d}",
        InstitutionName="Synthetic General Hospital",
        ReferringPhysicianName="REFER^DOC",
        StudyDescription="CT CHEST",
        SeriesDescription="AXIAL",
        Rows=8,
        Columns=8,
        BitsAllocated=16,
        BitsStored=12,
        HighBit=11,
        PixelRepresentation=0,
        SamplesPerPixel=1,
        PhotometricInterpretation="MONOCHROME2",
        **extra,
    )
    ds.PixelData = (np.arange(64, dtype=np.uint16) * (number % 7 + 1)).tobytes()
    return ds


def make_study_files(folder: Path, n: int, patients: int = 4) -> list[Path]:
    """n instances over `patients` patients (one study and series each)."""
    studies = {p: (generate_uid(), generate_uid()) for p in range(patients)}
    out = []
    for i in range(n):
        p = i % patients
        ds = ct_instance(p, *studies[p], number=i)
        out.append(write(ds, folder / f"p{p}" / f"{i:05d}.dcm"))
    return out


def header_only_pipeline(folder: Path) -> Path:
    """dicom-basic with pixel cleaning off (as benchmarks/header_throughput.py times it):
    the header path alone, for tests and benchmarks about moving instances."""
    import yaml

    raw = yaml.safe_load((REPO / "pipelines" / "dicom-basic.yaml").read_text("utf-8"))
    raw.update(name="dicom-basic-header-only", pixels={"mode": "off"})
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "dicom-basic-header-only.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    return path


# -- deid serve as a process ---------------------------------------------------------
def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(REPO) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    return e


@dataclass
class Served:
    proc: subprocess.Popen
    port: int
    spool: Path
    audit: Path
    log: Path

    def status(self) -> dict:
        """What `deid serve --status` prints (read here, without starting a process)."""
        from deid.gateway.service import read_status
        from deid.gateway.spool import Spool

        return read_status(Spool(self.spool))

    def stop(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def serve(
    tmp: Path, *args: str, port: int | None = None, spool: Path | None = None, wait: bool = True, name: str = "serve"
) -> Served:
    port = port or free_port()
    spool = spool or tmp / "spool"
    audit = tmp / "gateway.audit.sqlite"
    log = tmp / f"{name}-{time.monotonic_ns()}.log"
    cmd = [
        sys.executable, "-m", "deid.cli", "serve",
        "--listen", f"{LOOPBACK}:{port}",
        "--spool", str(spool),
        "--audit", str(audit),
        *args,
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=open(log, "wb"), stderr=subprocess.STDOUT, env=env())
    s = Served(proc, port, spool, audit, log)
    if wait:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"deid serve exited {proc.returncode}: {s.output()[-2000:]}")
            try:
                with socket.create_connection((LOOPBACK, port), timeout=1):
                    return s
            except OSError:
                time.sleep(0.1)
        proc.kill()
        raise RuntimeError("deid serve did not listen within 60 s")
    return s


def storescu(
    port: int,
    paths: list[Path] | Path,
    aet: str = "MODALITY",
    called: str = "DEID",
    check: bool = True,
    timeout: float = 300,
):
    args = [STORESCU, "-aet", aet, "-aec", called, "-to", "30"]
    if isinstance(paths, Path) and paths.is_dir():
        args += ["+sd", "+r", LOOPBACK, str(port), str(paths)]
    else:
        args += [LOOPBACK, str(port), *map(str, paths if isinstance(paths, list) else [paths])]
    return subprocess.run(args, capture_output=True, timeout=timeout, check=check, env=dcmtk_env())


def dcmtk_env() -> dict:
    """DCMTK's senders leave Nagle's algorithm on unless TCP_NODELAY=1 (Debian's build):
    ~40 ms per instance otherwise (docs/gateway.md)."""
    return dict(os.environ, TCP_NODELAY="1")


def wait_for(cond, timeout: float = 60, step: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")
