"""Vega-Lite chart specs, built as plain dicts from the page contexts.

Plain dicts, not Altair: building an Altair chart costs milliseconds per request and the import
a third of a second; these specs are a few small dicts. Each chart's data is also in a table on
the page, so the page is complete without JavaScript; ``static/charts.js`` renders the specs with
vega-embed under the Content-Security-Policy (no eval: the expression interpreter).
"""

from __future__ import annotations

from typing import Any

from nhs_league.web.models import Distribution
from nhs_league.web.models_detail import CompareContext, MetricContext, TrustContext

Spec = dict[str, Any]
SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
BLUE, GREY, DARK = "#005eb8", "#768692", "#212b32"  # NHS blue, mid grey (3.9:1), text
CUT_COLOUR = "#d5281b"  # NHS red: the cut-points
FONT = "Arial, Helvetica, sans-serif"


def _base(description: str, height: int = 240) -> Spec:
    return {
        "$schema": SCHEMA,
        "description": description,
        "width": "container",
        "height": height,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "config": {
            "font": FONT,
            "axis": {"labelFontSize": 12, "titleFontSize": 13, "labelColor": DARK},
            "view": {"stroke": None},
        },
    }


def short_name(name: str) -> str:
    """A chart label: "The Christie NHS Foundation Trust" → "The Christie"."""
    for suffix in (" NHS Foundation Trust", " NHS Trust"):
        name = name.removesuffix(suffix)
    return name


def _cut_rules(cuts: list[float], axis: str) -> Spec:
    values = [{"cut": round(c, 3), "label": f"{k}|{k + 1}"} for k, c in enumerate(cuts, start=1)]
    return {
        "data": {"values": values},
        "mark": {"type": "rule", "color": CUT_COLOUR, "strokeDash": [4, 3], "strokeWidth": 2},
        "encoding": {axis: {"field": "cut", "type": "quantitative"}},
    }


def distribution(d: Distribution) -> Spec:
    """Trusts per 0.1 band of average score, with the cut-points between segments."""
    spec = _base(
        f"Bar chart: number of {d.label.lower()} trusts by average score in {d.quarter}, "
        "with the cut-points between segments as dashed lines. The same data is in the table."
    )
    bars = {
        "data": {"values": [b.model_dump() for b in d.bins]},
        "mark": {"type": "bar", "color": BLUE},
        "encoding": {
            "x": {
                "field": "low",
                "type": "quantitative",
                "bin": {"binned": True, "step": 0.1},
                "title": "Average score (1 best, 4 worst)",
            },
            "x2": {"field": "high"},
            "y": {"field": "trusts", "type": "quantitative", "title": "Trusts"},
            "tooltip": [{"field": "low", "title": "From"}, {"field": "trusts", "title": "Trusts"}],
        },
    }
    spec["layer"] = [bars, _cut_rules(d.cut_points, "x")]
    return spec


def peers(ctx: TrustContext) -> Spec:
    """The trust among its peers (same subtype): averages, the trust highlighted."""
    rows = [
        {
            "trust": f"{short_name(p.trust_name)} ({p.trust_code})",
            "average": p.average_score,
            "this": p.is_this_trust,
            "rank": p.rank,
        }
        for p in ctx.peers
    ]
    spec = _base(
        f"Dot plot: average scores of the {len(rows)} {ctx.peer_group} trusts, "
        f"{ctx.trust.trust_name} highlighted, with the cut-points. The same data is in the table.",
        height=max(120, 16 * len(rows)),
    )
    dots = {
        "data": {"values": rows},
        "mark": {"type": "point", "filled": True, "size": 90, "opacity": 1},
        "encoding": {
            "y": {
                "field": "trust",
                "type": "nominal",
                "sort": {"field": "rank", "op": "min"},
                "title": None,
                "axis": {"labelLimit": 240},
            },
            "x": {
                "field": "average",
                "type": "quantitative",
                "title": "Average score (1 best, 4 worst)",
                "scale": {"domain": [1, 4]},
            },
            "color": {"condition": {"test": "datum.this", "value": BLUE}, "value": GREY},
            "tooltip": [{"field": "trust"}, {"field": "average"}, {"field": "rank"}],
        },
    }
    spec["layer"] = [dots, _cut_rules(ctx.cut_points, "x")]
    return spec


