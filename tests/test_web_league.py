"""The league page's precomputed table (``web/pages/league_base.py``): per request it only picks
and orders rows worked out once per (quarter, trust type). Checked against the engine directly:
``api.league_table`` with the same filters, joined with freshly computed likely ranges and last
quarter's results, filtered, searched and sorted in Polars, as the page did per request before."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import polars as pl
import pytest

from nhs_league import api
from nhs_league.analysis.uncertainty import likely_ranges
from nhs_league.dataset import Dataset
from nhs_league.engine.explain import segment_label
from nhs_league.errors import NoData
from nhs_league.methods.pack import Pack
from nhs_league.web.errors import WebError
from nhs_league.web.models import LeagueFilters, LeagueRow
from nhs_league.web.pages import league, league_base
from nhs_league.web.pages.common import match_region
from nhs_league.web.params import Order, SortKey
from nhs_league.web.state import WebState

MHC = "mental-health-community"
SORTS = {
    "rank": ["rank", "trust_name"],
    "trust": ["trust_name", "rank"],
    "code": ["trust_code"],
    "segment": ["segment", "rank", "trust_name"],
    "average": ["average_score", "rank", "trust_name"],
    "likely-rank": ["rank_low", "rank_high", "rank", "trust_name"],
    "change": ["average_change", "rank", "trust_name"],
}


@pytest.fixture(scope="module")
def state(both: Dataset, pack: Pack) -> WebState:
    return WebState(both, pack)


@pytest.fixture(scope="module")
def ranges(state: WebState) -> dict[str, pl.DataFrame]:
    """Likely ranges computed afresh (not the state's memo), per quarter used below."""
    return {
        q: likely_ranges(api.assess_default(state.data, state.pack, quarter=q), state.pack)
        for q in ("Q1 2025/26", "Q4 2025/26")
    }


def filters(**given: Any) -> LeagueFilters:
    return league.filters(
        given.get("region"),
        given.get("subtype"),
        given.get("segment"),
        given.get("icb"),
        given.get("q"),
        SortKey(given.get("sort", "rank")),
        Order(given.get("order", "asc")),
    )


def expected(
    state: WebState, ranges: pl.DataFrame, trust_type: str, quarter: str, f: LeagueFilters
) -> tuple[list[dict[str, Any]], LeagueFilters]:
    """The rows as the page built them per request before: ``api.league_table`` with the
    filters, likely ranges and last quarter joined, searched and sorted in Polars."""
    a = api.assess_default(state.data, state.pack, quarter=quarter)
    if f.region:
        f = f.model_copy(update={"region": match_region(state, f.region, status=422)})
    given = {k: v for k, v in {"region": f.region, "subtype": f.subtype, "icb": f.icb}.items() if v}
    t = api.league_table(a, state.pack, trust_type, **given)
    if t.height and f.subtype:
        f = f.model_copy(update={"subtype": t["subtype"][0]})
    if t.height and f.icb:
        f = f.model_copy(update={"icb": t["icb_code"][0]})
    if f.segment is not None:
        t = t.filter(pl.col("segment") == f.segment)
    if f.q:
        needle = f.q.lower()
        t = t.filter(
            pl.col("trust_name").str.to_lowercase().str.contains(needle, literal=True)
            | (pl.col("trust_code").str.to_lowercase() == needle)
        )
    prev = state.previous(quarter, trust_type)
    before = (
        api.assess_default(state.data, state.pack, quarter=prev)
        .of_type(trust_type)
        .select(
            "trust_code",
            pl.col("average_score").alias("previous_average"),
            pl.col("league_rank").alias("previous_rank"),
        )
        if prev
        else pl.DataFrame(
            schema={
                "trust_code": pl.String,
                "previous_average": pl.Float64,
                "previous_rank": pl.Int64,
            }
        )
    )
    t = (
        t.join(ranges, on="trust_code", how="left", maintain_order="left")
        .join(before, on="trust_code", how="left", maintain_order="left")
        .with_columns(
            (pl.col("average_score") - pl.col("previous_average")).round(2).alias("average_change"),
            (pl.col("previous_rank") - pl.col("rank")).alias("rank_change"),
        )
        .sort(SORTS[f.sort], descending=f.order == "desc", nulls_last=True, maintain_order=True)
    )
    rows = [
        {
            **{k: r[k] for k in LeagueRow.model_fields if k in r},
            "segment_label": segment_label(r["segment"], r["unadjusted_segment"]),
            "override_applied": r["segment"] != r["unadjusted_segment"],
        }
        for r in t.iter_rows(named=True)
    ]
    return rows, f


CASES = [
    ("acute", "Q1 2025/26", {}),
    ("acute", "Q1 2025/26", {"region": "north-west", "sort": "average", "order": "desc"}),
    ("acute", "Q1 2025/26", {"subtype": "acute - teaching", "sort": "likely-rank"}),
    ("acute", "Q1 2025/26", {"segment": 2, "q": "hospital", "sort": "trust", "order": "desc"}),
    ("acute", "Q1 2025/26", {"icb": "QE1", "sort": "code", "order": "desc"}),
    ("acute", "Q1 2025/26", {"icb": "manchester", "region": "North West", "sort": "segment"}),
    ("acute", "Q1 2025/26", {"region": "London", "subtype": "Acute - Small"}),
    ("acute", "Q1 2025/26", {"q": "rbs"}),
    (MHC, "Q4 2025/26", {"sort": "change"}),
    (MHC, "Q4 2025/26", {"sort": "change", "order": "desc"}),
    (MHC, "Q4 2025/26", {"region": "South East", "segment": 3, "sort": "change", "order": "desc"}),
    (
        MHC,
        "Q4 2025/26",
        {"subtype": "community", "q": "nhs", "sort": "likely-rank", "order": "desc"},
    ),
]


@pytest.mark.parametrize(("trust_type", "quarter", "given"), CASES)
def test_precomputed_rows_are_the_engines(
    state: WebState,
    ranges: dict[str, pl.DataFrame],
    trust_type: str,
    quarter: str,
    given: dict[str, Any],
) -> None:
    f = filters(**given)
    want, want_filters = expected(state, ranges[quarter], trust_type, quarter, f)
    ctx = league.build(state, trust_type, quarter, f)
    assert [r.model_dump() for r in ctx.rows] == want
    assert ctx.filters == want_filters and ctx.shown == len(want)


def test_every_sort_and_order_of_the_whole_table(
    state: WebState, ranges: dict[str, pl.DataFrame]
) -> None:
    for sort in SortKey:
        for order in Order:
            f = filters(sort=sort.value, order=order.value)
            want, _ = expected(state, ranges["Q4 2025/26"], MHC, "Q4 2025/26", f)
            got = league.build(state, MHC, "Q4", f).rows
            assert [r.trust_code for r in got] == [r["trust_code"] for r in want], (sort, order)


@pytest.mark.parametrize(
    "given",
    [
        {"subtype": "bogus"},
        {"icb": "zzz"},
        {"icb": "north"},
        {"region": "north-west", "icb": "zzz"},
    ],
)
def test_a_value_the_type_lacks_is_the_engines_error(
    state: WebState, given: dict[str, str]
) -> None:
    a = api.assess_default(state.data, state.pack, quarter="Q1 2025/26")
    name, value = next((k, v) for k, v in given.items() if k != "region")
    with pytest.raises(NoData) as want:
        api.league_table(a, state.pack, "acute", **{name: value})
    with pytest.raises(WebError) as got:
        league.build(state, "acute", None, filters(**given))
    assert (got.value.status, got.value.body.code) == (422, "invalid_filter")
    assert got.value.body.message == str(want.value)


def test_concurrent_first_requests_compute_each_quarter_and_type_once(
    both: Dataset, pack: Pack, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = WebState(both, pack)
    keys = [("acute", "Q1 2025/26"), (MHC, "Q4 2025/26"), (MHC, "Q3 2025/26")]
    for t, q in keys:
        state.extras((q, t))  # the likely ranges: memoised (and tested) separately
    compute = league_base._compute
    calls: Counter[tuple[str, str]] = Counter()
    start = threading.Barrier(12)

    def slow(s: WebState, quarter: str, trust_type: str) -> league_base.LeagueBase:
        calls[(trust_type, quarter)] += 1
        time.sleep(0.05)  # every other thread arrives meanwhile
        return compute(s, quarter, trust_type)

    monkeypatch.setattr(league_base, "_compute", slow)
    results: dict[int, list[str]] = {}

    def request(i: int) -> None:
        t, q = keys[i % len(keys)]
        start.wait()
        results[i] = [r.trust_code for r in league.build(state, t, q, filters()).rows]

    threads = [threading.Thread(target=request, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == Counter({(t, q): 1 for t, q in keys})
    assert len(results) == 12
    for i, codes in results.items():
        t, q = keys[i % len(keys)]
        assert codes == [r.trust_code for r in league_base.league_base(state, q, t).rows]
