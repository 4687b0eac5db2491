"""Synthetic radiographs and ultrasound frames with burned-in text, and their ground truth.

Everything is procedural: anatomy is ellipses, arcs and noise; text is drawn with
DejaVu (English) and WenQuanYi Zen Hei (Chinese, Debian fonts-wqy-zenhei); names,
IDs and dates come from faker (en_US, zh_CN) and our own generators. Ground truth
per line: its box, its stroke mask (pixels the glyphs changed), size and contrast.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from deid.text.validate import resident_id_check_digit

LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"


def fonts_available() -> bool:
    return Path(LATIN_FONT).exists() and Path(CJK_FONT).exists()


@dataclass
class Line:
    text: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive) of inked pixels
    mask: np.ndarray  # bool, image-sized: stroke pixels
    size: int  # font size in px
    contrast: float  # |text - local background| / image range
    safe: bool = False  # a marker the policy keeps (L, R, PA, ...)
    phi: bool = True


@dataclass
class Synth:
    image: np.ndarray  # 2-D float in [0, 1], or H x W x 3
    lines: list[Line] = field(default_factory=list)
    identity: dict = field(default_factory=dict)


def cn_resident_id(rng: random.Random) -> str:
    """18-digit ID with a valid GB 11643 checksum and a plausible embedded birth date."""
    area = rng.choice(["110105", "310104", "440106", "510107", "320102"])
    body = f"{area}{rng.randint(1940, 2015)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return body + resident_id_check_digit(body)


def identity(rng: random.Random) -> dict:
    from faker import Faker

    en, zh = Faker("en_US"), Faker("zh_CN")
    en.seed_instance(rng.randint(0, 10**9))
    zh.seed_instance(rng.randint(0, 10**9))
    last, first = en.last_name().upper(), en.first_name().upper()
    return {
        "name_en": f"{last}^{first}",
        "last": last,
        "first": first,
        "name_zh": zh.name(),
        "hospital_zh": zh.city_name() + "市第一人民医院",
        "hospital_en": f"{en.city().upper()} GENERAL HOSPITAL",
        "mrn": f"{rng.randint(10**6, 10**7 - 1)}",
        "cn_id": cn_resident_id(rng),
        "phone": f"1{rng.choice('3589')}{rng.randint(0, 9)}{rng.randint(10**7, 10**8 - 1)}",
        "dob": f"{rng.randint(1930, 2010)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}",
        "study_date": f"2024{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}",
    }


def chest(h: int, w: int, rng: random.Random) -> np.ndarray:
    """A procedural PA chest: body, two lungs, ribs, spine, a wire, noise. Values in [0, 1]."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.full((h, w), 0.08, np.float32)
    body = ((xx - w / 2) / (0.42 * w)) ** 2 + ((yy - 0.55 * h) / (0.55 * h)) ** 2 < 1
    img[body] = 0.55
    for side in (-1, 1):
        lung = ((xx - w / 2 - side * 0.18 * w) / (0.14 * w)) ** 2 + ((yy - 0.5 * h) / (0.3 * h)) ** 2 < 1
        img[lung] = 0.25
    img[(np.abs(xx - w / 2) < 0.03 * w) & body] = 0.8  # spine
    for k in range(9):  # ribs: bright arcs
        cy = 0.25 * h + k * 0.055 * h
        arc = np.abs(yy - (cy + 0.00035 * (xx - w / 2) ** 2 / (w / 1024))) < 0.007 * h
        img[arc & body] += 0.18
    t = np.linspace(0, 1, 400)  # an ECG lead wire
    wx = (0.3 * w + 0.4 * w * t + 20 * np.sin(t * 9)).astype(int)
    wy = (0.2 * h + 0.5 * h * t**2).astype(int)
    for x, y in zip(wx, wy):
        img[max(0, y - 2) : y + 2, max(0, x - 2) : x + 2] = 0.95
    img = _blur(img, max(1, w // 400))
    img += np.random.default_rng(rng.randint(0, 2**31)).normal(0, 0.015, img.shape).astype(np.float32)
    return np.clip(img, 0, 1)


def ultrasound(h: int, w: int, rng: random.Random) -> np.ndarray:
    """A sector scan on black with speckle; a banner area above it."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = w / 2, 0.12 * h
    r = np.hypot(xx - cx, yy - cy)
    ang = np.degrees(np.arctan2(xx - cx, yy - cy))
    sector = (r > 0.05 * h) & (r < 0.85 * h) & (np.abs(ang) < 35)
    speckle = np.random.default_rng(rng.randint(0, 2**31)).rayleigh(0.18, (h, w)).astype(np.float32)
    img = np.zeros((h, w), np.float32)
    img[sector] = np.clip(speckle[sector] * (1 - r[sector] / h), 0, 1)
    return _blur(img, 1)


def _blur(img: np.ndarray, k: int) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(img, (2 * k + 1, 2 * k + 1), 0)


def draw(
    s: Synth,
    text: str,
    x: int,
    y: int,
    size: int,
    style: str = "white",
    angle: float = 0,
    safe: bool = False,
    contrast: float | None = None,
) -> Line:
    """Burn one line of text into `s.image` and record its ground truth.

    style: white | black | boxed (white on a dark box) | low (text only `contrast` above
    the local background) | mid (grey text over anatomy)."""
    img = s.image
    h, w = img.shape[:2]
    cjk = any(ord(c) > 0x2E80 for c in text)
    font = ImageFont.truetype(CJK_FONT if cjk else LATIN_FONT, size)
    layer = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(layer)
    if angle:
        tw, th = d.textbbox((0, 0), text, font=font)[2:]
        tile = Image.new("L", (tw + 4, th + 4), 0)
        ImageDraw.Draw(tile).text((2, 2), text, fill=255, font=font)
        tile = tile.rotate(angle, expand=True, resample=Image.BILINEAR)
        layer.paste(tile, (x, y))
    else:
        d.text((x, y), text, fill=255, font=font)
    alpha = np.asarray(layer, np.float32) / 255.0
    mask = alpha > 0.5
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        raise ValueError("text fell outside the image")
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    gray = img if img.ndim == 2 else img.mean(axis=2)
    x0, y0, x1, y1 = box
    bg = float(np.median(gray[y0:y1, x0:x1]))
    if style == "boxed":
        pad = max(2, size // 5)
        region = (slice(max(0, y0 - pad), y1 + pad), slice(max(0, x0 - pad), x1 + pad))
        img[region] = 0.02
        bg = 0.02
        value = 0.95
    elif style == "white":
        value = 0.97
    elif style == "black":
        value = 0.0
    elif style == "low":
        value = min(1.0, bg + (contrast or 0.12))
    else:  # mid: grey over anatomy
        value = 0.9 if bg < 0.5 else 0.1
    if img.ndim == 3:
        img[...] = img * (1 - alpha[..., None]) + value * alpha[..., None]
    else:
        img[...] = img * (1 - alpha) + value * alpha
    line = Line(text, box, mask, size, abs(value - bg), safe=safe, phi=not safe)
    s.lines.append(line)
    return line


def chest_case(seed: int, h: int = 1024, w: int = 1024, chinese: bool = True) -> Synth:
    """A chest X-ray with a corner banner (name, ID, dates, hospital), markers, and stamps."""
    rng = random.Random(seed)
    ident = identity(rng)
    s = Synth(chest(h, w, rng), identity=ident)
    u = max(10, h // 64)  # ~16 px at 1024
    dob, sd = ident["dob"], ident["study_date"]
    draw(s, f"{ident['last']}, {ident['first']}", int(0.02 * w), int(0.02 * h), int(1.6 * u), "white")
    draw(s, f"MRN {ident['mrn']}  DOB {dob[:4]}-{dob[4:6]}-{dob[6:]}", int(0.02 * w), int(0.02 * h) + 2 * u, u, "white")
    draw(s, ident["hospital_en"], int(0.55 * w), int(0.02 * h), u, "boxed")
    draw(s, f"{sd[4:6]}/{sd[6:]}/{sd[:4]} 09:41", int(0.70 * w), int(0.95 * h), u, "low", contrast=0.15)
    if chinese:
        draw(s, f"姓名:{ident['name_zh']}", int(0.02 * w), int(0.90 * h), int(1.5 * u), "white")
        draw(s, f"身份证号 {ident['cn_id']}", int(0.02 * w), int(0.90 * h) + 2 * u, u, "white")
        draw(s, ident["hospital_zh"], int(0.60 * w), int(0.06 * h), u, "black" if rng.random() < 0.5 else "boxed")
    draw(s, f"ID:{ident['mrn']}", int(0.40 * w), int(0.45 * h), int(1.3 * u), "mid")  # over anatomy
    draw(s, f"{ident['phone']}", int(0.88 * w), int(0.30 * h), u, "white", angle=90)  # rotated stamp
    draw(s, "R", int(0.05 * w), int(0.20 * h), int(3 * u), "white", safe=True)
    draw(s, "PA", int(0.90 * w), int(0.12 * h), int(2 * u), "white", safe=True)
    return s


def ultrasound_case(seed: int, h: int = 600, w: int = 800, chinese: bool = True) -> Synth:
    """One ultrasound frame: patient banner on top, technical text (kept in redact-phi) at the side."""
    rng = random.Random(seed)
    ident = identity(rng)
    s = Synth(ultrasound(h, w, rng), identity=ident)
    sd = ident["study_date"]
    draw(s, f"{ident['last']} {ident['first']}", 10, 8, 16)
    draw(s, f"ID {ident['mrn']}", 300, 8, 16)
    draw(s, f"{sd[:4]}/{sd[4:6]}/{sd[6:]}", 600, 8, 16)
    if chinese:
        draw(s, ident["name_zh"], 10, 32, 16)
    for i, tech in enumerate(["C5-1", "Gn 52", "DR 60", "FR 28Hz"]):
        line = draw(s, tech, 10, 200 + 24 * i, 14, safe=True)
        line.phi = False
    return s


# -- DICOM -----------------------------------------------------------------------------
def scale(img: np.ndarray, bits: int, signed: bool = False, monochrome1: bool = False) -> np.ndarray:
    top = (1 << bits) - 1
    arr = img if not monochrome1 else 1.0 - img
    out = np.round(arr * top).astype(np.int64)
    if signed:
        out -= 1 << (bits - 1)
    return out


def to_dataset(
    s: Synth,
    *,
    bits: int = 12,
    signed: bool = False,
    photometric: str = "MONOCHROME2",
    frames: int = 1,
    modality: str = "DX",
    syntax: str = "explicit",
    window: bool = False,
):
    """A DICOM data set holding the image (and copies for more frames), header identity included."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    ident = s.identity
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = {
        "DX": "1.2.840.10008.5.1.4.1.1.1.1",
        "CR": "1.2.840.10008.5.1.4.1.1.1",
        "US": "1.2.840.10008.5.1.4.1.1.3.1" if frames > 1 else "1.2.840.10008.5.1.4.1.1.6.1",
        "OT": "1.2.840.10008.5.1.4.1.1.7",
    }[modality]
    ds.SOPInstanceUID, ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid(), generate_uid()
    ds.Modality = modality
    ds.PatientName = ident["name_en"]
    ds.PatientID = ident["mrn"]
    ds.OtherPatientIDs = ident["cn_id"]
    ds.PatientBirthDate = ident["dob"]
    ds.StudyDate = ident["study_date"]
    ds.InstitutionName = ident["hospital_en"]
    ds.Manufacturer = "SYNTHETIC"
    h, w = s.image.shape[:2]
    ds.Rows, ds.Columns = h, w
    if photometric == "RGB":
        rgb = s.image if s.image.ndim == 3 else np.repeat(s.image[..., None], 3, axis=2)
        arr = np.round(rgb * 255).astype(np.uint8)
        ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
        ds.BitsAllocated = ds.BitsStored = 8
        ds.HighBit, ds.PixelRepresentation = 7, 0
    else:
        vals = scale(s.image, bits, signed, photometric == "MONOCHROME1")
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
        ds.BitsAllocated = 8 if bits <= 8 else 16
        ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits - 1, int(signed)
        dtype = {(8, 0): np.uint8, (8, 1): np.int8, (16, 0): np.uint16, (16, 1): np.int16}[
            (ds.BitsAllocated, int(signed))
        ]
        arr = vals.astype(dtype)
        if window:
            lo, hi = int(vals.min()), int(vals.max())
            ds.WindowCenter, ds.WindowWidth = (lo + hi) // 2, max(1, hi - lo)
    if frames > 1:
        arr = np.stack([arr] * frames)
        ds.NumberOfFrames = frames
    ds.PixelData = arr.tobytes()
    if syntax != "explicit":
        compress(ds, arr, syntax)
    return ds


SYNTAXES = {
    "rle": "1.2.840.10008.1.2.5",
    "j2k": "1.2.840.10008.1.2.4.90",
    "jls": "1.2.840.10008.1.2.4.80",
    "jpeg": "1.2.840.10008.1.2.4.50",
}


def compress(ds, arr: np.ndarray, syntax: str) -> None:
    from pydicom.encaps import encapsulate

    uid = SYNTAXES[syntax]
    if syntax != "jpeg":
        ds.compress(uid, arr)
        return
    # JPEG Baseline: pydicom has no encoder, Pillow has (8-bit only)
    frames = arr if ds.get("NumberOfFrames", 1) > 1 else arr[None]
    out = []
    for fr in frames:
        buf = io.BytesIO()
        Image.fromarray(fr.astype(np.uint8)).save(buf, "JPEG", quality=90)
        out.append(buf.getvalue())
    if ds.SamplesPerPixel == 3:
        ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.PixelData = encapsulate(out)
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = uid
    ds.LossyImageCompression = "01"