def history(ctx: TrustContext) -> Spec | None:
    """Average score across the loaded quarters (only with two or more)."""
    if len(ctx.history) < 2:
        return None
    spec = _base(
        f"Line chart: average score of {ctx.trust.trust_name} in each loaded quarter. "
        "The same data is in the history table.",
        height=180,
    )
    spec["data"] = {"values": [h.model_dump() for h in ctx.history]}
    spec["mark"] = {"type": "line", "point": True, "color": BLUE}
    spec["encoding"] = {
        "x": {
            "field": "quarter",
            "type": "ordinal",
            "title": "Quarter",
            "sort": None,
            "axis": {"labelAngle": 0},
        },
        "y": {
            "field": "average_score",
            "type": "quantitative",
            "title": "Average score (best at the top)",
            "scale": {"zero": False, "reverse": True},
        },
        "tooltip": [{"field": "quarter"}, {"field": "average_score", "title": "Average"}],
    }
    return spec


def metric(ctx: MetricContext) -> Spec | None:
    """How the metric's values are spread (the main units only), with the target."""
    units = ctx.metric.units if ctx.metric.units != "score" else None
    rows = [
        {"value": r.value}
        for r in ctx.rows
        if r.value is not None and (units is None or r.units == units)
    ]
    if not rows:
        return None
    spec = _base(
        f"Histogram: values of {ctx.metric.name} across {len(rows)} {ctx.trust_type} trusts"
        + (
            f", target {ctx.metric.target:g} as a dashed line"
            if ctx.metric.target is not None
            else ""
        )
        + ". The same data is in the ranking table."
    )
    bars = {
        "data": {"values": rows},
        "mark": {"type": "bar", "color": BLUE},
        "encoding": {
            "x": {
                "field": "value",
                "type": "quantitative",
                "bin": {"maxbins": 30},
                "title": f"{ctx.metric.short} ({ctx.metric.units})",
            },
            "y": {"aggregate": "count", "type": "quantitative", "title": "Trusts"},
        },
    }
    layers: list[Spec] = [bars]
    if ctx.metric.target is not None and ctx.metric.family in ("target", "standard"):
        layers.append(
            {
                "data": {"values": [{"target": ctx.metric.target}]},
                "mark": {
                    "type": "rule",
                    "color": CUT_COLOUR,
                    "strokeDash": [4, 3],
                    "strokeWidth": 2,
                },
                "encoding": {"x": {"field": "target", "type": "quantitative"}},
            }
        )
    spec["layer"] = layers
    return spec


def compare(ctx: CompareContext) -> Spec:
    """Domain scores of each trust, side by side."""
    rows = [
        {"trust": t.trust_code, "domain": d.name, "score": d.score}
        for t in ctx.trusts
        for d in t.domains
        if d.score is not None
    ]
    spec = _base(
        "Grouped bar chart: domain scores of "
        + ", ".join(t.trust_name for t in ctx.trusts)
        + ". The same data is in the domain table.",
        height=260,
    )
    spec["data"] = {"values": rows}
    spec["mark"] = {"type": "bar"}
    spec["height"] = {"step": 14}
    spec["encoding"] = {
        "y": {
            "field": "domain",
            "type": "nominal",
            "title": None,
            "sort": None,
            "axis": {"labelLimit": 220},
        },
        "yOffset": {"field": "trust", "sort": None},
        "x": {
            "field": "score",
            "type": "quantitative",
            "title": "Domain score (1 best, 4 worst)",
            "scale": {"domain": [0, 4]},
        },
        "color": {
            "field": "trust",
            "type": "nominal",
            "title": "Trust",
            "sort": None,
            "scale": {"range": [BLUE, "#330072", "#ed8b00", "#007f3b"]},
            "legend": {"orient": "top"},
        },
        "tooltip": [{"field": "trust"}, {"field": "domain"}, {"field": "score", "format": ".2f"}],
    }
    return spec
