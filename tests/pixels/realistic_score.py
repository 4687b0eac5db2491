"""Scoring for burned-in text removal against per-token ground truth (see realistic.py).

Inputs are stored pixel values, all frames: (frames, rows, cols[, samples]).

Per token (in every frame that holds it; the worst frame counts):
  box_frac    fraction of the token's inked bounding box whose pixels changed
  stroke_frac fraction of its stroke pixels that changed
  covered     box_frac >= 0.5   (box recall at 50 %)
  strict      stroke_frac >= 0.9
"Changed" is |after - before| > tol in any sample. A pixel that did not change but
already holds the constant fill the redaction used (e.g. black text background under a
black box) counts as changed when it lies inside the bounding rectangle of the changed
pixels of that box: a fill cannot change a pixel that already had its value.

Per image:
  collateral      changed pixels outside every token box (padded by 12 px) / pixels,
                  max over frames
  changed_frac    changed pixels / pixels, max over frames (> 0.15 is flagged)

Tokens are read by attribute (bbox, mask, frames, field, phi, label, safe, ...), so
realistic.Token works, and so does any object with those attributes.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

PAD = 12
LOSSY_TS = {
    "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.51",
    "1.2.840.10008.1.2.4.81",
    "1.2.840.10008.1.2.4.91",
    "1.2.840.10008.1.2.4.201",
    "1.2.840.10008.1.2.4.203",
}


@dataclass
class TokenScore:
    text: str
    field: str
    phi: bool
    label: bool
    safe: bool
    kind: str
    height: int
    contrast: float
    style: str
    box_frac: float
    stroke_frac: float

    @property
    def covered(self) -> bool:
        return self.box_frac >= 0.5

    @property
    def strict(self) -> bool:
        return self.stroke_frac >= 0.9

    @property
    def kept(self) -> bool:  # for safe markers: left alone
        return self.stroke_frac < 0.1


@dataclass
class ImageScore:
    name: str
    kind: str
    status: str  # "ok", "quarantined", "missing", "error"
    reason: str = ""
    rows: int = 0
    cols: int = 0
    frames: int = 1
    collateral: float = 0.0
    changed_frac: float = 0.0
    tokens: list[TokenScore] = field(default_factory=list)
    note: str = ""
    n_phi: int = 0  # PHI tokens drawn (scored or not)


# ----------------------------------------------------------------------------------- pixels


def to_comparable(
    before: np.ndarray, pi_before: str, after: np.ndarray, pi_after: str, bits: int | None = None
) -> tuple[np.ndarray, np.ndarray, int, str]:
    """Bring both arrays into one colour space; returns (before, after, extra tolerance, photometric)."""
    extra, pi = 0, pi_before
    if pi_before != pi_after:
        if pi_before.startswith("YBR") or pi_after.startswith("YBR"):
            from pydicom.pixels import convert_color_space

            if pi_before.startswith("YBR"):
                before = convert_color_space(before, "YBR_FULL", "RGB")
            if pi_after.startswith("YBR"):
                after = convert_color_space(after, "YBR_FULL", "RGB")
            extra, pi = 3, "RGB"
        elif {pi_before, pi_after} == {"MONOCHROME1", "MONOCHROME2"}:
            maxv = (2**bits - 1) if bits else int(max(before.max(), after.max()))
            after = maxv - after.astype(np.int64)
    return before, after, extra, pi


def changed_mask(before: np.ndarray, after: np.ndarray, tol: float = 0) -> np.ndarray:
    """(frames, rows, cols) bool: any sample differs by more than tol."""
    d = np.abs(before.astype(np.int32) - after.astype(np.int32)) > tol
    if d.ndim == 4:
        d = d.any(axis=-1)
    return d


def _fill_aware(ch: np.ndarray, after_box: np.ndarray) -> np.ndarray:
    """Changed pixels plus unchanged ones that equal the redaction's constant fill value,
    inside the rectangle the changed pixels span."""
    if not ch.any() or ch.all():
        return ch
    vals = after_box[ch]
    if vals.ndim == 1:
        uniq, counts = np.unique(vals, return_counts=True)
        i = int(np.argmax(counts))
        if counts[i] < 0.8 * len(vals):
            return ch
        same = after_box == uniq[i]
    else:
        uniq, counts = np.unique(vals, axis=0, return_counts=True)
        i = int(np.argmax(counts))
        if counts[i] < 0.8 * len(vals):
            return ch
        same = (after_box == uniq[i]).all(axis=-1)
    ys, xs = np.nonzero(ch)
    rect = np.zeros_like(ch)
    rect[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] = True
    return ch | (same & rect)


def score_image(
    tokens,
    before: np.ndarray,
    after: np.ndarray | None,
    *,
    name: str = "",
    kind: str = "",
    tol: float = 0,
    pad: int = PAD,
    status: str = "ok",
    reason: str = "",
) -> ImageScore:
    """Score one image. before/after: stored values (frames, rows, cols[, samples])."""
    F, H, W = before.shape[:3]
    img = ImageScore(name, kind, status, reason, H, W, F, n_phi=sum(1 for t in tokens if t.phi))
    if after is None:
        return img
    if after.shape != before.shape:
        img.note = f"shape changed {before.shape} -> {after.shape}"
        ch = np.ones((F, H, W), bool)
        after = np.zeros_like(before)
    else:
        ch = changed_mask(before, after, tol)
    coll, frac = 0.0, 0.0
    for f in range(F):
        outside = np.ones((H, W), bool)
        for t in tokens:
            if t.frames is None or f in t.frames:
                x0, y0, x1, y1 = t.bbox
                outside[max(0, y0 - pad) : y1 + pad, max(0, x0 - pad) : x1 + pad] = False
        coll = max(coll, float((ch[f] & outside).sum()) / (H * W))
        frac = max(frac, float(ch[f].mean()))
    img.collateral, img.changed_frac = coll, frac
    for t in tokens:
        x0, y0, x1, y1 = t.bbox
        box_f, stroke_f = 1.0, 1.0
        for f in range(F) if t.frames is None else t.frames:
            c = _fill_aware(ch[f, y0:y1, x0:x1], after[f, y0:y1, x0:x1])
            box_f = min(box_f, float(c.mean()))
            stroke_f = min(stroke_f, float(c[t.mask].mean()) if t.mask.any() else float(c.mean()))
        img.tokens.append(
            TokenScore(
                t.text,
                t.field,
                t.phi,
                t.label,
                t.safe,
                kind,
                y1 - y0,
                float(getattr(t, "contrast", 0.0)),
                str(getattr(t, "style", "")),
                box_f,
                stroke_f,
            )
        )
    return img


# ----------------------------------------------------------------------------------- aggregate


def _rate(xs) -> float | None:
    xs = list(xs)
    return sum(xs) / len(xs) if xs else None


def _pct(v, n=None) -> str:
    if v is None:
        return "-"
    return f"{100 * v:.1f}%" + (f" ({n})" if n is not None else "")


def _q(vals, q) -> float | None:
    vals = sorted(vals)
    if not vals:
        return None
    k = (len(vals) - 1) * q
    lo, hi = int(np.floor(k)), int(np.ceil(k))
    return vals[lo] + (vals[hi] - vals[lo]) * (k - lo)


def _height_bucket(h: int) -> str:
    return "<12 px" if h < 12 else "12-19 px" if h < 20 else "20-31 px" if h < 32 else ">=32 px"


def _contrast_bucket(c: float) -> str:
    return "<0.1" if c < 0.1 else "0.1-0.3" if c < 0.3 else "0.3-0.6" if c < 0.6 else ">=0.6"


def aggregate(images: list[ImageScore]) -> dict:
    ok = [i for i in images if i.status == "ok"]
    quarantined = [i for i in images if i.status == "quarantined"]
    phi = [t for i in ok for t in i.tokens if t.phi]
    all_phi = sum(i.n_phi for i in images)
    text_imgs = [i for i in ok if i.tokens]
    neg_imgs = [i for i in ok if not i.tokens]
    colls = [i.collateral for i in ok]

    def group(key, toks):
        g = defaultdict(list)
        for t in toks:
            g[key(t)].append(t)
        return {
            k: {"n": len(v), "recall": _rate(t.covered for t in v), "strict": _rate(t.strict for t in v)}
            for k, v in sorted(g.items())
        }

    per_kind = {}
    for kind in sorted({i.kind for i in images}):
        ims = [i for i in images if i.kind == kind]
        oks = [i for i in ims if i.status == "ok"]
        toks = [t for i in oks for t in i.tokens if t.phi]
        cs = [i.collateral for i in oks]
        per_kind[kind] = {
            "images": len(ims),
            "quarantined": sum(i.status == "quarantined" for i in ims),
            "failed": sum(i.status in ("missing", "error") for i in ims),
            "phi_tokens": len(toks),
            "recall": _rate(t.covered for t in toks),
            "strict": _rate(t.strict for t in toks),
            "collateral_median": statistics.median(cs) if cs else None,
            "collateral_max": max(cs) if cs else None,
            "over15": sum(i.changed_frac > 0.15 for i in oks),
        }
    styles = defaultdict(list)
    for t in phi:
        for s in t.style.split("+") if t.style else ["plain"]:
            styles[s].append(t)
    safe = [t for i in ok for t in i.tokens if t.safe]
    return {
        "images": len(images),
        "ok": len(ok),
        "quarantined": len(quarantined),
        "failed": sum(i.status in ("missing", "error") for i in images),
        "quarantine_reasons": Counter(i.reason.split(":")[0] for i in quarantined),
        "quarantine_detail": [(i.name, i.reason) for i in quarantined],
        "phi_tokens": len(phi),
        "phi_tokens_all": all_phi,
        "recall": _rate(t.covered for t in phi),
        "strict": _rate(t.strict for t in phi),
        "leaked": sum(1 for t in phi if not t.covered),
        "labels_redacted": _rate(t.covered for i in ok for t in i.tokens if t.label),
        "other_redacted": _rate(t.covered for i in ok for t in i.tokens if t.field == "other" and not t.safe),
        "safe_kept": _rate(t.kept for t in safe),
        "safe_n": len(safe),
        "safe_markers_kept": _rate(t.kept for t in safe if t.field == "safe-marker"),
        "safe_markers_n": sum(1 for t in safe if t.field == "safe-marker"),
        "collateral_median": statistics.median(colls) if colls else None,
        "collateral_p95": _q(colls, 0.95),
        "collateral_max": max(colls) if colls else None,
        "collateral_text_median": statistics.median([i.collateral for i in text_imgs]) if text_imgs else None,
        "collateral_negatives_max": max((i.collateral for i in neg_imgs), default=None),
        "negatives_touched": sum(1 for i in neg_imgs if i.changed_frac > 0),
        "negatives_n": len(neg_imgs),
        "over15": [i.name for i in ok if i.changed_frac > 0.15],
        "per_kind": per_kind,
        "per_field": group(lambda t: t.field, [t for i in ok for t in i.tokens]),
        "per_height": group(lambda t: _height_bucket(t.height), phi),
        "per_contrast": group(lambda t: _contrast_bucket(t.contrast), phi),
        "per_style": {
            k: {"n": len(v), "recall": _rate(t.covered for t in v), "strict": _rate(t.strict for t in v)}
            for k, v in sorted(styles.items())
        },
        "missed": [
            (t.kind, t.field, t.text, t.height, round(t.contrast, 2), t.style, round(t.box_frac, 2))
            for i in ok
            for t in i.tokens
            if t.phi and not t.covered
        ],
    }


def markdown(agg: dict, title: str = "", seconds_per_image: float | None = None) -> str:
    out = []
    if title:
        out.append(f"### {title}\n")
    out.append("| metric | value |\n|---|---|")
    rows = [
        (
            "images (written / quarantined / failed)",
            f"{agg['images']} ({agg['ok']} / {agg['quarantined']} / {agg['failed']})",
        ),
        ("PHI value-box recall, written outputs (box >= 50 %)", _pct(agg["recall"], agg["phi_tokens"])),
        ("PHI strict (>= 90 % of strokes changed)", _pct(agg["strict"])),
        (
            "PHI tokens left readable in written outputs",
            f"{agg['leaked']} of {agg['phi_tokens_all']} (all images, quarantined included)",
        ),
        ("labels redacted", _pct(agg["labels_redacted"])),
        ("other text (technique, scale numbers) redacted", _pct(agg["other_redacted"])),
        ("lead markers (L/R) kept", _pct(agg["safe_markers_kept"], agg["safe_markers_n"])),
        ("all safe markers kept (L/R, PA, PORTABLE, 正位 ...)", _pct(agg["safe_kept"], agg["safe_n"])),
        (
            "collateral median / p95 / max",
            " / ".join(_pct(agg[k]) for k in ("collateral_median", "collateral_p95", "collateral_max")),
        ),
        (
            "images > 15 % of pixels changed",
            f"{len(agg['over15'])}" + (f" ({', '.join(agg['over15'])})" if agg["over15"] else ""),
        ),
        (
            "negatives (no text) touched / max collateral",
            f"{agg['negatives_touched']} of {agg['negatives_n']} / {_pct(agg['collateral_negatives_max'])}",
        ),
    ]
    if seconds_per_image is not None:
        rows.append(("seconds / image (wall, whole run incl. start-up)", f"{seconds_per_image:.2f}"))
    out += [f"| {a} | {b} |" for a, b in rows]
    if agg["quarantine_reasons"]:
        out.append("\nquarantined: " + ", ".join(f"{k} x{v}" for k, v in agg["quarantine_reasons"].most_common()))
        for name, reason in agg["quarantine_detail"]:
            out.append(f"- {name}: {reason[:160]}")
    out.append(
        "\n| kind | images | quarantined | PHI tokens | recall | strict | collateral median | "
        "collateral max | >15 % |\n|---|---|---|---|---|---|---|---|---|"
    )
    for k, v in agg["per_kind"].items():
        out.append(
            f"| {k} | {v['images']} | {v['quarantined']}{'+' + str(v['failed']) + ' failed' if v['failed'] else ''}"
            f" | {v['phi_tokens']} | {_pct(v['recall'])} | {_pct(v['strict'])} | "
            f"{_pct(v['collateral_median'])} | {_pct(v['collateral_max'])} | {v['over15']} |"
        )
    for key, head in (
        ("per_field", "field"),
        ("per_height", "PHI token height"),
        ("per_contrast", "PHI token contrast (display)"),
        ("per_style", "PHI token style"),
    ):
        out.append(f"\n| {head} | tokens | recall | strict |\n|---|---|---|---|")
        for k, v in agg[key].items():
            out.append(f"| {k} | {v['n']} | {_pct(v['recall'])} | {_pct(v['strict'])} |")
    if agg["missed"]:
        out.append("\nmissed PHI tokens (kind, field, text, height px, contrast, style, box fraction changed):")
        for m in agg["missed"][:60]:
            out.append(f"- {m[0]} {m[1]} `{m[2]}` h={m[3]} c={m[4]} {m[5] or 'plain'} box={m[6]}")
        if len(agg["missed"]) > 60:
            out.append(f"- ... {len(agg['missed']) - 60} more")
    return "\n".join(out)
