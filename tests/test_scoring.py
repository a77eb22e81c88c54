"""Unit tests of each scoring rule (spec sections 2-3) on small hand-made arrays.

Every expected number is worked out by hand from the spec's formulas:
family A ``1 + 3 (p − 1) / (N − 1)``, family B ``2 + 2 (p − 1) / (M − 1)``, family C
``1 + 2 (p − 1) / (M − 1)``, family D bands and the finance matrix.
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl
import pytest

from nhs_league import api
from nhs_league.dataset import Dataset
from nhs_league.engine import aggregate
from nhs_league.engine import scoring as sc
from nhs_league.engine.pipeline import Assessment, assess
from nhs_league.methods.pack import Pack

NAN = np.nan
Q1 = "Q1 2025/26"
Q2 = "Q2 2025/26"


def _ranked(
    pack: Pack,
    metric_id: str,
    values: list[float],
    *,
    groups: list[str] | None = None,
    ranks: list[float] | None = None,
    counts: list[bool] | None = None,
) -> sc.Scored:
    n = len(values)
    return sc.score_ranked(
        pack.metric(metric_id),
        np.asarray(values, dtype=float),
        np.asarray(groups if groups is not None else ["acute"] * n, dtype=object),
        np.asarray(ranks if ranks is not None else [NAN] * n, dtype=float),
        np.asarray(counts if counts is not None else [False] * n, dtype=bool),
    )


# --------------------------------------------------------------------------------------------
# Positions
# --------------------------------------------------------------------------------------------


class TestPositions:
    def test_competition_ranking(self) -> None:
        key = np.array([1.0, 2.0, 2.0, 3.0])
        pos = sc.positions(key, np.zeros(4), np.full(4, NAN))
        assert pos.tolist() == [1, 2, 2, 4]

    def test_order_of_input_does_not_matter(self) -> None:
        key = np.array([3.0, 2.0, 1.0, 2.0])
        pos = sc.positions(key, np.zeros(4), np.full(4, NAN))
        assert pos.tolist() == [4, 2, 1, 2]

    def test_equal_values_in_one_group_split_by_within_type_rank(self) -> None:
        key = np.array([1.0, 2.0, 2.0, 3.0])
        group = np.array(["acute"] * 4, dtype=object)
        pos = sc.positions(key, group, np.array([1.0, 2.0, 3.0, 4.0]))
        assert pos.tolist() == [1, 2, 3, 4]
        # the file's Rank decides the order, not the row order
        pos = sc.positions(key, group, np.array([1.0, 3.0, 2.0, 4.0]))
        assert pos.tolist() == [1, 3, 2, 4]

    def test_equal_values_across_groups_share_a_position(self) -> None:
        key = np.array([1.0, 2.0, 2.0, 3.0])
        group = np.array(["acute", "acute", "mental-health-community", "acute"], dtype=object)
        pos = sc.positions(key, group, np.array([1.0, 2.0, 1.0, 3.0]))
        assert pos.tolist() == [1, 2, 2, 4]

    def test_mixed_tie_within_and_across_groups(self) -> None:
        # Three equal values: two acute (file ranks 2, 3) and one MH. The acute pair is split by
        # the file's rank; the MH trust cannot be ordered against either and shares position 2.
        key = np.array([1.0, 5.0, 5.0, 5.0])
        group = np.array(["acute", "acute", "acute", "mental-health-community"], dtype=object)
        pos = sc.positions(key, group, np.array([1.0, 3.0, 2.0, 1.0]))
        assert pos.tolist() == [1, 3, 2, 2]


# --------------------------------------------------------------------------------------------
# Family A: continuous
# --------------------------------------------------------------------------------------------


class TestContinuous:
    def test_lower_is_better(self, pack: Pack) -> None:
        # OF0014 (12-hour waits), lower is better. Positions 4, 1, 2, 2, 5; N = 5.
        s = _ranked(pack, "OF0014", [5.0, 1.0, 3.0, 3.0, 10.0])
        assert s.position.tolist() == [4, 1, 2, 2, 5]
        assert s.pool_size.tolist() == [5] * 5
        expected = [1 + 3 * 3 / 4, 1.0, 1 + 3 * 1 / 4, 1 + 3 * 1 / 4, 4.0]
        np.testing.assert_allclose(s.score, expected, rtol=0, atol=1e-12)
        np.testing.assert_allclose(s.score, [3.25, 1.0, 1.75, 1.75, 4.0], rtol=0, atol=1e-12)

    def test_higher_is_better(self, pack: Pack) -> None:
        # OF0023 (18-week waits), higher is better. N = 4: 1 + 3 × (p − 1)/3 = p.
        s = _ranked(pack, "OF0023", [60.0, 70.0, 50.0, 65.0])
        assert s.position.tolist() == [3, 1, 4, 2]
        np.testing.assert_allclose(s.score, [3.0, 1.0, 4.0, 2.0], rtol=0, atol=1e-12)

    def test_awkward_pool_size(self, pack: Pack) -> None:
        # N = 7: positions 1..7 give 1 + 3 k / 6 = 1, 1.5, 2, 2.5, 3, 3.5, 4
        values = [7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0]
        s = _ranked(pack, "OF0014", values)
        np.testing.assert_allclose(s.score, [4.0, 3.5, 3.0, 2.5, 2.0, 1.5, 1.0], rtol=0, atol=1e-12)

    def test_within_type_rank_breaks_rounded_ties(self, pack: Pack) -> None:
        # OF0061 staff survey, higher is better; 6.1 twice, file ranks 3 then 2.
        s = _ranked(pack, "OF0061", [7.0, 6.1, 6.1, 5.0], ranks=[1.0, 3.0, 2.0, 4.0])
        assert s.position.tolist() == [1, 3, 2, 4]
        np.testing.assert_allclose(s.score, [1.0, 3.0, 2.0, 4.0], rtol=0, atol=1e-12)

    def test_no_target_met(self, pack: Pack) -> None:
        s = _ranked(pack, "OF0014", [1.0, 2.0])
        assert list(s.target_met) == [None, None]


# --------------------------------------------------------------------------------------------
# Family B: target, then ranked among the trusts that miss it
# --------------------------------------------------------------------------------------------


class TestTarget:
    def test_higher_is_better_target(self, pack: Pack) -> None:
        # OF0013 A&E 4-hour, target at least 78%. 90 and exactly 78 meet it (1.00). The misses
        # 77.9, 70, 60, 50 rank 1..4 among M = 4: 2 + 2 (p − 1)/3.
        s = _ranked(pack, "OF0013", [90.0, 78.0, 77.9, 50.0, 70.0, 60.0])
        expected = [1.0, 1.0, 2.0, 4.0, 2 + 2 / 3, 2 + 4 / 3]
        np.testing.assert_allclose(s.score, expected, rtol=0, atol=1e-12)
        assert list(s.target_met) == [True, True, False, False, False, False]
        assert s.pool_size.tolist() == [0, 0, 4, 4, 4, 4]
        assert s.position.tolist() == [0, 0, 1, 4, 2, 3]

    def test_exactly_on_target_counts_as_met(self, pack: Pack) -> None:
        for metric_id, target in [
            ("OF0003", 1.0),  # lower is better: below 1%
            ("OF0010", 80.0),
            ("OF0011", 75.0),
            ("OF0013", 78.0),
            ("OF0020", 0.0),
            ("OF0048", 1.0),
            ("OF0088", 1.0),
            ("OF0106", 0.0),
            ("OF0017", 30.0),
        ]:
            m = pack.metric(metric_id)
            assert m.family == "target"
            assert m.target == target
            s = _ranked(pack, metric_id, [target])
            assert s.score.tolist() == [1.0], metric_id
            assert list(s.target_met) == [True], metric_id

    def test_lower_is_better_target(self, pack: Pack) -> None:
        # OF0003 over-52-week waits, target 1% or less. Misses 1.01, 3.0, 2.0: M = 3 → 2, 4, 3.
        s = _ranked(pack, "OF0003", [0.5, 1.0, 1.01, 3.0, 2.0])
        np.testing.assert_allclose(s.score, [1.0, 1.0, 2.0, 4.0, 3.0], rtol=0, atol=1e-12)

    def test_tied_misses_share_a_position(self, pack: Pack) -> None:
        # OF0010 target 80%: misses 70, 70, 60 → positions 1, 1, 3 of M = 3 → 2, 2, 4
        s = _ranked(pack, "OF0010", [70.0, 70.0, 60.0, 85.0])
        np.testing.assert_allclose(s.score, [2.0, 2.0, 4.0, 1.0], rtol=0, atol=1e-12)

    def test_count_rows_score_one_plus_count_and_are_not_in_m(self, pack: Pack) -> None:
        # OF0048 E. coli. Rate rows 0.5 and 1.0 meet the threshold; misses 1.2, 1.5, 2.0 rank
        # among M = 3 (the count rows are not counted): 2, 3, 4. Count rows: min(1 + count, 4).
        values = [0.5, 1.0, 1.2, 1.5, 2.0, 0.0, 2.0, 5.0, 3.0]
        counts = [False] * 5 + [True] * 4
        s = _ranked(pack, "OF0048", values, counts=counts)
        np.testing.assert_allclose(
            s.score, [1.0, 1.0, 2.0, 3.0, 4.0, 1.0, 3.0, 4.0, 4.0], rtol=0, atol=1e-12
        )
        assert s.pool_size.tolist() == [0, 0, 3, 3, 3, 0, 0, 0, 0]
        assert list(s.target_met) == [True, True, False, False, False, True, False, False, False]

    def test_count_row_equal_to_a_miss_does_not_change_the_misses(self, pack: Pack) -> None:
        # OF0088 C. difficile: a count of 1.5 would tie a rate miss of 1.5 if it were ranked.
        s = _ranked(pack, "OF0088", [1.5, 2.5, 1.0], counts=[False, False, True])
        np.testing.assert_allclose(s.score, [2.0, 4.0, 2.0], rtol=0, atol=1e-12)
        assert s.position.tolist() == [1, 2, 0]

    def test_single_miss(self, pack: Pack) -> None:
        # M = 1: the formula degenerates; the only miss takes the bottom of the band, 2.00.
        s = _ranked(pack, "OF0013", [90.0, 50.0])
        assert s.score.tolist() == [1.0, 2.0]


# --------------------------------------------------------------------------------------------
# Family C: standard, then ranked among the trusts that meet it
# --------------------------------------------------------------------------------------------


class TestStandard:
    def test_below_standard_scores_four_rest_ranked(self, pack: Pack) -> None:
        # OF0057 urgent community response, 70%: 69.99 and 50 are below → 4.00. Meeting:
        # 90, 80, 70 (exactly on the standard meets it) → M = 3: 1 + 2 (p − 1)/2 = 1, 2, 3.
        s = _ranked(pack, "OF0057", [69.99, 70.0, 80.0, 90.0, 50.0])
        np.testing.assert_allclose(s.score, [4.0, 3.0, 2.0, 1.0, 4.0], rtol=0, atol=1e-12)
        assert list(s.target_met) == [False, True, True, True, False]
        assert s.pool_size.tolist() == [0, 3, 3, 3, 0]

    def test_five_meeting(self, pack: Pack) -> None:
        # M = 5: 1 + 2 k / 4 = 1, 1.5, 2, 2.5, 3
        s = _ranked(pack, "OF0057", [99.0, 95.0, 90.0, 85.0, 71.0, 10.0])
        np.testing.assert_allclose(s.score, [1.0, 1.5, 2.0, 2.5, 3.0, 4.0], rtol=0, atol=1e-12)


# --------------------------------------------------------------------------------------------
# Family D: bands, and the finance matrix
# --------------------------------------------------------------------------------------------


class TestBands:
    @pytest.mark.parametrize(
        ("value", "band"),
        [
            (5.0, 1),
            (0.0, 1),
            (-0.01, 2),
            (-0.5, 2),
            (-0.99, 2),
            (-1.0, 3),  # inner edge → the worse band
            (-1.01, 3),
            (-1.99, 3),
            (-2.0, 4),  # inner edge → the worse band
            (-7.26, 4),
        ],
    )
    def test_of0079_plan(self, pack: Pack, value: float, band: int) -> None:
        m = pack.metric("OF0079")
        assert m.bands == (0.0, -1.0, -2.0)
        assert sc.band_score(m, np.array([value])).tolist() == [float(band)]

    @pytest.mark.parametrize(
        ("value", "band"),
        [
            (1.0, 1),
            (0.0, 1),
            (-0.1, 2),
            (-0.49, 2),
            (-0.5, 3),  # inner edge → the worse band
            (-0.51, 3),
            (-0.99, 3),
            (-1.0, 4),  # inner edge → the worse band
            (-1.01, 4),
            (-5.0, 4),
        ],
    )
    def test_of0081_variance(self, pack: Pack, value: float, band: int) -> None:
        m = pack.metric("OF0081")
        assert m.bands == (0.0, -0.5, -1.0)
        assert sc.band_score(m, np.array([value])).tolist() == [float(band)]

    def test_vectorised(self, pack: Pack) -> None:
        m = pack.metric("OF0079")
        got = sc.band_score(m, np.array([1.0, -0.5, -1.0, -1.5, -2.0, -3.0]))
        assert got.tolist() == [1.0, 2.0, 3.0, 3.0, 4.0, 4.0]


# The spec's finance matrix: rows = plan (OF1079) band, columns = variance (OF1081) band.
SPEC_MATRIX = {
    (1, 1): 1, (1, 2): 1, (1, 3): 2, (1, 4): 3,
    (2, 1): 2, (2, 2): 2, (2, 3): 3, (2, 4): 4,
    (3, 1): 2, (3, 2): 3, (3, 3): 3, (3, 4): 4,
    (4, 1): 2, (4, 2): 3, (4, 3): 4, (4, 4): 4,
}  # fmt: skip


class TestFinanceMatrix:
    @pytest.mark.parametrize(("cell", "expected"), sorted(SPEC_MATRIX.items()))
    def test_cell(self, pack: Pack, cell: tuple[int, int], expected: int) -> None:
        plan, variance = cell
        m = pack.metric("OF1080")
        assert m.inputs == ("OF1079", "OF1081")
        got = sc.matrix_score(m, np.array([float(plan)]), np.array([float(variance)]))
        assert got.tolist() == [float(expected)]

    def test_all_cells_vectorised(self, pack: Pack) -> None:
        cells = sorted(SPEC_MATRIX)
        rows = np.array([r for r, _ in cells], dtype=float)
        cols = np.array([c for _, c in cells], dtype=float)
        got = sc.matrix_score(pack.metric("OF1080"), rows, cols)
        assert got.tolist() == [float(SPEC_MATRIX[c]) for c in cells]

    def test_real_data_follows_the_matrix(self, pack: Pack, acute: Dataset) -> None:
        a = assess(acute, pack, mode="reproduce")
        wide = a.metric_scores.filter(
            pl.col("metric_id").is_in(["OF1079", "OF1080", "OF1081"])
        ).pivot(on="metric_id", index="trust_code", values="score")
        assert wide.height == acute.trusts.height
        for plan, var, fin in wide.select("OF1079", "OF1081", "OF1080").iter_rows():
            assert fin == SPEC_MATRIX[(int(plan), int(var))]
        # and every combined-finance score matches NHS England's
        pub = acute.published.filter(pl.col("metric_id") == "OF1080").select(
            "trust_code", pl.col("value").alias("pub")
        )
        joined = wide.join(pub, on="trust_code", how="inner")
        assert joined.height == wide.height
        assert (joined["OF1080"] == joined["pub"]).all()


# --------------------------------------------------------------------------------------------
# Grid size and snapping (spec section 6)
# --------------------------------------------------------------------------------------------


def _round_half_up(x: np.ndarray) -> np.ndarray:
    return np.floor(x * 100 + 0.5 + 1e-9) / 100


class TestGrid:
    @pytest.mark.parametrize(
        ("lo", "span", "n"),
        [(1.0, 3.0, 134), (2.0, 2.0, 84), (1.0, 2.0, 80), (1.0, 3.0, 205), (2.0, 2.0, 9)],
    )
    def test_published_scores_from_known_n_recover_n(self, lo: float, span: float, n: int) -> None:
        true = lo + span * np.arange(n) / (n - 1)
        published = _round_half_up(true)
        assert sc.grid_size(published, lo, span, at_least=2) == n
        np.testing.assert_allclose(sc.snap(published, lo, span, n), true, rtol=0, atol=1e-12)

    def test_partial_set_of_published_scores(self) -> None:
        # Only a few trusts' scores loaded: 1 + 3 k / 121 for k in {0, 7, 50, 99, 120};
        # the smallest N >= at_least that holds them all is 122 (when at_least forbids smaller).
        true = 1 + 3 * np.array([0, 7, 50, 99, 120]) / 121
        published = _round_half_up(true)
        n = sc.grid_size(published, 1.0, 3.0, at_least=100)
        assert n is not None
        assert 100 <= n <= 122
        snapped = sc.snap(published, 1.0, 3.0, n)
        assert np.all(np.abs(snapped - published) <= 0.005 + 1e-9)

    def test_at_least_is_respected(self) -> None:
        # 1, 2.5, 4 fit N = 3, but at least 5 reporters were loaded: N = 5 (1, 1.75, ..., 4).
        assert sc.grid_size(np.array([1.0, 2.5, 4.0]), 1.0, 3.0, at_least=3) == 3
        assert sc.grid_size(np.array([1.0, 2.5, 4.0]), 1.0, 3.0, at_least=4) == 5

    def test_half_rounded_up_fits(self) -> None:
        # N = 9, continuous: grid point 1 + 3/8 = 1.375 is published as 1.38 (half up).
        assert sc.grid_size(np.array([1.0, 1.38, 4.0]), 1.0, 3.0, at_least=9) == 9

    def test_half_rounded_down_is_rejected(self) -> None:
        # 1.37 would need 1.375 rounded down: not how NHS England rounds, so N = 9 is rejected.
        n = sc.grid_size(np.array([1.0, 1.37, 4.0]), 1.0, 3.0, at_least=9)
        assert n != 9

    def test_grid_that_fits_only_by_rounding_both_ways_is_rejected(self) -> None:
        # N = 9 grid, lo 1, span 3: points 1.375 and 2.125. 1.38 rounds 1.375 up but 2.12
        # would need 2.125 rounded down. The two directions together cannot both be right.
        scores = np.array([1.38, 2.12])
        assert sc.grid_size(scores, 1.0, 3.0, at_least=9, limit=9) is None
        assert sc.grid_size(np.array([1.38, 2.13]), 1.0, 3.0, at_least=9, limit=9) == 9

    def test_no_fit_within_limit(self) -> None:
        # 1.00 and 1.01 both on the grid need a step of at most 0.015: N >= 201.
        assert sc.grid_size(np.array([1.0, 1.01]), 1.0, 3.0, at_least=2, limit=50) is None
        n = sc.grid_size(np.array([1.0, 1.01]), 1.0, 3.0, at_least=2)
        assert n is not None
        assert n >= 201

    def test_empty(self) -> None:
        assert sc.grid_size(np.array([]), 1.0, 3.0, at_least=2) is None

    def test_snap(self) -> None:
        np.testing.assert_allclose(
            sc.snap(np.array([3.88, 2.0, 4.0]), 2.0, 2.0, 84),
            [2 + 2 * 78 / 83, 2.0, 4.0],
            rtol=0,
            atol=1e-12,
        )

    def test_grid_of(self, pack: Pack) -> None:
        assert sc.grid_of(pack.metric("OF0014")) == (1.0, 3.0)
        assert sc.grid_of(pack.metric("OF0013")) == (2.0, 2.0)
        assert sc.grid_of(pack.metric("OF0057")) == (1.0, 2.0)


# --------------------------------------------------------------------------------------------
# Explanation sentences, on the real data
# --------------------------------------------------------------------------------------------

_ARITH = re.compile(r"(\d+) \+ (\d+) × (\d+)/(\d+)$")
_COUNT = re.compile(r"scores 1 \+ ([\d.]+), at most 4$")
_BAND = re.compile(r"\(band (\d) of 4\)$")
_MATRIX = re.compile(r"give (\d) in the finance matrix$")
_HEAD = re.compile(r"^(OF\d{4}) scored (\d+\.\d\d)")


@pytest.fixture(scope="module")
def acute_q1(pack: Pack, acute: Dataset) -> Assessment:
    return assess(acute, pack, mode="reproduce")


def _implied_score(sentence: str) -> float | None:
    """The score a sentence's own arithmetic gives, or None if it states none."""
    if m := _ARITH.search(sentence):
        lo, span, a, b = (int(x) for x in m.groups())
        return lo + span * a / b
    if m := _COUNT.search(sentence):
        return min(1 + float(m.group(1)), 4.0)
    if m := _BAND.search(sentence):
        return float(m.group(1))
    if m := _MATRIX.search(sentence):
        return float(m.group(1))
    if re.search(r" met the .* target$", sentence):
        return 1.0
    if re.search(r" is below the .* standard$", sentence):
        return 4.0
    return None


