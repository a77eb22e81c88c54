"""The league table page: one trust type, filtered, searched and sorted; ranks stay national.

Rows are those of :func:`nhs_league.api.league_table` (the same call as ``nhs-league table``),
joined with the memoised likely ranges and last quarter's results: worked out once per quarter
and type (:mod:`nhs_league.web.pages.league_base`), so a request only picks and orders rows.
"""

from __future__ import annotations

import inspect

import polars as pl

from nhs_league import api
from nhs_league.analysis.uncertainty import DEFAULT_REPLICATES, DEFAULT_SEED
from nhs_league.errors import NoData
from nhs_league.web.errors import WebError
from nhs_league.web.models import LeagueContext, LeagueFilters, LeagueRow
from nhs_league.web.pages.common import match_region, type_label
from nhs_league.web.pages.league_base import LeagueBase, league_base, ordered, pick
from nhs_league.web.params import Order, SortKey
from nhs_league.web.state import MODE, WebState

# The ICB filter arrives with the organisation data (api.league_table(..., icb=...), api.icbs);
# until then the page simply has no ICB filter or column.
HAS_ICB_FILTER = "icb" in inspect.signature(api.league_table).parameters


def build(state: WebState, trust_type: str, quarter: str | None, f: LeagueFilters) -> LeagueContext:
    q = state.quarter(trust_type, quarter)
    base = league_base(state, q, trust_type)
    rows, f = _rows(state, base, f)
    return LeagueContext(
        trust_type=trust_type,
        label=type_label(state, trust_type),
        quarter=q,
        quarters=state.quarters_of(trust_type),
        previous_quarter=base.previous_quarter,
        mode=MODE,
        league_size=base.size,
        shown=len(rows),
        filters=f,
        regions=base.regions,
        subtypes=base.subtypes,
        icbs=base.icbs,
        has_icb=base.has_icb,
        cut_points=base.cut_points,
        replicates=DEFAULT_REPLICATES,
        seed=DEFAULT_SEED,
        rows=rows,
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


def _rows(
    state: WebState, base: LeagueBase, f: LeagueFilters
) -> tuple[list[LeagueRow], LeagueFilters]:
    """The rows the filters select, in the order asked for, and the filters spelled as the data
    spells them (so a form shows what was chosen, whatever spelling or slug the address used)."""
    if f.region:
        f = f.model_copy(update={"region": match_region(state, f.region, status=422)})
    if f.icb and not HAS_ICB_FILTER:
        raise WebError(422, "invalid_filter", "the ICB filter needs organisation data")
    wanted = {"region": f.region, "subtype": f.subtype, "icb": f.icb if HAS_ICB_FILTER else None}
    picked = _pick(state, base, {k: v for k, v in wanted.items() if v})
    if picked and f.subtype:
        f = f.model_copy(update={"subtype": base.rows[picked[0]].subtype})
    if picked and f.icb and base.has_icb:
        f = f.model_copy(update={"icb": base.rows[picked[0]].icb_code})
    if f.segment is not None:
        picked = [i for i in picked if base.rows[i].segment == f.segment]
    if f.q:
        needle = f.q.lower()
        picked = [i for i in picked if needle in base.names[i] or base.codes[i] == needle]
    return ordered(base, picked, f.sort, f.order == Order.desc), f


def _pick(state: WebState, base: LeagueBase, filters: dict[str, str]) -> list[int]:
    """The rows ``api.league_table`` selects with ``filters``. A value the type does not have
    at all is a 422; values that exist but select no trust together (a subtype absent from a
    region) give an empty table, as a filter form should."""
    try:
        return pick(state, base, filters)
    except NoData:
        for name, value in filters.items():
            try:
                pick(state, base, {name: value})
            except NoData as exc:
                raise WebError(422, "invalid_filter", str(exc)) from None
        pick(state, base, {})  # NoData (a 404) when the type has no trusts at all
        return []


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
