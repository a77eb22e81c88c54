"""What-if: change a trust's reported values or deficit flag and recompute everything.

The scenario machinery is :mod:`nhs_league.analysis.scenario` (as ``nhs-league whatif``); this
module bounds the inputs first. A value must be a finite number in a range that makes sense for
its units (a share in % from 0 to 100, a score from 1 to 4, ...), at most 40 values change, and a
value equal to the reported one is no change at all (a changed value loses the file's tie-break
rank, so "changing" a value to itself could move a score).
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from nhs_league.analysis import scenario as sc
from nhs_league.analysis.scenario import MAX_ABS_VALUE
from nhs_league.web.errors import FieldProblem, WebError
from nhs_league.web.models_detail import (
    WhatIfContext,
    WhatIfInput,
    WhatIfMetric,
    WhatIfOther,
    WhatIfResult,
    WhatIfTrust,
)
from nhs_league.web.pages.common import find_code
from nhs_league.web.params import MAX_CHANGES
from nhs_league.web.state import MODE, WebState

# Sensible ranges by units. "%" is decided from the loaded values: a share (every value within
# 0-100) stays in 0-100; a change or an index that can be negative or pass 100 gets a wider range.
_UNIT_BOUNDS = {
    "percentage points": (-100.0, 100.0),
    "out of 10": (0.0, 10.0),
    "count": (0.0, 10_000.0),
    "rate": (0.0, 100.0),
    "mins": (0.0, 1_440.0),
    "days": (0.0, 365.0),
}


def bounds(state: WebState, metric_id: str, units: str) -> tuple[float, float]:
    if units == "score":
        return state.pack.score_min, state.pack.score_max
    if units == "%":
        low, high = state.value_spans.get((metric_id, units), (None, None))
        return (
            -100.0 if low is not None and low < 0 else 0.0,
            1_000.0 if high is not None and high > 100 else 100.0,
        )
    return _UNIT_BOUNDS.get(units, (-MAX_ABS_VALUE, MAX_ABS_VALUE))


def inputs(state: WebState, code: str, quarter: str) -> dict[str, WhatIfInput]:
    """The values the trust reports in ``quarter``, by the id a change uses, in pack order."""
    obs = state.data.observations.filter(
        (pl.col("quarter") == quarter)
        & (pl.col("trust_code") == code)
        & pl.col("value").is_not_null()
    )
    got = {r["metric_id"]: r for r in obs.iter_rows(named=True)}
    out = {}
    for m in state.pack.metrics:
        mid = m.id if m.has_value else m.score_id
        if mid in got:
            r = got[mid]
            low, high = bounds(state, mid, r["units"])
            out[mid] = WhatIfInput(
                metric_id=mid,
                name=m.name,
                units=r["units"],
                current=r["value"],
                value=r["value"],
                minimum=low,
                maximum=high,
                changed=False,
            )
    return out


def _number(raw: str) -> float | None:
    try:
        v = float(raw)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def parse(
    fields: dict[str, WhatIfInput], pairs: list[tuple[str, str | None]], where: str
) -> tuple[dict[str, float], list[FieldProblem]]:
    """Changed values by metric id, and every problem with the submitted values."""
    values: dict[str, float] = {}
    seen: set[str] = set()
    problems: list[FieldProblem] = []
    for key, raw in pairs:
        if raw is None:
            problems.append(FieldProblem(field="set", message=f"{key[:40]!r} is not METRIC=VALUE"))
            continue
        mid, text = key.strip().upper()[:20], raw.strip()
        field = fields.get(mid)
        if field is None:
            problems.append(FieldProblem(field=mid, message=f"not a value reported {where}"))
            continue
        if not text:
            continue
        v = _number(text)
        if mid in seen:
            problems.append(FieldProblem(field=mid, message="given more than once"))
        elif v is None:
            problems.append(FieldProblem(field=mid, message=f"{text[:20]!r} is not a number"))
        elif not field.minimum <= v <= field.maximum:
            problems.append(
                FieldProblem(
                    field=mid,
                    message=f"must be from {field.minimum:g} to {field.maximum:g} "
                    f"({field.units}); got {v:g}",
                )
            )
        elif v != field.current:
            values[mid] = v
        seen.add(mid)
    if len(values) > MAX_CHANGES:
        problems.append(
            FieldProblem(field="changes", message=f"at most {MAX_CHANGES} values can change")
        )
    return values, problems


def split_set(items: list[str]) -> list[tuple[str, str | None]]:
    """``["OF0013=80"]`` → ``[("OF0013", "80")]``; an item without "=" gets the value None,
    which :func:`parse` reports."""
    out: list[tuple[str, str | None]] = []
    for item in items:
        key, sep, value = item.partition("=")
        out.append((key, value) if sep else (item, None))
    return out


def build(
    state: WebState,
    query: str,
    quarter: str | None,
    pairs: list[tuple[str, str | None]],
    deficit: str | None,
) -> WhatIfContext:
    code = find_code(state, query)
    q = state.quarter(state.types[code], quarter)
    before = state.assessment(q)
    row = before.table.filter(pl.col("trust_code") == code)
    if row.height == 0:
        raise WebError(404, "no_data", f"{code} is not in the loaded data for {q}")
    fields = inputs(state, code, q)
    values, problems = parse(fields, pairs, f"by {code} in {q}")
    if problems:
        text = "; ".join(f"{p.field}: {p.message}" for p in problems)
        raise WebError(422, "invalid_whatif", f"Invalid what-if: {text}", fields=problems)
    current_deficit = bool(row["financial_deficit"].fill_null(False)[0])
    for mid, v in values.items():
        fields[mid] = fields[mid].model_copy(update={"value": v, "changed": True})
    flags = (
        ()
        if deficit is None or (deficit == "yes") == current_deficit
        else ((code, deficit == "yes"),)
    )
    scenario = sc.Scenario(tuple(sc.Change(code, m, v) for m, v in values.items()), flags)
    result = None
    if scenario.changes or scenario.deficit:
        result = _result(
            state,
            code,
            sc.run(state.data, state.pack, scenario, quarter=q, mode=MODE, before=before),
        )
    return WhatIfContext(
        trust_code=code,
        trust_name=state.names[code],
        trust_type=state.types[code],
        quarter=q,
        quarters=state.quarters_of(state.types[code]),
        mode=MODE,
        inputs=list(fields.values()),
        deficit_current=current_deficit,
        deficit=deficit,
        max_changes=MAX_CHANGES,
        result=result,
    )


def _result(state: WebState, code: str, w: sc.WhatIf) -> WhatIfResult:
    t: dict[str, Any] = w.trust_rows.filter(pl.col("trust_code") == code).row(0, named=True)
    changed = w.metric_rows.filter(
        pl.col("score_before").ne_missing(pl.col("score_after"))
        | pl.col("value_before").ne_missing(pl.col("value_after"))
    )
    return WhatIfResult(
        trust=WhatIfTrust(
            trust_code=code,
            trust_name=t["trust_name"],
            average_before=t["average_score_before"],
            average_after=t["average_score_after"],
            segment_before=t["adjusted_segment_before"],
            segment_after=t["adjusted_segment_after"],
            unadjusted_before=t["unadjusted_segment_before"],
            unadjusted_after=t["unadjusted_segment_after"],
            rank_before=t["league_rank_before"],
            rank_after=t["league_rank_after"],
            deficit_before=bool(t["financial_deficit_before"]),
            deficit_after=bool(t["financial_deficit_after"]),
        ),
        metrics=[
            WhatIfMetric(
                metric_id=r["metric_id"],
                name=state.pack.metric(r["metric_id"]).name,
                value_before=r["value_before"],
                value_after=r["value_after"],
                score_before=r["score_before"],
                score_after=r["score_after"],
            )
            for r in changed.iter_rows(named=True)
        ],
        others=[
            WhatIfOther(
                trust_code=r["trust_code"],
                trust_name=r["trust_name"],
                segment_before=r["adjusted_segment_before"],
                segment_after=r["adjusted_segment_after"],
                rank_before=r["league_rank_before"],
                rank_after=r["league_rank_after"],
            )
            for r in w.others.iter_rows(named=True)
        ],
    )