class TestExplain:
    def test_rcx_a_and_e(self, pack: Pack, acute_q1: Assessment) -> None:
        assert api.explain(acute_q1, pack, "RCX", "OF0013") == (
            "OF0013 scored 3.88: 61.9% missed the 78% target; "
            "79th of the 84 trusts that missed it: 2 + 2 × 78/83"
        )
        # looked up by score id too
        assert api.explain(acute_q1, pack, "RCX", "OF1013") == api.explain(
            acute_q1, pack, "RCX", "OF0013"
        )

    def test_rcx_continuous_and_bands(self, pack: Pack, acute_q1: Assessment) -> None:
        assert api.explain(acute_q1, pack, "RCX", "OF0014") == (
            "OF0014 scored 3.39: 14.1% is 98th of the 123 trusts ranked, lower is better: "
            "1 + 3 × 97/122"
        )
        assert api.explain(acute_q1, pack, "RCX", "OF0079") == (
            "OF0079 scored 4.00: -7.26% is -2.0% or less (band 4 of 4)"
        )
        assert api.explain(acute_q1, pack, "RCX", "OF1080") == (
            "OF1080 scored 4.00: OF1079 band 4 and OF1081 band 4 give 4 in the finance matrix"
        )

    def test_every_sentence_of_one_trust_re_evaluates_to_its_score(
        self, pack: Pack, acute_q1: Assessment
    ) -> None:
        profile = api.trust_profile(acute_q1, pack, "RCX")
        checked = 0
        for m in profile["metrics"]:
            sentence = m["explanation"]
            head = _HEAD.match(sentence)
            assert head is not None, sentence
            assert float(head.group(2)) == pytest.approx(m["score"], abs=0.005 + 1e-9)
            implied = _implied_score(sentence)
            if implied is not None:
                checked += 1
                assert implied == pytest.approx(m["score"], abs=0.005), sentence
        # RCX has target, continuous, band and matrix sentences
        assert checked >= 15

    def test_every_sentence_of_every_acute_trust(self, pack: Pack, acute_q1: Assessment) -> None:
        kinds: set[str] = set()
        for code in acute_q1.table["trust_code"].to_list():
            for m in api.trust_profile(acute_q1, pack, code)["metrics"]:
                sentence = m["explanation"]
                implied = _implied_score(sentence)
                if implied is None:
                    assert m["basis"] in (sc.PUBLISHED, sc.PUBLISHED_RAW, sc.INPUT), sentence
                    continue
                kinds.add(pack.metric(m["metric_id"]).family)
                assert implied == pytest.approx(m["score"], abs=0.005), (code, sentence)
        assert kinds >= {"continuous", "target", "standard", "bands", "matrix"}


