"""Charts as Vega-Lite specs (built with Altair), rendered fully offline by vl-convert.

The font is fixed (Liberation Sans, metric-compatible with Arial, shipped by Debian's
fonts-liberation, which Chromium depends on) so that text is measured the same way on every run:
the same rows give byte-identical SVG and PNG. Altair and vl-convert are imported inside the
functions: other commands do not pay for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from nhs_league.report.words import short_name

FONT = "Liberation Sans"
PNG_SCALE = 2  # PNG pixels per SVG unit: sharp when printed
ROW_STEP = 18  # vertical pixels per trust
WIDTH = 420
SEGMENTS = ["1", "2", "3", "4"]
# Colour-blind safe and readable in black and white: each segment also has its own shape.
COLOURS = ["#005eb8", "#7fb8e6", "#ffb81c", "#d5281b"]
SHAPES = ["circle", "square", "diamond", "triangle-down"]
ALT = (
    "Chart: each trust's average score (a dot, shaped by segment) with the likely range of "
    "its average (a line), in league order, and the segment boundaries (dashed). The figures "
    "are those of the table."
)


class Plotted(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def rank(self) -> int: ...
    @property
    def segment(self) -> int: ...
    @property
    def average(self) -> float: ...
    @property
    def score_low(self) -> float: ...
    @property
    def score_high(self) -> float: ...
    @property
    def segment_label(self) -> str: ...


def region_chart(
    rows: Sequence[Plotted], area_phrase: str, noun: str, quarter: str, cuts: Sequence[float]
) -> tuple[dict[str, Any], str]:
    """A dot-and-range chart of the rows' averages (Vega-Lite spec) and its text alternative."""
    import altair as alt
    import polars as pl

    labels = [f"{r.rank}  {short_name(r.name)} ({r.segment_label})" for r in rows]
    frame = pl.DataFrame(
        {
            "trust": labels,
            "average": [r.average for r in rows],
            "low": [r.score_low for r in rows],
            "high": [r.score_high for r in rows],
            "segment": [str(r.segment) for r in rows],
        }
    )
    x_scale = alt.Scale(domain=[1, 4], nice=False)
    y = alt.Y("trust:N", sort=labels, title=None, axis=alt.Axis(labelLimit=360))
    legend = alt.Legend(title="Segment")
    base = alt.Chart(frame).encode(y=y)
    ranges = base.mark_rule(color="#4c6272", strokeWidth=2).encode(
        x=alt.X("low:Q", scale=x_scale, title="Average metric score (lower is better)"),
        x2="high:Q",
    )
    dots = base.mark_point(filled=True, size=70, stroke="#212b32", strokeWidth=0.8).encode(
        x=alt.X("average:Q", scale=x_scale),
        fill=alt.Fill("segment:N", scale=alt.Scale(domain=SEGMENTS, range=COLOURS), legend=legend),
        shape=alt.Shape("segment:N", scale=alt.Scale(domain=SEGMENTS, range=SHAPES), legend=legend),
    )
    boundaries = (
        alt.Chart(pl.DataFrame({"cut": [float(c) for c in cuts]}))
        .mark_rule(color="#212b32", strokeDash=[4, 3])
        .encode(x=alt.X("cut:Q", scale=x_scale))
    )
    chart = (
        alt.layer(boundaries, ranges, dots)
        .properties(
            width=WIDTH,
            height=alt.Step(ROW_STEP),
            title=alt.Title(
                f"Average score and likely range, {noun} trusts in {area_phrase}",
                subtitle=[
                    f"{quarter}. League rank before each name, segment after it "
                    "(* capped by the financial override).",
                    "Dot: average; line: its likely range; dashed: segment boundaries.",
                ],
                anchor="start",
            ),
        )
        .configure(font=FONT, background="white")
        .configure_legend(orient="bottom", direction="horizontal")
        .configure_axis(labelFontSize=11, titleFontSize=11, labelColor="#212b32")
        .configure_title(fontSize=13, subtitleFontSize=11)
    )
    spec: dict[str, Any] = chart.to_dict()
    return spec, ALT


def to_svg(spec: dict[str, Any]) -> str:
    import vl_convert as vlc

    svg: str = vlc.vegalite_to_svg(spec)
    return svg


def to_png(spec: dict[str, Any]) -> bytes:
    import vl_convert as vlc

    png: bytes = vlc.vegalite_to_png(spec, scale=PNG_SCALE)
    return png
