"""Write a report: to a file (with its chart files beside a Markdown report) or as text.

A Markdown report links its chart, ``<stem>.svg``, written next to it with a PNG copy
(``<stem>.png``, twice the SVG's size) for documents that take images only; an HTML report
embeds the SVG, so it is one self-contained file with no external requests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nhs_league.report import charts, render
from nhs_league.report.board import BoardReport
from nhs_league.report.regional import RegionalReport


@dataclass(frozen=True)
class Written:
    """What a report produced: ``text`` for stdout (no output file), or the files written."""

    text: str | None = None
    files: tuple[Path, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())


def _write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, "utf-8", newline="\n")
    return path


def regional(report: RegionalReport, fmt: str, output: Path | None) -> Written:
    """Render ``report`` as ``fmt`` (md or html) into ``output``, or as text when it is None."""
    if fmt == "html":
        html = render.regional(report, "html", svg=charts.to_svg(report.chart))
        if output is None:
            return Written(text=html)
        return Written(files=(_write(output, html),))
    if output is None:
        note = "the chart is written only with --output FILE.md (beside the report)"
        return Written(text=render.regional(report, "md"), notes=(note,))
    svg = _write(output.with_suffix(".svg"), charts.to_svg(report.chart))
    png = _write(output.with_suffix(".png"), charts.to_png(report.chart))
    md = _write(output, render.regional(report, "md", chart_file=svg.name))
    return Written(files=(md, svg, png))


def board(report: BoardReport, fmt: str, output: Path | None) -> Written:
    text = render.board(report, fmt)
    if output is None:
        return Written(text=text)
    return Written(files=(_write(output, text),))
