"""Walk a data set at any depth and apply the policy's decision to every element.

Works on raw elements (raw.py): a kept element is never decoded and is written
back as the same bytes; only values that change are decoded and re-encoded.
Pixel Data bytes are never touched here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import operators
from ..core import AuditEvent
from ..errors import InputError
from ..operators import REMOVE, CannotApply, Target
from ..operators.base import TEXT_VRS
from ..operators.clean import UNCLEANABLE, clean_text
from ..policy.decision import Decision
from ..policy.engine import DicomPolicy
from ..policy.table import OPTION_CODES
from ..pseudonym import Pseudonymizer
from . import operators as ops
from . import values as V
from .dictionary import entry, tag_for_keyword
from .raw import VRS, Elem, RawFile

if TYPE_CHECKING:
    from ..policy.records import RecordPolicy

VAULT_KINDS = {"PatientID": "patient-id", "AccessionNumber": "accession"}  # + every remapped UID
IDENTITY_KEYWORDS = (
    "PatientName",
    "OtherPatientNames",
    "PatientID",
    "OtherPatientIDs",
    "PatientBirthName",
    "PatientMotherBirthName",
    "AccessionNumber",
    "InstitutionName",
    "InstitutionAddress",
    "ReferringPhysicianName",
    "PerformingPhysicianName",
    "OperatorsName",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "PhysiciansOfRecord",
    "NameOfPhysiciansReadingStudy",
    "RequestingPhysician",
    "StationName",
    "InstitutionalDepartmentName",
    "StudyID",
    "MilitaryRank",
    "BranchOfService",
    "MedicalRecordLocator",
    "ResponsiblePerson",
    "AdmissionID",
    "IssuerOfPatientID",
    "RequestedProcedureID",
    "ScheduledProcedureStepID",
    "PerformedProcedureStepID",
    "FillerOrderNumberImagingServiceRequest",
    "PlacerOrderNumberImagingServiceRequest",
)
IDENTITY_TAGS = tuple(t for t in (tag_for_keyword(kw) for kw in IDENTITY_KEYWORDS) if t is not None)
FREE_TEXT_VRS = frozenset({"LO", "LT", "SH", "ST", "UT", "UC", "PN"})
# kept text that is scanned anyway: what the table does not list (unknown and retired tags,
# CodeMeaning, text inside kept sequences)
SCANNED_VRS = frozenset({"LO", "LT", "SH", "ST", "UT", "UC"})
SCANNED_RULES = frozenset({"ps3.15:not-listed"})
# kept private values: text is cleaned; a coded or numeric value that holds an identity
# value or an identifier is removed (a CS or IS cannot be cleaned in part)
CLEANABLE_VRS = TEXT_VRS - UNCLEANABLE
CODED_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "TM", "UI", "PN", "UR"})
REFERENCE_VRS = frozenset({"UI", "IS", "US", "UL", "SQ"})
STRICT_ASCII_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "TM", "UI"})
_PRINTABLE = bytes(range(0x20, 0x7F))

T_PATIENT_NAME, T_PATIENT_ID, T_BIRTH_DATE = 0x00100010, 0x00100020, 0x00100030
T_SOP_CLASS, T_SOP_INSTANCE, T_STUDY_UID = 0x00080016, 0x00080018, 0x0020000D


def _check_kept(el: Elem, vr: str) -> None:
    """A kept value of an ASCII-only VR with control bytes means a length overrun swallowed
    the next elements (which may hold a name): fail closed rather than pass it through."""
    if vr in STRICT_ASCII_VRS and el.end > el.vstart:
        if el.value.rstrip(b"\x00 ").translate(None, _PRINTABLE):
            raise InputError(f"invalid-value: control bytes in a {vr} element (length overrun?)")


@dataclass
class Stats:
    changed: int = 0
    dates_shifted: int = 0


class Header:
    """Top-level values of the input, decoded on demand (identity, patient key, path names)."""

    def __init__(self, elems: list[Elem]):
        self.by_tag = {el.tag: el for el in elems}
        self.cs = V.charsets(elems, ())

    def text(self, tag: int) -> str:
        el = self.by_tag.get(tag)
        if el is None or el.items is not None:
            return ""
        return V.decode(el.value, entry(tag)[1], self.cs)

    def patient_key(self) -> str:
        """The identity that drives pseudonyms and date offsets: PatientID, else name, else study."""
        pid = self.text(T_PATIENT_ID).strip()
        if pid:
            return "id:" + pid
        name = self.text(T_PATIENT_NAME).strip()
        if name:
            return "name:" + name.upper()
        return "study:" + self.text(T_STUDY_UID)

    def identity_values(self) -> list[str]:
        vals = [self.text(tag) for tag in IDENTITY_TAGS]
        vals += ops.date_forms(self.text(T_BIRTH_DATE))
        return [v for v in vals if v]

    def pixel_identity_values(self) -> list[str]:
        """identity_values() plus what banners burn in: study dates and the institution."""
        vals = self.identity_values()
        for tag in (0x00080020, 0x00080021, 0x00080022, 0x00080023):  # study/series/acquisition/content
            vals += ops.date_forms(self.text(tag))
        return vals + [self.text(0x00080080)]


@dataclass
class Walker:
    policy: DicomPolicy
    pseudo: Pseudonymizer
    header: Header
    sop_class: str
    patient_key: str
    events: list[AuditEvent] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)
    _identity: ops.IdentityValues | None = None
    mappings: list[tuple[str, str, str]] | None = None  # (kind, original, new) for the vault; None: off
    text_langs: tuple[str, ...] = ("zh", "en")  # the records policy's recognizers, for free text
    partial_dates: bool = False

    @property
    def identity(self) -> ops.IdentityValues:
        if self._identity is None:
            self._identity = ops.IdentityValues(self.header.identity_values())
        return self._identity

    def _fp(self, el: Elem, vr: str, cs: tuple[str, ...]) -> str:
        """Fingerprint of the stored value; non-ASCII text is fingerprinted as its UTF-8 text,
        so the same name gives the same fingerprint whatever the file's character set."""
        if el.items is not None:
            return ""
        raw = el.value.rstrip(b" \x00")
        if not raw:
            return ""
        if not raw.isascii() and vr in TEXT_VRS:
            return self.pseudo.fingerprint(V.decode(raw, vr, cs))
        return self.pseudo.fingerprint(raw)

    def _event(self, loc: str, d: Decision, action: str, fp: str, detail: str = "") -> None:
        self.stats.changed += 1
        self.events.append(AuditEvent(loc, action, d.category, d.rule_id, fp, detail))

    # -- walk ----------------------------------------------------------------
    def walk(
        self, elems: list[Elem], prefix: str = "", top: bool = True, mode: str = "", inherited: tuple[str, ...] = ()
    ) -> list[Elem]:
        """Decide every element of a data set; returns the elements that stay.

        mode "clean": inside a sequence the policy cleans (Clean Structured Content /
        Descriptors): free text the table does not list is cleaned too, not kept.
        mode "refs": inside a reference sequence kept by U* (Referenced/Source Image
        Sequence): only references (UIDs, frame/segment numbers, nested sequences) stay.
        """
        cs = V.charsets(elems, inherited)
        out: list[Elem] = []
        creators: dict[int, str] = {}
        kept_blocks: set[int] = set()
        for el in elems:
            tag = el.tag
            group, elem = tag >> 16, tag & 0xFFFF
            if elem == 0 and group != 0x0002:
                continue  # group lengths are dropped (they would be wrong after changes)
            if group == 0x0000:  # command set: never part of a stored object (PS3.10 7.1)
                self._event(
                    prefix + f"(0000,{elem:04X})",
                    Decision("remove", "deid:command-group"),
                    "remove",
                    self._fp(el, el.vr, cs),
                )
                continue
            if group & 1:
                if 0x0010 <= elem <= 0x00FF:
                    creators[tag] = el.value.decode("latin-1").strip("\x00 ")
                    out.append(el)
                    continue
                block = (group << 16) | (elem >> 8)
                vr = el.vr
                loc = f"{prefix}({group:04X},{elem:04X})"
                d = self.policy.override_for(tag, vr, "") or self.policy.private_action(
                    group, creators.get(block, ""), elem & 0xFF, vr
                )
                if d.action == "keep":  # through apply() too: kept private text is scanned there
                    kept_blocks.add(block)
                self.apply(out, el, vr, "", loc, d, "" if d.action == "keep" else mode, cs)
                continue
            keyword, dict_vr = entry(tag)
            vr = el.vr
            if vr == "UN" and dict_vr != "UN":
                vr = dict_vr  # a standard tag stored as UN (e.g. after a PACS): decide by its real VR
            d = self.policy.action_for(tag, vr, keyword, self.sop_class, top)
            if d.rule_id == "ps3.15:not-listed" and d.action == "keep":
                if mode == "clean" and vr in FREE_TEXT_VRS:
                    d = Decision("clean", "deid:clean-in-cleaned-sequence")
                elif mode == "refs" and vr not in REFERENCE_VRS:
                    d = Decision("remove", "deid:reference-sequence-content")
            self.apply(out, el, vr, keyword, prefix + (keyword or f"({group:04X},{elem:04X})"), d, mode, cs)
        if creators:  # creators stay only for blocks that kept something
            out = [e for e in out if e.tag not in creators or e.tag in kept_blocks]
        return out

    def _recurse(self, el: Elem, loc: str, mode: str, cs: tuple[str, ...]) -> None:
        el.items = [self.walk(item, f"{loc}[{i}].", False, mode, cs) for i, item in enumerate(el.items or ())]

    # -- one element -----------------------------------------------------------
    def apply(
        self, out: list[Elem], el: Elem, vr: str, keyword: str, loc: str, d: Decision, mode: str, cs: tuple[str, ...]
    ) -> None:
        a = d.action
        if a == "keep":
            if el.items is not None:
                self._recurse(el, loc, mode, cs)
            else:
                _check_kept(el, vr)
                if vr in SCANNED_VRS and d.rule_id in SCANNED_RULES or d.rule_id.startswith("deid:safe-private"):
                    scanned = self._scan_kept(el, vr, loc, cs)
                    if isinstance(scanned, _Delete):
                        return
                    if scanned is not None:
                        out.append(Elem.new(el.tag, vr if vr in VRS else el.vr, scanned))
                        return
            out.append(el)
            return
        if a == "remove":
            if el.items is not None:
                self._event(loc, d, "remove", "", f"items={len(el.items)}")
            else:
                self._event(loc, d, "remove", self._fp(el, vr, cs))
            return
        if el.items is not None:
            if a in ("clean", "uid"):  # Clean Structured Content / X/Z/U* on sequences: recurse
                self._recurse(el, loc, "clean" if a == "clean" else "refs", cs)
            elif el.items:
                self._event(loc, d, "empty", "", f"items={len(el.items)}")
                el.items = []
            out.append(el)
            return
        fp = self._fp(el, vr, cs)
        if not fp:
            out.append(el)  # empty or only padding: nothing to remove
            return
        new = self._new_value(el, vr, keyword, loc, d, fp, cs)
        if new is None:
            out.append(el)
        elif isinstance(new, _Delete):  # _DELETE
            return
        else:
            out.append(Elem.new(el.tag, vr if vr in VRS else el.vr, new))

    @property
    def date_shift_days(self) -> tuple[int, int]:
        """For the operators (deid.operators.OpContext), with pseudo and mappings."""
        return self.policy.date_shift_days

    def _new_value(
        self, el: Elem, vr: str, keyword: str, loc: str, d: Decision, fp: str, cs: tuple[str, ...]
    ) -> bytes | _Delete | None:
        """The new stored bytes; None keeps the element as it is; _DELETE removes it.
        The operator (deid.operators) makes the value; the walker records what happened:
        one event for a change (the operator's name, or `empty` with the reason when the
        value has no safe form under it)."""
        op = operators.get(d.action).resolve(vr)  # clean on a date is a shift
        at = Target(vr, d.category, self.patient_key, keyword or str(el.tag))
        why = op.refuse(at)
        if why is not None:
            self._event(loc, d, "empty", fp, why)
            return b""
        value = V.decode(el.value, vr, cs) if op.reads_value(vr) else ""
        try:
            new = op.apply(value, at, self)
        except CannotApply as exc:
            self._event(loc, d, "empty", fp, exc.reason)
            return b""
        if new is None:
            return None
        if new is REMOVE:
            self._event(loc, d, "remove", fp, at.note)
            return _DELETE
        if op.name == "shift-date":
            self.stats.dates_shifted += 1
        self._event(loc, d, op.name, fp, at.note)
        if op.name in ("pseudonym", "hash") and self.mappings is not None and keyword in VAULT_KINDS:
            self._map_identifier(keyword, value.strip(), new, op.name)  # type: ignore[arg-type]
        return new if isinstance(new, bytes) else V.encode(new, vr, cs)  # type: ignore[arg-type]

    def _map_identifier(self, keyword: str, old: str, new: str, action: str) -> None:
        """A PatientID is mapped only when its pseudonym comes from it (a PatientID nested in a
        sequence gets the file's patient pseudonym, which is not its own)."""
        if old and (keyword != "PatientID" or action == "hash" or self.patient_key == "id:" + old):
            self.mappings.append((VAULT_KINDS[keyword], old, new))  # type: ignore[union-attr]

    def _scan_kept(self, el: Elem, vr: str, loc: str, cs: tuple[str, ...]) -> bytes | _Delete | None:
        """Text that no rule of Table E.1-1 names (unknown tags, CodeMeaning, kept private
        text) stays only when the recognizers and the header's identity values find
        nothing in it; otherwise it is cleaned like a descriptor. A kept private value of
        a coded or numeric VR (CS, IS...) that holds something is removed (_DELETE)."""
        fp = self._fp(el, vr, cs)
        if not fp:
            return None
        d = Decision("clean", "deid:scan-kept-text")
        if vr in CLEANABLE_VRS:
            return self._new_value(el, vr, "", loc, d, fp, cs)
        if vr not in CODED_VRS:
            return None  # binary: no text to find
        _text, spans = clean_text(V.decode(el.value, vr, cs), self.identity, self.text_langs, self.partial_dates)
        if not spans:
            return None
        self._event(loc, d, "remove", fp, f"spans={spans}")
        return _DELETE


