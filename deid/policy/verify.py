"""The `verify:` part of a pipeline: check every output with `deid check` before it is
written, and quarantine an output that still holds anything identifying.

  verify: true                  headers and records, as `deid check` does by default
  verify: {pixels: true}        also OCR the output's pixels for the original patient's
                                identity values and PHI patterns (slower)
  verify: {fail_on: high}       quarantine only for direct identifiers
  verify: {allow: [InstitutionName, private-tag]}
                                what the policy keeps on purpose (a retain option, a
                                keep override): findings at these attributes (keyword,
                                at any depth, or full dotted path) or of these categories
                                pass

The check runs in the worker on the output bytes, so a failing output is never written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..categories import HIGH
from ..errors import PolicyError

KEYS = {"pixels", "fail_on", "allow"}


@dataclass(frozen=True)
class VerifyPolicy:
    enabled: bool = False
    pixels: bool = False
    fail_on: str = "any"  # any | high (direct identifiers only)
    allow: frozenset[str] = frozenset()  # keywords or categories the policy keeps on purpose

    def counts(self, category: str, location: str) -> bool:
        """Whether a finding quarantines the output."""
        if category in self.allow or _attribute_path(location) & self.allow:
            return False
        return self.fail_on == "any" or category in HIGH


def build_verify_policy(raw: object, source: str) -> VerifyPolicy:
    if raw is None or raw is False:
        return VerifyPolicy()
    if raw is True:
        return VerifyPolicy(enabled=True)
    if not isinstance(raw, dict) or set(raw) - KEYS:
        raise PolicyError(f"{source}: 'verify' must be true, false or a mapping with {sorted(KEYS)}")
    fail_on = raw.get("fail_on", "any")
    if fail_on not in ("any", "high"):
        raise PolicyError(f"{source}: verify.fail_on must be 'any' or 'high'")
    pixels = raw.get("pixels", False)
    if not isinstance(pixels, bool):
        raise PolicyError(f"{source}: verify.pixels must be true or false")
    allow = raw.get("allow", [])
    if not isinstance(allow, list) or not all(isinstance(a, str) and a for a in allow):
        raise PolicyError(f"{source}: verify.allow must be a list of attribute keywords or finding categories")
    return VerifyPolicy(enabled=True, pixels=pixels, fail_on=fail_on, allow=frozenset(allow))


def _attribute_path(location: str) -> set[str]:
    """What an `allow` entry may name for a finding at this location: the attribute
    itself (its keyword, wherever it is nested) and its full path without item indexes
    or text offsets (`RequestAttributesSequence.RequestedProcedureDescription`). Naming a
    sequence does not allow what is nested in it."""
    parts = [re.sub(r"\[[^\]]*\]", "", p) for p in location.split(".")]
    return {parts[-1], ".".join(parts)}
