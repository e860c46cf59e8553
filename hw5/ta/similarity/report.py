"""The similarity report: `similarity.html` (ranked pairs, shared passages side by side) and
`similarity.csv` (every pair with a score). Every piece of student text is HTML-escaped."""
from __future__ import annotations

import csv
import io
from html import escape
from pathlib import Path

from hw5.grading.report import write_text_atomic
from hw5.kit import spec

from .compare import Match, Pair, Side, locate

LISTED_PAIRS = 30  # pairs in the ranking table: this many, or all flagged ones (up to MAX_LISTED)
MAX_LISTED = 500
DETAILED_PAIRS = 100  # of those, the first this many are shown side by side
CSV_FLOOR = 0.05  # pairs scoring below this on both kinds are left out of the csv

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em}
th{background:#f3f3f3}tr.flag td{background:#fde8e8}
.pair{border-top:2px solid #888;margin-top:2em}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:1em}
pre{background:#fafafa;border:1px solid #ddd;padding:.5em;white-space:pre-wrap;
word-break:break-word;font-size:12px;max-height:40em;overflow:auto}
mark{background:#ffd966}.cell{color:#777;font-style:italic}.muted{color:#777}
"""


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def highlighted(side: Side, starts: list, ends: list) -> str:
    """`side.text` as escaped HTML, the shared passages in <mark>, a marker at each cell."""
    marks = sorted(zip(starts, ends))
    cuts = sorted({0, len(side.text), *starts, *ends, *(s for s, _ in side.starts)})
    cells = dict(side.starts)
    out = []
    for lo, hi in zip(cuts, cuts[1:]):
        if lo in cells:
            out.append(f'<span class="cell"># cell {cells[lo]}</span>\n')
        piece = escape(side.text[lo:hi])
        inside = any(s <= lo and hi <= e for s, e in marks)
        out.append(f"<mark>{piece}</mark>" if inside and piece.strip() else piece)
    return "".join(out)


def _columns(pair: Pair, kind: str, sides: dict) -> str:
    m: Match = getattr(pair, kind)
    if not m.score:
        return ""
    x, y = sides[kind][pair.a.id], sides[kind][pair.b.id]
    (sa, ea), (sb, eb) = locate(m, x, y)
    left, right = highlighted(x, sa, ea), highlighted(y, sb, eb)
    return (f"<h4>{kind}: {_pct(m.score)} ({m.shared} fingerprints shared)</h4>"
            f'<div class="cols"><pre>{left}</pre><pre>{right}</pre></div>')


def write_html(pairs: list, sides: dict, path: Path, threshold: dict, works: list) -> None:
    flagged = [p for p in pairs if is_flagged(p, threshold)]
    shown = [p for p in pairs[:min(MAX_LISTED, max(LISTED_PAIRS, len(flagged)))] if p.score > 0]
    empty = [w for w in works if not w.code and not w.prose]
    rows = []
    for rank, p in enumerate(shown, 1):
        cls = ' class="flag"' if p in flagged else ""
        link = f"<a href='#p{rank}'>{escape(p.a.label)}</a>" if rank <= DETAILED_PAIRS \
            else escape(p.a.label)
        rows.append(f"<tr{cls}><td>{rank}</td><td>{link}</td>"
                    f"<td>{escape(p.b.label)}</td><td>{_pct(p.code.score)}</td>"
                    f"<td>{_pct(p.prose.score)}</td><td>{'yes' if p in flagged else ''}</td></tr>")
    sections = []
    for rank, p in enumerate(shown[:DETAILED_PAIRS], 1):
        sections.append(
            f'<div class="pair" id="p{rank}"><h3>{rank}. {escape(p.a.label)} — '
            f"{escape(p.b.label)}</h3>"
            f"{_columns(p, 'code', sides)}{_columns(p, 'prose', sides)}</div>")
    html = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(spec.ASSIGNMENT)}: similar submissions</title>
<style>{STYLE}</style></head><body>
<h1>{escape(spec.ASSIGNMENT)}: submissions that look alike</h1>
<p>{len(works)} notebooks, {len(pairs)} pairs compared. Student-written code (TODO cells, added
cells) and written answers; the template's code and the handout's text are left out. Scores: the
share of each side's fingerprints found in the other, averaged (copydetect's winnowing, as
MOSS; names and strings do not matter for code). <b>Flagged</b>: code &ge; {_pct(threshold['code'])}
or prose &ge; {_pct(threshold['prose'])}. This report flags pairs for a person to read; it never
changes a grade.</p>
<p class="muted">{len(flagged)} pairs flagged; the table lists {len(shown)} pairs, the first
{min(len(shown), DETAILED_PAIRS)} side by side below; every pair scoring at least
{_pct(CSV_FLOOR)} is in similarity.csv.</p>
<p class="muted">Nothing written by a student to compare: {escape(', '.join(w.label for w in empty)) or 'none'}.</p>
<table><tr><th>#</th><th>submission</th><th>submission</th><th>code</th><th>prose</th>
<th>flagged</th></tr>{''.join(rows) or '<tr><td colspan=6>no pair shares anything</td></tr>'}</table>
{''.join(sections)}
</body></html>
"""
    write_text_atomic(path, html)


def is_flagged(pair: Pair, threshold: dict) -> bool:
    return pair.code.score >= threshold["code"] or pair.prose.score >= threshold["prose"]


def write_csv(pairs: list, path: Path, threshold: dict) -> None:
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(["rank", "submission_a", "submission_b", "code_score", "code_shared",
                "prose_score", "prose_shared", "flagged"])
    for rank, p in enumerate(pairs, 1):
        if p.score < CSV_FLOOR:
            break
        w.writerow([rank, p.a.id, p.b.id, f"{p.code.score:.3f}", p.code.shared,
                    f"{p.prose.score:.3f}", p.prose.shared, int(is_flagged(p, threshold))])
    write_text_atomic(path, buf.getvalue())
