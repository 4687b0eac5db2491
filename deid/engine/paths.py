"""The relative path deid writes for an input: the same path, with every folder or file
name that may identify someone replaced by a keyed name (H-<12 hex>, the suffix kept).

Used wherever a path is written: the output and quarantine folders, the audit log (and
so the report and `audit show`), REASONS.jsonl. A name is replaced when the recognizers
find anything in it (a name, an MRN, a birth date: `Hernandez_Deanna_MRN50349106`,
`19300314`), or when deid cannot judge it: bytes that are not UTF-8 (a GBK or Latin-1
name) or control characters. The same name gives the same keyed name in every run with
the same key. (A path that holds the header's own identity values is renamed whole by
the handler: Result.renamed.)
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..pseudonym import Pseudonymizer, own_pseudonyms

SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}$")
SEPARATORS = re.compile(r"[_\-+~]+")


def safe_relpath(relpath: str, pseudo: Pseudonymizer) -> str:
    """`relpath` with each component that may identify someone replaced by its keyed name."""
    parts = relpath.split("/")
    last = len(parts) - 1
    return "/".join(keyed_name(p, pseudo, i == last) if judge(p, i == last) else p for i, p in enumerate(parts))


@lru_cache(maxsize=65536)
def judge(part: str, last: bool = False) -> str:
    """'' when a path component identifies no one, else what it may hold: a recognizer's
    category (name, id-number, date, ...), or undecodable-name when deid cannot judge it
    (bytes that are not UTF-8, control characters). Cached: folder names repeat for every
    file below them."""
    if not part.isprintable() or _not_utf8(part):
        return "undecodable-name"
    stem = SUFFIX.sub("", part) if last else part
    if not stem.strip():
        return ""
    from ..text.recognize import find

    if (
        own_pseudonyms(stem) == [(0, len(stem))]
    ):  # a P-/N-/H- name only: 12 bare digits are no name of deid's   # deid's own keyed name (H-89470668FE9B): its digits are no ID
        return ""
    spans = find(SEPARATORS.sub(" ", stem))
    return spans[0].category if spans else ""


def keyed_name(part: str, pseudo: Pseudonymizer, last: bool) -> str:
    """H-<12 hex> of the component (keyed, so the same in every run), keeping a file's suffix."""
    suffix = SUFFIX.search(part) if last else None
    raw = part.encode("utf-8", "surrogateescape")
    return pseudo.pseudonym(raw.hex(), prefix="H-", namespace="path") + (suffix.group().lower() if suffix else "")


def _not_utf8(part: str) -> bool:
    """os.walk gives undecodable bytes as lone surrogates (PEP 383)."""
    try:
        part.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
