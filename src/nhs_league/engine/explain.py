"""Each score states its own arithmetic in one sentence (spec section 2)."""

from __future__ import annotations

from typing import Any

from nhs_league.engine import scoring as sc
from nhs_league.methods.pack import Metric

_UNIT_SUFFIX = {
    "%": "%",
    "percentage points": " pp",
    "mins": " minutes",
    "days": " days",
    "count": " cases",
    "rate": "× threshold",
    "out of 10": " out of 10",
    "score": "",
}


def fmt_value(value: float | None, units: str) -> str:
    if value is None:
        return "—"
    if units == "count":
        return f"{value:g} case" + ("" if value == 1 else "s")
    text = f"{value:.1f}" if float(value).is_integer() else f"{value:g}"
    return text + _UNIT_SUFFIX.get(units, f" {units}")


def segment_label(segment: int, unadjusted: int, final: int | None = None) -> str:
    """The segment as the tables print it: "1"; "3*" where the financial override capped it;
    "4, final 5" when the final segment differs (Recovery Support Programme)."""
    label = f"{segment}*" if segment != unadjusted else str(segment)
    return label + (f", final {final}" if final is not None and final != segment else "")


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _target(metric: Metric) -> str:
    assert metric.target is not None
    if metric.units == "count":
        return f"{metric.target:g}-case"
    return f"{metric.target:g}" + _UNIT_SUFFIX.get(metric.units, f" {metric.units}")


def explain_row(metric: Metric, row: dict[str, Any]) -> str:
    """One sentence: how ``row`` (a metric score row) got its score."""
    score = row["score"]
    head = f"{metric.id} scored {score:.2f}"
    value = fmt_value(row.get("value"), row.get("units") or metric.units)
    basis = row.get("basis")
    p, n = int(row.get("position") or 0), int(row.get("pool_size") or 0)
    if basis in (sc.PUBLISHED, sc.PUBLISHED_RAW):
        return f"{head}: NHS England's published score; {row.get('note')}"
    if basis == sc.INPUT:
        return f"{head}: set by NHS England ({metric.name}; published as a score only)"
    fam = metric.family
    pool = "" if basis != sc.PARTIAL_POOL else " (loaded trusts only: the pool is incomplete)"
    if fam == "continuous":
        within = " of the same type" if metric.pool == "within-type" else ""
        return (
            f"{head}: {value} is {ordinal(p)} of the {n} trusts{within} ranked{pool}, "
            f"{metric.direction} is better: 1 + 3 × {p - 1}/{max(n - 1, 1)}"
        )
    if fam == "target":
        if metric.count_units and row.get("units") == metric.count_units:
            return f"{head}: no threshold, so {value} scores 1 + {row['value']:g}, at most 4"
        if row.get("target_met"):
            return f"{head}: {value} met the {_target(metric)} target"
        return (
            f"{head}: {value} missed the {_target(metric)} target; {ordinal(p)} of the {n} "
            f"trusts that missed it{pool}: 2 + 2 × {p - 1}/{max(n - 1, 1)}"
        )
    if fam == "standard":
        if not row.get("target_met"):
            return f"{head}: {value} is below the {_target(metric)} standard"
        return (
            f"{head}: {value} met the {_target(metric)} standard; {ordinal(p)} of the {n} "
            f"trusts that met it{pool}: 1 + 2 × {p - 1}/{max(n - 1, 1)}"
        )
    if fam == "bands":
        e1, e2, e3 = (fmt_value(b, metric.units) for b in metric.bands)
        band = int(score)
        rule = (
            {
                1: f"{e1} or more",
                2: f"between {e2} and {e1}",
                3: f"above {e3}, at most {e2}",
                4: f"{e3} or less",
            }[band]
            if metric.higher_is_better
            else f"band {band}"
        )
        return f"{head}: {value} is {rule} (band {band} of 4)"
    if fam == "matrix":
        return (
            f"{head}: {metric.inputs[0]} band {row.get('input_a', '?')} and "
            f"{metric.inputs[1]} band {row.get('input_b', '?')} give {score:.0f} in the "
            f"finance matrix"
        )
    return head