# --------------------------------------------------------------------------------------------
# Items (spec section 3)
# --------------------------------------------------------------------------------------------


def _scores(rows: list[tuple[str, str, float]], quarter: str = Q1) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "quarter": [quarter] * len(rows),
            "trust_code": [r[0] for r in rows],
            "metric_id": [r[1] for r in rows],
            "score": [r[2] for r in rows],
        },
        schema={
            "quarter": pl.String,
            "trust_code": pl.String,
            "metric_id": pl.String,
            "score": pl.Float64,
        },
    )


def _item_map(frame: pl.DataFrame, code: str = "AAA") -> dict[str, float]:
    return dict(frame.filter(pl.col("trust_code") == code).select("item_id", "score").iter_rows())


class TestItems:
    def test_finance_counts_once_as_combined_finance(self, pack: Pack) -> None:
        s = _scores([("AAA", "OF1079", 4.0), ("AAA", "OF1081", 1.0), ("AAA", "OF1080", 2.0)])
        it = aggregate.items(pack, s, Q2)
        assert _item_map(it) == {"OF1080": 2.0}
        assert it["domain"].to_list() == ["finance"]

    def test_infections_are_averaged_into_one_item(self, pack: Pack) -> None:
        s = _scores(
            [
                ("AAA", "OF1020", 1.0),
                ("AAA", "OF1048", 2.5),
                ("AAA", "OF1088", 4.0),
                ("AAA", "OF1013", 3.0),
                ("BBB", "OF1048", 2.0),  # a trust with only some infection scores
                ("BBB", "OF1088", 3.0),
            ]
        )
        it = aggregate.items(pack, s, Q2)
        assert _item_map(it) == {"infections": 2.5, "OF1013": 3.0}
        assert _item_map(it, "BBB") == {"infections": 2.5}
        row = it.filter((pl.col("trust_code") == "AAA") & (pl.col("item_id") == "infections"))
        assert row["members"].to_list() == [3]
        assert row["domain"].to_list() == ["safety"]

    def test_average_is_mean_of_items(self, pack: Pack) -> None:
        # items: OF1013 3.0, OF1014 2.0, infections (1 + 2 + 3)/3 = 2.0, finance OF1080 4.0
        # average = (3 + 2 + 2 + 4)/4 = 2.75; access domain = (3 + 2)/2 = 2.5
        s = _scores(
            [
                ("AAA", "OF1013", 3.0),
                ("AAA", "OF1014", 2.0),
                ("AAA", "OF1020", 1.0),
                ("AAA", "OF1048", 2.0),
                ("AAA", "OF1088", 3.0),
                ("AAA", "OF1079", 4.0),
                ("AAA", "OF1081", 4.0),
                ("AAA", "OF1080", 4.0),
            ]
        )
        avg = aggregate.averages(pack, aggregate.items(pack, s, Q2)).row(0, named=True)
        assert avg["n_items"] == 4
        assert avg["average_raw"] == pytest.approx(2.75, abs=1e-12)
        assert avg["average_score"] == 2.75
        assert avg["domain_access"] == 2.5
        assert avg["domain_safety"] == 2.0
        assert avg["domain_finance"] == 4.0

    def test_q1_precision_rounding_only_in_q1(self, pack: Pack) -> None:
        # OF1003 is on the Q1 list; OF1013 is not. 2.345 rounds half up to 2.35.
        rows = [("AAA", "OF1003", 2.345), ("AAA", "OF1013", 2.345), ("AAA", "OF1106", 3.8765)]
        q1 = _item_map(aggregate.items(pack, _scores(rows, Q1), Q1))
        assert q1["OF1003"] == 2.35
        assert q1["OF1106"] == 3.88
        assert q1["OF1013"] == 2.345
        q2 = _item_map(aggregate.items(pack, _scores(rows, Q2), Q2))
        assert q2 == {"OF1003": 2.345, "OF1013": 2.345, "OF1106": 3.8765}

    def test_q1_precision_list(self, pack: Pack) -> None:
        assert pack.rounding_for(Q1) == dict.fromkeys(
            ["OF1003", "OF1005", "OF1014", "OF1016", "OF1025", "OF1061", "OF1063", "OF1106"], 2
        )
        assert pack.rounding_for(Q2) == {}
        assert pack.rounding_for("Q1 2026/27") == {}

    def test_rounding_changes_the_average_only_in_q1(self, pack: Pack) -> None:
        # OF1003 1 + 3 × 1/8 = 1.375 and OF1013 2.0: Q1 average (1.38 + 2)/2 = 1.69;
        # later quarters (1.375 + 2)/2 = 1.6875 → 1.69 as well, but the raw average differs.
        rows = [("AAA", "OF1003", 1.375), ("AAA", "OF1013", 2.0)]
        a1 = aggregate.averages(pack, aggregate.items(pack, _scores(rows, Q1), Q1)).row(
            0, named=True
        )
        a2 = aggregate.averages(pack, aggregate.items(pack, _scores(rows, Q2), Q2)).row(
            0, named=True
        )
        assert a1["average_raw"] == pytest.approx(1.69, abs=1e-12)
        assert a2["average_raw"] == pytest.approx(1.6875, abs=1e-12)

    def test_real_acute_items(self, pack: Pack, acute_q1: Assessment) -> None:
        it = acute_q1.items
        assert it.filter(pl.col("item_id").is_in(["OF1079", "OF1081"])).height == 0
        assert it.filter(pl.col("item_id").is_in(["OF1020", "OF1048", "OF1088"])).height == 0
        per_trust = it.group_by("trust_code").agg(
            (pl.col("item_id") == "OF1080").sum().alias("finance"),
            (pl.col("item_id") == "infections").sum().alias("infections"),
            pl.col("members").filter(pl.col("item_id") == "infections").first().alias("n_inf"),
        )
        assert per_trust.height == acute_q1.table.height
        assert (per_trust["finance"] == 1).all()
        assert (per_trust["infections"] <= 1).all()
        assert per_trust["n_inf"].drop_nulls().is_between(1, 3).all()
        # n_items in the table is the number of items
        counts = dict(it.group_by("trust_code").len().iter_rows())
        for code, n in acute_q1.table.select("trust_code", "n_items").iter_rows():
            assert counts[code] == n
