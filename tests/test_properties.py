"""Property tests (Hypothesis) of the scoring, segmentation and ranking rules."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from nhs_league.dataset import Dataset
from nhs_league.engine import scoring as sc
from nhs_league.engine.pipeline import Assessment, assess
from nhs_league.engine.ranking import league_rank
from nhs_league.engine.segments import CutPoints, apply_segments
from nhs_league.methods.pack import Metric, Pack, load_pack

PACK = load_pack()
RANKED = [m for m in PACK.metrics if m.family in ("continuous", "target", "standard")]
RANKED_IDS = [m.id for m in RANKED]
TYPES = ["acute", "mental-health-community", "ambulance"]

FAST = settings(max_examples=100, deadline=None)
SLOW = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _values_for(metric: Metric) -> st.SearchStrategy[float]:
    """Values around the metric's target or standard, so that both sides are exercised."""
    centre = metric.target if metric.target is not None else 0.0
    near = st.sampled_from([centre - 1.0, centre - 0.5, centre, centre + 0.5, centre + 1.0])
    wide = st.floats(
        min_value=centre - 100.0, max_value=centre + 100.0, allow_nan=False, allow_infinity=False
    )
    return st.one_of(near, wide)


@st.composite
def ranked_pool(
    draw: st.DrawFn, metric_ids: list[str] = RANKED_IDS
) -> tuple[Metric, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A metric and a pool: values, trust types, file ranks (or NaN) and count flags."""
    metric = PACK.metric(draw(st.sampled_from(metric_ids)))
    n = draw(st.integers(min_value=1, max_value=40))
    values = np.array(draw(st.lists(_values_for(metric), min_size=n, max_size=n)))
    groups = np.array(draw(st.lists(st.sampled_from(TYPES), min_size=n, max_size=n)), dtype=object)
    ranks = np.array(
        draw(
            st.lists(
                st.one_of(st.just(np.nan), st.integers(1, 200).map(float)), min_size=n, max_size=n
            )
        )
    )
    if metric.count_units:
        counts = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
        # a count row's value is a number of cases
        values = np.where(counts, np.abs(np.round(values)), values)
    else:
        counts = np.zeros(n, dtype=bool)
    return metric, values, groups, ranks, counts


# --------------------------------------------------------------------------------------------
# Scores stay on the scale
# --------------------------------------------------------------------------------------------


@FAST
@given(ranked_pool())
def test_every_ranked_score_is_between_1_and_4(
    pool: tuple[Metric, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    metric, values, groups, ranks, counts = pool
    s = sc.score_ranked(metric, values, groups, ranks, counts)
    assert s.score.shape == values.shape
    assert np.all(s.score >= PACK.score_min - 1e-12)
    assert np.all(s.score <= PACK.score_max + 1e-12)
    # positions lie inside the group they were ranked in
    ranked = s.pool_size > 0
    assert np.all(s.position[ranked] >= 1)
    assert np.all(s.position[ranked] <= s.pool_size[ranked])


@FAST
@given(
    st.sampled_from(["OF0079", "OF0081"]),
    st.lists(st.floats(-50, 50, allow_nan=False), min_size=1, max_size=30),
)
def test_band_scores_are_whole_bands(metric_id: str, values: list[float]) -> None:
    got = sc.band_score(PACK.metric(metric_id), np.array(values))
    assert set(got.tolist()) <= {1.0, 2.0, 3.0, 4.0}
    # bands are monotone: a higher (better) value never gets a worse band
    order = np.argsort(values, kind="stable")
    assert np.all(np.diff(got[order]) <= 0)


@FAST
@given(st.lists(st.tuples(st.integers(1, 4), st.integers(1, 4)), min_size=1, max_size=20))
def test_finance_matrix_on_the_scale_and_monotone(cells: list[tuple[int, int]]) -> None:
    m = PACK.metric("OF1080")
    rows = np.array([c[0] for c in cells], dtype=float)
    cols = np.array([c[1] for c in cells], dtype=float)
    got = sc.matrix_score(m, rows, cols)
    assert set(got.tolist()) <= {1.0, 2.0, 3.0, 4.0}
    table = np.asarray(m.matrix)
    assert np.all(np.diff(table, axis=0) >= 0)
    assert np.all(np.diff(table, axis=1) >= 0)


@FAST
@given(st.lists(st.integers(0, 8).map(float), min_size=1, max_size=30), st.data())
def test_positions_are_competition_positions(keys: list[float], data: st.DataObject) -> None:
    key = np.array(keys)
    n = len(keys)
    # without file ranks: 1 + the number of strictly better values (1, 2, 2, 4)
    groups = np.array(data.draw(st.lists(st.sampled_from(TYPES), min_size=n, max_size=n)))
    pos = sc.positions(key, groups, np.full(n, np.nan))
    assert pos.tolist() == [1 + int((key < k).sum()) for k in key]
    # one trust type, file ranks that order the values: every tie is split, positions 1..n
    tiebreak = np.array(data.draw(st.permutations(list(range(n)))), dtype=float)
    order = np.lexsort((tiebreak, key))
    rank = np.empty(n)
    rank[order] = np.arange(1, n + 1)
    one = sc.positions(key, np.zeros(n), rank)
    assert one.tolist() == rank.astype(int).tolist()


# --------------------------------------------------------------------------------------------
# Improving one's own value never worsens one's own score
# --------------------------------------------------------------------------------------------


@FAST
@given(ranked_pool(), st.data())
def test_improving_own_value_never_worsens_own_score(
    pool: tuple[Metric, np.ndarray, np.ndarray, np.ndarray, np.ndarray], data: st.DataObject
) -> None:
    metric, values, groups, _ranks, counts = pool
    # Ranks are NaN: a file rank belongs to the unimproved value and would be stale.
    ranks = np.full(values.shape, np.nan)
    i = data.draw(st.integers(0, len(values) - 1))
    step = data.draw(
        st.one_of(
            st.floats(min_value=0.0, max_value=50.0, allow_nan=False),
            st.sampled_from([0.5, 1.0]),
        )
    )
    if counts[i]:
        step = float(round(step))  # a count improves by whole cases
    better = values.copy()
    better[i] = values[i] + step if metric.higher_is_better else values[i] - step
    if counts[i]:
        better[i] = max(better[i], 0.0)
    before = sc.score_ranked(metric, values, groups, ranks, counts).score[i]
    after = sc.score_ranked(metric, better, groups, ranks, counts).score[i]
    assert after <= before + 1e-12, (metric.id, values[i], better[i], before, after)


@FAST
@given(ranked_pool(), st.data())
def test_improving_own_value_within_one_type_with_consistent_file_ranks(
    pool: tuple[Metric, np.ndarray, np.ndarray, np.ndarray, np.ndarray], data: st.DataObject
) -> None:
    """Same property for one trust type, with file ranks that order the values (as NHS England's
    within-type Rank does), recomputed after the improvement; rounded ties keep the file order."""
    metric, values, _groups, _ranks, counts = pool
    values = np.round(values, 1)  # coarse values so that rounded ties are common
    groups = np.full(values.shape, "acute", dtype=object)
    tiebreak = np.array(data.draw(st.permutations(list(range(len(values))))), dtype=float)
    i = data.draw(st.integers(0, len(values) - 1))
    step = data.draw(st.sampled_from([0.0, 0.1, 0.5, 1.0, 5.0]))
    if counts[i]:
        step = float(round(step))
    better = values.copy()
    better[i] = values[i] + step if metric.higher_is_better else values[i] - step
    if counts[i]:
        better[i] = max(better[i], 0.0)

    def file_rank(v: np.ndarray) -> np.ndarray:
        key = -v if metric.higher_is_better else v
        order = np.lexsort((tiebreak, key))
        r = np.empty(len(v))
        r[order] = np.arange(1, len(v) + 1)
        return r

    before = sc.score_ranked(metric, values, groups, file_rank(values), counts).score[i]
    after = sc.score_ranked(metric, better, groups, file_rank(better), counts).score[i]
    assert after <= before + 1e-12, (metric.id, values[i], better[i], before, after)


# --------------------------------------------------------------------------------------------
# The financial override never improves a segment
# --------------------------------------------------------------------------------------------


@st.composite
def segment_frame(draw: st.DrawFn) -> tuple[pl.DataFrame, CutPoints]:
    n = draw(st.integers(1, 40))
    averages = draw(st.lists(st.integers(100, 400).map(lambda x: x / 100), min_size=n, max_size=n))
    deficit = draw(st.lists(st.one_of(st.booleans(), st.none()), min_size=n, max_size=n))
    support = draw(st.lists(st.one_of(st.booleans(), st.none()), min_size=n, max_size=n))
    cuts = sorted(draw(st.lists(st.integers(100, 400), min_size=3, max_size=3)))
    frame = pl.DataFrame(
        {
            "trust_code": [f"T{i:02d}" for i in range(n)],
            "average_score": averages,
            "financial_deficit": deficit,
            "intensive_support": support,
        },
        schema={
            "trust_code": pl.String,
            "average_score": pl.Float64,
            "financial_deficit": pl.Boolean,
            "intensive_support": pl.Boolean,
        },
    )
    return frame, CutPoints((cuts[0] / 100, cuts[1] / 100, cuts[2] / 100), "test")


@FAST
@given(segment_frame())
def test_override_never_improves_a_segment(case: tuple[pl.DataFrame, CutPoints]) -> None:
    frame, cuts = case
    out = apply_segments(PACK, frame, cuts)
    unadj = out["unadjusted_segment"].to_numpy()
    adj = out["adjusted_segment"].to_numpy()
    deficit = out["financial_deficit"].fill_null(False).to_numpy()
    assert np.all((unadj >= 1) & (unadj <= 4))
    assert np.all(adj >= unadj)
    assert np.all(adj[deficit] == np.maximum(unadj[deficit], 3))
    assert np.all(adj[~deficit] == unadj[~deficit])
    # unadjusted: 1 + the number of cut-points the average is past (a tie takes the better)
    avg = out["average_score"].to_numpy()
    expected = 1 + sum((avg > c).astype(int) for c in cuts.values)
    assert np.array_equal(unadj, expected)
    support = out["intensive_support"].fill_null(False).to_numpy()
    final = out["final_segment"].to_numpy()
    assert np.all(final[support] == 5)
    assert np.all(final[~support] == adj[~support])


@FAST
@given(segment_frame())
def test_override_with_every_trust_in_deficit(case: tuple[pl.DataFrame, CutPoints]) -> None:
    frame, cuts = case
    plain = apply_segments(PACK, frame.with_columns(pl.lit(False).alias("financial_deficit")), cuts)
    flagged = apply_segments(
        PACK, frame.with_columns(pl.lit(True).alias("financial_deficit")), cuts
    )
    assert plain["unadjusted_segment"].equals(flagged["unadjusted_segment"])
    assert plain["adjusted_segment"].equals(plain["unadjusted_segment"])
    u = flagged["unadjusted_segment"].to_numpy()
    assert np.array_equal(flagged["adjusted_segment"].to_numpy(), np.maximum(u, 3))


# --------------------------------------------------------------------------------------------
# League ranks are a valid competition ranking within each trust type
# --------------------------------------------------------------------------------------------


def assert_competition_ranking(table: pl.DataFrame) -> None:
    for (trust_type,), sub in table.group_by("trust_type"):
        ranks = sorted(sub["league_rank"].to_list())
        assert ranks, trust_type
        assert None not in ranks, trust_type
        assert ranks[0] == 1, trust_type
        distinct = sorted(set(ranks))
        for r, nxt in itertools.pairwise(distinct):
            assert nxt == r + ranks.count(r), (trust_type, r, nxt)
        assert distinct[-1] + ranks.count(distinct[-1]) - 1 == sub.height
        assert set(sub["league_size"].to_list()) == {sub.height}
        # the ranking follows (adjusted segment, 2-dp average); equal pairs share a rank
        key = {
            (s, round(a * 100)): r
            for s, a, r in sub.select("adjusted_segment", "average_score", "league_rank").rows()
        }
        assert len(key) == len(distinct)
        ordered = [key[k] for k in sorted(key)]
        assert ordered == sorted(ordered)
        assert len(set(ordered)) == len(ordered)


@st.composite
def league_frame(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(1, 60))
    return pl.DataFrame(
        {
            "trust_code": [f"T{i:02d}" for i in range(n)],
            "trust_type": draw(st.lists(st.sampled_from(TYPES), min_size=n, max_size=n)),
            "adjusted_segment": draw(st.lists(st.integers(1, 4), min_size=n, max_size=n)),
            # few distinct averages so that ties are common
            "average_score": draw(
                st.lists(
                    st.integers(100, 400).map(lambda x: x / 100)
                    | st.sampled_from([2.0, 2.05, 2.5]),
                    min_size=n,
                    max_size=n,
                )
            ),
        },
        schema={
            "trust_code": pl.String,
            "trust_type": pl.String,
            "adjusted_segment": pl.Int64,
            "average_score": pl.Float64,
        },
    )


@FAST
@given(league_frame())
def test_league_rank_is_a_competition_ranking(frame: pl.DataFrame) -> None:
    assert_competition_ranking(league_rank(frame, PACK.ranking_digits))


def test_league_rank_on_real_q1_tables(pack: Pack, both: Dataset) -> None:
    a = assess(both, pack, quarter="Q1 2025/26", mode="reproduce")
    assert set(a.table["trust_type"].unique()) == {"acute", "mental-health-community"}
    assert_competition_ranking(a.table)
    s = assess(both, pack, quarter="Q1 2025/26", mode="strict")
    assert_competition_ranking(s.table)


# --------------------------------------------------------------------------------------------
# Shuffling input rows changes no output
# --------------------------------------------------------------------------------------------


def _shuffled(data: Dataset, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)

    def perm(frame: pl.DataFrame) -> pl.DataFrame:
        return frame[rng.permutation(frame.height).tolist()]

    return Dataset(
        perm(data.trusts),
        perm(data.observations),
        perm(data.flags),
        perm(data.published),
        data.sources,
    )


def _assert_same(a: Assessment, b: Assessment) -> None:
    assert a.quarter == b.quarter
    assert a.cut_points == b.cut_points
    assert sorted(a.notes) == sorted(b.notes)
    assert_frame_equal(a.table.sort("trust_code"), b.table.sort("trust_code"), check_exact=True)
    assert_frame_equal(
        a.metric_scores.sort("trust_code", "metric_id"),
        b.metric_scores.sort("trust_code", "metric_id"),
        check_exact=True,
    )
    assert_frame_equal(
        a.items.sort("trust_code", "item_id"),
        b.items.sort("trust_code", "item_id"),
        check_exact=True,
    )


@pytest.fixture(scope="module")
def acute_reference(pack: Pack, acute: Dataset) -> dict[str, Assessment]:
    return {mode: assess(acute, pack, mode=mode) for mode in ("reproduce", "strict")}


@SLOW
@given(seed=st.integers(0, 2**32 - 1), mode=st.sampled_from(["reproduce", "strict"]))
def test_shuffling_rows_changes_no_output(
    pack: Pack, acute: Dataset, acute_reference: dict[str, Assessment], seed: int, mode: str
) -> None:
    got = assess(_shuffled(acute, seed), pack, mode=mode)
    _assert_same(acute_reference[mode], got)


@SLOW
@given(seed=st.integers(0, 2**32 - 1))
def test_shuffling_rows_of_two_types_changes_no_output(
    pack: Pack, both: Dataset, seed: int
) -> None:
    ref = assess(both, pack, quarter="Q1 2025/26", mode="reproduce")
    got = assess(_shuffled(both, seed), pack, quarter="Q1 2025/26", mode="reproduce")
    _assert_same(ref, got)
