"""The `risk:` part of a pipeline: which fields are quasi-identifiers, how each may be
generalised, and the k a run must reach (docs/risk.md).

  k               a run generalises and suppresses records until every class of equal
                  quasi-identifiers holds at least k persons; null (default): off, measure only
  max_suppression the share of persons that may be suppressed (default 0.05); a level
                  that needs more is not chosen
  quasi           one entry per quasi-identifier: {name, fields, hierarchy}; `fields` are
                  record field names or record categories (birth-date, address) and DICOM
                  keywords (PatientSex), `hierarchy` a name in deid.risk.hierarchies
  sensitive       fields whose diversity inside a class is measured (l-diversity): [诊断, diagnosis]
  person          fields that say whose a row is (the keyed pseudonyms): rows and images of
                  one person are one person in the measures
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import PolicyError
from ..risk.hierarchies import HIERARCHIES
from .sections import section

KEYS = {"k", "max_suppression", "quasi", "sensitive", "person"}
QUASI_KEYS = {"name", "fields", "hierarchy"}
MAX_LATTICE = 4096  # hierarchy-level combinations the search may try


@dataclass(frozen=True)
class Quasi:
    name: str  # the label reports use (never a value)
    fields: tuple[str, ...]
    hierarchy: str


# what a pipeline without a `risk:` section measures: the usual quasi-identifiers of
# records and image headers (the shipped pipelines say the same, in their YAML)
DEFAULT_QUASI = (
    Quasi("birth-date", ("birth-date", "PatientBirthDate"), "date"),
    Quasi("age", ("age", "PatientAge"), "age"),
    Quasi("sex", ("性别", "sex", "gender", "PatientSex"), "category"),
    Quasi("address", ("address",), "address"),
    Quasi("school", ("school",), "school"),
)
DEFAULT_PERSON = ("patient-id", "PatientID")


@dataclass(frozen=True)
class RiskPolicy:
    k: int | None = None
    max_suppression: float = 0.05
    quasi: tuple[Quasi, ...] = DEFAULT_QUASI
    sensitive: tuple[str, ...] = ()
    person: tuple[str, ...] = DEFAULT_PERSON

    @property
    def lattice(self) -> int:
        n = 1
        for q in self.quasi:
            n *= HIERARCHIES[q.hierarchy].height + 1
        return n


def build_risk_policy(raw: object, source: str) -> RiskPolicy:
    if raw is None:
        return RiskPolicy()
    raw = section(raw, "risk", KEYS, source)
    k = raw.get("k")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or not 2 <= k <= 1000):
        raise PolicyError(f"{source}: risk.k must be a whole number from 2 to 1000, or null (off)")
    sup = raw.get("max_suppression", 0.05)
    if isinstance(sup, bool) or not isinstance(sup, (int, float)) or not 0 <= sup <= 1:
        raise PolicyError(f"{source}: risk.max_suppression must be a share from 0 to 1")
    quasi = DEFAULT_QUASI if raw.get("quasi") is None else _quasi(raw["quasi"], source)
    sensitive = _names(raw.get("sensitive", []), "risk.sensitive", source)
    person = _names(raw.get("person", list(DEFAULT_PERSON)), "risk.person", source)
    policy = RiskPolicy(k, float(sup), quasi, sensitive, person)
    if policy.lattice > MAX_LATTICE:
        raise PolicyError(
            f"{source}: risk.quasi allows {policy.lattice} combinations of hierarchy levels, more than "
            f"{MAX_LATTICE}: declare fewer quasi-identifiers or shorter hierarchies"
        )
    return policy


def _quasi(raw: object, source: str) -> tuple[Quasi, ...]:
    if not isinstance(raw, list) or not raw:
        raise PolicyError(f"{source}: risk.quasi must be a list of {{name, fields, hierarchy}}")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or set(item) - QUASI_KEYS or "hierarchy" not in item:
            raise PolicyError(f"{source}: risk.quasi[{i}] must be a mapping with {sorted(QUASI_KEYS)}")
        h = item["hierarchy"]
        if h not in HIERARCHIES:
            raise PolicyError(f"{source}: risk.quasi[{i}].hierarchy {h!r}: choose from {sorted(HIERARCHIES)}")
        fields = _names(item.get("fields") or [item.get("name")], f"risk.quasi[{i}].fields", source)
        out.append(Quasi(str(item.get("name") or fields[0]), fields, h))
    if len({q.name for q in out}) != len(out):
        raise PolicyError(f"{source}: risk.quasi names must differ")
    return tuple(out)


def _names(raw: object, where: str, source: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        raise PolicyError(f"{source}: {where} must be a list of field names")
    return tuple(raw)
