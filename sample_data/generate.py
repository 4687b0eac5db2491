#!/usr/bin/env python3
"""Write the synthetic sample DICOM files and manifest.json of sample_data/.

Every identity value comes from faker (en_US, zh_CN) with a fixed seed, every
UID from a fixed root: nobody real is described, and two runs give
byte-identical files (for the same faker, numpy and pydicom versions).

    python sample_data/generate.py [--out DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from faker import Faker
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

SEED = 20240611
UID_ROOT = "deid-sample-data-v1"
CR, CT, MR = "1.2.840.10008.5.1.4.1.1.1", "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.4"
# Pinyin for the faker zh_CN names we accept, so the PN alphabetic group matches the ideographic one.
SURNAMES = {
    "王": "Wang",
    "李": "Li",
    "张": "Zhang",
    "刘": "Liu",
    "陈": "Chen",
    "杨": "Yang",
    "黄": "Huang",
    "吴": "Wu",
    "赵": "Zhao",
    "周": "Zhou",
}
GIVEN = {
    "伟": "Wei",
    "强": "Qiang",
    "磊": "Lei",
    "洋": "Yang",
    "勇": "Yong",
    "军": "Jun",
    "杰": "Jie",
    "涛": "Tao",
    "超": "Chao",
    "明": "Ming",
    "刚": "Gang",
    "平": "Ping",
    "辉": "Hui",
    "鹏": "Peng",
}

Manifest = dict[str, dict[str, Any]]


def uid(*parts: str) -> str:
    """A fixed 2.25 UID from a name-based UUID (PS3.5 B.2). Not generate_uid(prefix=None,
    entropy_srcs=...): pydicom ignores entropy_srcs when prefix is None and returns a random UUID4."""
    return f"2.25.{uuid.uuid5(uuid.NAMESPACE_OID, '/'.join((UID_ROOT, *parts))).int}"


def study_uids(*parts: str) -> dict[str, str]:
    """Study, series and frame of reference UIDs for one series."""
    return {key: uid(*parts, key) for key in ("study_uid", "series_uid", "for_uid")}


def age(born: dt.date, on: dt.date) -> str:
    """DICOM AS age in whole years on a date."""
    return f"{on.year - born.year - ((on.month, on.day) < (born.month, born.day)):03d}Y"


def en_name(fake: Faker, sex: str = "") -> tuple[str, str]:
    """(family, given) from faker en_US."""
    given = fake.first_name_male() if sex == "M" else fake.first_name_female() if sex == "F" else fake.first_name()
    return fake.last_name(), given


def zh_name(fake: Faker) -> tuple[str, str]:
    """('Zhang^Wei=张^伟', '张伟'): a zh_CN faker name limited to characters in the pinyin tables."""
    last = next(n for n in iter(fake.last_name, None) if n in SURNAMES)
    first = next(n for n in iter(fake.first_name_male, None) if n in GIVEN)
    return f"{SURNAMES[last]}^{GIVEN[first]}={last}^{first}", last + first


# Manifest label -> key in the merged patient/study dicts; base() also sets these keywords.
ID_KEYS = {
    "PatientName": "name",
    "PatientID": "id",
    "OtherPatientIDs": "other_id",
    "PatientBirthDate": "birth",
    "PatientAddress": "paddress",
    "AccessionNumber": "accession",
    "StudyID": "study_id",
    "StudyDate": "date",
    "InstitutionName": "institution",
    "InstitutionAddress": "address",
    "ReferringPhysicianName": "referrer",
    "OperatorsName": "operator",
    "StudyInstanceUID": "study_uid",
    "SeriesInstanceUID": "series_uid",
    "FrameOfReferenceUID": "for_uid",
}


def base(
    sop_class: str, sop_uid: str, modality: str, p: dict[str, str], s: dict[str, str], charset: str = ""
) -> Dataset:
    """Patient/study/series/equipment modules shared by every sample file."""
    ds, meta = Dataset(), FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = sop_class, sop_uid
    meta.TransferSyntaxUID, meta.ImplementationClassUID = ExplicitVRLittleEndian, uid("implementation")
    meta.ImplementationVersionName, meta.SourceApplicationEntityTitle = "DEID_SAMPLE_1", s["ae"]
    ds.file_meta = meta
    if charset:
        ds.SpecificCharacterSet = charset
    values = {**p, **s}
    for keyword, key in ID_KEYS.items():
        if key in values:
            setattr(ds, keyword, values[key])
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality, ds.PatientSex = sop_class, sop_uid, modality, p["sex"]
    ds.SeriesDate = ds.ContentDate = s["date"]
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = s["time"]
    ds.StudyDescription, ds.SeriesDescription, ds.Manufacturer = s["description"], s["series_desc"], "DEID SYNTHETIC"
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    return ds


def ellipse(n: int, cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    """Boolean mask of an ellipse on an n x n grid (centre and radii as fractions of n)."""
    y, x = np.mgrid[0:n, 0:n] / n
    return ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1.0


def pixels(ds: Dataset, arr: np.ndarray, dtype: type, bits: int) -> None:
    """Attach `arr` as MONOCHROME2 Pixel Data, keeping the SOP Instance UID. Values are clipped to
    0..4095: every high byte is < 0x10, so no text (ASCII or GB18030) can appear in the pixels."""
    ds.set_pixel_data(np.clip(arr, 0, 4095).astype(dtype), "MONOCHROME2", bits, generate_instance_uid=False)


LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"  # Debian fonts-wqy-zenhei


def burn(img: np.ndarray, lines: list[tuple[str, int, int, int]], value: float) -> list[dict]:
    """Draw text into the pixels, as a modality or PACS burns annotations in; returns each
    line's box (x0, y0, x1, y1) for the manifest. Lines: (text, x, y, font size)."""
    from PIL import Image, ImageDraw, ImageFont

    boxes = []
    for text, x, y, size in lines:
        font = ImageFont.truetype(CJK_FONT if any(ord(c) > 0x2E80 for c in text) else LATIN_FONT, size)
        mask = Image.new("L", (img.shape[1], img.shape[0]), 0)
        ImageDraw.Draw(mask).text((x, y), text, fill=255, font=font)
        m = np.asarray(mask) > 127
        img[m] = value
        ys, xs = np.nonzero(m)
        boxes.append({"text": text, "box": [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]})
    return boxes


