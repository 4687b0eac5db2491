"""The report's "Re-identification risk" section: the measures the release pass recorded
(risk.k), the class-size histogram and what was generalised and suppressed, all from the
audit log (deid/risk/facts.py): counts, shares, levels and rule ids, never a value."""

from __future__ import annotations

import html

from ..risk.facts import AuditFacts, latest_release

HEAD = '<h2 id="risk">Re-identification risk</h2>'


def section(facts: AuditFacts | None) -> str:
    release = latest_release(facts)
    if facts is None or release is None:
        return (
            HEAD + '<p class="muted">No release pass in this log (the pipeline sets no <code>risk.k</code>). '
            "Measure an output with <code>deid risk OUT</code>; docs/risk.md.</p>"
        )
    m = release.get("measures") or {}
    reached = bool(release.get("reached"))
    banner = (
        f'<div class="card banner {"ok" if reached else "bad"}"><b class="{"ok" if reached else "bad"}">'
        f"k = {_n(m.get('k'))} for a target of {_n(release.get('target'))}: "
        f"{'reached' if reached else 'NOT reached'}</b>"
        + (f"<br>{_e(release.get('why'))}" if release.get("why") else "")
        + "</div>"
    )
    measures = [
        ("persons", _n(m.get("persons"))),
        ("records", _n(m.get("records"))),
        ("quasi-identifiers", _e(", ".join(str(q) for q in m.get("quasi") or []))),
        ("equivalence classes", _n(m.get("classes"))),
        ("persons in classes below k", _n(m.get("below_persons"))),
        ("sample uniqueness", _f(m.get("uniques"))),
        ("prosecutor risk (highest / average)", f"{_f(m.get('prosecutor_max'))} / {_f(m.get('prosecutor_avg'))}"),
        ("journalist risk (highest / average)", f"{_f(m.get('journalist_max'))} / {_f(m.get('journalist_avg'))}"),
        ("marketer risk", _f(m.get("marketer"))),
    ]
    measures += [(f"l-diversity ({_e(k)})", _n(v)) for k, v in (m.get("l_diversity") or {}).items()]
    treated = [
        ("levels chosen", _e(", ".join(f"{q} {lv}" for q, lv in (release.get("levels") or {}).items()) or "none")),
        ("cells generalised", _n(release.get("generalised_cells"))),
        ("persons suppressed", f"{_n(release.get('suppressed_persons'))} ({_pct(release.get('suppressed_share'))})"),
        ("records suppressed", _n(release.get("suppressed_records"))),
        ("information loss", f"{_f(release.get('loss'))} ({_e(release.get('loss_measure'))})"),
        ("files rewritten", _n(release.get("files_rewritten"))),
    ]
    rules = [(f"<code>{_e(a)}</code>", f"<code>{_e(r)}</code>", _n(n)) for a, r, n in facts.risk_rules]
    return "\n".join(
        [
            HEAD,
            banner,
            '<div class="grid">',
            f"<div><h3>Measures</h3>{_kv(measures)}</div>",
            f"<div><h3>Class sizes</h3>{_histogram(m.get('histogram') or [])}</div>",
            "</div>",
            '<div class="grid">',
            f"<div><h3>Generalised and suppressed</h3>{_kv(treated)}</div>",
            f"<div><h3>Events per rule</h3>{_rows(('action', 'rule', 'events'), rules)}</div>",
            "</div>",
            '<p class="muted">Counts only: no quasi-identifier value is shown (docs/risk.md).</p>',
        ]
    )


def _histogram(bins: list) -> str:
    rows = [b for b in bins if isinstance(b, dict)]
    top = max((int(b.get("persons") or 0) for b in rows), default=0) or 1
    out = []
    for b in rows:
        persons = int(b.get("persons") or 0)
        bar = (
            f'<span style="display:inline-block;height:10px;width:{200 * persons // top}px;background:#3b6ea5"></span>'
        )
        out.append((_e(b.get("size")), _n(b.get("classes")), _n(persons), bar))
    return _rows(("class size", "classes", "persons", ""), out)


def _kv(rows: list[tuple[str, str]]) -> str:
    return '<table class="kv">' + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"


def _rows(head: tuple[str, ...], rows: list[tuple]) -> str:
    if not rows:
        return '<p class="muted">None.</p>'
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    return (
        f"<table><thead><tr>{th}</tr></thead><tbody>"
        + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
        + "</tbody></table>"
    )


def _e(v: object) -> str:
    return html.escape("" if v is None else str(v))


def _n(v: object) -> str:
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else _e(v)


def _f(v: object) -> str:
    return f"{v:.4f}" if isinstance(v, float | int) and not isinstance(v, bool) else _e(v)


def _pct(v: object) -> str:
    return f"{v:.2%}" if isinstance(v, float | int) and not isinstance(v, bool) else _e(v)
