"""JSON, JSON Lines and FHIR R4 JSON (any nesting; a location is a JSON path).

A record is the whole document, or each element of a top-level array, each line of a
JSONL file, each resource of a FHIR Bundle (and the rest of the Bundle: its identifier,
meta, request URLs). Every string or number anywhere is a field, a bare value at the top
included. Fields are looked up by key, by parent key, and for FHIR by resource path
(Patient.name, Patient.telecom ...). Object keys are scanned too: a key holding an
identifier is replaced, and never written to the audit location (`{key}` is). In a
Bundle, a resource that points at Patient/<id> gets that patient's key (from its MR
identifier), so its dates shift with theirs and the patient's name is found in its text.
Key order is kept; indentation, separators and \\u-escaping follow the input.
"""

from __future__ import annotations

import json
import re
from typing import Any, Sequence

from ...core import AuditEvent
from ...errors import InputError
from ...policy.records import norm_field
from ..operators import REMOVE
from ..scrub import Field, Scrubber
from .encoding import decode, encode

# in FHIR resources, leaves under these keys are codes that describe a value, not values
DESCRIPTIVE = {
    "system",
    "use",
    "resourceType",
    "status",
    "gender",
    "code",
    "unit",
    "type",
    "url",
    "profile",
    "versionId",
    "lastUpdated",
    "language",
    "fullUrl",
    "mode",
    "rank",
}
SAFE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,40}$")


def _style(text: str) -> dict:
    """json.dumps arguments that reproduce the input's layout as far as json allows."""
    indent = None
    m = re.search(r"\n([ \t]+)\S", text)
    if m:
        indent = m.group(1) if "\t" in m.group(1) else len(m.group(1))
    elif "\n" in text.strip():
        indent = 0
    compact = not re.search(r"[,:]\s", text) if indent is None else False
    return {
        "indent": indent,
        "ensure_ascii": text.isascii() and "\\u" in text,
        "separators": (",", ":") if compact else None,
    }


def scrub_json(data: bytes, scrubber: Scrubber) -> tuple[bytes, list[AuditEvent]]:
    text, enc = decode(data)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed-json: line {exc.lineno} column {exc.colno}") from None
    events: list[AuditEvent] = []
    doc = _document(doc, "$", scrubber, events)
    out = json.dumps(doc, **_style(text)) + ("\n" if text.endswith("\n") else "")
    return encode(out, enc), events


def scrub_jsonl(data: bytes, scrubber: Scrubber) -> tuple[bytes, list[AuditEvent]]:
    text, enc = decode(data)
    lines = text.split("\n")
    events: list[AuditEvent] = []
    out = []
    for i, line in enumerate(lines):
        if not line.strip():
            out.append(line)
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError:
            if scrubber.policy.malformed == "quarantine":
                raise InputError(f"malformed-jsonl: line {i + 1} is not JSON") from None
            events.append(AuditEvent(f"line[{i + 1}]", "drop-row", "malformed", "records:malformed", "", ""))
            continue
        doc = _document(doc, f"line[{i + 1}]", scrubber, events)
        out.append(json.dumps(doc, **_style(line.rstrip("\r"))) + ("\r" if line.endswith("\r") else ""))
    return encode("\n".join(out), enc), events


def _document(doc: Any, path: str, scrubber: Scrubber, events: list) -> Any:
    if isinstance(doc, dict) and doc.get("resourceType") == "Bundle":
        patients = _bundle_patients(doc, scrubber)
        resources = []
        for i, entry in enumerate(doc.get("entry") or []):
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                res = entry.pop("resource")
                key, related = patients.get(_subject(res), (None, []))
                resources.append((entry, _record(res, f"{path}.entry[{i}].resource", scrubber, events, key, related)))
        everyone = [f for _key, fields in patients.values() for f in fields]
        # the Bundle's own fields (identifier, meta, request URLs), resources set aside;
        # its patients' values are looked for there too
        keys = {k for k, _fields in patients.values() if k}
        doc = _record(doc, path, scrubber, events, keys.pop() if len(keys) == 1 else None, everyone)
        for entry, res in resources:
            entry["resource"] = res
        return doc
    if isinstance(doc, list):
        return [_record(x, f"{path}[{i}]", scrubber, events) for i, x in enumerate(doc)]
    return _record(doc, path, scrubber, events)


def _record(
    obj: Any, path: str, scrubber: Scrubber, events: list, key: str | None = None, related: Sequence[Field] = ()
) -> Any:
    if key is None and isinstance(obj, dict) and obj.get("resourceType") == "Patient" and _mr_identifier(obj):
        key = "id:" + _mr_identifier(obj)
    holder = [obj]  # so a bare string or number at the top is a field like any other
    leaves, renames = _leaves(holder, path, scrubber)
    for parent, old, new, loc in renames:
        kept = list(parent.items())  # the renamed key stays where it was in its object
        parent.clear()
        parent.update((new if k == old else k, v) for k, v in kept)
        events.append(
            AuditEvent(
                loc,
                "replace",
                "key",
                "records:identifying-key",
                scrubber.pseudo.fingerprint(old),
                "an object key held an identifier",
            )
        )
    if not leaves:
        return holder[0]
    new, evs = scrubber.scrub([f for _p, f in leaves], key, related)
    events += evs
    for (ptr, _f), v in zip(leaves, new):
        parent, k = ptr[-2], ptr[-1]
        if v is REMOVE:
            if isinstance(parent, dict):
                del parent[k]
            else:
                parent[k] = None
        elif v != _f.value:
            parent[k] = v
    return holder[0]


