"""`deid check`: scan files for identifying content that is still there, writing nothing.

The last line of defence before an upload: DICOM headers (identity attributes holding
values that are not deid pseudonyms or dummies, PatientIdentityRemoved missing, private
tags outside the safe list, identifiers in any text value), burned-in text whose OCR
matches identity values or the recognizers (optional), and patient records (fields and
free text that the record pipeline would still change). A finding names the file, the
location and the category, never the value; `--show-excerpts` adds a masked excerpt.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

# what deid itself writes in place of an identifier: never a finding
PSEUDONYM = re.compile(r"^(?:[PNH]-[0-9A-F]{8,12}|[0-9A-F]{12}|\[[^\]]{1,20}\]|ANONYMIZED|DEID|)$")


# direct identifiers: what --fail-on high stops for (private tags, a missing
# PatientIdentityRemoved or a bare date are findings, but not these)
HIGH = frozenset({"identity", "overlay-text", "patient-name", "name", "patient-id", "mrn", "resident-id", "ssn",
                  "phone", "email", "address", "insurance", "bank-card", "account", "id-number", "school", "url",
                  "ip", "location", "unreadable", "symlink", "undecodable-name", "icon-image",
                  "encapsulated-document", "unknown-tag"})


@dataclass(frozen=True)
class Finding:
    file: str
    location: str       # tag path, row[3].联系电话, pixels.frame[0].box[...]
    category: str       # identity, private-tag, not-deidentified, phone, resident-id, ...
    rule: str
    excerpt: str = ""   # masked, only with --show-excerpts

    def as_dict(self) -> dict:
        return asdict(self)


def mask(value: str) -> str:
    """1380****678: the first three and last three characters, the rest starred."""
    v = value.strip()
    if len(v) <= 6:
        return "*" * len(v)
    return v[:3] + "*" * (len(v) - 6) + v[-3:]
