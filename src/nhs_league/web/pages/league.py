"""The league table page: one trust type, filtered, searched and sorted; ranks stay national.

Rows come from :func:`nhs_league.api.league_table` (the same call as ``nhs-league table``), joined
with the memoised likely ranges and last quarter's results, so a request does only cheap work.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import polars as pl

from nhs_league import api
from nhs_league.analysis.uncertainty import DEFAULT_REPLICATES, DEFAULT_SEED
from nhs_league.engine.pipeline import Assessment
from nhs_league.errors import NoData
from nhs_league.web.errors import WebError
from nhs_league.web.models import Choice, LeagueContext, LeagueFilters, LeagueRow
from nhs_league.web.pages.common import match_region, segment_label, type_label
from nhs_league.web.params import Order, SortKey
from nhs_league.web.state import MODE, WebState

# The ICB filter arrives with the organisation data (api.league_table(..., icb=...), api.icbs);
# until then the page simply has no ICB filter or column.
HAS_ICB_FILTER = "icb" in inspect.signature(api.league_table).parameters

_SORTS: dict[str, list[str]] = {
    SortKey.rank: ["rank", "trust_name"],
    SortKey.trust: ["trust_name", "rank"],
    SortKey.code: ["trust_code"],
    SortKey.segment: ["segment", "rank", "trust_name"],
    SortKey.average: ["average_score", "rank", "trust_name"],
    SortKey.likely_rank: ["rank_low", "rank_high", "rank", "trust_name"],
    SortKey.change: ["average_change", "rank", "trust_name"],
}


def build(state: WebState, trust_type: str, quarter: str | None, f: LeagueFilters) -> LeagueContext:
    q = state.quarter(trust_type, quarter)
    a = state.assessment(q)
    facts: _TypeFacts = state.derived.get(
        ("league", q, trust_type), lambda: _type_facts(state, q, trust_type)
    )
    frame, f = _filtered(state, q, trust_type, f)
    frame = frame.join(
        state.extras((q, trust_type)), on="trust_code", how="left", maintain_order="left"
    ).with_columns(
        (pl.col("average_score") - pl.col("previous_average")).round(2).alias("average_change"),
        (pl.col("previous_rank") - pl.col("rank")).alias("rank_change"),
    )
    frame = frame.sort(
        _SORTS[f.sort], descending=f.order == Order.desc, nulls_last=True, maintain_order=True
    )
    return LeagueContext(
        trust_type=trust_type,
        label=type_label(state, trust_type),
        quarter=q,
        quarters=state.quarters_of(trust_type),
        previous_quarter=state.previous(q, trust_type),
        mode=MODE,
        league_size=facts.size,
        shown=frame.height,
        filters=f,
        regions=facts.regions,
        subtypes=facts.subtypes,
        icbs=facts.icbs,
        has_icb="icb_code" in frame.columns,
        cut_points=list(a.cut_points.values),
        replicates=DEFAULT_REPLICATES,
        seed=DEFAULT_SEED,
        rows=[_row(r) for r in frame.iter_rows(named=True)],
    )


@dataclass(frozen=True)
class _TypeFacts:
    """What the filter form offers for one type and quarter (computed once)."""

    size: int
    regions: list[str]
    subtypes: list[str]
    icbs: list[Choice]


def _type_facts(state: WebState, quarter: str, trust_type: str) -> _TypeFacts:
    full = state.assessment(quarter).of_type(trust_type)
    return _TypeFacts(
        size=full.height,
        regions=sorted(set(full["region"].to_list())),
        subtypes=sorted(set(full["subtype"].to_list())),
        icbs=_icbs(state, quarter, trust_type),
    )


def filters(
    region: str | None,
    subtype: str | None,
    segment: int | None,
    icb: str | None,
    q: str | None,
    sort: SortKey,
    order: Order,
) -> LeagueFilters:
    """The filters of a request, empty strings (an unselected form field) meaning none."""
    return LeagueFilters(
        region=region or None,
        subtype=subtype or None,
        segment=segment,
        icb=icb or None,
        q=(q or "").strip() or None,
        sort=sort.value,
        order=order.value,
    )


def _filtered(
    state: WebState, quarter: str, trust_type: str, f: LeagueFilters
) -> tuple[pl.DataFrame, LeagueFilters]:
    """The rows the filters select, and the filters spelled as the data spells them (so a
    form shows what was chosen, whatever spelling or slug the address used)."""
    a = state.assessment(quarter)
    if f.region:
        f = f.model_copy(update={"region": match_region(state, f.region, status=422)})
    if f.icb and not HAS_ICB_FILTER:
        raise WebError(422, "invalid_filter", "the ICB filter needs organisation data")
    wanted = {"region": f.region, "subtype": f.subtype, "icb": f.icb if HAS_ICB_FILTER else None}
    t = _league_table(state, a, trust_type, {k: v for k, v in wanted.items() if v})
    if t.height and f.subtype:
        f = f.model_copy(update={"subtype": t["subtype"][0]})
    if t.height and f.icb and "icb_code" in t.columns:
        f = f.model_copy(update={"icb": t["icb_code"][0]})
    if f.segment is not None:
        t = t.filter(pl.col("segment") == f.segment)
    if f.q:
        needle = f.q.lower()
        t = t.filter(
            pl.col("trust_name").str.to_lowercase().str.contains(needle, literal=True)
            | (pl.col("trust_code").str.to_lowercase() == needle)
        )
    return t, f


def _league_table(
    state: WebState, a: Assessment, trust_type: str, filters: dict[str, Any]
) -> pl.DataFrame:
    """``api.league_table`` with ``filters``. A value the type does not have at all is a 422;
    values that exist but select no trust together (a subtype absent from a region) give an
    empty table, as a filter form should."""
    try:
        return api.league_table(a, state.pack, trust_type, **filters)
    except NoData:
        for name, value in filters.items():
            try:
                api.league_table(a, state.pack, trust_type, **{name: value})
            except NoData as exc:
                raise WebError(422, "invalid_filter", str(exc)) from None
        return api.league_table(a, state.pack, trust_type).head(0)


def _icbs(state: WebState, quarter: str, trust_type: str) -> list[Choice]:
    """The ICBs with trusts of this type: ``api.icbs(a, trust_type)`` (or, as first specified,
    ``api.icbs(a, pack, trust_type)``); none before organisation data is available."""
    icbs = getattr(api, "icbs", None)
    if icbs is None:
        return []
    a = state.assessment(quarter)
    takes_pack = "pack" in inspect.signature(icbs).parameters
    pairs = icbs(a, state.pack, trust_type) if takes_pack else icbs(a, trust_type)
    return [Choice(value=code, label=name) for code, name in pairs]


def _row(r: dict[str, Any]) -> LeagueRow:
    return LeagueRow(
        rank=r["rank"],
        trust_code=r["trust_code"],
        trust_name=r["trust_name"],
        region=r["region"],
        icb_code=r.get("icb_code"),
        icb_name=r.get("icb_name"),
        subtype=r["subtype"],
        segment=r["segment"],
        unadjusted_segment=r["unadjusted_segment"],
        segment_label=segment_label(r["segment"], r["unadjusted_segment"]),
        override_applied=r["segment"] != r["unadjusted_segment"],
        financial_deficit=r["financial_deficit"],
        final_segment=r["final_segment"],
        average_score=r["average_score"],
        n_items=r["n_items"],
        score_low=r["score_low"],
        score_high=r["score_high"],
        rank_low=r["rank_low"],
        rank_high=r["rank_high"],
        previous_average=r["previous_average"],
        previous_rank=r["previous_rank"],
        average_change=r["average_change"],
        rank_change=r["rank_change"],
    )


# The columns of a download, in the order the page shows them (ICB columns only when present).
DOWNLOAD_COLUMNS: dict[str, type[pl.DataType]] = {
    "rank": pl.Int64,
    "trust_code": pl.String,
    "trust_name": pl.String,
    "region": pl.String,
    "icb_code": pl.String,
    "icb_name": pl.String,
    "subtype": pl.String,
    "segment_label": pl.String,
    "segment": pl.Int64,
    "unadjusted_segment": pl.Int64,
    "financial_deficit": pl.Boolean,
    "final_segment": pl.Int64,
    "average_score": pl.Float64,
    "score_low": pl.Float64,
    "score_high": pl.Float64,
    "rank_low": pl.Int64,
    "rank_high": pl.Int64,
    "average_change": pl.Float64,
    "rank_change": pl.Int64,
    "n_items": pl.Int64,
}


def download_frame(ctx: LeagueContext) -> pl.DataFrame:
    """Exactly the rows the page shows, in its order, as a frame for CSV and XLSX."""
    cols = {c: t for c, t in DOWNLOAD_COLUMNS.items() if ctx.has_icb or not c.startswith("icb_")}
    return pl.DataFrame(
        {c: [getattr(r, c) for r in ctx.rows] for c in cols},
        schema=cols,
    )