def _leaves(holder: list, path: str, scrubber: Scrubber) -> tuple[list[tuple[list, Field]], list]:
    out: list[tuple[list, Field]] = []
    renames: list = []
    obj = holder[0]
    rtype = obj.get("resourceType", "") if isinstance(obj, dict) else ""
    if isinstance(obj, (dict, list)):
        _collect(obj, path, [], rtype, out, renames, scrubber)
    elif isinstance(obj, (str, int, float)) and not isinstance(obj, bool):
        out.append(([holder, 0], Field(path, "", str(obj))))
    return out, renames


def _collect(node: Any, path: str, keys: list[str], rtype: str, out: list, renames: list, scrubber: Scrubber) -> None:
    """Every string or number leaf, with a pointer to where it sits and its field name."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for k, v in list(items):
        if isinstance(k, str):
            plain = bool(SAFE_KEY.match(k)) or norm_field(k) in scrubber.policy.fields
            shown = k if plain else "{key}"  # an unusual key is never written to the audit
            if not plain or re.search(r"\d{4}|@", k):
                new_key = scrubber.rewritten(k)
                if new_key != k:
                    if new_key in node:
                        new_key = f"key-{scrubber.pseudo.fingerprint(k)[:12]}"
                    shown = "{key}"
                    renames.append((node, k, new_key, f"{path}.{shown}"))
            sub, names = f"{path}.{shown}", keys + [k]
        else:
            sub, names = f"{path}[{k}]", keys
        if isinstance(v, (dict, list)):
            _collect(v, sub, names, rtype, out, renames, scrubber)
        elif isinstance(v, (str, int, float)) and not isinstance(v, bool):
            if rtype and names and names[-1] in DESCRIPTIVE and names[-2:] != ["request", "url"]:
                continue
            out.append(
                ([node, k], Field(sub, _name(names, rtype, scrubber.policy.fields), str(v), _hint(node, names, rtype)))
            )


def _name(names: list[str], rtype: str, known: dict) -> str:
    """The most specific name the field map knows: FHIR path prefixes first, then the key,
    then the parent key ({"mother": {"name": ...}} is the mother's name)."""
    if rtype and names:
        for n in range(len(names), 0, -1):
            cand = ".".join([rtype] + names[:n])
            if norm_field(cand) in known:
                return cand
    for cand in (names[-1] if names else "", names[-2] if len(names) > 1 else ""):
        if cand and norm_field(cand) in known:
            return cand
    return names[-1] if names else ""


def _hint(node: Any, names: list[str], rtype: str) -> str | None:
    """FHIR: an e-mail in telecom is an e-mail, not a phone; the mother's maiden name
    extension is a name; a resource's logical id and every reference to one are
    pseudonymized alike, so the Bundle still links up."""
    if isinstance(node, dict) and node.get("system") == "email" and names and names[-1] == "value":
        return "email"
    if isinstance(node, dict) and "maidenname" in str(node.get("url", "")).lower() and names[-1].startswith("value"):
        return "name"
    if rtype and names == ["id"]:
        return "fhir-id"
    if rtype and names and names[-1] == "reference":
        return "fhir-reference"
    return None


def _subject(res: dict) -> str:
    for k in ("subject", "patient", "beneficiary"):
        ref = res.get(k)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            return ref["reference"]
    return ""


def _mr_identifier(res: dict) -> str:
    """The medical record number among a Patient's identifiers (type MR, or a system that
    says MRN), else the first one that is not an SSN/resident ID: that is what DICOM
    PatientID holds, so the two get one pseudonym."""
    ids = [i for i in res.get("identifier") or [] if isinstance(i, dict) and i.get("value")]
    for i in ids:
        codes = {c.get("code") for c in (i.get("type") or {}).get("coding", []) if isinstance(c, dict)}
        if "MR" in codes or "mrn" in str(i.get("system", "")).lower():
            return str(i["value"]).strip()
    for i in ids:
        sysname = str(i.get("system", "")).lower()
        codes = {c.get("code") for c in (i.get("type") or {}).get("coding", []) if isinstance(c, dict)}
        if not ({"SS", "SB", "NI", "DL", "PPN"} & codes or "ssn" in sysname or "2.16.840.1.113883.4.1" in sysname):
            return str(i["value"]).strip()
    return ""


def _bundle_patients(bundle: dict, scrubber: Scrubber) -> dict[str, tuple[str | None, list[Field]]]:
    """Patient/<id> -> (the patient's key from its MR identifier, its fields), for the
    resources that point at it."""
    out = {}
    for entry in bundle.get("entry") or []:
        res = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(res, dict) and res.get("resourceType") == "Patient":
            mrn = _mr_identifier(res)
            fields = [f for _p, f in _leaves([res], "", scrubber)[0]]
            out[f"Patient/{res.get('id', '')}"] = ("id:" + mrn if mrn else None, fields)
    return out
