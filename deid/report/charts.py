"""Bar charts for the HTML report, drawn by matplotlib (Agg) as inline SVG.

matplotlib is imported here only, when a report is built: `deid run` never loads it.
Text stays text in the SVG (smaller, selectable); matplotlib escapes it for XML, and
labels are taken literally (no mathtext: a `$` in a device name is just a `$`).
"""

from __future__ import annotations

import io
import re

MAX_BARS = 15
BAR = "#3b6ea5"


def bar_chart(title: str, counts: list[tuple[str, int]], xlabel: str = "events") -> str:
    """Horizontal bars, largest first; beyond MAX_BARS the rest are summed as "other"."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    rows = sorted(counts, key=lambda kv: (-kv[1], kv[0]))
    if len(rows) > MAX_BARS:
        rest = rows[MAX_BARS - 1 :]
        rows = rows[: MAX_BARS - 1] + [(f"other ({len(rest)})", sum(n for _, n in rest))]
    labels = [_label(k) for k, _ in rows][::-1]
    values = [n for _, n in rows][::-1]
    with matplotlib.rc_context(
        {
            "svg.fonttype": "none",
            "svg.hashsalt": "deid-report",
            "text.parse_math": False,
            "font.size": 10,
            "font.family": "sans-serif",
        }
    ):
        fig = Figure(figsize=(6.0, 1.1 + 0.3 * max(1, len(rows))), layout="constrained")
        ax = fig.add_subplot()
        bars = ax.barh(range(len(values)), values, color=BAR, height=0.65)
        ax.set_yticks(range(len(values)), labels)
        ax.bar_label(bars, padding=3, fontsize=8)
        ax.set_title(title, loc="left", fontsize=11, fontweight="bold")
        ax.set_xlabel(xlabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.margins(x=0.12)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML declaration and DOCTYPE: inline in HTML
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)
    # scale with the page instead of a fixed size in points
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 class="chart" role="img"', svg, count=1)


def _label(text: str, limit: int = 40) -> str:
    text = "".join(c for c in text if c.isprintable())
    return text if len(text) <= limit else text[: limit - 1] + "…"
