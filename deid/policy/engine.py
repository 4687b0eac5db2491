"""Policy: answers "what do I do with this element?" from the pipeline YAML.

Order of precedence: pipeline overrides (first match wins) > built-in rules
(private attributes, overlays/curves) > PS3.15 Table E.1-1 with the chosen
options applied in table-column order > keep (attributes the profile does not
list are retained, as Annex E specifies). No I/O happens here.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import cast

import yaml

from .. import operators
from ..errors import PolicyError
from .decision import Decision
from .pixels import PixelPolicy, build_pixel_policy
from .records import RecordPolicy, build_record_policy
from .risk import RiskPolicy, build_risk_policy
from .sections import section
from .table import DATA, OPTION_COLUMNS, Row, Table, load_table
from .verify import VerifyPolicy, build_verify_policy

CODE_ACTIONS = {"X": "remove", "Z": "empty", "D": "dummy", "K": "keep", "U": "uid", "C": "clean"}
DATE_VRS = frozenset({"DA", "DT", "TM"})


@dataclass(frozen=True)
class Override:
    index: int
    action: str
    keyword: str | None = None
    tag: int | None = None
    mask: tuple[int, int] | None = None
    vr: str | None = None

    def describe(self) -> str:
        parts = []
        if self.keyword:
            parts.append(f"keyword={self.keyword}")
        if self.tag is not None:
            parts.append(f"tag=({self.tag >> 16:04X},{self.tag & 0xFFFF:04X})")
        if self.mask is not None:
            m, v = self.mask
            digits = "".join("x" if (m >> s) & 0xF == 0 else f"{(v >> s) & 0xF:X}" for s in range(28, -4, -4))
            parts.append(f"tag_pattern=({digits[:4]},{digits[4:]})")
        if self.vr:
            parts.append(f"vr={self.vr}")
        return " ".join(parts)

    def matches(self, tag: int, vr: str, keyword: str) -> bool:
        if self.keyword is not None and self.keyword != keyword:
            return False
        if self.tag is not None and self.tag != tag:
            return False
        if self.mask is not None and tag & self.mask[0] != self.mask[1]:
            return False
        if self.vr is not None and self.vr != vr:
            return False
        return True


@dataclass(frozen=True)
class SafePrivate:
    group: int
    creator: str
    element: int
    vr: str


@lru_cache(maxsize=1)
def safe_private() -> frozenset[SafePrivate]:
    """The private attributes the Retain Safe Private option keeps (data/safe_private.yaml);
    `deid check` reports any other private attribute."""
    data = yaml.safe_load((DATA / "safe_private.yaml").read_text("utf-8"))
    return frozenset(
        SafePrivate(int(e["group"], 16), e["creator"].strip(), int(e["element"], 16), e["vr"])
        for e in data["safe_private"]
    )


@lru_cache(maxsize=1)
def _iod_families() -> tuple[tuple[str, str, dict[str, int]], ...]:
    data = yaml.safe_load((DATA / "iod_types.yaml").read_text("utf-8"))
    fams = []
    for name, fam in data["families"].items():
        for prefix in fam["sop_class_prefixes"]:
            fams.append((prefix, name, fam["types"]))
    return tuple(sorted(fams, key=lambda f: -len(f[0])))


def iod_type(sop_class_uid: str, keyword: str) -> int | None:
    """Type of a top-level attribute in the IOD of this SOP class, when known."""
    if not sop_class_uid:
        return None
    for prefix, _name, types in _iod_families():  # longest prefix first
        if sop_class_uid.startswith(prefix) and keyword in types:
            return types[keyword]
    return None


def resolve_combined(code: str, attr_type: int | None) -> tuple[str, str]:
    """X/Z, X/D, Z/D, X/Z/D, X/Z/U*: pick by Type; unknown Type -> D if allowed, else Z.

    Returns (code, reason) where reason is "type1/2/3" or "type-unknown".
    """
    choices = [c.rstrip("*") for c in code.split("/")]
    if "U" in choices:
        # X/Z/U* (Referenced/Source Image Sequence): keeping the sequence with its UIDs
        # remapped is valid for every Type and keeps references between instances; every
        # attribute inside is still decided by its own rule.
        return "U", "references-remapped"
    if attr_type is None:
        for c in ("D", "U", "Z", "X"):
            if c in choices:
                return c, "type-unknown"
    want = {1: ("D", "U"), 2: ("Z", "D", "U"), 3: ("X", "Z", "D", "U")}[cast(int, attr_type)]
    for c in want:
        if c in choices:
            return c, f"type{attr_type}"
    return choices[0], f"type{attr_type}"


_TAG_RE = re.compile(r"^\(?\s*([0-9A-Fa-fxX]{4})\s*,\s*([0-9A-Fa-fxX]{4})\s*\)?$")


def parse_tag(text: str) -> tuple[int | None, tuple[int, int] | None]:
    """'(0010,0010)' -> exact tag; '(60xx,xxxx)' -> (mask, value)."""
    m = _TAG_RE.match(str(text))
    if not m:
        raise PolicyError(f"tag {text!r} is not of the form (gggg,eeee); use x for any hex digit")
    digits = m.group(1) + m.group(2)
    if "x" in digits.lower():
        mask = int("".join("0" if c in "xX" else "F" for c in digits), 16)
        value = int("".join("0" if c in "xX" else c for c in digits), 16)
        return None, (mask, value)
    return int(digits, 16), None


# what an attribute no dictionary knows may keep: numbers, tags, and sequences (walked item by item)
UNKNOWN_KEPT_VRS = frozenset({"US", "SS", "UL", "SL", "UV", "SV", "FL", "FD", "AT", "SQ"})


@dataclass(frozen=True)
class DicomPolicy:
    """The DICOM part of a pipeline."""

    options: tuple[str, ...] = ()
    overrides: tuple[Override, ...] = ()
    date_shift_days: tuple[int, int] = (-1095, -1)
    keep_overlays: bool = False
    table: Table = field(default_factory=load_table, repr=False, compare=False, hash=False)

    def has(self, option: str) -> bool:
        return option in self.options

    # -- decisions -------------------------------------------------------
    def override_for(self, tag: int, vr: str, keyword: str) -> Decision | None:
        for ov in self.overrides:
            if ov.matches(tag, vr, keyword):
                return Decision(ov.action, f"override:{ov.index}")
        return None

    def action_for(self, tag: int, vr: str, keyword: str, sop_class_uid: str = "", top_level: bool = True) -> Decision:
        """Cached: the answer depends only on these arguments and the (frozen) policy."""
        return _cached_action(self, tag, vr, keyword, sop_class_uid, top_level)

    def _action_for(self, tag: int, vr: str, keyword: str, sop_class_uid: str, top_level: bool) -> Decision:
        d = self.override_for(tag, vr, keyword) if self.overrides else None
        if d is not None:
            return d
        group = tag >> 16
        if group & 1:
            # private elements are decided by private_action(); this is the fallback
            return Decision("remove", "ps3.15:basic:private")
        if (group & 0xFF00) == 0x6000 and (tag & 0xFFFF) != 0x4000:
            if not self.keep_overlays:
                return Decision("remove", "deid:overlay", "graphics")
            return Decision("keep", "deid:keep-overlays", "graphics")
        if tag == 0xFFFCFFFC:  # Data Set Trailing Padding: no meaning, may hold stale bytes
            return Decision("remove", "deid:trailing-padding")
        row = self.table.lookup(tag)
        if row is None:
            return self._unlisted(vr, bool(keyword))
        return self._row_decision(row, vr, keyword, sop_class_uid, top_level)

    def _unlisted(self, vr: str, known: bool = True) -> Decision:
        """Attributes Table E.1-1 does not list. Annex E keeps them; deid keeps them too,
        except by VR where the value is identifying by nature: person names are removed,
        dates follow the chosen date option, long free text is cleaned. An attribute no
        dictionary knows is removed unless it holds numbers (or is a sequence, whose items
        are decided one by one): nobody can say what its text or bytes mean, and a name
        there with no cue word around it would pass any recognizer (and `deid check`
        reports such an attribute)."""
        if not known and vr not in UNKNOWN_KEPT_VRS:
            return Decision("remove", "deid:unknown-attribute")
        if vr == "PN":
            return Decision("remove", "deid:unlisted-vr:PN")
        if vr in ("DA", "DT"):
            if self.has("retain_long_full_dates"):
                return Decision("keep", "deid:unlisted-vr:date")
            if self.has("retain_long_modified_dates"):
                return Decision("shift-date", "deid:unlisted-vr:date", "date")
            return Decision("remove", "deid:unlisted-vr:date", "date")
        if vr in ("LT", "ST", "UT"):
            return Decision("clean", "deid:unlisted-vr:text")
        return Decision("keep", "ps3.15:not-listed")

    def _row_decision(self, row: Row, vr: str, keyword: str, sop_class_uid: str, top_level: bool) -> Decision:
        code, source = row.basic, "basic"
        for opt in OPTION_COLUMNS:  # table-column order, later options override earlier
            if opt in self.options and opt in row.options:
                code, source = row.options[opt], opt
        rule = f"ps3.15:{source}:{row.tag}"
        if "/" in code:
            t = iod_type(sop_class_uid, keyword) if top_level else None
            code, why = resolve_combined(code, t)
            rule = f"{rule}:{why}"
        if code == "C":
            if source == "retain_long_modified_dates":
                return Decision("shift-date", rule, "date")
            if source == "retain_patient_characteristics" and vr == "AS":
                return Decision("generalize", rule, "age")
        action = CODE_ACTIONS[code]
        if action == "keep" and vr == "AS":
            return Decision("generalize", rule, "age")  # ages over 89 never leave as-is
        category = "date" if vr in DATE_VRS else ("uid" if action == "uid" else "identity")
        return Decision(action, rule, category)

    def private_action(self, group: int, creator: str, element_low: int, vr: str) -> Decision:
        if self.has("retain_safe_private"):
            if SafePrivate(group, creator.strip(), element_low, vr) in safe_private():
                return Decision("keep", f"deid:safe-private:{creator.strip()}", "private")
        return Decision("remove", "ps3.15:basic:private", "private")

    # -- reporting ---------------------------------------------------------
    def effective_rows(self) -> list[tuple[str, str, str, str]]:
        """(tag, name, action, rule id) for every table row, for `deid policy show`."""
        from pydicom.datadict import dictionary_VR, keyword_for_tag

        out = []
        for row in self.table.rows:
            t = row.tag_int
            if t is None:
                vr, kw = "", ""
            else:
                try:
                    vr, kw = dictionary_VR(t), keyword_for_tag(t)
                except KeyError:
                    vr, kw = "", ""
            if t is None:
                d = self._row_decision(row, vr, kw, "", False)
                if "GGGG" in row.tag:
                    d = Decision(
                        "keep-safe-only" if self.has("retain_safe_private") else "remove", "ps3.15:basic:private"
                    )
            else:
                d = self.action_for(t, vr, kw, "1.2.840.10008.5.1.4.1.1.", True)
            out.append((row.tag, row.name, d.action, d.rule_id))
        return out


@lru_cache(maxsize=65536)
def _cached_action(
    policy: DicomPolicy, tag: int, vr: str, keyword: str, sop_class_uid: str, top_level: bool
) -> Decision:
    return policy._action_for(tag, vr, keyword, sop_class_uid, top_level)


@dataclass(frozen=True)
class Pipeline:
    name: str
    description: str
    source: str
    dicom: DicomPolicy
    pixels: PixelPolicy = field(default_factory=PixelPolicy)
    records: RecordPolicy = field(default_factory=lambda: build_record_policy(None, "built-in"))
    verify: VerifyPolicy = field(default_factory=VerifyPolicy)
    risk: RiskPolicy = field(default_factory=RiskPolicy)
    raw: dict = field(repr=False, compare=False, default_factory=dict)

    @property
    def policy_hash(self) -> str:
        blob = json.dumps(self.raw, sort_keys=True, ensure_ascii=False).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()


def _parse_override(i: int, item: object) -> Override:
    if not isinstance(item, dict):
        raise PolicyError(f"dicom.overrides[{i}] must be a mapping with a selector and 'action'")
    unknown = set(item) - {"keyword", "tag", "tag_pattern", "vr", "action", "note"}
    if unknown:
        raise PolicyError(
            f"dicom.overrides[{i}] has unknown keys {sorted(unknown)}; use keyword, tag, tag_pattern, vr, action, note"
        )
    action = item.get("action")
    try:
        operators.validate(action, "dicom")
    except operators.OperatorError as exc:
        raise PolicyError(f"dicom.overrides[{i}].action {exc}") from None
    if not ({"keyword", "tag", "tag_pattern", "vr"} & set(item)):
        raise PolicyError(f"dicom.overrides[{i}] needs one of keyword, tag, tag_pattern, vr")
    tag = mask = None
    if "tag" in item:
        tag, mask = parse_tag(item["tag"])
    if "tag_pattern" in item:
        _t, mask = parse_tag(item["tag_pattern"])
        if mask is None:
            tag = _t
    kw = item.get("keyword")
    if kw is not None:
        from ..dicomdict import tag_for_keyword

        if tag_for_keyword(kw) is None:
            raise PolicyError(f"dicom.overrides[{i}].keyword {kw!r} is not a DICOM keyword")
    vr = item.get("vr")
    if vr is not None and (not isinstance(vr, str) or len(vr) != 2 or not vr.isupper()):
        raise PolicyError(f"dicom.overrides[{i}].vr {vr!r} is not a two-letter VR such as PN")
    return Override(index=i + 1, action=cast(str, action), keyword=kw, tag=tag, mask=mask, vr=vr)


def build_pipeline(raw: dict, source: str) -> Pipeline:
    if not isinstance(raw, dict):
        raise PolicyError(f"{source}: a pipeline must be a YAML mapping")
    if "outputs" in raw:  # once accepted and ignored: a pipeline must not believe it routes outputs
        raise PolicyError(f"{source}: 'outputs' is not a pipeline key; outputs go where `deid run --out` says")
    unknown = set(raw) - {"name", "description", "dicom", "pixels", "records", "verify", "risk"}
    if unknown:
        raise PolicyError(f"{source}: unknown top-level keys {sorted(unknown)}")
    d = section(
        raw.get("dicom") or {}, "dicom", ("profile", "options", "overrides", "date_shift_days", "keep_overlays"), source
    )
    if d.get("profile", "basic") != "basic":
        raise PolicyError(f"{source}: dicom.profile must be 'basic' (PS3.15 E.1); add options to it")
    options = d.get("options") or []
    if not isinstance(options, list):
        raise PolicyError(f"{source}: dicom.options must be a list")
    for o in options:
        if o not in OPTION_COLUMNS:
            raise PolicyError(f"{source}: unknown option {o!r}; choose from {sorted(OPTION_COLUMNS)}")
    if "retain_long_full_dates" in options and "retain_long_modified_dates" in options:
        raise PolicyError(f"{source}: choose one of retain_long_full_dates and retain_long_modified_dates")
    shift = d.get("date_shift_days", [-1095, -1])
    try:
        operators.get("shift-date").validate({"days": shift})
    except operators.OperatorError as exc:
        raise PolicyError(f"{source}: dicom.date_shift_days {exc}") from None
    overrides = tuple(_parse_override(i, it) for i, it in enumerate(d.get("overrides") or []))
    policy = DicomPolicy(
        options=tuple(options),
        overrides=overrides,
        date_shift_days=(shift[0], shift[1]),
        keep_overlays=bool(d.get("keep_overlays", False)),
    )
    return Pipeline(
        name=str(raw.get("name") or source),
        description=str(raw.get("description", "")),
        source=source,
        dicom=policy,
        pixels=build_pixel_policy(raw.get("pixels"), source),
        records=build_record_policy(raw.get("records"), source),
        verify=build_verify_policy(raw.get("verify"), source),
        risk=build_risk_policy(raw.get("risk"), source),
        raw=raw,
    )
