"""Markdown rendering of a report model, for papers and READMEs.

Each block type is rendered once here (see :mod:`report_model`). Plots and example
documents need HTML: Markdown says where to find them.
"""

from __future__ import annotations

from macro_bench.aggregate.render_format import with_interval
from macro_bench.aggregate.report_model import Bullets, Cell, ExampleSet, Grid, Paragraph, Plot, Report, Section, Table


def _escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _cell(cell: Cell) -> str:
    return _escape(f"{cell.text} {cell.detail}".strip())


def table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(_escape(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _block(block) -> str:
    if isinstance(block, Paragraph):
        return block.text + "\n"
    if isinstance(block, Bullets):
        return "".join(f"- {item}\n" for item in block.items)
    if isinstance(block, Table):
        return table(block.headers, [[_cell(c) for c in row] for row in block.rows])
    if isinstance(block, Grid):
        rows = [[_escape(r), *[_escape(with_interval(*block.cells.get((r, c), (float("nan"),) * 3 + ("",))[:3])) for c in block.columns]]
                for r in block.rows]
        return f"**{block.title}**\n\n" + table([block.corner or "", *block.columns], rows)
    if isinstance(block, Plot):
        return f"*Plot in the HTML report:* {block.caption}\n"
    if isinstance(block, ExampleSet):
        return ""
    raise TypeError(f"no Markdown rendering for {type(block).__name__}")


def _section(section: Section, depth: int) -> str:
    parts = [f"{'#' * depth} {section.heading}\n"]
    parts += [rendered for rendered in (_block(b) for b in section.blocks) if rendered]
    text = "\n".join(parts)
    for child in section.children:
        text += "\n" + _section(child, depth + 1)
    return text


def render(report: Report) -> str:
    parts = [f"# {report.title}\n", *[_block(b) for b in report.intro]]
    text = "\n".join(p for p in parts if p)
    for section in report.sections:
        text += "\n" + _section(section, 2)
    return text
