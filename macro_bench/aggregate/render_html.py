"""HTML rendering of a report model: one self-contained page with sortable tables and
inline SVG plots (heatmaps, scatter, forest) and the example documents.

Each block type is rendered once here (see :mod:`report_model`). No external script,
style sheet or font is referenced, so the page opens offline.
"""

from __future__ import annotations

import math
import re
from html import escape

from macro_bench.aggregate import svg
from macro_bench.aggregate.examples import Example
from macro_bench.aggregate.render_format import number
from macro_bench.aggregate.report_model import Bullets, Cell, ExampleSet, Grid, Paragraph, Plot, Report, Section, Table

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px auto;max-width:1500px;padding:0 16px;color:#1a1a1a;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em} h3{margin-bottom:.3em}
nav a{margin-right:1em} .note{color:#444;max-width:75em}
.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:.5em 1em;margin:.6em 0}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:13px;margin:.5em 0 1em}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top;white-space:nowrap}
th{background:#f3f5f8;position:sticky;top:0}
table.sortable th{cursor:pointer} table.sortable th:hover{background:#e4e9f0}
th[data-dir=asc]::after{content:' \\25B2'} th[data-dir=desc]::after{content:' \\25BC'}
td.num{text-align:right;font-variant-numeric:tabular-nums} td small{color:#666}
tr:nth-child(even) td{background:#fbfbfb}
.better-A{color:#1f5fa0;font-weight:600} .better-B{color:#b02020;font-weight:600}
.grid{display:flex;flex-wrap:wrap;gap:8px 28px} .grid figure{margin:0}
figcaption{font-weight:600;margin:.6em 0 .2em}
input.filter{margin:.3em 0;padding:4px 8px;width:22em}
svg.plot{font-family:inherit;max-width:100%;height:auto}
nav.sub{font-size:.9em;margin:.3em 0 .8em}
.examples{border-top:1px solid #ddd;margin-top:1.2em}
.examples h4{margin:.8em 0 .3em} .examples h4 a{font-weight:normal;font-size:.85em;margin-left:1em}
.example{border:1px solid #ddd;border-left:5px solid #b02020;border-radius:3px;padding:.4em .8em;margin:.5em 0;max-width:75em}
.example.valid{border-left-color:#1f7a1f}
.ex-head{font-size:.9em;color:#444} .ex-text{margin:.25em 0;white-space:pre-wrap;overflow-wrap:anywhere}
.ex-text .tag{display:inline-block;min-width:1.6em;font-weight:600;color:#555}
del{text-decoration:none;background:#ffd6d6;border-radius:2px} ins{text-decoration:none;background:#c9f2c9;border-radius:2px}
.gates{font-size:.85em;margin:.3em 0} .gate{display:inline-block;padding:0 .45em;margin:0 .3em .2em 0;border-radius:3px;background:#eee}
.gate.failed{background:#ffd6d6} .gate.passed{background:#e3f5e3} .gate.undefined{background:#eee;color:#666}
.verdict-valid{color:#1f7a1f;font-weight:600} .verdict-invalid{color:#b02020;font-weight:600}
details pre{white-space:pre-wrap;font-size:.85em;background:#f6f6f6;padding:.4em;margin:.2em 0}
"""

JS = """
document.querySelectorAll('table.sortable').forEach(function(table){
  table.querySelectorAll('th').forEach(function(th, column){
    th.addEventListener('click', function(){
      var body = table.tBodies[0];
      var dir = th.dataset.dir === 'desc' ? 'asc' : 'desc';
      table.querySelectorAll('th').forEach(function(h){ delete h.dataset.dir; });
      th.dataset.dir = dir;
      var key = function(row){
        var cell = row.cells[column];
        if (cell.dataset.v !== undefined) { var v = parseFloat(cell.dataset.v); return isNaN(v) ? null : v; }
        return cell.textContent.trim().toLowerCase();
      };
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function(a, b){
        var x = key(a), y = key(b);
        if (x === null) return 1; if (y === null) return -1;
        var order = (typeof x === 'number' && typeof y === 'number') ? x - y : String(x).localeCompare(String(y));
        return dir === 'asc' ? order : -order;
      });
      rows.forEach(function(row){ body.appendChild(row); });
    });
  });
});
document.querySelectorAll('input.filter').forEach(function(input){
  input.addEventListener('input', function(){
    var needle = input.value.toLowerCase();
    document.getElementById(input.dataset.table).tBodies[0].querySelectorAll('tr').forEach(function(row){
      row.style.display = row.textContent.toLowerCase().indexOf(needle) >= 0 ? '' : 'none';
    });
  });
});
"""



_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")


def inline(text: str) -> str:
    """Escape text, then turn the report model's **bold** and `code` marks into tags."""
    return _CODE.sub(r"<code>\1</code>", _BOLD.sub(r"<b>\1</b>", escape(str(text))))


def _cell(cell: Cell) -> str:
    content = escape(cell.text)
    if cell.link:
        content = f'<a href="#{escape(cell.link)}">{content}</a>'
    if cell.detail:
        content += f"<br><small>{escape(cell.detail)}</small>"
    attributes = ""
    if cell.sort is not None or cell.text == "n/a":
        sort = "" if cell.sort is None or math.isnan(cell.sort) else f"{cell.sort:.6g}"
        attributes += f' class="num{" " + cell.style if cell.style else ""}" data-v="{sort}"'
    elif cell.style:
        attributes += f' class="{cell.style}"'
    return f"<td{attributes}>{content}</td>"


def _table(block: Table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in block.headers)
    body = "\n".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in block.rows)
    # Table ids get their own prefix: section anchors use the plain names.
    table_id = f"table-{escape(block.id)}"
    box = f'<input class="filter" data-table="{table_id}" placeholder="Filter rows...">' if block.filterable else ""
    return (f'{box}<div class="scroll"><table class="sortable" id="{table_id}"><thead><tr>{head}</tr></thead>'
            f"<tbody>\n{body}\n</tbody></table></div>")


def _segments(segments: list[tuple[str, bool]], mark: str) -> str:
    return "".join(f"<{mark}>{escape(text)}</{mark}>" if changed else escape(text) for text, changed in segments)


def _flag(value: float) -> str:
    return "n/a" if math.isnan(value) else "yes" if value == 1.0 else "no"


def _example(example: Example) -> str:
    verdict = '<span class="verdict-valid">valid</span>' if example.valid else '<span class="verdict-invalid">invalid</span>'
    head = (f'<div class="ex-head">doc_key {escape(example.doc_key)} · picked as <b>{escape(example.picked_as)}</b> · {verdict}'
            + ("" if math.isnan(example.minimality) else f" · minimality {number(example.minimality)}") + "</div>")
    if example.problem:
        return f'<div class="example">{head}<p class="warn">{escape(example.problem)}</p></div>'
    counterfactual = ('<i>(empty: nothing could be extracted from the generation)</i>' if example.counterfactual is None
                      else _segments(example.counterfactual, "ins"))
    texts = (f'<div class="ex-text"><span class="tag">x</span> {_segments(example.original, "del")}</div>'
             f'<div class="ex-text"><span class="tag">x\'</span> {counterfactual}</div>')
    predictions = (f'<div class="ex-head">prediction on x: <b>{escape(example.prediction_before)}</b> → on x\': '
                   f'<b>{escape(example.prediction_after)}</b> · target: <b>{escape(example.target)}</b></div>')
    gates = "".join(f'<span class="gate {verdict}">{escape(gate)}: {verdict}</span>' for gate, verdict in example.gate_verdicts())
    gates += "".join(f'<span class="gate">{name}: {_flag(example.flags[name])}</span>' for name in ("flip", "target", "label_insertion"))
    raw = f"<details><summary>raw generation</summary><pre>{escape(example.generation)}</pre></details>"
    css = "example valid" if example.valid else "example"
    return f'<div class="{css}">{head}{texts}{predictions}<div class="gates">{gates}</div>{raw}</div>'


def _example_set(block: ExampleSet) -> str:
    body = "".join(_example(e) for e in block.examples) or "<p>No documents.</p>"
    return (f'<section class="examples" id="{escape(block.anchor)}"><h4>{escape(block.heading)}'
            f'<a href="#{escape(block.back_to)}">back to the table</a></h4>{body}</section>')


def _block(block) -> str:
    if isinstance(block, Paragraph):
        tone = {"plain": "", "note": ' class="note"', "warn": ' class="warn"'}[block.tone]
        return f"<p{tone}>{inline(block.text)}</p>"
    if isinstance(block, Bullets):
        items = "".join(f'<li{" class=warn" if block.tone == "warn" else ""}>{inline(i)}</li>' for i in block.items)
        return f"<ul>{items}</ul>"
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Grid):
        return (f"<figure><figcaption>{escape(block.title)}</figcaption>"
                + svg.heatmap(block.rows, block.columns, block.cells, block.higher_is_better, block.title) + "</figure>")
    if isinstance(block, Plot):
        return f'<p class="note">{inline(block.caption)}</p>{block.svg}'
    if isinstance(block, ExampleSet):
        return _example_set(block)
    raise TypeError(f"no HTML rendering for {type(block).__name__}")


def _blocks(blocks: list) -> str:
    # Consecutive heatmaps share one wrapping row.
    out, grids = [], []
    for block in [*blocks, None]:
        if isinstance(block, Grid):
            grids.append(_block(block))
            continue
        if grids:
            out.append(f'<div class="grid">{"".join(grids)}</div>')
            grids = []
        if block is not None:
            out.append(_block(block))
    return "".join(out)


def _section(section: Section, depth: int) -> str:
    level = min(depth, 6)
    sub = ""
    if section.children:
        sub = '<nav class="sub">' + "".join(f'<a href="#{escape(c.anchor)}">{escape(c.heading)}</a>' for c in section.children) + "</nav>"
    children = "".join(_section(child, depth + 1) for child in section.children)
    return (f'<section id="{escape(section.anchor)}"><h{level}>{escape(section.heading)}</h{level}>'
            f"{sub}{_blocks(section.blocks)}{children}</section>")


def render(report: Report) -> str:
    nav = "".join(f'<a href="#{escape(s.anchor)}">{escape(s.heading)}</a>' for s in report.sections)
    body = "".join(_section(s, 2) for s in report.sections)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(report.title)}</title>'
        f"<style>{CSS}</style></head><body><h1>{escape(report.title)}</h1>{_blocks(report.intro)}<nav>{nav}</nav>{body}"
        f"<script>{JS}</script></body></html>\n"
    )
