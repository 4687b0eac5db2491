"""HL7 v2 messages, parsed with the `hl7` package (segments, fields, repetitions,
components), never hand-split. A message is a record; its patient key is PID-3's ID.

Fields named in the map are decided by name (PID-5 -> patient-name, PID-11 -> address,
PID-7 -> birth-date, NK1-2 -> name ...); every other text component is scanned with the
recognizers (NTE-3, OBX-5 free text). Names (XPN/XCN) become one pseudonym component;
an address (XAD) keeps city, state and country and loses street and ZIP; a patient ID
(CX) keeps its assigning authority and type. MSH-1/MSH-2 (separators) are never touched,
and whatever separators a message declares there are the ones read and written.
"""

from __future__ import annotations

import re
from typing import Iterator

import hl7

from ...core import AuditEvent
from ...errors import InputError
from ..operators import REMOVE
from ..scrub import Field, Scrubber
from .encoding import decode, encode


def scrub_hl7(data: bytes, scrubber: Scrubber) -> tuple[bytes, list[AuditEvent]]:
    text, enc = decode(data)
    sep = "\r\n" if "\r\n" in text else "\r" if "\r" in text else "\n"
    blocks = _messages(text.replace("\r\n", "\r").replace("\n", "\r"))
    if not blocks:
        raise InputError("malformed-hl7: no MSH segment")
    events: list[AuditEvent] = []
    out = []
    for n, block in enumerate(blocks):
        try:
            msg = hl7.parse(block)
        except Exception as exc:  # the parser's own errors name no value
            raise InputError(f"malformed-hl7: message {n + 1} ({type(exc).__name__})") from None
        events += _message(msg, n, scrubber)
        out.append(str(msg).rstrip("\r"))
    body = sep.join(m.replace("\r", sep) for m in out)
    if text.endswith(("\r", "\n")):
        body += sep
    return encode(body, enc), events


def _messages(text: str) -> list[str]:
    msgs: list[str] = []
    cur: list[str] = []
    for seg in text.split("\r"):
        if not seg.strip():
            continue
        if seg.startswith("MSH") and cur:
            msgs.append("\r".join(cur))
            cur = []
        cur.append(seg)
    if cur:
        if not cur[0].startswith("MSH"):
            return []
        msgs.append("\r".join(cur))
    return msgs


SEGMENT = re.compile(r"^[A-Z][A-Z0-9]{2}$")


def _seps(msg: hl7.Message) -> dict[str, str]:
    """The message's own delimiters (MSH-1, MSH-2): field, repetition, component,
    subcomponent and escape, e.g. | ~ ^ & \\ by default."""
    s = msg.separators  # '\r' + field + repetition + component + subcomponent
    return {"F": s[1], "R": s[2], "S": s[3], "T": s[4], "E": msg.esc}


def _message(msg: hl7.Message, n: int, scrubber: Scrubber) -> list[AuditEvent]:
    seps = _seps(msg)
    key = _patient_key(msg, scrubber, seps)
    leaves: list[tuple[list, int, Field]] = []  # (the hl7 container, index, field)
    for s_i, seg in enumerate(msg):
        name = str(seg[0])
        if not SEGMENT.match(name):
            # a line that is not a segment (a note broken by a raw newline): its text
            # would be neither parsed nor scanned, and its name would become a location
            raise InputError(f"malformed-hl7: message {n + 1} line {s_i + 1} is not a segment")
        for f_i in range(1, len(seg)):
            if name == "MSH" and f_i <= 2:
                continue
            fname = f"{name}-{f_i}"
            loc = f"msg[{n}].{name}[{s_i}]-{f_i}"
            cat = scrubber.policy.category_of(fname)
            field = seg[f_i]
            if cat in ("patient-name", "name", "phone", "email", "resident-id", "ssn", "insurance", "bank-card"):
                value = str(field)
                if value:
                    leaves.append((seg, f_i, Field(loc, fname, _readable(unescape(value, seps), seps))))
                continue
            for path, holder, idx, value in _components(field):
                if not value:
                    continue
                comp = _component_category(cat, path)
                leaves.append((holder, idx, Field(f"{loc}{path}", fname, unescape(value, seps), comp)))
    if not leaves:
        return []
    new, events = scrubber.scrub([f for _h, _i, f in leaves], key)
    for (holder, idx, f), v in zip(leaves, new):
        if v is REMOVE:
            holder[idx] = ""
        elif v != f.value:
            holder[idx] = escape(v, seps)
    return events


DEFAULT = {"F": "|", "R": "~", "S": "^", "T": "&", "E": "\\"}


def unescape(value: str, seps: dict[str, str] = DEFAULT) -> str:
    """HL7 escape sequences (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\Xhh\\ \\.br\\) decoded, so an SSN written
    123\\F\\45\\F\\6789 is scanned as what it says."""
    esc = seps["E"]
    if esc not in value:
        return value
    table = {**seps, ".br": "\n"}

    def sub(m: re.Match) -> str:
        code = m.group(1)
        if code in table:
            return table[code]
        if code.startswith("X") and re.fullmatch(r"X(?:[0-9A-Fa-f]{2})+", code):
            try:
                return bytes.fromhex(code[1:]).decode("latin-1")
            except ValueError:
                return m.group(0)
        return m.group(0)

    e = re.escape(esc)
    return re.sub(rf"{e}([^{e}]{{1,32}}){e}", sub, value)


def escape(value: str, seps: dict[str, str] = DEFAULT) -> str:
    """A new value written back into a component, its delimiters escaped."""
    esc = seps["E"]
    out = value.replace(esc, f"{esc}E{esc}")
    for code in ("F", "S", "T", "R"):
        out = out.replace(seps[code], f"{esc}{code}{esc}")
    return out.replace("\r", " ").replace("\n", f"{esc}.br{esc}")


def _readable(value: str, seps: dict[str, str] = DEFAULT) -> str:
    """A name or phone field as one string: components joined by spaces."""
    return " ".join(p for p in value.replace(seps["R"], " ").replace(seps["T"], " ").split(seps["S"]) if p)


def _components(field: hl7.Field | str) -> Iterator[tuple[str, list, int, str]]:
    """(path, container, index, text) for each leaf of a field: repetition, component,
    subcomponent, as the hl7 package nests them."""
    if isinstance(field, str):
        return
    for r_i, rep in enumerate(field):
        if isinstance(rep, str):
            yield f"[{r_i}]", field, r_i, rep
            continue
        for c_i, comp in enumerate(rep):
            if isinstance(comp, str):
                yield f"[{r_i}].{c_i + 1}", rep, c_i, comp
                continue
            for s_i, sub in enumerate(comp):
                if isinstance(sub, str):
                    yield f"[{r_i}].{c_i + 1}.{s_i + 1}", comp, s_i, sub


def _component_category(cat: str | None, path: str) -> str | None:
    """Within typed fields, only some components carry the identifier."""
    comp = int(path.split(".")[1]) if "." in path else 1
    if cat == "patient-id":
        return "patient-id" if comp == 1 else "safe"
    if cat == "address":
        return "address" if comp in (1, 2, 5) else "safe"  # street, other, ZIP
    if cat in ("date", "birth-date"):
        return cat if comp == 1 else "safe"
    return cat


def _patient_key(msg: hl7.Message, scrubber: Scrubber, seps: dict[str, str] = DEFAULT) -> str | None:
    try:
        pid = msg.segment("PID")
    except KeyError:
        return None
    for f_i in (3, 2, 4):
        if f_i < len(pid):
            value = str(pid[f_i]).split(seps["R"])[0].split(seps["S"])[0].strip()
            if value:
                return "id:" + value
    return None
