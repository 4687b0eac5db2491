"""What the audit log says about a release, in counts: the runs, the actions taken per
category, the release pass's generalisations and suppressions, and the measures it
recorded. The assessment and the HTML report read the log through this one module; the
log holds no values, so neither can show one.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..audit.log import open_readonly, runs, verify
from ..errors import AuditError

RELEASE_ITEM = "<release>"  # the audit item of the release pass's measures
DIGEST_RULE = "risk:output-digest"  # a rewritten output's digest, in place of the engine's


@dataclass
class AuditFacts:
    name: str  # the audit file's name (not its folder)
    chain_ok: bool
    runs: list[dict]
    handled: list[tuple[str, str, int]] = field(default_factory=list)  # (category, action, events)
    files: dict[str, int] = field(default_factory=dict)  # write / quarantine / error -> files
    risk_rules: list[tuple[str, str, int]] = field(default_factory=list)  # (action, rule, events) of the pass
    releases: list[dict] = field(default_factory=list)  # the pass's recorded outcomes, oldest first
    digests: set[str] = field(default_factory=set)  # "sha256=<hex>" of every output the log says was written


def read_facts(path: Path) -> AuditFacts:
    """AuditError when `path` is not a deid audit log."""
    db = open_readonly(path)
    try:
        return _read(db, path)
    except sqlite3.DatabaseError as exc:
        raise AuditError(f"{path.name} could not be read as a deid audit log ({type(exc).__name__})") from None
    finally:
        db.close()


def _read(db: sqlite3.Connection, path: Path) -> AuditFacts:
    facts = AuditFacts(path.name, not verify(path), runs(path))
    handled: Counter[tuple[str, str]] = Counter()
    for cat, action, n in db.execute(
        "SELECT category, action, COUNT(*) FROM events WHERE category NOT IN ('file', 'quasi-identifier', 'risk') "
        "GROUP BY 1, 2"
    ):
        handled[(str(cat), str(action))] += int(n)
    facts.handled = sorted(((c, a, n) for (c, a), n in handled.items()), key=lambda r: (-r[2], r[0], r[1]))
    facts.files = {
        str(a): int(n)
        for a, n in db.execute("SELECT action, COUNT(*) FROM events WHERE location='<file>' GROUP BY action")
    }
    facts.risk_rules = [
        (str(a), str(r), int(n))
        for a, r, n in db.execute(
            "SELECT action, rule_id, COUNT(*) FROM events WHERE category='quasi-identifier' GROUP BY 1, 2 ORDER BY 2"
        )
    ]
    facts.digests = {
        str(d)
        for (d,) in db.execute("SELECT detail FROM events WHERE location='<output>' AND action='digest'")
        if str(d).startswith("sha256=")
    }
    for (detail,) in db.execute(
        "SELECT detail FROM events WHERE item=? AND action='measure' ORDER BY seq", (RELEASE_ITEM,)
    ):
        try:
            got = json.loads(detail)
        except (TypeError, ValueError):
            continue  # an edited row: the chain check says so
        if isinstance(got, dict):
            facts.releases.append(got)
    return facts


def latest_release(facts: AuditFacts | None) -> dict | None:
    return facts.releases[-1] if facts is not None and facts.releases else None
