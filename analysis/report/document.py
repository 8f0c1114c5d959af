"""What a report holds, independent of how it is written out (HTML, PDF).

A :class:`Report` is a title and a list of :class:`Section` s; a section has paragraphs (the
readings in words), :class:`Table` s whose cells are already formatted text
(``analysis.formatting``), plotly figures, and ``missing``: what could not be computed and why,
so a study with no scales or only small groups gives a report that says so instead of failing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Table:
    """An APA-style table: a caption, column labels in words, formatted cells, a note under it."""

    caption: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""
    numeric: list[bool] | None = None  # right-aligned columns (default: all but the first)

    def to_dict(self) -> dict:
        return {"caption": self.caption, "columns": self.columns, "rows": self.rows, "note": self.note}


@dataclass
class Figure:
    """A chart with a stable id (the HTML's div id, so the same study gives the same file):
    a plotly figure (drawn by plotly.js, included once per file), or ready-made ``svg`` markup
    (no script: the organisation reports, printed by the dozen)."""

    id: str
    figure: Any = None  # plotly.graph_objects.Figure
    caption: str = ""
    svg: str = ""


@dataclass
class Section:
    """A heading (``level`` 2 or 3) with its readings, tables, figures and what is missing."""

    title: str
    level: int = 2
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    reproduce: list[str] = field(default_factory=list)  # commands that give the section's numbers

    def to_dict(self) -> dict:
        return {"title": self.title, "level": self.level, "paragraphs": self.paragraphs, "reproduce": self.reproduce,
                "tables": [t.to_dict() for t in self.tables], "figures": [f.id for f in self.figures],
                "missing": self.missing}


@dataclass
class Report:
    """A whole report: title, subtitle lines and sections in reading order."""

    title: str
    subtitle: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    min_n: int | None = None

    def to_dict(self) -> dict:
        return {"title": self.title, "subtitle": self.subtitle, "min_n": self.min_n,
                "sections": [s.to_dict() for s in self.sections]}

    @property
    def figures(self) -> list[Figure]:
        return [f for s in self.sections for f in s.figures]
