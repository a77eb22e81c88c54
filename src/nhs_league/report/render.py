"""Render a report object as Markdown or as one self-contained HTML file (Jinja templates in
``report/templates``). The object is computed once; both formats lay out the same numbers with
the same filters, so they cannot differ. Jinja is imported inside the functions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nhs_league.report import words as w
from nhs_league.report.board import BoardReport
from nhs_league.report.model import Row
from nhs_league.report.regional import RegionalReport

if TYPE_CHECKING:
    import jinja2

FORMATS = ("md", "html")


def _avg(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def _cell(text: object) -> str:
    """A Markdown table cell: pipes escaped."""
    return str(text).replace("|", "\\|")


def _change(r: Row) -> str:
    """The table's change column: places moved since the previous quarter."""
    if r.change is None:
        return "new"
    moved = r.change.rank - r.rank
    if moved == 0:
        return "same"
    return f"up {moved}" if moved > 0 else f"down {-moved}"


def _rank(r: Row) -> str:
    return f"{r.rank}=" if r.tied else str(r.rank)


def _inline_svg(svg: str, label: str) -> str:
    """The chart's SVG to embed in HTML: no XML prolog, and a text alternative for readers."""
    from markupsafe import Markup, escape

    start = svg.index("<svg")
    body = svg[start:].replace("<svg", f'<svg role="img" aria-label="{escape(label)}"', 1)
    return Markup(body)


def environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("nhs_league.report", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",)),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(avg=_avg, cell=_cell, change=_change, rank=_rank, span=w.span, place=w.place)
    env.globals.update(statement=w.STATEMENT, licence=w.LICENCE)
    return env


def _check(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")


def regional(
    report: RegionalReport, fmt: str, *, chart_file: str | None = None, svg: str | None = None
) -> str:
    """The regional report as ``md`` (linking the chart's SVG file ``chart_file``, if given) or
    ``html`` (embedding ``svg``, the chart from :func:`nhs_league.report.charts.to_svg`)."""
    _check(fmt)
    context: dict[str, Any] = {"r": report, "chart_file": chart_file, "svg": None}
    if fmt == "html" and svg is not None:
        context["svg"] = _inline_svg(svg, report.chart_alt)
    return environment().get_template(f"regional.{fmt}.j2").render(context)


def board(report: BoardReport, fmt: str) -> str:
    """The board report as ``md`` or ``html``."""
    _check(fmt)
    return environment().get_template(f"board.{fmt}.j2").render(r=report)
