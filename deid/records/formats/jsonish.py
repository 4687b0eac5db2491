"""JSON, JSON Lines and FHIR R4 JSON (any nesting; a location is a JSON path).

A record is a top-level object (each element of a top-level array, each line of a JSONL
file, each resource of a FHIR Bundle). Fields are looked up by key, by parent key, and
for FHIR by resource path (Patient.name, Patient.telecom ...). In a Bundle, a resource
that points at Patient/<id> gets that patient's key, so its dates shift with theirs.
Key order and Unicode are kept; indentation follows the input (compact or 2 spaces).
"""
from __future__ import annotations

import json

from ...audit.events import AuditEvent
from ...errors import InputError
from ...policy.records import norm_field
from ..operators import REMOVE
from ..scrub import Field, Scrubber
from .encoding import decode, encode

# leaves under these keys describe a value rather than hold one
DESCRIPTIVE = {"system", "use", "resourceType", "status", "gender", "code", "unit", "type", "url", "profile",
               "versionId", "lastUpdated", "language", "fullUrl", "mode", "rank"}


def scrub_json(data: bytes, scrubber: Scrubber) -> tuple[bytes, list[AuditEvent]]:
    text, enc = decode(data)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed-json: line {exc.lineno} column {exc.colno}") from None
    events: list[AuditEvent] = []
    doc = _document(doc, "$", scrubber, events)
    indent = 2 if "\n" in text.strip() else None
    out = json.dumps(doc, ensure_ascii=False, indent=indent) + ("\n" if text.endswith("\n") else "")
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
        out.append(json.dumps(doc, ensure_ascii=False) + ("\r" if line.endswith("\r") else ""))
    return encode("\n".join(out), enc), events


def _document(doc, path: str, scrubber: Scrubber, events: list) -> object:
    if isinstance(doc, dict) and doc.get("resourceType") == "Bundle":
        patients = _bundle_patients(doc, scrubber)
        for i, entry in enumerate(doc.get("entry") or []):
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                res = entry["resource"]
                key, related = patients.get(_subject(res), (None, []))
                entry["resource"] = _record(res, f"{path}.entry[{i}].resource", scrubber, events, key, related)
        return doc
    if isinstance(doc, list):
        return [_record(x, f"{path}[{i}]", scrubber, events) if isinstance(x, (dict, list)) else x
                for i, x in enumerate(doc)]
    return _record(doc, path, scrubber, events)


def _record(obj, path: str, scrubber: Scrubber, events: list, key: str | None = None, related: list = ()):
    leaves = _leaves(obj, path, scrubber)
    if not leaves:
        return obj
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
    return obj


def _leaves(obj, path: str, scrubber: Scrubber) -> list[tuple[list, Field]]:
    out: list[tuple[list, Field]] = []
    rtype = obj.get("resourceType", "") if isinstance(obj, dict) else ""
    _collect(obj, path, [], rtype, out, scrubber.policy.fields)
    return out


def _collect(node, path: str, keys: list[str], rtype: str, out: list, known: dict) -> None:
    """Every string or number leaf, with a pointer to where it sits and its field name."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in list(items):
        sub = f"{path}.{k}" if isinstance(k, str) else f"{path}[{k}]"
        names = keys + [k] if isinstance(k, str) else keys
        if isinstance(v, (dict, list)):
            _collect(v, sub, names, rtype, out, known)
        elif isinstance(v, (str, int, float)) and not isinstance(v, bool):
            if names and names[-1] in DESCRIPTIVE:
                continue
            out.append(([node, k], Field(sub, _name(names, rtype, known), str(v), _hint(node, names, rtype))))


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


def _hint(node, names: list[str], rtype: str) -> str | None:
    """FHIR: an e-mail in telecom is an e-mail, not a phone; a resource's logical id and
    every reference to one are pseudonymized alike, so the Bundle still links up."""
    if isinstance(node, dict) and node.get("system") == "email" and names and names[-1] == "value":
        return "email"
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


def _bundle_patients(bundle: dict, scrubber: Scrubber) -> dict[str, tuple[str | None, list[Field]]]:
    """Patient/<id> -> (the patient's key from its identifier, its fields), for the
    resources that point at it: their dates shift with the patient's, and the patient's
    name is looked for in their text."""
    out = {}
    for entry in bundle.get("entry") or []:
        res = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(res, dict) and res.get("resourceType") == "Patient":
            ids = [i.get("value") for i in res.get("identifier") or [] if isinstance(i, dict) and i.get("value")]
            fields = [f for _p, f in _leaves(res, "", scrubber)]
            out[f"Patient/{res.get('id', '')}"] = ("id:" + str(ids[0]).strip() if ids else None, fields)
    return out
