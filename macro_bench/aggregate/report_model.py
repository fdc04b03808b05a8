"""One report model that both writers render: what a report says, not how it looks.

A report is a title, an introduction and nested sections of blocks. The Markdown writer
(:mod:`render_markdown`) and the HTML writer (:mod:`render_html`) each render every block
type once, so a report's content (a new section, a new dimension such as the dataset)
is built once, in :mod:`report_build`, and appears in both formats.

Text in blocks may use two inline marks, ``**bold**`` and ```code```: Markdown keeps
them, HTML turns them into ``<b>`` and ``<code>`` after escaping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union


@dataclass(frozen=True)
class Cell:
    """A table cell: its text, an optional second line (interval, count) and a sort key."""

    text: str
    sort: float | None = None  # numeric sort key; None sorts the column as text
    detail: str = ""
    style: str = ""  # a CSS class name, e.g. the better model of a comparison
    link: str = ""  # the anchor (in the same report) this cell points to


@dataclass
class Paragraph:
    text: str
    tone: Literal["plain", "note", "warn"] = "plain"


@dataclass
class Bullets:
    items: list[str]
    tone: Literal["plain", "warn"] = "plain"


@dataclass
class Table:
    id: str
    headers: list[str]
    rows: list[list[Cell]]
    filterable: bool = False


@dataclass
class Grid:
    """Rows x columns of one metric (a heatmap in HTML, a table in Markdown).

    ``cells[(row, column)] = (value, low, high, note)``.
    """

    title: str
    rows: list[str]
    columns: list[str]
    cells: dict[tuple[str, str], tuple[float, float, float, str]]
    higher_is_better: bool
    corner: str = ""  # what the rows are, for the Markdown header


@dataclass
class Plot:
    """A figure only HTML can show (an inline SVG); Markdown points to the HTML report."""

    svg: str
    caption: str


@dataclass
class ExampleSet:
    """Example documents of one model x language (see :mod:`examples`)."""

    anchor: str
    heading: str
    examples: list  # of examples.Example
    back_to: str  # the anchor of the table that links here


Block = Union[Paragraph, Bullets, Table, Grid, Plot, ExampleSet]


@dataclass
class Section:
    anchor: str
    heading: str
    blocks: list[Block] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)


@dataclass
class Report:
    title: str
    intro: list[Block]
    sections: list[Section]
