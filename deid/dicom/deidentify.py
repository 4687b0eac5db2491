"""Walk a dataset at any depth and apply the policy's decision to every element.

Only elements that are changed get decoded; kept elements stay raw, which is
what keeps header-only de-identification close to a plain read+write. Pixel
Data bytes are never touched here.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import lru_cache

from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.valuerep import PersonName

from ..audit.events import AuditEvent
from ..errors import InputError
from ..policy.decision import Decision
from ..policy.engine import DicomPolicy
from ..policy.table import OPTION_CODES
from ..pseudonym import Pseudonymizer
from . import operators as ops

PATIENT_KEYWORDS = frozenset({"PatientID", "PatientName"})
IDENTITY_KEYWORDS = (
    "PatientName", "OtherPatientNames", "PatientID", "OtherPatientIDs", "PatientBirthName",
    "PatientMotherBirthName", "AccessionNumber", "InstitutionName", "InstitutionAddress",
    "ReferringPhysicianName", "PerformingPhysicianName", "OperatorsName", "PatientAddress",
    "PatientTelephoneNumbers", "PhysiciansOfRecord", "NameOfPhysiciansReadingStudy",
    "RequestingPhysician", "StationName", "InstitutionalDepartmentName", "StudyID",
    "MilitaryRank", "BranchOfService", "MedicalRecordLocator", "ResponsiblePerson",
    "AdmissionID", "IssuerOfPatientID", "RequestedProcedureID", "ScheduledProcedureStepID",
    "PerformedProcedureStepID", "FillerOrderNumberImagingServiceRequest",
    "PlacerOrderNumberImagingServiceRequest",
)
FREE_TEXT_VRS = frozenset({"LO", "LT", "SH", "ST", "UT", "UC", "PN"})
REFERENCE_VRS = frozenset({"UI", "IS", "US", "UL", "SQ"})
# File meta kept: version, SOP class/instance (rewritten), transfer syntax, implementation UID.
FILE_META_KEEP = frozenset({0x00020001, 0x00020002, 0x00020003, 0x00020010, 0x00020012})
STRICT_ASCII_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "TM", "UI"})
_PRINTABLE = bytes(range(0x20, 0x7F))


def _check_kept(raw, vr: str) -> None:
    """A kept value of an ASCII-only VR with control bytes means a length overrun swallowed
    the next elements (which may hold a name): fail closed rather than pass it through."""
    if vr not in STRICT_ASCII_VRS or not isinstance(raw, RawDataElement) or not raw.value:
        return
    v = bytes(raw.value).rstrip(b"\x00 ")
    if v.translate(None, _PRINTABLE):
        raise InputError(f"invalid-value: control bytes in a {vr} element (length overrun?)")


@dataclass
class Stats:
    changed: int = 0
    dates_shifted: int = 0


@dataclass
class Walker:
    policy: DicomPolicy
    pseudo: Pseudonymizer
    patient_key: str
    sop_class: str
    identity_source: Dataset  # raw snapshot of identity elements, decoded only if clean() runs
    events: list[AuditEvent] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)
    _identity: ops.IdentityValues | None = None

    # -- helpers -------------------------------------------------------------
    @property
    def identity(self) -> ops.IdentityValues:
        if self._identity is None:
            self._identity = ops.IdentityValues(identity_values(self.identity_source))
        return self._identity

    def _fp(self, elem: DataElement) -> str:
        v = elem.value
        if v is None or v == "" or v == b"":
            return ""
        if isinstance(v, Sequence):
            return ""
        if isinstance(v, (bytes, bytearray)):
            return self.pseudo.fingerprint(bytes(v))
        if isinstance(v, MultiValue):
            return self.pseudo.fingerprint("\\".join(str(x) for x in v))
        return self.pseudo.fingerprint(str(v))

    def _event(self, loc: str, d: Decision, action: str, fp: str, detail: str = "") -> None:
        self.stats.changed += 1
        self.events.append(AuditEvent(loc, action, d.category, d.rule_id, fp, detail))

    # -- walk ----------------------------------------------------------------
    def walk(self, ds: Dataset, prefix: str = "", top: bool = True, mode: str = "") -> None:
        """Decide every element of `ds`.

        mode "clean": inside a sequence the policy cleans (Clean Structured Content /
        Descriptors): free text the table does not list is cleaned too, not kept.
        mode "refs": inside a reference sequence kept by U* (Referenced/Source Image
        Sequence): only references (UIDs, frame/segment numbers, nested sequences) stay.
        """
        creators: dict[int, str] = {}
        kept_blocks: set[int] = set()
        creator_tags: list[int] = []
        for tag in list(ds.keys()):
            tag = int(tag)
            group, elem = tag >> 16, tag & 0xFFFF
            if elem == 0 and group != 0x0002:
                del ds[tag]  # group lengths are recomputed or dropped on write
                continue
            if group == 0x0000:  # command set: never part of a stored object (PS3.10 7.1)
                self._remove(ds, tag, prefix + f"(0000,{elem:04X})", Decision("remove", "deid:command-group"))
                continue
            raw = ds.get_item(tag)
            vr = raw.VR if raw is not None else None  # RawDataElement and DataElement both have .VR
            if group & 1:
                if 0x0010 <= elem <= 0x00FF:
                    creator_tags.append(tag)
                    continue
                block_tag = (group << 16) | (elem >> 8)
                if block_tag not in creators:
                    c = ds.get_item(block_tag)
                    creators[block_tag] = self._creator_text(ds, block_tag) if c is not None else ""
                vr = vr or "UN"
                loc = f"{prefix}({group:04X},{elem:04X})"
                d = (self.policy.override_for(tag, vr, "")
                     or self.policy.private_action(group, creators[block_tag], elem & 0xFF, vr))
                if d.action == "keep":
                    kept_blocks.add(block_tag)
                    if vr == "SQ":
                        self._recurse(ds[tag], loc)
                    continue
                self.apply(ds, tag, vr, "", loc, d)
                continue
            keyword, dict_vr = _dict_entry(tag)
            if vr in (None, "UN") and dict_vr != "UN":
                vr = dict_vr  # a standard tag stored as UN (e.g. after a PACS): decide by its real VR
            d = self.policy.action_for(tag, vr, keyword, self.sop_class, top)
            if d.rule_id == "ps3.15:not-listed" and d.action == "keep":
                if mode == "clean" and vr in FREE_TEXT_VRS:
                    d = Decision("clean", "deid:clean-in-cleaned-sequence")
                elif mode == "refs" and vr not in REFERENCE_VRS:
                    d = Decision("remove", "deid:reference-sequence-content")
            loc = prefix + (keyword or f"({group:04X},{elem:04X})")
            self.apply(ds, tag, vr, keyword, loc, d, mode)
        for ctag in creator_tags:  # creators stay only for blocks that kept something
            if ctag not in kept_blocks and ctag in ds:
                del ds[ctag]

    def _creator_text(self, ds: Dataset, block_tag: int) -> str:
        try:
            v = ds[block_tag].value
            return v if isinstance(v, str) else (v.decode("latin-1") if isinstance(v, bytes) else str(v))
        except Exception:
            return ""

    def _recurse(self, elem: DataElement, loc: str, mode: str = "") -> None:
        if elem.VR != "SQ" or not elem.value:
            return
        for i, item in enumerate(elem.value):
            self.walk(item, f"{loc}[{i}].", top=False, mode=mode)

    def _raw_fp(self, raw) -> str:
        """Fingerprint without decoding: the stored bytes, padding stripped. For ASCII and
        UTF-8 values these are the bytes fingerprint(str) would hash, so it matches."""
        v = raw.value
        if v is None:
            return ""
        v = bytes(v).rstrip(b" \x00")
        return self.pseudo.fingerprint(v) if v else ""

    def _remove(self, ds: Dataset, tag: int, loc: str, d: Decision) -> None:
        raw = ds.get_item(tag)
        if isinstance(raw, RawDataElement):  # no need to decode what is deleted
            is_sq = raw.VR == "SQ" or (raw.VR is None and _dict_entry(tag)[1] == "SQ")
            self._event(loc, d, "remove", "" if is_sq else self._raw_fp(raw), "sequence" if is_sq else "")
        else:
            elem = ds[tag]
            detail = f"items={len(elem.value)}" if elem.VR == "SQ" and elem.value else ""
            self._event(loc, d, "remove", self._fp(elem), detail)
        del ds[tag]

    def _replace(self, ds: Dataset, tag: int, vr: str, loc: str, d: Decision) -> bool:
        """empty/dummy on a raw element: swap in a new element without decoding the old one."""
        raw = ds.get_item(tag)
        if not isinstance(raw, RawDataElement) or vr in ("SQ", "UI", "UN") or not raw.value:
            return False
        fp = self._raw_fp(raw)
        if not fp:
            return True  # only padding: nothing to remove
        value = None if d.action == "empty" else ops.dummy_value(vr)
        ds[tag] = DataElement(tag, vr, value)
        self._event(loc, d, d.action, fp)
        return True

    # -- one element -----------------------------------------------------------
    def apply(self, ds: Dataset, tag: int, vr: str, keyword: str, loc: str, d: Decision,
              mode: str = "") -> None:
        a = d.action
        if a == "keep":
            if vr == "SQ":
                self._recurse(ds[tag], loc, mode)  # ds[tag] decodes UN -> SQ via the dictionary
            else:
                _check_kept(ds.get_item(tag), vr)
            return
        if a == "remove":
            self._remove(ds, tag, loc, d)
            return
        if a in ("empty", "dummy") and self._replace(ds, tag, vr, loc, d):
            return
        elem = ds[tag]
        vr = elem.VR
        if vr == "SQ":
            if a in ("clean", "uid"):  # Clean Structured Content / X/Z/U* on sequences: recurse
                self._recurse(elem, loc, "clean" if a == "clean" else "refs")
                return
            if elem.value:
                self._event(loc, d, "empty", "", f"items={len(elem.value)}")
                elem.value = Sequence()
            return
        if elem.value in (None, "", b"") or (isinstance(elem.value, (list, MultiValue)) and len(elem.value) == 0):
            return  # nothing to remove
        fp = self._fp(elem)
        if a == "empty":
            elem.value = None
            self._event(loc, d, "empty", fp)
        elif a == "dummy":
            elem.value = self.pseudo.uid(str(elem.value)) if vr == "UI" else ops.dummy_value(vr)
            self._event(loc, d, "dummy", fp)
        elif a == "uid":
            self._uid(elem, loc, d, fp)
        elif a == "shift-date":
            self._shift(elem, loc, d, fp)
        elif a in ("pseudonym", "hash"):
            if a == "pseudonym" and keyword in PATIENT_KEYWORDS:
                new = self.pseudo.pseudonym(self.patient_key)
            else:
                new = self.pseudo.pseudonym(str(elem.value), prefix="H-" if a == "hash" else "P-",
                                            namespace=f"value:{keyword or tag}")
            if vr not in ops.TEXT_VRS or vr in ("UR",):
                elem.value = None
                self._event(loc, d, "empty", fp, "pseudonym-needs-text-vr")
            else:
                elem.value = new
                self._event(loc, d, a, fp)
        elif a == "generalize":
            self._generalize(elem, loc, d, fp)
        elif a == "clean":
            self._clean(ds, tag, elem, loc, d, fp)
        else:  # pragma: no cover - ACTIONS is closed
            raise ValueError(f"unknown action {a}")

    def _generalize(self, elem: DataElement, loc: str, d: Decision, fp: str) -> None:
        """Ages over 89 -> 090Y; anything unreadable (or not an age) is emptied."""
        new = ops.generalize_age(str(elem.value)) if elem.VR == "AS" else None
        if new is None:
            elem.value = None
            self._event(loc, d, "empty", fp, "generalize-unreadable")
        elif new != str(elem.value).strip():
            elem.value = new
            self._event(loc, d, "generalize", fp, "age>89")

    def _uid(self, elem: DataElement, loc: str, d: Decision, fp: str) -> None:
        if elem.VR != "UI":
            elem.value = None
            self._event(loc, d, "empty", fp, "uid-on-non-UI")
            return
        v = elem.value
        if isinstance(v, MultiValue):
            elem.value = [self.pseudo.uid(str(x)) for x in v]
        else:
            elem.value = self.pseudo.uid(str(v))
        self._event(loc, d, "uid", fp)

    def _shift(self, elem: DataElement, loc: str, d: Decision, fp: str) -> None:
        vr = elem.VR
        if vr not in ("DA", "DT", "TM"):
            elem.value = None
            self._event(loc, d, "empty", fp, "shift-on-non-date")
            return
        days = self.pseudo.date_offset(self.patient_key, *self.policy.date_shift_days)
        vals = list(elem.value) if isinstance(elem.value, MultiValue) else [elem.value]
        out = [ops.shift_value(vr, str(x), days) for x in vals]
        if any(o is None for o in out):
            elem.value = None
            self._event(loc, d, "empty", fp, "unreadable-date")
            return
        elem.value = out if len(out) > 1 else out[0]
        if vr != "TM":
            self.stats.dates_shifted += 1
            self._event(loc, d, "shift-date", fp)

    def _clean(self, ds: Dataset, tag: int, elem: DataElement, loc: str, d: Decision, fp: str) -> None:
        vr = elem.VR
        if vr in ("DA", "DT", "TM"):
            self._shift(elem, loc, d, fp)
            return
        if vr == "AS":
            self._generalize(elem, loc, d, fp)
            return
        if vr not in ops.TEXT_VRS or vr in ("PN", "CS", "AE", "UR"):
            # names and codes cannot be "cleaned" into something safe: fall back to removal
            self._event(loc, d, "remove", fp, "clean-fallback")
            del ds[tag]
            return
        v = elem.value
        texts = [str(x) for x in v] if isinstance(v, MultiValue) else [str(v)]
        total = 0
        cleaned = []
        for t in texts:
            c, n = ops.clean_text(t, self.identity)
            cleaned.append(c)
            total += n
        if total:
            elem.value = cleaned if len(cleaned) > 1 else cleaned[0]
            self._event(loc, d, "clean", fp, f"spans={total}")


@lru_cache(maxsize=8192)
def _dict_entry(tag: int) -> tuple[str, str]:
    """(keyword, VR) from the data dictionary; ('', 'UN') when unknown."""
    try:
        return keyword_for_tag(tag) or "", dictionary_VR(tag)
    except (KeyError, ValueError):
        return "", "UN"


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, PersonName):
        return str(v)  # all component groups, "=" separated
    if isinstance(v, (list, MultiValue)):
        return "\\".join(_text(x) for x in v)
    return str(v)


def patient_key(ds: Dataset) -> str:
    """The identity that drives pseudonyms and date offsets: PatientID, else name, else study."""
    pid = str(ds.get("PatientID", "") or "").strip()
    if pid:
        return "id:" + pid
    name = _text(ds.get("PatientName", "")).strip()
    if name:
        return "name:" + name.upper()
    return "study:" + str(ds.get("StudyInstanceUID", "") or "")


IDENTITY_TAGS = tuple(sorted({int(tag_for_keyword(k)) for k in IDENTITY_KEYWORDS + ("PatientBirthDate",)}))


def identity_snapshot(ds: Dataset) -> Dataset:
    """Keep the raw identity elements (cheap); they are decoded only when a clean() needs them."""
    snap = Dataset()
    cs = ds.get_item(0x00080005)
    if cs is not None:
        snap[0x00080005] = cs
    for tag in IDENTITY_TAGS:
        raw = ds.get_item(tag)
        if raw is not None:
            snap[tag] = copy.copy(raw) if isinstance(raw, DataElement) else raw  # walker edits in place
    snap.set_original_encoding(*getattr(ds, "original_encoding", (False, True)))
    return snap


def identity_values(ds: Dataset) -> list[str]:
    vals = []
    for kw in IDENTITY_KEYWORDS:
        try:
            vals.append(_text(ds.get(kw)))
        except Exception:
            continue
    bd = str(ds.get("PatientBirthDate", "") or "").strip()
    if len(bd) == 8 and bd.isdigit():
        y, m, d = bd[:4], bd[4:6], bd[6:]
        vals += [bd, f"{y}-{m}-{d}", f"{d}.{m}.{y}", f"{m}.{d}.{y}", f"{m}/{d}/{y}", f"{d}/{m}/{y}",
                 f"{y}/{m}/{d}", f"{y}年{int(m)}月{int(d)}日"]
    return [v for v in vals if v]


def deidentify_dataset(ds: Dataset, policy: DicomPolicy, pseudo: Pseudonymizer,
                       pipeline_name: str) -> tuple[list[AuditEvent], Stats]:
    """De-identify `ds` in place (header only) and add the PS3.15 markers."""
    walker = Walker(policy=policy, pseudo=pseudo, patient_key=patient_key(ds),
                    sop_class=str(ds.get("SOPClassUID", "") or ""), identity_source=identity_snapshot(ds))
    walker.walk(ds)
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        for t in [int(t) for t in meta.keys()]:
            if t not in FILE_META_KEEP:  # AE titles, presentation addresses, private info, ...
                walker.events.append(AuditEvent(f"file_meta.({t >> 16:04X},{t & 0xFFFF:04X})", "remove",
                                                "identity", "deid:file-meta", ""))
                del meta[t]
    add_markers(ds, policy, pipeline_name, walker.stats)
    return walker.events, walker.stats


def add_markers(ds: Dataset, policy: DicomPolicy, pipeline_name: str, stats: Stats) -> None:
    """PatientIdentityRemoved, DeidentificationMethod(+CodeSequence), temporal marker (PS3.15 E.1.1)."""
    from .. import __version__

    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = f"deid {__version__} {pipeline_name}"[:64]
    codes = ["basic"] + [o for o in policy.options if o in OPTION_CODES]
    seq = Sequence()
    for name in codes:
        value, meaning = OPTION_CODES[name]
        item = Dataset()
        item.CodeValue = value
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = meaning
        seq.append(item)
    ds.DeidentificationMethodCodeSequence = seq
    if policy.has("retain_long_full_dates"):
        ds.LongitudinalTemporalInformationModified = "UNMODIFIED"
    elif stats.dates_shifted:
        ds.LongitudinalTemporalInformationModified = "MODIFIED"
    else:
        ds.LongitudinalTemporalInformationModified = "REMOVED"
