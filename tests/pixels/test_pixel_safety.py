"""Burned-in text, part 3: no runaway box blanks an image, the over-redaction guard
quarantines what would be destroyed, and text hidden by colour, value range or a
label layout is still found."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset

from deid.pixels.detect import BorderDetector, Box, group_lines, merge
from helpers import KEY, to_bytes
from pixels.synth import LATIN_FONT, Synth, chest, draw, fonts_available, identity, to_dataset
from pixels.test_pixels import frames, run

pytestmark = pytest.mark.skipif(not fonts_available(), reason="needs fonts-wqy-zenhei (installed by .ci/run)")


def _boxes(res, action="redact") -> list[tuple[int, int, int, int]]:
    return [
        tuple(int(v) for v in e.location.split("box[")[1].rstrip("]").split(","))
        for e in res.events
        if ".box[" in e.location and e.action == action
    ]


def _measure(res) -> dict:
    ev = next(e for e in res.events if e.rule_id == "pixels:redacted-fraction")
    return dict(kv.split("=") for kv in ev.detail.split(";"))


def grainy(n: int, seed: int, sigma: float = 0.3, blur: float = 3.0) -> np.ndarray:
    """A smooth radiograph under heavy film grain, with a bright film border at the left
    and top: the border detector sees grain blobs all along the band."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) / n
    img = 0.15 + 0.5 * np.exp(-(((xx - 0.5) / 0.45) ** 2 + ((yy - 0.55) / 0.6) ** 2))
    for sx in (0.32, 0.68):
        img -= 0.2 * np.exp(-(((xx - sx) / 0.12) ** 2 + ((yy - 0.5) / 0.25) ** 2))
    img += 0.8 * cv2.GaussianBlur(rng.normal(0, sigma, (n, n)).astype(np.float32), (0, 0), blur)
    img[:, : n // 40] += 0.25 + 0.2 * rng.random((n, 1)).astype(np.float32)
    img[: n // 50, :] += 0.2
    return np.clip(img, 0, 1)


# -- the merge cascade --------------------------------------------------------------------
def test_lines_never_grow_across_the_frame():
    """Detections chained along an edge (a column of touching boxes, a staircase, a row of
    blobs of mixed heights) stay lines: no group is taller than 1.5x its tallest member,
    and stacked boxes are never joined."""
    column = [Box(0, y, 40, y + 22, "border-single") for y in range(0, 2048, 21)]  # touching
    stairs = [Box(60 + 30 * i, 100 + 4 * i, 88 + 30 * i, 120 + 4 * i, "border") for i in range(60)]
    rng = random.Random(1)
    row = [
        Box(x, 1900 + rng.randint(-8, 8), x + 30, 1930 + rng.randint(0, 60), "border-single")
        for x in range(0, 2048, 32)
    ]
    for boxes in (column, stairs, row):
        tallest = max(b.height for b in boxes)
        for line in group_lines(boxes):
            assert line.y1 - line.y0 <= 1.5 * tallest
    assert len(merge(column)) == len(column)  # stacked: nothing joined
    words = [Box(10, 10, 60, 30, "ppocr"), Box(70, 11, 140, 31, "ppocr"), Box(150, 10, 200, 29, "ppocr")]
    assert [b.as_tuple() for b in merge(words)] == [(10, 10, 200, 31)]  # one line of words is one box


def test_border_detector_ignores_film_grain():
    view = (grainy(1024, 3) * 255).astype(np.uint8)
    boxes = BorderDetector().detect(view)
    assert all(b.height <= 3 * (1024 // 40) for b in boxes)
    assert not [b for b in boxes if b.source == "border"]  # grain is not a line of text


@pytest.mark.parametrize("seed", [0, 1])
def test_grainy_radiograph_keeps_its_pixels_and_loses_its_name(seed):
    """The reproduction of the blank-radiograph report: at 2048 px, film grain along the
    band gave dozens of border boxes that merged into one covering the frame, which was
    then written as clean."""
    s = Synth(grainy(2048, seed), identity=identity(random.Random(seed)))
    line = draw(s, "HERNANDEZ DEANNA", 80, 60, 40)
    ds = to_dataset(s, bits=12)
    before = frames(ds)[0]
    res, out = run(ds)
    assert res.status == "ok", res.reason
    after = frames(out)[0]
    assert (before[line.mask] != after[line.mask]).mean() >= 0.9
    inside = np.zeros(before.shape, bool)
    x0, y0, x1, y1 = line.box
    inside[y0 - 12 : y1 + 12, x0 - 12 : x1 + 12] = True
    assert ((before != after) & ~inside).mean() < 0.02
    assert float(_measure(res)["text"]) < 0.02


# -- the over-redaction guard --------------------------------------------------------------
def _text_page(n: int = 512) -> Dataset:
    """A radiograph whose text boxes really cover most of it (a scanned requisition)."""
    rng = random.Random(5)
    s = Synth(chest(n, n, rng), identity=identity(rng))
    for i in range(12):
        draw(s, f"LINE {i} HERNANDEZ DEANNA 1962", 10, 10 + 40 * i, 28)
    return to_dataset(s, bits=12)


def test_over_redaction_is_quarantined_with_its_boxes():
    res, _ = run(_text_page())
    assert res.status == "quarantined"
    assert res.reason.startswith("over-redaction:") and "15%" in res.reason
    assert res.details["fraction"] > 0.15 and res.details["boxes"]
    assert len(res.details["boxes"]) == res.details["boxes_total"]
    assert _boxes(res), "the boxes it would have redacted are in the audit"
    assert float(_measure(res)["text"]) == pytest.approx(res.details["fraction"], abs=1e-4)
    # the limit is policy: raised for this kind of image, the same file is written
    res2, out = run(_text_page(), max_redacted=0.95)
    assert res2.status == "ok", res2.reason


def test_over_redaction_reason_file_and_exit_code(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    (src / "page.dcm").write_bytes(to_bytes(_text_page()))
    key = tmp_path / "key"
    key.write_bytes(KEY)
    key.chmod(0o600)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "deid.cli",
            "run",
            str(src),
            "-o",
            str(out),
            "-q",
            "--pipeline",
            "chest-xray",
            "--key-file",
            str(key),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert not (out / "page.dcm").exists()
    reason = json.loads((tmp_path / "out.quarantine" / "page.dcm.reason.json").read_text())
    assert reason["reason"].startswith("over-redaction")
    assert reason["details"]["boxes"] and all(len(b) == 4 for b in reason["details"]["boxes"])
    assert "HERNANDEZ" not in json.dumps(reason)


def test_policy_limits_per_modality():
    from deid.errors import PolicyError
    from deid.policy.pixels import build_pixel_policy

    pp = build_pixel_policy({"max_redacted_fraction": {"default": 0.1, "US": 0.4}}, "t")
    assert (pp.redaction_limit("CR"), pp.redaction_limit("us"), pp.redaction_limit("MR")) == (0.1, 0.4, 0.25)
    assert (pp.redaction_limit("CT"), pp.redaction_limit("DX")) == (0.25, 0.1)  # slices: denser text
    assert build_pixel_policy({"max_redacted_fraction": 0.2}, "t").redaction_limit("US") == 0.2
    with pytest.raises(PolicyError, match="max_redacted_fraction"):
        build_pixel_policy({"max_redacted_fraction": 0}, "t")


# -- colour, hidden ranges, labels ----------------------------------------------------------
@pytest.mark.parametrize(
    "band,ink",
    [
        ((76, 76, 76), (255, 0, 0)),  # red on grey, same luminance
        ((29, 29, 29), (0, 0, 255)),  # blue on dark grey
        ((150, 150, 150), (0, 255, 0)),
    ],
)  # green on grey, same luminance
def test_isoluminant_coloured_text_is_redacted(band, ink, tmp_path):
    rng = random.Random(5)
    h, w = 512, 640
    img = Image.fromarray((np.repeat(chest(h, w, rng)[..., None], 3, axis=2) * 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 20, w, 60), fill=band)
    d.text((10, 26), "HERNANDEZ DEANNA MRN50349106", fill=ink, font=ImageFont.truetype(LATIN_FONT, 22))
    for y in range(200, 400):  # a colour scale bar, as on PET and Doppler captures
        d.line((450, y, 470, y), fill=(int(255 * (y - 200) / 200), 64, 255 - int(255 * (y - 200) / 200)))
    ink_mask = np.all(np.asarray(img) == ink, axis=-1)
    ds = to_dataset(Synth(np.asarray(img).astype(np.float32) / 255, identity=identity(rng)), photometric="RGB")
    before = frames(ds)[0]
    assert abs(float(np.dot(band, (0.299, 0.587, 0.114)) - np.dot(ink, (0.299, 0.587, 0.114)))) < 2  # isoluminant
    res, out = run(ds, preview=True)
    assert res.status == "ok", res.reason
    after = frames(out)[0]
    assert (before[ink_mask] != after[ink_mask]).any(axis=-1).mean() >= 0.95
    # the preview is in colour, so a person looking at it sees coloured text that is left
    png = cv2.imdecode(np.frombuffer(res.previews[0][1], np.uint8), cv2.IMREAD_COLOR)
    assert tuple(png[250, 460]) == tuple(int(v) for v in after[250, 460][::-1])  # BGR of the output
    assert (before[200:400, 450:471] == after[200:400, 450:471]).all()  # the bar is kept


def test_text_hidden_by_one_bright_pixel_and_the_window_is_redacted():
    """16-bit: anatomy 0..4000, text at 3000 on a 2000 band, one pixel at 65535, and a VOI
    window of 0..1000. Min-max shows the text 4 grey levels from its band, the window
    shows both white; the 1st-99th percentile view shows it plainly."""
    rng = random.Random(8)
    n = 768
    img = chest(n, n, rng) * 4000
    layer = Image.new("L", (n, n), 0)
    ImageDraw.Draw(layer).text((20, 20), "KAUFMAN SCOTT 03.09.2012", fill=255, font=ImageFont.truetype(LATIN_FONT, 24))
    alpha = np.asarray(layer) / 255.0
    img[:60, :400] = 2000
    img = img * (1 - alpha) + 3000 * alpha
    img[400, 400] = 65535
    ds = to_dataset(Synth(img / 65535.0, identity=identity(rng)), bits=16)
    ds.WindowCenter, ds.WindowWidth = 500, 1000
    before = frames(ds)[0]
    res, out = run(ds)
    assert res.status == "ok", res.reason
    mask = alpha > 0.5
    assert (before[mask] != frames(out)[0][mask]).mean() >= 0.95
    assert out.BurnedInAnnotation == "NO"


def _labelled(modality: str) -> tuple:
    """Label and value in separate boxes, values one to four characters, and a lone marker."""
    rng = random.Random(4)
    n = 512
    img = chest(n, n, rng)
    layer = Image.new("L", (n, n), 0)
    d = ImageDraw.Draw(layer)
    font = ImageFont.truetype(LATIN_FONT, 13)
    values = {}
    for y, (label, value) in zip((12, 30, 48, 66), (("Sex:", "M"), ("DOB:", "1962"), ("Age:", "045Y"), ("Side:", "L"))):
        d.text((8, y), label, fill=255, font=font)
        d.text((70, y), value, fill=255, font=font)
        values[value] = (slice(y, y + 16), slice(70, 110))
    d.text((480, 250), "R", fill=255, font=ImageFont.truetype(LATIN_FONT, 20))
    alpha = np.asarray(layer) / 255.0
    ds = to_dataset(Synth(img * (1 - alpha) + 0.97 * alpha, identity=identity(rng)), bits=12, modality=modality)
    return ds, alpha > 0.5, values


def _gone(before, after, mask, where) -> float:
    m = mask[where]
    return float((before[where][m] != after[where][m]).mean())


def test_short_values_after_a_label_are_redacted():
    ds, mask, values = _labelled("CR")
    before = frames(ds)[0]
    res, out = run(ds)  # redact-all-text
    after = frames(out)[0]
    for value, where in values.items():  # "L" is a safe word, but not after a label
        assert _gone(before, after, mask, where) >= 0.9, value
    assert _gone(before, after, mask, (slice(240, 280), slice(470, 512))) < 0.1  # a lone "R" stays
    ds, mask, values = _labelled("US")
    res, out = run(ds, "ultrasound")  # redact-phi: values of PHI labels go
    after = frames(out)[0]
    for value in ("M", "1962", "045Y"):
        assert _gone(before, after, mask, values[value]) >= 0.9, value
    assert _gone(before, after, mask, values["L"]) < 0.1  # "Side" announces no identifier


def test_every_image_records_its_redacted_share():
    s = Synth(chest(256, 256, random.Random(2)), identity=identity(random.Random(2)))
    res, _ = run(to_dataset(s, bits=12))
    m = _measure(res)
    assert float(m["text"]) == 0.0 and float(m["limit"]) == 0.15
    pipe_us = run(to_dataset(s, bits=12, modality="US"), "ultrasound")[0]
    assert float(_measure(pipe_us)["limit"]) == 0.3


def test_views_skip_what_shows_nothing_new():
    """Each view costs a detector pass: a grey image in RGB gets no chroma views, a well
    spread range no stretch view."""
    from deid.pixels.render import views

    rng = random.Random(1)
    grey = np.repeat((chest(128, 128, rng) * 255).astype(np.uint8)[..., None], 3, axis=2)
    assert [n for n, _v in views(grey, {}, "RGB", ("display", "color"))] == ["display"]
    spread = (chest(128, 128, rng) * 4095).astype(np.uint16)
    assert [n for n, _v in views(spread, {}, "MONOCHROME2", ("display", "stretch"))] == ["display"]
    spread[0, 0] = 65535
    assert [n for n, _v in views(spread, {}, "MONOCHROME2", ("display", "stretch"))] == ["display", "stretch"]


def test_verify_in_the_band_still_catches_text_left_behind(monkeypatch):
    """Redacted boxes all in the border band: verify runs the border detector only there,
    and a redaction that did nothing is still caught (and the file quarantined)."""
    from deid.pixels import stage
    from deid.pixels.detect import PPOCRDetector

    rng = random.Random(12)
    s = Synth(chest(1024, 1024, rng), identity=identity(rng))
    draw(s, "HERNANDEZ DEANNA", 20, 20, 26)
    draw(s, "MRN 50349106  1962-03-14", 20, 960, 22)
    ds = to_dataset(s, bits=12)
    calls = []
    real_detect = PPOCRDetector.detect
    monkeypatch.setattr(
        PPOCRDetector, "detect", lambda self, v, rois=None: calls.append(rois) or real_detect(self, v, rois)
    )
    res, _ = run(ds)
    assert res.status == "ok", res.reason
    assert all(r is None for r in calls)  # the model ran on the first pass only
    monkeypatch.setattr(stage, "_fill", lambda frame, out, b: None)  # a redaction that does nothing
    res, _ = run(ds)
    assert res.status == "quarantined" and res.reason.startswith("verify-failed")


@pytest.mark.parametrize(
    "text,phi",
    [
        ("Sex: M", True),
        ("DOB:1962", True),
        ("姓名：张三", True),
        ("Age 90Y Sex MALE", True),
        ("ID 12345", True),
        ("年龄 45岁", True),
        ("Patient Name: DOE", True),
        ("Time: 18:44", True),
        ("Gn 77", False),
        ("FR 24Hz", False),
        ("Time 18:44", False),
        ("MI 0.5", False),
        ("Sex:", False),
        ("Depth 16 cm", False),
        ("Patient Position HFS", False),
        ("Westbrook Health", False),
    ],
)
def test_labels_that_announce_an_identifier(text, phi):
    """Strong labels (age, sex, ID ...) announce a value without a colon; plain words
    (time, date, site) only with one; technical text (gain, frame rate) never."""
    from deid.pixels.labels import labelled_phi

    assert labelled_phi(text) is phi


@pytest.mark.parametrize(
    "text,bare",
    [
        ("F", True),
        ("Female", True),
        ("045Y", True),
        ("36 yrs", True),
        ("54Y/F", True),
        ("45岁", True),
        ("女", True),
        ("2D", False),
        ("5 MHz", False),
        ("12 cm", False),
        ("C5-1", False),
    ],
)
def test_bare_sex_and_age_in_redact_phi(text, bare):
    from deid.pixels.labels import demographic

    assert demographic(text) is bare


def test_a_jp2_box_that_cannot_move_on_is_refused_before_decoding(tmp_path):
    """pydicom's JPEG 2000 parameter scan loops forever on a JP2 box of length 0: the
    pixel stage refuses the frame itself, so the file is quarantined at once instead of
    holding a worker until the time limit (run with no limit: a hang fails the test)."""
    from helpers import jp2_box_length_zero

    src = tmp_path / "loop.dcm"
    src.write_bytes(jp2_box_length_zero())
    code = (
        "import sys; from deid.core import Context; from deid.dicom.handler import DicomHandler;"
        "from deid.policy import load_pipeline; from deid.pseudonym import Pseudonymizer;"
        "r = DicomHandler()._process(open(sys.argv[1], 'rb').read(), 'fp',"
        " Context(load_pipeline('chest-xray'), Pseudonymizer(b'k' * 32)), 'x.dcm'); print(r.reason)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(src)], capture_output=True, text=True, timeout=120)
    assert out.stdout.startswith("pixels-undecodable: JPEG 2000 frame with a box of invalid length"), out.stderr
    from deid.dicom.pixels import check_jp2_boxes

    ftyp = b"\x00\x00\x00\x14ftypjp2 " + b"\x00" * 8
    check_jp2_boxes(b"\x00\x00\x00\x0cjP  \r\n\x87\n" + ftyp + b"\x00\x00\x00\x08jp2c")  # a good one passes