def cxr(
    p: dict[str, str], s: dict[str, str], fake: Faker, rng: np.random.Generator
) -> tuple[Dataset, dict, list[dict]]:
    """CR chest X-ray with request/reference sequences and private blocks."""
    ds = base(CR, uid("p1", "cxr", "sop"), "CR", p, s)
    ds.BodyPartExamined, ds.ViewPosition, ds.PatientAge = "CHEST", "PA", p["age_cxr"]
    sps, rp = fake.bothify("SPS######"), fake.bothify("RP######")
    req = Dataset()
    req.RequestedProcedureDescription = f"XR CHEST 2 VIEWS for {p['family']}"
    req.ScheduledProcedureStepID, req.RequestedProcedureID = sps, rp
    ds.RequestAttributesSequence = Sequence([req])
    prior = uid("p1", "prior-study")
    ref = Dataset()
    ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = "1.2.840.10008.3.1.2.3.1", prior
    ds.ReferencedStudySequence = Sequence([ref])
    acme = ds.private_block(0x0009, "ACME PRIVATE 1.0", create=True)
    private_name = f"{p['family'].upper()}, {p['given'].upper()}"
    acme.add_new(0x01, "LO", private_name)
    internal = fake.bothify("ACME-INT-######")
    item = Dataset()
    item.private_block(0x0009, "ACME PRIVATE 1.0", create=True).add_new(0x03, "LO", internal)
    acme.add_new(0x02, "SQ", Sequence([item]))
    ds.private_block(0x2005, "Philips MR Imaging DD 001", create=True).add_new(0x0E, "FL", 1.25)
    n = 512
    img = np.full((n, n), 300.0)
    img[ellipse(n, 0.55, 0.5, 0.42, 0.40)] = 1800.0  # soft tissue
    img[ellipse(n, 0.50, 0.32, 0.30, 0.13) | ellipse(n, 0.50, 0.68, 0.30, 0.13)] = 700.0  # lungs
    img[ellipse(n, 0.55, 0.5, 0.40, 0.035)] = 3200.0  # spine
    img += np.linspace(0, 400, n)[:, None] + rng.normal(0, 40, (n, n))
    # burned in, "no mosaic": name, ID and hospital in the corners; the R marker may stay
    text = burn(
        img,
        [
            (p["name"].replace("^", " "), 10, 8, 18),
            (f"ID {p['id']}", 10, 32, 18),
            (s["institution"], 10, n - 30, 16),
            ("R", n - 40, 60, 28),
        ],
        4095.0,
    )
    pixels(ds, img, np.uint16, 12)
    extra = {
        "ScheduledProcedureStepID": sps,
        "RequestedProcedureID": rp,
        "ReferencedSOPInstanceUID": prior,
        "PrivateName": private_name,
        "PrivateNestedValue": internal,
    }
    return ds, extra, text


