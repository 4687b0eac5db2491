#!/usr/bin/env python3
"""Header-only DICOM de-identification throughput: deid against other open-source tools.

Generates a synthetic folder (pydicom + numpy, no real data) under benchmarks/.work/data/,
installs each third-party tool into its own venv under benchmarks/.work/venvs/<tool>, then
times every tool R times on the same folder in one run (fresh output folder each time) and
reports medians. Wall time includes interpreter start-up, as a user running a CLI sees it.

    python benchmarks/header_throughput.py [--files 300] [--repeat 3] [--write-docs]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / ".work"
DATA, VENVS, RESULTS = WORK / "data", WORK / "venvs", WORK / "results.json"
DOCS = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
DATA_VERSION = 1
CT, CR = "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.1"
# Byte strings that only occur in the synthetic identifying values; any left in an output is PHI kept.
PHI_MARKERS = (b"DOE^", b"MRN100", b"GENERAL HOSPITAL", b"SECRET-", b"ACC200", b"SMITH^")
# The floor: read and write every file with pydicom, nothing else (run as a subprocess like the tools).
COPY_SCRIPT = """import sys, pathlib, pydicom
src, dst = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for p in sorted(src.rglob('*')):
    if p.is_file():
        out = dst / p.relative_to(src); out.parent.mkdir(parents=True, exist_ok=True)
        pydicom.dcmread(p).save_as(out)
