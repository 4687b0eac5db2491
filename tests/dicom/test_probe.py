"""Probe: a unique marker in every attribute of PS3.15 Table E.1-1 that pydicom knows.

After the Basic Profile no marker may remain; with each option exactly the rows
that the *table* (read here independently of the policy engine) keeps survive.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from deid.dicom.deidentify import deidentify_bytes
from deid.policy.table import DATA, OPTION_COLUMNS
from helpers import make_ds, pipeline, read, to_bytes

TABLE = json.loads((DATA / "confidentiality_profile_attributes.json").read_text("utf-8"))
SKIP = {0x00020003, 0x00080016, 0x00080018}  # file meta; SOP Class/Instance set by make_ds (U rows checked apart)
TEXT = {"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "UR"}


def _rows():
    for r in TABLE:
        t = r["tag"]
        try:
            tag = int(t[1:5] + t[6:10], 16)
        except ValueError:
            continue
        try:
            vr = dictionary_VR(tag)
        except KeyError:
            continue
        if tag not in SKIP:
            yield r, tag, vr.split(" or ")[0]


def marker_value(n: int, vr: str):
    if vr in TEXT:
        return f"MK{n:04d}Q" if vr != "CS" else f"MK{n:04d}Q"
    if vr == "DA":
        return (dt.date(2001, 1, 1) + dt.timedelta(days=n)).strftime("%Y%m%d")
    if vr == "DT":
        return (dt.date(2001, 1, 1) + dt.timedelta(days=n)).strftime("%Y%m%d") + "101010"
    if vr == "TM":
        return f"{n // 60 % 24:02d}{n % 60:02d}{n % 60:02d}"
    if vr == "AS":
        return f"{n % 80 + 1:03d}Y"
    if vr in ("DS", "IS"):
        return str(5000 + n)
    if vr == "UI":
        return f"1.2.826.0.1.3680043.10.99.{n}"
    if vr in ("US", "UL", "SS", "SL", "SV", "UV"):
        return 5000 + n
    if vr in ("FL", "FD"):
        return 5000.5 + n
    if vr == "AT":
        return 0x00100010
    if vr in ("OB", "OW", "UN", "OD", "OF", "OL", "OV"):
        return f"MK{n:04d}Q".encode() + b"\x00\x00"
    raise AssertionError(vr)


def build_probe() -> tuple[Dataset, dict[int, object]]:
    ds = make_ds(sop_class="1.2.840.10008.5.1.4.1.1.7")  # Secondary Capture
    planted: dict[int, object] = {}
    for n, (_row, tag, vr) in enumerate(_rows()):
        if vr == "SQ":
            item = Dataset()
            item.CodeValue = f"MK{n:04d}Q"
            item.PatientName = f"MK{n:04d}R"
            ds.add_new(tag, "SQ", Sequence([item]))
            planted[tag] = f"MK{n:04d}Q"
        else:
            v = marker_value(n, vr)
            ds.add_new(tag, vr, v)
            planted[tag] = v
    # private block and a nested private sequence; a non-table SQ holding table attributes
    ds.private_block(0x0009, "PROBE PRIVATE", create=True).add_new(0x01, "LO", "MKPRIVQ")
    inner = Dataset()
    inner.private_block(0x0011, "PROBE NESTED", create=True).add_new(0x02, "LO", "MKPRIV2Q")
    inner.PatientName = "MKNESTQ"
    ds.AnatomicRegionSequence = Sequence([inner])
    return ds, planted


def deid(ds: Dataset, pipe, name: str = "t") -> tuple[Dataset, bytes, list]:
    """De-identify `ds` as deid does a file: bytes in, bytes out (re-read without force)."""
    from deid.pseudonym import Pseudonymizer

    out, events = deidentify_bytes(to_bytes(ds), pipe.dicom, Pseudonymizer(b"k" * 32), name)
    return read(out), out, events


def run(options=(), overrides=()) -> tuple[Dataset, bytes, dict[int, object]]:

    ds, planted = build_probe()
    out_ds, out, _events = deid(ds, pipeline(options, overrides))
    return out_ds, out, planted


def survivors(out_ds: Dataset, planted: dict[int, object]) -> set[int]:
    alive = set()
    for tag, v in planted.items():
        if tag not in out_ds:
            continue
        got = out_ds[tag].value
        if out_ds[tag].VR == "SQ":
            if got and any(str(i.get("CodeValue", "")) == v for i in got):
                alive.add(tag)
        elif isinstance(v, bytes):
            if got and bytes(got).startswith(v[:7]):
                alive.add(tag)
        elif got is not None and str(got) == str(v) if not isinstance(v, float) else got == v:
            alive.add(tag)
    return alive


def test_probe_plants_every_known_row():
    ds, planted = build_probe()
    assert len(planted) >= 610  # 617 known to pydicom, less file-meta/SOP rows handled apart


def test_basic_profile_leaves_no_marker():
    out_ds, out, planted = run()
    assert survivors(out_ds, planted) == set()
    assert b"MK" not in out, "a text marker survived somewhere in the file"
    assert "MKPRIV" not in out.decode("latin-1")
    assert out_ds.PatientIdentityRemoved == "YES"
    assert out_ds.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
    assert not any(t.group & 1 for t in out_ds.keys()), "private tags must be removed"


@pytest.mark.parametrize(
    "option",
    [
        "retain_uids",
        "retain_device_identity",
        "retain_institution_identity",
        "retain_patient_characteristics",
        "retain_long_full_dates",
    ],
)
def test_each_retain_option_keeps_exactly_its_rows(option):
    col = OPTION_COLUMNS[option]
    out_ds, _out, planted = run([option])
    # command-group (0000,eeee) rows are removed whatever the option: they have no place in a stored file
    keep = {tag for r, tag, _vr in _rows() if r.get(col) == "K" and tag in planted and tag >> 16}
    clean = {tag for r, tag, _vr in _rows() if r.get(col) == "C" and tag in planted}
    alive = survivors(out_ds, planted)
    assert keep <= alive, f"{option} should keep {sorted(hex(t) for t in keep - alive)}"
    assert alive <= keep | clean, f"{option} kept rows it does not list: {sorted(hex(t) for t in alive - keep - clean)}"
    assert keep, "the option must keep something"


def test_modified_dates_shift_every_date_row():
    out_ds, _out, planted = run(["retain_long_modified_dates"])
    shifted = 0
    for r, tag, vr in _rows():
        if r.get("rtnLongModifDatesOpt") == "C" and vr in ("DA", "DT") and tag in planted:
            assert tag in out_ds and out_ds[tag].value, keyword_for_tag(tag)
            assert str(out_ds[tag].value) != planted[tag]
            shifted += 1
    assert shifted > 50
    assert out_ds.LongitudinalTemporalInformationModified == "MODIFIED"


def test_clean_descriptors_keeps_text_but_cuts_identity():

    ds = make_ds(
        name="ZHOUXING^MEILING",
        StudyDescription="CT chest for Zhouxing meiling, MRN 88812345",
        SeriesDescription="AXIAL 5mm",
    )
    pipe = pipeline(["clean_descriptors"])
    ds, _, _ = deid(ds, pipe)
    assert "CT chest for" in ds.StudyDescription
    assert "zhouxing" not in ds.StudyDescription.lower() and "88812345" not in ds.StudyDescription
    assert ds.SeriesDescription == "AXIAL 5mm"


def test_nested_sequences_any_depth():
    out_ds, out, _ = run()
    # AnatomicRegionSequence is not in the table: it is kept, but what it holds is de-identified
    item = out_ds.AnatomicRegionSequence[0]
    assert "MKNESTQ" not in str(item.get("PatientName", ""))
    assert b"MKNESTQ" not in out and b"MKPRIV2Q" not in out


def test_retain_safe_private_keeps_only_listed():

    ds = make_ds()
    blk = ds.private_block(0x2005, "Philips MR Imaging DD 001", create=True)
    blk.add_new(0x0E, "FL", 2.5)  # Scale Slope: listed safe
    blk.add_new(0x10, "LO", "MKUNSAFE")  # not listed
    ds.private_block(0x0009, "UNKNOWN VENDOR", create=True).add_new(0x01, "LO", "MKVENDOR")
    out, _, _ = deid(ds, pipeline(["retain_safe_private"]))
    kept = out.private_block(0x2005, "Philips MR Imaging DD 001")
    assert kept[0x0E].value == pytest.approx(2.5)
    assert 0x0010 | (kept.block_start & 0xFF00) not in out
    raw = to_bytes(out)
    assert b"MKUNSAFE" not in raw and b"MKVENDOR" not in raw and b"UNKNOWN VENDOR" not in raw


def test_combined_codes_follow_iod_type():

    # CT (image family): ContentDate Type 2 -> Z (empty); SeriesDate Type 3 -> X (removed)
    ds = make_ds(ContentDate="20240102", SeriesDate="20240102", AcquisitionDate="20240102")
    pipe = pipeline()
    ds, _, _ = deid(ds, pipe)
    assert "ContentDate" in ds and not ds.ContentDate
    assert "SeriesDate" not in ds and "AcquisitionDate" not in ds
    # SR: ContentDate Type 1 -> D (dummy, non-empty)
    sr = make_ds(sop_class="1.2.840.10008.5.1.4.1.1.88.11", ContentDate="20240102")
    sr, _, _ = deid(sr, pipe)
    assert sr.ContentDate and sr.ContentDate != "20240102"


def test_overrides_by_keyword_tag_pattern_and_vr():

    ds = make_ds(StudyDescription="keep me", SeriesDescription="x", OperatorsName="OPER^A")
    pipe = pipeline(
        overrides=[
            {"keyword": "StudyDescription", "action": "keep"},
            {"tag": "(0008,103E)", "action": "dummy"},
            {"vr": "PN", "action": "empty"},
        ]
    )
    ds, _, events = deid(ds, pipe)
    assert ds.StudyDescription == "keep me"
    assert ds.SeriesDescription == "ANONYMIZED"
    assert not ds.PatientName and "OperatorsName" in ds and not ds.OperatorsName
    rules = {e.location: e.rule_id for e in events}
    assert rules["SeriesDescription"] == "override:2" and rules["PatientName"] == "override:3"


def test_clean_structured_content_cleans_sr_text():

    def sr(text):
        ds = make_ds(name="HALVORSEN^INGRID", sop_class="1.2.840.10008.5.1.4.1.1.88.11")
        item = Dataset()
        item.ValueType = "TEXT"
        item.TextValue = text
        item.PersonName = "HALVORSEN^INGRID"
        ds.ContentSequence = Sequence([item])
        return ds

    ds = sr("Findings for Halvorsen Ingrid: no acute disease. Call 555-123-4567.")
    pipe = pipeline(["clean_structured_content"])
    ds, _, _ = deid(ds, pipe)
    text = ds.ContentSequence[0].TextValue
    assert "no acute disease" in text
    assert "halvorsen" not in text.lower() and "4567" not in text
    assert "PersonName" not in ds.ContentSequence[0] or not str(ds.ContentSequence[0].PersonName).startswith("HAL")
    # without the option, ContentSequence is D -> no content leaves at all
    ds = sr("Findings for Halvorsen Ingrid")
    ds, _, _ = deid(ds, pipeline())
    assert len(ds.ContentSequence) == 0


@pytest.mark.parametrize(
    "names,text,gone,kept",
    [
        (["Liu^Chao=刘^超"], "头颅MR平扫 刘超 超声", ["刘超"], ["超声", "头颅MR平扫"]),
        (["Li^Yang"], "MR head, pt Li Yang; Liver normal", ["Li Yang"], ["Liver normal", "MR head"]),
        (["QUIXOTE^ALONSO"], "CT for Alonso Quixote", ["Alonso", "Quixote"], ["CT for"]),
    ],
)
def test_identity_values_cut_joined_and_short_name_parts(names, text, gone, kept):
    from deid.dicom.operators import IdentityValues, clean_text

    out, n = clean_text(text, IdentityValues(names))
    assert n >= 1
    for g in gone:
        assert g not in out
    for k in kept:
        assert k in out


def test_unlisted_names_dates_and_text_are_not_kept_verbatim():

    # StudyUpdateDateTime (DT), a PN and free text that Table E.1-1 does not list
    ds = make_ds(StudyUpdateDateTime="20240105101010", TextValue="Seen by Dr Quorra on ward 5, ID 99887766")
    ds.add_new(0x00400441, "SQ", Sequence())  # ContentItemModifierSequence, harmless
    ds.add_new(0x0040A078, "SQ", Sequence())
    pipe = pipeline(["retain_long_modified_dates"])
    ds, _, _ = deid(ds, pipe)
    assert ds.StudyUpdateDateTime != "20240105101010" and ds.StudyUpdateDateTime.endswith("101010")
    assert "99887766" not in ds.TextValue and "Seen by" in ds.TextValue
    basic = make_ds(StudyUpdateDateTime="20240105101010")
    basic, _, _ = deid(basic, pipeline())
    assert "StudyUpdateDateTime" not in basic
