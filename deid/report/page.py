"""HTML of the audit report: one file, no external assets, every text escaped.

A Content-Security-Policy allows images only as data: URIs, no network at all, and only
the one inline script below (by its hash): even a crafted value that slipped into a
label could not load or run anything. The script marks the page for headless checks:
data-rendered="ok", data-broken-images, data-js-errors.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import time

from .. import __version__
from .build import GROUPS, MAX_EVENTS_PER_FILE, FileEntry, ReportData
from .charts import bar_chart
from .risk import section as risk_section

OPEN_IMAGES = 8  # image files shown open, so their thumbnails are seen without a click
# widths of the event table's columns: location, action, category, rule_id, fingerprint, detail
_COLS = "<colgroup>" + "".join(f'<col style="width:{w}%">' for w in (29, 9, 11, 20, 18, 13)) + "</colgroup>"

SCRIPT = """(function () {
  var d = document.documentElement, errors = 0;
  d.dataset.jsErrors = "0";
  window.addEventListener("error", function () { errors += 1; d.dataset.jsErrors = String(errors); });
  window.addEventListener("load", function () {
    var broken = 0;
    for (var i = 0; i < document.images.length; i++) {
      var img = document.images[i];
      if (!(img.complete && img.naturalWidth > 0)) { broken += 1; }
    }
    d.dataset.images = String(document.images.length);
    d.dataset.brokenImages = String(broken);
    d.dataset.rendered = "ok";
  });
})();"""

CSS = """
:root { --fg:#1f2430; --muted:#5b6475; --line:#d9dee7; --bg:#f5f6f8; --ok:#1d7a3e; --bad:#b3261e; --warn:#8a5a00; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif;
       color:var(--fg); background:var(--bg); }