"""


@dataclass
class Tool:
    name: str
    package: str | None  # PyPI name installed into its own venv; None = the main environment
    version: str = ""
    status: str = "ok"
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # user + sys seconds of the process tree
    notes: list[str] = field(default_factory=list)

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times and self.status == "ok" else None


def uid(*parts: object) -> str:
    """A fixed 2.25 UID from a name-based UUID, so the data set is identical on every run."""
    return f"2.25.{uuid.uuid5(uuid.NAMESPACE_OID, '/'.join(map(str, ('deid-bench-v1', *parts)))).int}"


def make_file(i: int, n: int, rng: np.random.Generator) -> Dataset:
    """One CT-like slice (64x64) or, for every 10th file, a 1024x1024 16-bit CR; typical header PHI."""
    p = i * max(1, n // 15) // n if n >= 15 else i  # ~15 patients, contiguous files per patient
    large = i % 10 == 9
    sop_class = CR if large else CT
    ds, meta = Dataset(), FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = sop_class, uid(i, "sop")
    meta.TransferSyntaxUID, meta.ImplementationClassUID = ExplicitVRLittleEndian, uid("impl")
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, uid(i, "sop")
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uid(p, "study"), uid(p, "series", large)
    ds.FrameOfReferenceUID = uid(p, "for")
    ds.PatientName, ds.PatientID = f"DOE^JOHN^{p}", f"MRN{100000 + p}"
    ds.OtherPatientIDs, ds.PatientBirthDate = f"MRN-OLD-{p}", f"19{50 + p % 40:02d}0{1 + p % 9}15"
    ds.PatientSex, ds.PatientAge, ds.PatientAddress = "MF"[p % 2], f"{40 + p % 40:03d}Y", f"{p} MAIN ST, SPRINGFIELD"
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = f"2023{1 + p % 12:02d}{1 + p % 28:02d}"
    ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = f"{8 + p % 10:02d}3015.123"
    ds.AccessionNumber, ds.StudyID = f"ACC{200000 + p}", f"S{p}"
    ds.InstitutionName, ds.InstitutionAddress = "GENERAL HOSPITAL", "1 HOSPITAL RD, SPRINGFIELD"
    ds.ReferringPhysicianName, ds.PerformingPhysicianName = f"SMITH^ANNA^{p % 5}", f"SMITH^BOB^{p % 3}"
    ds.OperatorsName, ds.StationName = "DOE^OPERATOR", "CT01"
    ds.StudyDescription, ds.SeriesDescription = "CT CHEST W CONTRAST", "AXIAL 5MM"
    ds.Modality, ds.Manufacturer, ds.DeviceSerialNumber = "CR" if large else "CT", "SYNTHETIC", f"SN{p:05d}"
    ds.SeriesNumber, ds.InstanceNumber = 2 if large else 1, i + 1
    req = Dataset()
    req.RequestedProcedureDescription = f"CT CHEST for DOE^JOHN^{p}"
    req.RequestedProcedureID, req.ScheduledProcedureStepID = f"RP{p:06d}", f"SPS{i:06d}"
    ds.RequestAttributesSequence = Sequence([req])
    block = ds.private_block(0x0009, "SYNTH PRIVATE 1.0", create=True)
    block.add_new(0x01, "LO", f"SECRET-{p}")
    block.add_new(0x02, "DS", "1.5")
    block.add_new(0x03, "SH", f"MRN{100000 + p}")
    size = 1024 if large else 64
    arr = rng.integers(0, 4096, (size, size), dtype=np.uint16)
    ds.set_pixel_data(arr, "MONOCHROME2", 12, generate_instance_uid=False)
    if not large:
        ds.ImagePositionPatient, ds.SliceThickness = [0.0, 0.0, float(i)], 5.0
        ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
    return ds


def ensure_data(n: int) -> None:
    """(Re)generate the flat data folder unless it already holds this version with n files.
    Flat, because dicom-anonymizer does not recurse into sub-folders."""
    stamp, want = WORK / "data.stamp", f"v{DATA_VERSION} files={n}"
    if DATA.is_dir() and stamp.exists() and stamp.read_text() == want:
        return
    shutil.rmtree(DATA, ignore_errors=True)
    DATA.mkdir(parents=True)
    rng = np.random.default_rng(20240611)
    for i in range(n):
        make_file(i, n, rng).save_as(DATA / f"IM{i:05d}.dcm", enforce_file_format=True)
    stamp.write_text(want)


def tree_digest(path: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(path.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(path)).encode() + p.read_bytes())
    return h.hexdigest()


def venv_python(tool: Tool) -> Path:
    return VENVS / tool.name / "bin" / "python"


def install(tool: Tool) -> None:
    """Create benchmarks/.work/venvs/<tool> and pip install the package, unless already done."""
    venv, marker = VENVS / tool.name, VENVS / tool.name / ".installed"
    if not marker.exists():
        shutil.rmtree(venv, ignore_errors=True)
        print(f"installing {tool.package} into {venv} ...", file=sys.stderr)
        for cmd in (
            [sys.executable, "-m", "venv", str(venv)],
            [str(venv_python(tool)), "-m", "pip", "install", "-q", tool.package or ""],
        ):
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode:
                tail = (r.stderr or r.stdout).strip().splitlines() or ["(no output)"]
                tool.status = f"failed: install: {tail[-1][:160]}"
                return
        marker.touch()
    r = subprocess.run(
        [str(venv_python(tool)), "-c", f"import importlib.metadata as m; print(m.version({tool.package!r}))"],
        capture_output=True,
        text=True,
        cwd=WORK,
    )
    tool.version = r.stdout.strip() or "?"


def header_only_pipeline() -> Path:
    """dicom-basic with burned-in text cleaning off: the work the other tools do (headers),
    so the comparison is like for like (pixel cleaning is measured in benchmarks/pixels.py)."""
    import yaml

    raw = yaml.safe_load((ROOT / "pipelines" / "dicom-basic.yaml").read_text("utf-8"))
    raw.update(name="dicom-basic-header-only", pixels={"mode": "off"})
    path = WORK / "dicom-basic-header-only.yaml"
    WORK.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    return path


def command(tool: Tool, out: Path) -> list[str]:
    """The new-user default invocation of each tool, input DATA and output folder `out`."""
    bin_ = venv_python(tool).parent
    if tool.name.startswith("deid"):
        cmd = [
            sys.executable,
            "-m",
            "deid.cli",
            "run",
            str(DATA),
            "--out",
            str(out),
            "-q",
            "--pipeline",
            str(header_only_pipeline()),
            "--audit",
            str(out.parent / f"{out.name}.audit.sqlite"),
        ]
        return cmd + (["--workers", "2"] if tool.name.endswith("workers 2") else ["--workers", "1"])
    if tool.name == "dicognito":
        return [str(bin_ / "python"), "-m", "dicognito", "--quiet", "--output-directory", str(out), str(DATA)]
    if tool.name == "pydicom-deid":  # default recipe; writes <outfolder>/<basename>, folder must exist
        out.mkdir(parents=True)
        return [
            str(bin_ / "deid"),
            "--quiet",
            "--outfolder",
            str(out),
            "identifiers",
            "--action",
            "all",
            "--input",
            str(DATA),
        ]
    if tool.name == "dicom-anonymizer":  # output folder must exist, else it exits 0 having done nothing
        out.mkdir(parents=True)
        return [str(bin_ / "dicom-anonymizer"), str(DATA), str(out)]
    return [sys.executable, "-c", COPY_SCRIPT, str(DATA), str(out)]  # pydicom copy (floor)


def check_output(tool: Tool, out: Path, n: int, digest: str) -> None:
    """After the first run: count outputs, look for left-over synthetic PHI, check input untouched."""
    files = [p for p in out.rglob("*") if p.is_file()]
    if len(files) != n:
        tool.notes.append(f"wrote {len(files)}/{n} files")
    quarantine = out.parent / f"{out.name}.quarantine"
    if quarantine.is_dir():
        tool.notes.append(f"quarantined {sum(1 for p in quarantine.rglob('*.dcm'))}")
    if not tool.name.startswith("pydicom copy"):
        leaky = [m.decode() for m in PHI_MARKERS if any(m in p.read_bytes() for p in files)]
        if leaky:
            tool.notes.append("PHI left: " + ", ".join(leaky))
    if tree_digest(DATA) != digest:
        tool.notes.append("MODIFIED INPUT")


def run_once(tool: Tool, k: int, n: int, digest: str) -> None:
    """Time one run of `tool` into a fresh output folder; on the first run also check its output.
    os.sync() first (untimed), so no run pays for the previous run's (or generation's) writeback."""
    env = {**os.environ, "DEID_KEY": "benchmark-key-0123456789abcdef0123456789abcdef"}
    base = WORK / "out" / re.sub(r"\W+", "-", tool.name)
    out = base / f"run{k}"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    try:
        cmd = command(tool, out)
        os.sync()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        r = subprocess.run(cmd, cwd=WORK, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if r.returncode:
            tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["(no output)"]
            tool.status = f"failed: exit {r.returncode}: {tail[0][:160]}"
            print(f"  {tool.name}: {tool.status}", file=sys.stderr)
            return
        tool.times.append(elapsed)
        tool.cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        if k == 0:
            check_output(tool, out, n, digest)
        print(f"  {tool.name:<20} run {k + 1}: {elapsed:.2f} s", file=sys.stderr)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def machine() -> dict[str, str]:
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else ""
    )
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def summarise(tools: list[Tool], n: int, repeat: int, data_mb: float) -> dict:
    t = {tool.name: tool.median for tool in tools}
    deid = t["deid"]
    others = [x for x in (t["dicognito"], t["pydicom-deid"], t["dicom-anonymizer"]) if x]
    fastest = min(others) if others else None
    vs_fastest, vs_copy = ratio(fastest, deid), ratio(deid, t["pydicom copy (floor)"])
    scaling = ratio(deid, t["deid --workers 2"])
    targets = {
        "single process >= 2x the fastest other tool (their time / deid time)": (
            vs_fastest,
            vs_fastest is not None and vs_fastest >= 2,
        ),
        "single process within 2x of the bare pydicom copy (deid time / copy time)": (
            vs_copy,
            vs_copy is not None and vs_copy <= 2,
        ),
        "--workers 2 >= 1.7x single process (single time / workers-2 time)": (
            scaling,
            scaling is not None and scaling >= 1.7,
        ),
    }
    return {
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "files": n,
        "repeat": repeat,
        "data_mb": round(data_mb, 1),
        "tools": [
            {
                **asdict(x),
                "median_s": x.median,
                "median_cpu_s": statistics.median(x.cpu) if x.cpu else None,
                "files_per_s": n / x.median if x.median else None,
                "speedup_vs_deid": ratio(x.median, deid),
            }
            for x in tools
        ],
        "targets": {k: {"value": v, "met": met} for k, (v, met) in targets.items()},
    }


def fmt(x: float | None, spec: str = ".2f", suffix: str = "") -> str:
    return "n/a" if x is None else f"{x:{spec}}{suffix}"


def markdown(res: dict) -> str:
    m = res["machine"]
    lines = [
        f"Measured {res['date']} on {m['cpu']} ({m['nproc']} CPUs), {m['platform']}, Python {m['python']}.",
        f"Data: {res['files']} synthetic files, {res['data_mb']} MB (90 % 64x64 CT slices, 10 % 1024x1024 "
        f"16-bit CR). Figures are medians of {res['repeat']} runs per tool, all measured in the same run "
        "on the same folder.",
        "",
        "| tool | version | median s | files/s | runs (s) | CPU s | tool time / deid time | notes |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: | --- |",
    ]
    for x in res["tools"]:
        if x["status"] != "ok":
            lines.append(f"| {x['name']} | {x['version'] or '-'} | - | - | - | - | - | {x['status']} |")
            continue
        runs = ", ".join(f"{s:.2f}" for s in x["times"])
        lines.append(
            f"| {x['name']} | {x['version']} | {x['median_s']:.2f} | {x['files_per_s']:.0f} | {runs} | "
            f"{x['median_cpu_s']:.2f} | {fmt(x['speedup_vs_deid'], '.2f', 'x')} | {'; '.join(x['notes']) or '-'} |"
        )
    lines += ["", "| target | measured | met |", "| --- | ---: | --- |"]
    for name, t in res["targets"].items():
        lines.append(f"| {name} | {fmt(t['value'], '.2f', 'x')} | {'yes' if t['met'] else '**no**'} |")
    return "\n".join(lines) + "\n"


def write_docs(table: str) -> None:
    text = DOCS.read_text() if DOCS.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    if START not in text or END not in text:
        sys.exit(f"{DOCS} lacks the {START} / {END} markers")
    head, rest = text.split(START, 1)
    DOCS.write_text(f"{head}{START}\n{table}{END}{rest.split(END, 1)[1]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=300, help="files in the generated folder (default 300)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per tool (default 3)")
    ap.add_argument("--write-docs", action="store_true", help=f"rewrite the results section of {DOCS.name}")
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    ensure_data(args.files)
    digest = tree_digest(DATA)
    data_mb = sum(p.stat().st_size for p in DATA.iterdir()) / 1e6
    from deid import __version__ as ours  # noqa: PLC0415 (main environment's deid, this project)

    git = ["git", "-C", str(ROOT)]  # which commit of deid was measured, "+" if deid/ has local edits
    rev = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "deid"], capture_output=True, text=True).stdout.strip()
    ours += f" ({rev}{'+' if dirty else ''})" if rev else ""
    import pydicom  # noqa: PLC0415

    tools = [
        Tool("deid", None, ours),
        Tool("deid --workers 2", None, ours),
        Tool("dicognito", "dicognito"),
        Tool("pydicom-deid", "deid"),
        Tool("dicom-anonymizer", "dicom-anonymizer"),
        Tool("pydicom copy (floor)", None, pydicom.__version__),
    ]
    for tool in tools:
        if tool.package:
            install(tool)
            if tool.status != "ok":
                print(f"  {tool.name}: {tool.status}", file=sys.stderr)
    for k in range(args.repeat):  # round-robin, so drift in machine speed hits every tool alike
        for tool in tools:
            if tool.status == "ok":
                run_once(tool, k, args.files, digest)
    res = summarise(tools, args.files, args.repeat, data_mb)
    RESULTS.write_text(json.dumps(res, indent=2))
    table = markdown(res)
    print(table)
    if args.write_docs:
        write_docs(table)
        print(f"wrote {DOCS.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
