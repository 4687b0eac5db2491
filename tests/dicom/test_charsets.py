"""Chinese names in GB18030, UTF-8 (ISO_IR 192) and ISO 2022 decode and are removed."""

from __future__ import annotations

import os
import shutil

import pydicom
import pytest

from deid.core import Context, Item
from deid.dicom.handler import DicomHandler
from deid.policy import load_pipeline
from deid.pseudonym import Pseudonymizer
from helpers import make_ds, read, write

NAME = "Wang^Xiuying=王^秀英"
CHARSET_FILES = os.path.join(os.path.dirname(pydicom.__file__), "data", "charset_files")


def _run(src):
    res = DicomHandler().process(
        Item(str(src), src.name), Context(load_pipeline("dicom-research"), Pseudonymizer(b"k" * 32))
    )
    assert res.status == "ok", res.reason
    return res


@pytest.mark.parametrize("charset", ["GB18030", "ISO_IR 192"])
def test_chinese_name_and_descriptor_cleaned(tmp_path, charset):
    ds = make_ds(
        name=NAME,
        SpecificCharacterSet=charset,
        StudyDescription="胸部CT 王秀英 复查",
        InstitutionName="华山市第一人民医院",
    )
    src = write(ds, tmp_path / "zh.dcm")
    codec = "gb18030" if charset == "GB18030" else "utf-8"
    assert "秀英".encode(codec) in src.read_bytes()
    res = _run(src)
    out = read(res.data)
    assert out.SpecificCharacterSet == charset
    assert out.StudyDescription.startswith("胸部CT") and "秀英" not in out.StudyDescription
    for enc in ("gb18030", "utf-8"):
        assert "秀英".encode(enc) not in res.data
        assert "华山市".encode(enc) not in res.data
    assert b"Xiuying" not in res.data


@pytest.mark.parametrize(
    "fname,ideographic,codec",
    [
        ("chrX1.dcm", "小東", "utf-8"),  # ISO_IR 192
        ("chrX2.dcm", "小东", "gb18030"),  # GB18030
        ("chrH31.dcm", "太郎", "iso2022_jp"),  # ISO 2022 IR 87 with escape sequences
        ("chrI2.dcm", "吉洞", "iso2022_kr"),  # ISO 2022 IR 149
    ],
)
def test_real_charset_files_lose_their_names(tmp_path, fname, ideographic, codec):
    src = tmp_path / fname
    shutil.copy(os.path.join(CHARSET_FILES, fname), src)
    before = pydicom.dcmread(src)
    assert ideographic in str(before.PatientName)
    res = _run(src)
    out = read(res.data)
    assert ideographic not in str(out.get("PatientName", ""))
    assert str(out.PatientName).startswith("P-")
    for enc in ("utf-8", "gb18030", "euc_jp", "euc_kr"):
        try:
            assert ideographic.encode(enc) not in res.data
        except UnicodeEncodeError:
            pass
    assert out.SpecificCharacterSet == before.SpecificCharacterSet