main { max-width:1180px; margin:0 auto; padding:24px 28px 48px; }
h1 { font-size:22px; margin:0 0 2px; }
h2 { font-size:17px; margin:30px 0 10px; padding-bottom:4px; border-bottom:2px solid var(--line); }
h3 { font-size:14px; margin:0 0 8px; }
nav a { margin-right:14px; color:#2c5d91; }
.muted { color:var(--muted); }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:12px 16px; margin:10px 0; }
.banner.ok { border-left:6px solid var(--ok); } .banner.bad { border-left:6px solid var(--bad); }
.banner.note { border-left:6px solid var(--warn); }
.banner b.ok { color:var(--ok); } .banner b.bad { color:var(--bad); }
table { border-collapse:collapse; width:100%; background:#fff; }
th, td { text-align:left; padding:4px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#eef1f5; font-weight:600; }
td.n, th.n { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
table.kv th { width:150px; background:none; color:var(--muted); font-weight:normal; }
code, .mono { font-family:ui-monospace, "DejaVu Sans Mono", monospace; font-size:12px; }
.grid { display:grid; grid-template-columns:repeat(auto-fit, minmax(440px, 1fr)); gap:14px; align-items:start; }
svg.chart { width:100%; height:auto; display:block; }
details.group { margin:12px 0; }
details.group > summary { font-weight:600; font-size:15px; cursor:pointer; padding:4px 0; }
details.file { background:#fff; border:1px solid var(--line); border-radius:6px; margin:5px 0; }
details.file > summary { padding:6px 10px; cursor:pointer; }
details.file[open] > summary { border-bottom:1px solid var(--line); }
.body { padding:10px; }
.head { display:flex; gap:16px; align-items:flex-start; margin-bottom:8px; }
.thumb { flex:none; margin:0; }
.thumb img { display:block; border:1px solid var(--line); background:#000; }
.thumb figcaption { font-size:12px; color:var(--muted); }
.events table { font-size:12.5px; table-layout:fixed; }
.events td { overflow-wrap:anywhere; }
.events td:nth-child(5) { font-size:11px; }
.head p { margin:0 0 6px; }
.badge { display:inline-block; padding:0 8px; border-radius:10px; font-size:12px; background:#e8edf4; margin-left:6px; }
.badge.q { background:#fbe4e2; color:var(--bad); } .badge.r { background:#fff0d4; color:var(--warn); }
.legend-red { color:#e62828; font-weight:600; } .legend-green { color:#3caa3c; font-weight:600; }
.tiles { display:flex; flex-wrap:wrap; gap:10px; margin:14px 0 6px; }
.tile { background:#fff; border:1px solid var(--line); border-radius:8px; padding:8px 14px; min-width:130px; }
.tile b { display:block; font-size:22px; font-variant-numeric:tabular-nums; }
.tile span { color:var(--muted); font-size:12px; }
.tile.bad b { color:var(--bad); }
footer { margin-top:36px; font-size:12px; color:var(--muted); }
"""


def e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def render(data: ReportData) -> str:
    script_hash = base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii")
    csp = (
        f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'; "
        "base-uri 'none'; form-action 'none'"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{e(csp)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>deid audit report · {e(data.audit_name)}</title>",
        f"<style>{CSS}</style>",
        f"<script>{SCRIPT}</script>",
        "</head>",
        "<body>",
        "<main>",
        "<h1>deid audit report</h1>",
        f'<p class="muted">audit log <code>{e(data.audit_name)}</code> · generated '
        f"{e(_when(time.time()))} by deid {e(__version__)}</p>",
        '<nav><a href="#runs">Runs</a><a href="#summary">Summary</a><a href="#charts">Charts</a>'
        '<a href="#risk">Re-identification risk</a><a href="#files">Files</a></nav>',
        _tiles(data),
        _integrity(data),
        _runs(data),
        _summary(data),
        _charts(data),
        risk_section(data.risk),
        _files(data),
        "<footer>This report holds no identifying values: the audit log records locations, rule ids, codes and "
        "keyed fingerprints, never values; thumbnails are of the de-identified output, never the input (each file "
        "checked against the digest its run recorded); the only header values shown are Manufacturer and "
        "Manufacturer Model Name. Keep it with the audit log, not with the output.</footer>",
        "</main>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts)


def _when(t: object) -> str:
    """UTC time of a runs.started/finished value; "—" when missing (or edited into nonsense)."""
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(t))) if t else "—"  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError, OSError):
        return "—"


def _count(v: object) -> str:
    return f"{v:,}" if isinstance(v, int) else e("—" if v is None else v)


def _tiles(data: ReportData) -> str:
    """The numbers to read first."""
    q = data.group_totals["quarantined"]
    tiles: list[tuple[str, int | str, str]] = [
        ("files", sum(data.group_totals.values()), ""),
        ("written", data.group_totals["redacted"] + data.group_totals["written"], ""),
        ("quarantined", q, " bad" if q else ""),
        ("events", sum(data.run_events.values()), ""),
        ("pixel boxes redacted", data.boxes, ""),
        ("runs", len(data.runs), ""),
    ]
    if data.shares:  # how much of an image redaction took: the over-redaction guard's measure
        ranked = sorted(data.shares)
        tiles += [
            ("median share of an image redacted", _pct(ranked[len(ranked) // 2]), ""),
            ("largest share of an image redacted", _pct(ranked[-1]), ""),
        ]
    return (
        '<div class="tiles">'
        + "".join(
            f'<div class="tile{c}"><b>{n if isinstance(n, str) else f"{n:,}"}</b><span>{e(k)}</span></div>'
            for k, n, c in tiles
        )
        + "</div>"
    )


def _pct(v: float) -> str:
    return f"{100 * v:.1f} %"


def _integrity(data: ReportData) -> str:
    events = sum(data.run_events.values())
    if not data.problems:
        return (
            f'<div class="card banner ok"><b class="ok">Hash chain intact.</b> {events:,} events in '
            f"{len(data.runs)} run(s) verified (<code>deid audit verify</code>): no row edited, inserted or "
            "deleted.</div>"
        )
    items = "".join(f"<li>{e(p)}</li>" for p in data.problems[:50])
    more = f"<p>… and {len(data.problems) - 50:,} more.</p>" if len(data.problems) > 50 else ""
    return (
        f'<div class="card banner bad"><b class="bad">Hash chain check FAILED</b>: '
        f"{len(data.problems):,} problem(s); this log was changed after it was written."
        f"<ul>{items}</ul>{more}</div>"
    )


def _runs(data: ReportData) -> str:
    out = ['<h2 id="runs">Runs</h2>']
    if not data.runs:
        out.append('<p class="muted">No runs recorded.</p>')
    for n, r in enumerate(data.runs, 1):
        vers = ", ".join(f"{e(k)} <code>{e(v)}</code>" for k, v in _versions(r["versions"]))
        started, finished = r["started"], r["finished"]
        numbers = isinstance(started, (int, float)) and isinstance(finished, (int, float))
        took = f" ({finished - started:,.1f} s)" if numbers else ""
        state = "" if finished else ' <span class="badge q">interrupted: not finished</span>'
        recorded = r["event_count"]
        in_log = data.run_events.get(r["run_id"], 0)
        events = f"{in_log:,}" + ("" if recorded in (None, in_log) else f" in the log, {_count(recorded)} recorded")
        rows = [
            ("pipeline", f"<b>{e(r['pipeline'])}</b>"),
            ("run id", f"<code>{e(r['run_id'])}</code>"),
            ("policy hash", f"<code>{e(r['policy_hash'])}</code>"),
            (
                "key id",
                f"<code>{e(r['key_id'])}</code> <span class='muted'>(identifies the key; the key "
                "itself is never recorded)</span>",
            ),
            ("started", e(_when(started))),
            ("finished", e(_when(finished)) + e(took) + state),
            (
                "files",
                f"{_count(r['files_ok'])} ok · {_count(r['files_quarantined'])} quarantined" if finished else "—",
            ),
            ("events", events),
            ("versions", vers),
        ]
        body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
        out.append(f'<div class="card"><h3>Run {n}</h3><table class="kv">{body}</table></div>')
    return "\n".join(out)


def _versions(raw: object) -> list[tuple[str, str]]:
    """(name, version) pairs of a runs.versions value: a JSON object as deid writes it, or,
    in an edited log, anything at all (shown as it is, under "versions")."""
    try:
        parsed = json.loads(raw) if isinstance(raw, (str, bytes)) and raw else {}
    except (ValueError, RecursionError):  # invalid JSON, bytes that are not UTF-8, absurd nesting
        parsed = None
    if not isinstance(parsed, dict):
        return [("versions", "" if raw is None else str(raw))]
    return sorted((str(k), "" if v is None else str(v)) for k, v in parsed.items())


def _table(head: tuple[str, ...], rows: list[tuple], numeric: set[int]) -> str:
    if not rows:
        return '<p class="muted">None.</p>'
    th = "".join(f'<th class="n">{e(h)}</th>' if i in numeric else f"<th>{e(h)}</th>" for i, h in enumerate(head))
    body = "".join(
        "<tr>"
        + "".join(f'<td class="n">{c:,}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _summary(data: ReportData) -> str:
    def tally(rows: list[tuple[str, int, int]]) -> list[tuple]:
        return [(f"<code>{e(k)}</code>", n, f) for k, n, f in rows]

    out = [
        '<h2 id="summary">Summary</h2>',
        '<p class="muted">Events on file content. File rows and output '
        "digests (category <code>file</code>, one of each per written file) are left out here: they are "
        "counted in the runs above, and each file's digest is listed with its events below.</p>",
        '<div class="grid">',
        f"<div><h3>Events per action</h3>{_table(('action', 'events', 'files'), tally(data.actions), {1, 2})}</div>",
        f"<div><h3>Events per category</h3>{_table(('category', 'events', 'files'), tally(data.categories), {1, 2})}"
        "</div>",
        "</div>",
        "<h3 style='margin-top:16px'>Quarantine reasons</h3>",
    ]
    if data.reasons:
        rows = [(f"<code>{e(code)}</code>", n, "<br>".join(e(d) for d in ex)) for code, n, ex in data.reasons]
        out.append(_table(("reason code", "files", "details (up to 3 distinct)"), rows, {1}))
    else:
        out.append('<p class="muted">No file was quarantined.</p>')
    return "\n".join(out)


def _charts(data: ReportData) -> str:
    out = ['<h2 id="charts">Charts</h2>', '<div class="grid">']
    for title, rows in (("Events per category", data.categories), ("Events per action", data.actions)):
        if rows:
            out.append(f'<div class="card">{bar_chart(title, [(k, n) for k, n, _ in rows])}</div>')
    if data.devices:
        chart = bar_chart(
            "Redacted boxes per device model",
            [(f"{label} ({imgs:,} img)", boxes) for label, imgs, boxes in data.devices],
            "redacted boxes",
        )
        note = f'<p class="muted">{e(data.device_note)}</p>' if data.device_note else ""
        out.append(f'<div class="card">{chart}{note}</div>')
    out.append("</div>")
    if not data.devices:
        why = data.outputs_note or data.device_note
        out.append(f'<p class="muted">No device chart: {e(why)}.</p>')
    if not (data.categories or data.actions):
        out.append('<p class="muted">No events to chart.</p>')
    return "\n".join(out)


def _files(data: ReportData) -> str:
    total = sum(data.group_totals.values())
    out = ['<h2 id="files">Files</h2>']
    if data.outputs_note:
        out.append(f'<div class="card banner note"><b>No thumbnails</b>: {e(data.outputs_note)}.</div>')
    else:
        out.append(
            f"<p>Thumbnails ({data.thumbnails:,}) show frame 0 of the <b>de-identified output</b>, never "
            "the input: each is made only from a file whose SHA-256 is the digest its run recorded when it "
            'wrote it. Redacted boxes are outlined in <span class="legend-red">red</span>, text kept '
            '(e.g. L/R markers) in <span class="legend-green">green</span>.</p>'
        )
    if data.unverified:
        items = "".join(f"<li>{n:,}: {e(why)}</li>" for why, n in sorted(data.unverified.items()))
        out.append(
            '<div class="card banner note"><b>Written files not opened</b> (no thumbnail, not in the '
            f"device chart):<ul>{items}</ul></div>"
        )
    if data.thumbnails_left_out:
        out.append(
            f'<p class="muted">{data.thumbnails_left_out:,} further images have no thumbnail (report size limit).</p>'
        )
    if total > len(data.files):
        out.append(
            f'<div class="card banner note">The drill-down lists the first {len(data.files):,} of '
            f"{total:,} files (quarantined first, then images with redactions); "
            f"{total - len(data.files):,} are left out. "
            "<code>deid audit show AUDIT --file PATH</code> lists any file's events.</div>"
        )
    if data.rows_left_out:
        out.append(
            f'<p class="muted">{data.rows_left_out:,} event rows are not listed (at most '
            f"{MAX_EVENTS_PER_FILE} per file, and a size limit for the whole report); the counts are "
            "complete.</p>"
        )
    opened = 0
    number = {r["run_id"]: n for n, r in enumerate(data.runs, 1)} if len(data.runs) > 1 else {}
    for key, title in GROUPS:
        entries = [f for f in data.files if f.group == key]
        n = data.group_totals[key]
        if not n:
            continue
        listed = f"{n:,} files" + (f", {len(entries):,} listed" if len(entries) < n else "")
        out.append(
            f'<details class="group" open id="group-{key}"><summary>{e(title)} '
            f'<span class="muted">({listed})</span></summary>'
        )
        for f in entries:
            show = key == "redacted" and opened < OPEN_IMAGES and f.thumb is not None and f.thumb.png is not None
            opened += show
            out.append(_file(f, show, number.get(f.run_id)))
        out.append("</details>")
    if not total:
        out.append('<p class="muted">No files recorded.</p>')
    return "\n".join(out)


def _file(f: FileEntry, open_: bool, run: int | None) -> str:
    """One file's <details>: badges, then its thumbnail and events when opened."""
    if f.status != "write":  # quarantined, or an error (not even copied aside)
        label = "quarantined" if f.status == "quarantine" else "not read"
        badge = f'<span class="badge q">{label}: {e(f.detail.split(":", 1)[0].strip())}</span>'
    else:
        badge = '<span class="badge">written</span>'
    if f.boxes:
        badge += f'<span class="badge r">{f.boxes:,} box{"es" if f.boxes != 1 else ""} redacted</span>'
    if f.share:
        badge += f'<span class="badge r">{_pct(f.share)} of the image</span>'
    summary = (
        f"<summary><code>{e(f.item)}</code>{badge} <span class='muted'>· {f.events:,} "
        f"event{'s' if f.events != 1 else ''}{f' · run {run}' if run else ''}</span></summary>"
    )
    thumb = ""
    if f.thumb is not None and f.thumb.png is not None:
        b64 = base64.b64encode(f.thumb.png).decode("ascii")
        thumb = (
            f'<figure class="thumb"><img src="data:image/png;base64,{b64}" width="{f.thumb.width}" '
            f'height="{f.thumb.height}" alt="de-identified output, frame 0, boxes outlined">'
            "<figcaption>output, frame 0</figcaption></figure>"
        )
    elif f.thumb is not None:
        thumb = f'<p class="muted">{e(f.thumb.note)}.</p>'
    where = (
        f"<p>reason: <code>{e(f.detail)}</code></p>"
        if f.status != "write"
        else f"<p>output: <code>{e(f.detail)}</code></p>"
    )
    if f.actions:
        where += "<p class='muted'>" + " · ".join(f"{e(a)} {n:,}" for a, n in f.actions) + "</p>"
    where = f"<div>{where}</div>"
    if f.rows:
        rows = [
            (f"<code>{e(r[0])}</code>", e(r[1]), e(r[2]), f"<code>{e(r[3])}</code>", f"<code>{e(r[4])}</code>", e(r[5]))
            for r in f.rows
        ]
        table = _table(("location", "action", "category", "rule_id", "fingerprint", "detail"), rows, set())
        table = table.replace("<table>", f"<table>{_COLS}", 1)
        more = (
            f'<p class="muted">… {f.events - len(f.rows):,} more events: <code>deid audit show AUDIT --file '
            f"{e(f.item)}</code></p>"
            if f.events > len(f.rows)
            else ""
        )
    else:
        table = (
            '<p class="muted">No events besides the file row.</p>'
            if not f.events
            else (f'<p class="muted">{f.events:,} events not listed (report size limit).</p>')
        )
        more = ""
    return (
        f'<details class="file"{" open" if open_ else ""} data-item="{e(f.item)}">{summary}'
        f'<div class="body"><div class="head">{thumb}{where}</div><div class="events">{table}{more}</div>'
        "</div></details>"
    )