class _Delete:
    """What _new_value returns for an element to be removed."""


_DELETE = _Delete()
# File meta kept: version, SOP class/instance (rewritten), transfer syntax, implementation UID.
FILE_META_KEEP = frozenset({0x00020001, 0x00020002, 0x00020003, 0x00020010, 0x00020012})
T_MARKERS = {
    "PatientIdentityRemoved": (0x00120062, "CS"),
    "DeidentificationMethod": (0x00120063, "LO"),
    "LongitudinalTemporalInformationModified": (0x00280303, "CS"),
}
T_METHOD_CODES = 0x00120064


def deidentify(
    f: RawFile,
    policy: DicomPolicy,
    pseudo: Pseudonymizer,
    pipeline_name: str,
    mappings: list[tuple[str, str, str]] | None = None,
    text: RecordPolicy | None = None,
) -> tuple[list[AuditEvent], Stats, Header]:
    """De-identify the data set of `f` in place (header only) and add the PS3.15 markers.
    `mappings`: a list to receive (kind, original, new) for the vault; None collects nothing.
    `text`: the pipeline's records policy, whose languages and partial-date switch the
    free-text recognizers follow here too (default: both languages, full dates only)."""
    header = Header(f.elems)
    walker = Walker(policy, pseudo, header, header.text(T_SOP_CLASS), header.patient_key(), mappings=mappings)
    if text is not None:
        walker.text_langs, walker.partial_dates = tuple(text.languages), text.partial_dates
    f.elems = walker.walk(f.elems)
    for e in f.meta:  # file meta is rebuilt from an allowlist on write (io.write_file)
        if e.tag not in FILE_META_KEEP and e.tag != 0x00020000:  # AE titles, private info, ...
            walker.events.append(
                AuditEvent(
                    f"file_meta.({e.tag >> 16:04X},{e.tag & 0xFFFF:04X})", "remove", "identity", "deid:file-meta", ""
                )
            )
    add_markers(f, policy, pipeline_name, walker.stats)
    return walker.events, walker.stats, header