def ct_slice(p: dict[str, str], s: dict[str, str], n: int, rng: np.random.Generator) -> Dataset:
    """One 64x64 CT slice (stored = HU + 1024)."""
    ds = base(CT, uid("p1", "ct", str(n), "sop"), "CT", p, s)
    ds.InstanceNumber, ds.ImageType = n, ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.ImagePositionPatient = [-160.0, -160.0, 5.0 * (n - 1)]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.PixelSpacing, ds.SliceThickness, ds.KVP = [5.0, 5.0], 5.0, 120.0
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "HU"
    hu = np.full((64, 64), -1000.0)
    hu[ellipse(64, 0.5, 0.5, 0.40, 0.45)] = 700.0  # bone ring
    hu[ellipse(64, 0.5, 0.5, 0.36, 0.41)] = 40.0  # tissue
    hu += rng.normal(0, 10, (64, 64))
    pixels(ds, hu + 1024, np.int16, 16)
    return ds


def add_overlay(ds: Dataset) -> None:
    """Overlay plane in group 0x6000 (a filled rectangle)."""
    bits = np.zeros((64, 64), dtype=np.uint8)
    bits[8:20, 8:40] = 1
    data = np.packbits(bits.ravel(), bitorder="little").tobytes()
    for elem, vr, value in [
        (0x0010, "US", 64),
        (0x0011, "US", 64),
        (0x0040, "CS", "G"),
        (0x0050, "SS", [1, 1]),
        (0x0100, "US", 1),
        (0x0102, "US", 0),
        (0x3000, "OW", data),
    ]:
        ds.add_new(0x60000000 | elem, vr, value)


def mr(
    p: dict[str, str],
    s: dict[str, str],
    n: int,
    charset: str,
    rng: np.random.Generator,
    burned: list[tuple[str, int, int, int]] = (),
) -> tuple[Dataset, list[dict]]:
    """One 256x256 MR slice of the Chinese patient in `charset`, `burned` text drawn in."""
    ds = base(MR, uid("p2", "mr", str(n), "sop"), "MR", p, s, charset)
    ds.InstanceNumber, ds.PatientAge, ds.MagneticFieldStrength = n, p["age"], 1.5
    ds.ScanningSequence, ds.SequenceVariant, ds.ScanOptions, ds.MRAcquisitionType = "SE", "NONE", "", "2D"
    size = 256
    img = np.full((size, size), 20.0)
    img[ellipse(size, 0.5, 0.5, 0.42, 0.34)] = 1400.0
    img[ellipse(size, 0.5, 0.5, 0.36, 0.28)] = 900.0
    img += rng.normal(0, 15, (size, size))
    text = burn(img, list(burned), 2000.0)
    pixels(ds, img, np.uint16, 12)
    return ds, text


