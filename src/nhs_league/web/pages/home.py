"""The home page: national segment counts per trust type, and the distribution of averages."""

from __future__ import annotations

import polars as pl

from nhs_league.errors import NoData
from nhs_league.web.models import Bin, Choice, Distribution, HomeContext, SegmentCount, TypeSummary
from nhs_league.web.pages.common import slug, type_label
from nhs_league.web.state import WebState

BIN_HUNDREDTHS = 10  # bins of 0.10 points: fine enough to see the cut-points, few enough to read


def build(state: WebState, quarter: str | None, trust_type: str | None) -> HomeContext:
    """Each loaded type in ``quarter`` (default: each type's latest quarter); the chart shows
    ``trust_type`` (default: the first type loaded in that quarter)."""
    quarters = {t: _quarter_of(state, t, quarter) for t in state.loaded_types}
    shown = {t: q for t, q in quarters.items() if q is not None}
    if not shown:
        raise NoData(f"no trusts are loaded for {quarter}")
    if trust_type is None:
        trust_type = next(iter(shown))
    if trust_type not in shown:
        raise NoData(f"no {trust_type} trusts are loaded for {quarter or 'any quarter'}")
    return HomeContext(
        quarters=state.quarters,
        quarter=quarter,
        trust_types=[Choice(value=t, label=type_label(state, t)) for t in state.loaded_types],
        trust_type=trust_type,
        regions=[Choice(value=slug(r), label=r) for r in state.regions],
        summaries=[_summary(state, t, q) for t, q in shown.items()],
        distribution=_distribution(state, trust_type, shown[trust_type]),
    )


def _quarter_of(state: WebState, trust_type: str, quarter: str | None) -> str | None:
    if quarter is None:
        return state.quarters_of(trust_type)[-1]
    try:
        return state.quarter(trust_type, quarter)
    except NoData:
        return None


def _summary(state: WebState, trust_type: str, quarter: str) -> TypeSummary:
    a = state.assessment(quarter)
    t = a.of_type(trust_type)
    counts = dict(t.group_by("adjusted_segment").len().iter_rows())
    return TypeSummary(
        trust_type=trust_type,
        label=type_label(state, trust_type),
        quarter=quarter,
        trusts=t.height,
        segments=[SegmentCount(segment=k, trusts=counts.get(k, 0)) for k in (1, 2, 3, 4)],
        capped_by_override=t.filter(
            pl.col("adjusted_segment") != pl.col("unadjusted_segment")
        ).height,
        recovery_support=t.filter(pl.col("final_segment") == state.pack.segment5).height,
        cut_points=list(a.cut_points.values),
    )


def _distribution(state: WebState, trust_type: str, quarter: str) -> Distribution:
    a = state.assessment(quarter)
    lo, hi = int(state.pack.score_min * 100), int(state.pack.score_max * 100)
    n_bins = (hi - lo) // BIN_HUNDREDTHS
    counts = [0] * n_bins
    for avg in a.of_type(trust_type)["average_score"].to_list():
        i = (round(avg * 100) - lo) // BIN_HUNDREDTHS
        counts[min(max(i, 0), n_bins - 1)] += 1
    used = [i for i, c in enumerate(counts) if c]
    bins = (
        [
            Bin(
                low=(lo + i * BIN_HUNDREDTHS) / 100,
                high=(lo + (i + 1) * BIN_HUNDREDTHS - 1) / 100,
                trusts=counts[i],
            )
            for i in range(used[0], used[-1] + 1)
        ]
        if used
        else []
    )
    return Distribution(
        trust_type=trust_type,
        label=type_label(state, trust_type),
        quarter=quarter,
        cut_points=list(a.cut_points.values),
        bins=bins,
    )
