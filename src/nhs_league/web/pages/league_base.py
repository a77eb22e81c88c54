"""One trust type's league table in one quarter, worked out once; a request only picks and orders
its rows.

Why: the data never change while the app runs, yet building the table per request
(``api.league_table``, the ODS lookup, the joins with the likely ranges and last quarter, the
sort, the rows) cost ~1.5 ms of Polars calls, most of a cache miss of the league page. Here it is
done once per (quarter, type), lazily and under the state's per-key lock
(``WebState.derived``): the rows of :func:`nhs_league.api.league_table` (no filters, so in its
order: rank, then name) joined with the likely ranges and the change since last quarter, the
row order of every sort (sorted by Polars, exactly as before), and the filter form's choices.

A request then filters those ~134 rows in plain Python, as ``api.league_table`` does (its own
matching of a region, subtype or ICB, with its error messages), and keeps the precomputed order
of its sort: a stable sort of a subset is the full sort restricted to that subset.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import polars as pl

from nhs_league import api
from nhs_league.engine.explain import segment_label
from nhs_league.errors import NoData
from nhs_league.web.models import Choice, LeagueRow
from nhs_league.web.params import SortKey
from nhs_league.web.state import WebState

_SORTS: dict[str, list[str]] = {
    SortKey.rank: ["rank", "trust_name"],
    SortKey.trust: ["trust_name", "rank"],
    SortKey.code: ["trust_code"],
    SortKey.segment: ["segment", "rank", "trust_name"],
    SortKey.average: ["average_score", "rank", "trust_name"],
    SortKey.likely_rank: ["rank_low", "rank_high", "rank", "trust_name"],
    SortKey.change: ["average_change", "rank", "trust_name"],
}


@dataclass(frozen=True)
class LeagueBase:
    """The whole league table of one type and quarter, and what its page offers."""

    quarter: str
    trust_type: str
    size: int
    rows: list[LeagueRow]  # api.league_table's order: rank, then name
    names: list[str]  # each row's trust name in lower case (Polars' lower-casing), for search
    codes: list[str]  # each row's trust code in lower case
    orders: dict[tuple[str, bool], list[int]]  # (sort, descending) → row positions in order
    icb_pairs: list[tuple[str, str]]  # (code, name) of the type's ICBs, as api.league_table has
    has_icb: bool
    regions: list[str]
    subtypes: list[str]
    icbs: list[Choice]  # the ICB filter's choices (none without organisation data)
    cut_points: list[float]
    previous_quarter: str | None
    no_data: str | None  # api.league_table's NoData message when the type has no trusts


def league_base(state: WebState, quarter: str, trust_type: str) -> LeagueBase:
    """The memoised :class:`LeagueBase` of a validated quarter and type (computed once)."""
    base: LeagueBase = state.derived.get(
        ("league", quarter, trust_type), lambda: _compute(state, quarter, trust_type)
    )
    return base


def _compute(state: WebState, quarter: str, trust_type: str) -> LeagueBase:
    a = state.assessment(quarter)
    full = a.of_type(trust_type)
    try:
        table = api.league_table(a, state.pack, trust_type)
        no_data = None
    except NoData as exc:
        table, no_data = None, str(exc)
    frame = pl.DataFrame() if table is None else _enriched(state, quarter, trust_type, table)
    rows = [_row(r) for r in frame.iter_rows(named=True)]
    return LeagueBase(
        quarter=quarter,
        trust_type=trust_type,
        size=full.height,
        rows=rows,
        names=frame["trust_name"].str.to_lowercase().to_list() if rows else [],
        codes=frame["trust_code"].str.to_lowercase().to_list() if rows else [],
        orders=_orders(frame) if rows else {},
        icb_pairs=api.icbs_of(table) if table is not None else [],
        has_icb=table is not None and "icb_code" in table.columns,
        regions=sorted(set(full["region"].to_list())),
        subtypes=sorted(set(full["subtype"].to_list())),
        icbs=_icbs(state, quarter, trust_type),
        cut_points=list(a.cut_points.values),
        previous_quarter=state.previous(quarter, trust_type),
        no_data=no_data,
    )


def _enriched(state: WebState, quarter: str, trust_type: str, table: pl.DataFrame) -> pl.DataFrame:
    """The table with its likely ranges, last quarter's results and the change since, and each
    row's position (the join keeps the table's order)."""
    return (
        table.join(
            state.extras((quarter, trust_type)), on="trust_code", how="left", maintain_order="left"
        )
        .with_columns(
            (pl.col("average_score") - pl.col("previous_average")).round(2).alias("average_change"),
            (pl.col("previous_rank") - pl.col("rank")).alias("rank_change"),
        )
        .with_row_index("_position")
    )


def _orders(frame: pl.DataFrame) -> dict[tuple[str, bool], list[int]]:
    """The positions of ``frame``'s rows in the order of each sort, ascending and descending:
    Polars' stable sort, nulls last, as the page always sorted."""
    return {
        (str(key), desc): frame.sort(cols, descending=desc, nulls_last=True, maintain_order=True)[
            "_position"
        ].to_list()
        for key, cols in _SORTS.items()
        for desc in (False, True)
    }


def pick(state: WebState, base: LeagueBase, filters: dict[str, str]) -> list[int]:
    """Positions of the rows ``filters`` (region, subtype, icb) select, as
    ``api.league_table(..., **filters)`` selects them: ICB, then region, then subtype, each
    matched among the rows left (NoData, with its message, when a value is not among them)."""
    if base.no_data is not None:
        raise NoData(base.no_data)
    rows = base.rows
    picked = list(range(len(rows)))
    if icb := filters.get("icb"):
        code = api._match_icb(base.icb_pairs, icb)
        picked = [i for i in picked if rows[i].icb_code == code]
    if region := filters.get("region"):
        values = list(dict.fromkeys(rows[i].region for i in picked))
        name = api._match_label(values, region, "region", state.pack.region_aliases)
        picked = [i for i in picked if rows[i].region == name]
    if subtype := filters.get("subtype"):
        values = list(dict.fromkeys(rows[i].subtype for i in picked))
        name = api._match_label(values, subtype, "subtype", {})
        picked = [i for i in picked if rows[i].subtype == name]
    return picked


def ordered(base: LeagueBase, picked: list[int], sort: str, descending: bool) -> list[LeagueRow]:
    """The picked rows in the order of ``sort``: a stable sort of some of the rows is the
    stable sort of them all, without the others."""
    if not picked:
        return []
    keep = set(picked)
    return [base.rows[i] for i in base.orders[(sort, descending)] if i in keep]


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