def save(files: Manifest, out: Path, rel: str, ds: Dataset, ids: dict[str, str]) -> bytes:
    """Write a Part 10 file and record its identifiers in `files`; return its bytes."""
    path = out / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    files[rel] = {"charset": str(ds.get("SpecificCharacterSet", "ISO_IR 6")), "expect": "ok", "identifiers": ids}
    return path.read_bytes()


def identifiers(p: dict[str, str], s: dict[str, str], ds: Dataset, **extra: str) -> dict[str, str]:
    """The identifying strings planted in one file, by label."""
    values = {**p, **s}
    ids = {label: values[key] for label, key in ID_KEYS.items() if key in values}
    return {**ids, "SourceApplicationEntityTitle": s["ae"], "SOPInstanceUID": str(ds.SOPInstanceUID), **extra}


def generate(out: Path) -> Manifest:
    """Write every sample file under `out` and return the manifest."""
    Faker.seed(SEED)
    en, zh = Faker("en_US"), Faker("zh_CN")
    rng = np.random.default_rng(SEED)
    files: Manifest = {}

    # patient 1 (en_US): CR chest X-ray, then a CT 4.5 years later at age 93
    sex = en.random_element(["M", "F"])
    family, given = en_name(en, sex)
    ct_date = en.date_between_dates(dt.date(2023, 1, 1), dt.date(2023, 12, 31))
    born = dt.date(ct_date.year - 93, ct_date.month, min(ct_date.day, 28))
    born -= dt.timedelta(days=en.random_int(1, 300))  # aged 93 on the CT date
    cxr_date = ct_date - dt.timedelta(days=1640)
    p1 = {
        "name": f"{family}^{given}",
        "family": family,
        "given": given,
        "sex": sex,
        "birth": f"{born:%Y%m%d}",
        "id": en.bothify("MRN########"),
        "other_id": en.ssn(),
        "age_cxr": age(born, cxr_date),
    }
    city = en.city()
    site = {
        "institution": f"{city} General Hospital",
        "address": en.address().replace("\n", ", "),
        "referrer": "^".join(en_name(en)),
        "operator": "^".join(en_name(en)),
        "ae": "CR01_" + city[:3].upper(),
    }
    s_cxr = {
        **site,
        "date": f"{cxr_date:%Y%m%d}",
        "time": "091502",
        "accession": en.bothify("A########"),
        "study_id": en.bothify("S#####"),
        "description": f"Chest PA/LAT {family} follow-up",
        "series_desc": "CHEST PA",
        **study_uids("p1", "cxr"),
    }
    ds, extra, text = cxr(p1, s_cxr, en, rng)
    names = {"PatientFamilyName": family, "PatientGivenName": given}
    save(files, out, "dicom/patient1/cxr.dcm", ds, identifiers(p1, s_cxr, ds, **names, **extra))
    files["dicom/patient1/cxr.dcm"]["burned_in"] = text
    s_ct = {
        **site,
        "date": f"{ct_date:%Y%m%d}",
        "time": "142033",
        "accession": en.bothify("A########"),
        "study_id": en.bothify("S#####"),
        "description": f"CT HEAD {given} {family}",
        "series_desc": "AXIAL 5mm",
        **study_uids("p1", "ct"),
    }
    ct1 = ct_slice(p1, s_ct, 1, rng)
    ct1.PatientAge = age(born, ct_date)
    ct1.ImageComments = f"Scanned for {p1['id']}"
    ct2 = ct_slice(p1, s_ct, 2, rng)
    ref = Dataset()
    ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = CT, ct1.SOPInstanceUID
    ct2.ReferencedImageSequence = Sequence([ref])
    add_overlay(ct2)
    ct_bytes = save(
        files, out, "dicom/patient1/ct.dcm", ct1, identifiers(p1, s_ct, ct1, **names, PatientAge=str(ct1.PatientAge))
    )
    save(
        files,
        out,
        "dicom/patient1/ct2.dcm",
        ct2,
        identifiers(p1, s_ct, ct2, **names, ReferencedSOPInstanceUID=str(ct1.SOPInstanceUID)),
    )

    # patient 2 (zh_CN): two MR images of one study, GB18030 and UTF-8
    pn, hanzi = zh_name(zh)
    doctor, _ = zh_name(zh)
    born2 = zh.date_between_dates(dt.date(1955, 1, 1), dt.date(1990, 12, 31))
    mr_date = zh.date_between_dates(dt.date(2022, 1, 1), dt.date(2023, 12, 31))
    p2 = {
        "name": pn,
        "sex": "M",
        "birth": f"{born2:%Y%m%d}",
        "id": zh.bothify("ZY########"),
        "other_id": zh.ssn(),
        "age": age(born2, mr_date),
        "paddress": zh.address(),
    }
    s_mr = {
        "institution": f"{zh.city_name()}市第{zh.random_int(1, 9)}人民医院",
        "address": zh.address(),
        "referrer": doctor,
        "operator": zh_name(zh)[0],
        "ae": "MR01",
        "date": f"{mr_date:%Y%m%d}",
        "time": "103000",
        "accession": zh.bothify("MR########"),
        "study_id": zh.bothify("S#####"),
        "description": f"头颅MR平扫 {hanzi}",
        "series_desc": "T1 SE AX",
        **study_uids("p2", "mr"),
    }
    for n, (rel, charset) in enumerate(
        [("dicom/patient2/mr.dcm", "GB18030"), ("dicom/patient2/mr_utf8.dcm", "ISO_IR 192")], start=1
    ):
        # the first slice carries the patient's name and admission number burned in
        burned = [(hanzi, 6, 4, 20), (f"住院号 {p2['id']}", 6, 30, 14)] if n == 1 else []
        ds, text = mr(p2, s_mr, n, charset, rng, burned)
        alpha, ideo = pn.split("=")  # single hanzi are too short to grep for; whole names are listed
        ids = identifiers(
            p2, s_mr, ds, PatientNameHanzi=hanzi, PatientNameAlphabetic=alpha, PatientNameIdeographic=ideo
        )
        del ids["SourceApplicationEntityTitle"]  # "MR01" is too generic to grep for
        save(files, out, rel, ds, ids)
        if text:
            files[rel]["burned_in"] = text

    # patient records: a newborn register, a student list, a Chinese note, and the English
    # patient's visits / ADT message / FHIR Bundle under the same MRN as their images
    from generate_records import generate_records

    p1_rec = {**p1, "birth_iso": f"{born:%Y-%m-%d}"}
    p2_rec = {**p2, "hanzi": hanzi, "mr_date_cn": f"{mr_date.year}年{mr_date.month}月{mr_date.day}日"}
    files.update(generate_records(out, p1_rec, p2_rec, SEED))

    # broken inputs: must be quarantined, never written to the output
    broken = out / "broken"
    broken.mkdir(parents=True, exist_ok=True)
    (broken / "truncated.dcm").write_bytes(ct_bytes[: len(ct_bytes) // 2])
    (broken / "not_dicom.dcm").write_text("This is a plain text file with a .dcm name, not DICOM.\n", "utf-8")
    files["broken/truncated.dcm"] = {
        "charset": "ISO_IR 6",
        "expect": "quarantined",
        "identifiers": files["dicom/patient1/ct.dcm"]["identifiers"],
    }
    files["broken/not_dicom.dcm"] = {"charset": "", "expect": "quarantined", "identifiers": {}}
    return files


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="output folder")
    out = ap.parse_args().out
    files = generate(out)
    manifest = {
        "generator": "sample_data/generate.py",
        "faker_seed": SEED,
        "uid_root": UID_ROOT,
        "note": "All values are synthetic (faker, fixed seed). Grep outputs for each identifier "
        "as bytes in UTF-8 and, for non-ASCII values, also in GB18030.",
        "files": files,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8")
    for rel in files:
        print(f"{(out / rel).stat().st_size:>8}  {rel}")


if __name__ == "__main__":
    main()