def add_markers(f: RawFile, policy: DicomPolicy, pipeline_name: str, stats: Stats) -> None:
    """PatientIdentityRemoved, DeidentificationMethod(+CodeSequence), temporal marker (PS3.15 E.1.1)."""
    from .. import __version__

    if policy.has("retain_long_full_dates"):
        temporal = "UNMODIFIED"
    else:
        temporal = "MODIFIED" if stats.dates_shifted else "REMOVED"
    texts = {
        "PatientIdentityRemoved": "YES",
        "DeidentificationMethod": f"deid {__version__} {pipeline_name}"[:64],
        "LongitudinalTemporalInformationModified": temporal,
    }
    new = [Elem.new(tag, vr, V.encode(texts[kw], vr, ())) for kw, (tag, vr) in T_MARKERS.items()]
    items = []
    for name in ["basic"] + [o for o in policy.options if o in OPTION_CODES]:
        value, meaning = OPTION_CODES[name]
        items.append(
            [
                Elem.new(0x00080100, "SH", V.encode(value, "SH", ())),
                Elem.new(0x00080102, "SH", V.encode("DCM", "SH", ())),
                Elem.new(0x00080104, "LO", V.encode(meaning, "LO", ())),
            ]
        )
    new.append(Elem.sequence(T_METHOD_CODES, items))
    replaced = {e.tag for e in new}
    f.elems = sorted([e for e in f.elems if e.tag not in replaced] + new, key=lambda e: e.tag)


def deidentify_bytes(
    data: bytes, policy: DicomPolicy, pseudo: Pseudonymizer, pipeline_name: str
) -> tuple[bytes, list[AuditEvent]]:
    """Whole-file convenience: input bytes -> de-identified Part 10 bytes and audit events."""
    from .io import read_file, verify_readable, write_file

    f = read_file(data)
    events, _stats, _header = deidentify(f, policy, pseudo, pipeline_name)
    out = write_file(f)
    verify_readable(out)
    return out, events
