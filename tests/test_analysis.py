"""The analysis layer on NHS England's real files: likely ranges, what-if, improvement needed,
movement between quarters and method variants (docs/analysis.md).

Every expectation is derived independently of the code under test where it can be: segments
from the averages and the cut-points, A&E 4-hour scores from the 2 + 2(p-1)/(M-1) rule, league
ranks as competition ranks of (segment, 2-dp average), causes of segment changes from the
documented rule.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from nhs_league.analysis import scenario as sc
from nhs_league.analysis.improvement import Improvement, improvement, improvement_table
from nhs_league.analysis.improvement import needed_average as needed_avg
from nhs_league.analysis.movement import movement
from nhs_league.analysis.uncertainty import DEFAULT_SEED, RANGE_COLUMNS, likely_ranges
from nhs_league.analysis.variants import apply_variant, assess_variants, compare_methods
from nhs_league.dataset import Dataset
from nhs_league.engine.aggregate import round_half_up
from nhs_league.engine.pipeline import Assessment, assess
from nhs_league.errors import (
    InputError,
    MethodError,
    NhsLeagueError,
    NoData,
    ValueFormatError,
)
from nhs_league.methods.pack import Pack

Q1 = "Q1 2025/26"
Q2 = "Q2 2025/26"
Q3 = "Q3 2025/26"
Q4 = "Q4 2025/26"
MHC = "mental-health-community"
TARGET = 78.0  # A&E 4-hour target, OF0013 (percent)


def segment_of(avg: float, cuts: tuple[float, ...], on_cut_point: str = "better") -> int:
    """Segment 1-4 from a 2-dp average; an average on a cut-point takes the better segment."""
    if on_cut_point == "better":
        return 1 + sum(avg > c + 1e-9 for c in cuts)
    return 1 + sum(avg >= c - 1e-9 for c in cuts)


def competition_ranks(table: pl.DataFrame) -> dict[str, int]:
    """1 + the number of trusts of the same type strictly better on (segment, 2-dp average)."""
    out = {}
    rows = table.select("trust_code", "trust_type", "adjusted_segment", "average_score").rows()
    for code, ttype, seg, avg in rows:
        better = sum(
            1
            for _, t2, s2, a2 in rows
            if t2 == ttype and (s2, round(a2 * 100)) < (seg, round(avg * 100))
        )
        out[code] = better + 1
    return out


# --- shared assessments ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def mhc_q4(mhc: Dataset, pack: Pack) -> Assessment:
    return assess(mhc, pack, quarter=Q4)


@pytest.fixture(scope="module")
def both_q1(both: Dataset, pack: Pack) -> Assessment:
    return assess(both, pack, quarter=Q1)


# === Likely ranges ==========================================================================


@pytest.fixture(scope="module")
def ranges_50k(mhc_q4: Assessment, pack: Pack) -> pl.DataFrame:
    """MHC Q4 (61 trusts), 50,000 replicates, the default seed."""
    return likely_ranges(mhc_q4, pack, replicates=50_000, seed=DEFAULT_SEED)


@pytest.fixture(scope="module")
def ranges_50k_seed1(mhc_q4: Assessment, pack: Pack) -> pl.DataFrame:
    return likely_ranges(mhc_q4, pack, replicates=50_000, seed=1)


@pytest.fixture(scope="module")
def ranges_both_q1(both_q1: Assessment, pack: Pack) -> pl.DataFrame:
    return likely_ranges(both_q1, pack, replicates=2_000, seed=DEFAULT_SEED)


def test_ranges_same_seed_byte_identical(mhc_q4: Assessment, both_q1: Assessment, pack: Pack):
    # 3,000 replicates spans two chunks of draws (CHUNK = 2,000)
    first = likely_ranges(mhc_q4, pack, replicates=3_000, seed=7).write_csv()
    second = likely_ranges(mhc_q4, pack, replicates=3_000, seed=7).write_csv()
    assert first == second
    # reporting progress does not touch the draws
    seen: list[tuple[int, int]] = []
    third = likely_ranges(
        mhc_q4, pack, replicates=3_000, seed=7, progress=lambda d, t: seen.append((d, t))
    ).write_csv()
    assert third == first
    assert seen == [(2_000, 3_000), (3_000, 3_000)]
    # two trust types at once
    a = likely_ranges(both_q1, pack, replicates=1_000, seed=11).write_csv()
    b = likely_ranges(both_q1, pack, replicates=1_000, seed=11).write_csv()
    assert a == b
    # and the seed is really used
    assert likely_ranges(mhc_q4, pack, replicates=3_000, seed=8).write_csv() != first


def test_ranges_reject_zero_replicates(mhc_q4: Assessment, pack: Pack) -> None:
    with pytest.raises(ValueError, match="replicates must be at least 1"):
        likely_ranges(mhc_q4, pack, replicates=0)


def test_ranges_columns_and_shape(ranges_50k: pl.DataFrame, mhc_q4: Assessment) -> None:
    assert ranges_50k.columns == ["trust_code", *RANGE_COLUMNS]
    assert ranges_50k.height == 61 == mhc_q4.table.height
    assert sorted(ranges_50k["trust_code"]) == sorted(mhc_q4.table["trust_code"])
    assert ranges_50k.null_count().sum_horizontal().item() == 0


def test_rank_ranges_agree_across_seeds_at_50k(
    ranges_50k: pl.DataFrame, ranges_50k_seed1: pl.DataFrame
) -> None:
    j = ranges_50k.join(ranges_50k_seed1, on="trust_code", suffix="_b")
    assert j.height == 61
    for col in ("rank_low", "rank_high"):
        assert (j[col] - j[f"{col}_b"]).abs().max() <= 1, col


def test_score_ranges_agree_within_001_across_seeds_at_50k(
    ranges_50k: pl.DataFrame, ranges_50k_seed1: pl.DataFrame
) -> None:
    j = ranges_50k.join(ranges_50k_seed1, on="trust_code", suffix="_b")
    for col in ("score_low", "score_high"):
        assert (j[col] - j[f"{col}_b"]).abs().max() <= 0.01 + 1e-9, col


def test_score_ranges_and_segment_chances_do_not_depend_on_the_seed(
    ranges_50k: pl.DataFrame, ranges_50k_seed1: pl.DataFrame
) -> None:
    """They come from the exact resampling distribution, not from the random draws."""
    cols = ["trust_code", "score_low", "score_high"] + [f"p_segment_{k}" for k in (1, 2, 3, 4)]
    assert ranges_50k.select(cols).equals(ranges_50k_seed1.select(cols))


def test_exact_distribution_agrees_with_monte_carlo(mhc: Dataset, pack: Pack) -> None:
    """The exact percentiles of the resampled mean against a large simulation of it."""
    from nhs_league.analysis.uncertainty import item_matrix, mean_distribution, resample_means

    a = assess(mhc, pack, quarter="Q4 2025/26")
    items = item_matrix(a)
    sim = resample_means(items, 40_000, np.random.default_rng(7))
    for i in range(0, len(items.codes), 6):
        n = int(items.counts[i])
        means, pmf = mean_distribution(items.values[i, :n])
        assert abs(float((means * pmf).sum()) - float(items.values[i, :n].mean())) < 1e-3
        cdf = np.cumsum(pmf)
        for q in (0.025, 0.5, 0.975):
            exact = means[int(np.searchsorted(cdf, q))]
            assert abs(exact - np.quantile(sim[i], q)) < 0.03, (items.codes[i], q)


def test_dorset_healthcare_matches_nhs_england(ranges_50k: pl.DataFrame) -> None:
    """NHS England published 1.72-2.73 and ranks 6-49 for RDY, Q4 2025/26."""
    r = ranges_50k.filter(pl.col("trust_code") == "RDY").row(0, named=True)
    assert abs(r["score_low"] - 1.72) <= 0.03
    assert abs(r["score_high"] - 2.73) <= 0.03
    assert abs(r["rank_low"] - 6) <= 2
    assert abs(r["rank_high"] - 49) <= 2


@pytest.mark.parametrize("which", ["ranges_50k", "ranges_both_q1"])
def test_segment_probabilities_sum_to_one(which: str, request: pytest.FixtureRequest) -> None:
    r: pl.DataFrame = request.getfixturevalue(which)
    p = r.select(pl.sum_horizontal(*[f"p_segment_{k}" for k in (1, 2, 3, 4)]).alias("p"))["p"]
    assert (p - 1).abs().max() <= 2e-4 + 1e-12  # four shares, each rounded to 4 dp
    for k in (1, 2, 3, 4):
        assert r[f"p_segment_{k}"].is_between(0, 1).all()


@pytest.mark.parametrize(
    ("which", "assessment"), [("ranges_50k", "mhc_q4"), ("ranges_both_q1", "both_q1")]
)
def test_average_lies_in_its_score_range(
    which: str, assessment: str, request: pytest.FixtureRequest
) -> None:
    """score_low <= average <= score_high.

    Not a law of the method: the range is the 2.5th-97.5th percentile of *resampled* means, and
    a very skewed set of item scores could put more than 97.5% of them on one side of the
    observed mean. With 6-16 items scored from 1 to 4 that does not happen in these files (and
    rounding both to 2 dp keeps the order), so it is asserted for every trust.
    """
    r: pl.DataFrame = request.getfixturevalue(which)
    a: Assessment = request.getfixturevalue(assessment)
    j = a.table.select("trust_code", "average_score", "league_size").join(r, on="trust_code")
    assert j.height == a.table.height
    outside = j.filter(
        (pl.col("score_low") > pl.col("average_score") + 1e-9)
        | (pl.col("average_score") > pl.col("score_high") + 1e-9)
    )
    assert outside.height == 0, outside
    assert (j["rank_low"] >= 1).all()
    assert (j["rank_low"] <= j["rank_high"]).all()
    assert (j["rank_high"] <= j["league_size"]).all()


def test_deficit_trusts_never_resampled_above_segment_3(
    ranges_both_q1: pl.DataFrame, both_q1: Assessment
) -> None:
    deficit = both_q1.table.filter(pl.col("financial_deficit").fill_null(False))["trust_code"]
    assert deficit.len() > 0
    d = ranges_both_q1.filter(pl.col("trust_code").is_in(deficit.to_list()))
    assert (d["p_segment_1"] == 0).all() and (d["p_segment_2"] == 0).all()


# === What-if ================================================================================


def of1013(a: Assessment) -> pl.DataFrame:
    return a.metric_scores.filter(pl.col("metric_id") == "OF1013")


@pytest.fixture(scope="module")
def whatif_rcx(both: Dataset, pack: Pack, both_q1: Assessment) -> sc.WhatIf:
    scenario = sc.Scenario((sc.parse_set("OF0013=78", "RCX", pack),))
    return sc.run(both, pack, scenario, quarter=Q1, before=both_q1)


def test_whatif_meeting_the_target_scores_one(whatif_rcx: sc.WhatIf) -> None:
    before = of1013(whatif_rcx.before).filter(pl.col("trust_code") == "RCX").row(0, named=True)
    after = of1013(whatif_rcx.after).filter(pl.col("trust_code") == "RCX").row(0, named=True)
    assert before["value"] == pytest.approx(61.9)
    assert before["score"] > 3.5 and not before["target_met"]
    assert after["value"] == TARGET
    assert after["score"] == 1.0
    assert after["target_met"]
    rows = whatif_rcx.metric_rows.filter(pl.col("metric_id") == "OF1013")
    assert rows.select("score_before", "score_after").row(0) == (before["score"], 1.0)
    t = whatif_rcx.trust_rows.row(0, named=True)
    assert t["trust_code"] == "RCX"
    assert t["average_score_after"] < t["average_score_before"]


def test_whatif_rescales_the_trusts_still_missing(whatif_rcx: sc.WhatIf) -> None:
    before, after = of1013(whatif_rcx.before), of1013(whatif_rcx.after)
    missing_before = before.filter(pl.col("value") < TARGET)
    missing = after.filter(pl.col("value") < TARGET)
    m = missing.height
    assert m == missing_before.height - 1  # RCX left the group
    assert "RCX" not in missing["trust_code"].to_list()
    assert (missing["pool_size"] == m).all()
    # p: one plus the number of trusts still missing with a better (higher) value
    vals = missing.sort("value", descending=True)
    counts = vals.group_by("value").len()
    unique = vals.join(counts, on="value").filter(pl.col("len") == 1)
    picks = [unique.row(i, named=True) for i in sorted({0, unique.height // 3, -1})]
    picks.append(unique.row(unique.height // 2, named=True))
    for row in picks:
        p = 1 + missing.filter(pl.col("value") > row["value"]).height
        assert row["score"] == pytest.approx(2 + 2 * (p - 1) / (m - 1), abs=1e-12), row
    # other trusts' scores moved; those meeting the target stayed at 1
    j = before.select("trust_code", pl.col("score").alias("b")).join(
        after.select("trust_code", pl.col("score").alias("a"), "target_met"), on="trust_code"
    )
    others = j.filter(pl.col("trust_code") != "RCX")
    assert others.filter((pl.col("a") - pl.col("b")).abs() > 1e-9).height >= 1
    assert (others.filter(pl.col("target_met"))["a"] == 1.0).all()


def moved(w: sc.WhatIf) -> set[str]:
    """Trusts (outside the scenario) whose adjusted segment or league rank changed."""
    cols = ["trust_code", "adjusted_segment", "league_rank"]
    j = w.before.table.select(cols).join(w.after.table.select(cols), on="trust_code", suffix="_a")
    changed = j.filter(
        (pl.col("adjusted_segment") != pl.col("adjusted_segment_a"))
        | (pl.col("league_rank") != pl.col("league_rank_a"))
    )
    return set(changed["trust_code"]) - set(w.scenario.trusts)


def test_whatif_others_are_exactly_the_trusts_that_moved(whatif_rcx: sc.WhatIf) -> None:
    assert set(whatif_rcx.others["trust_code"]) == moved(whatif_rcx)


def test_whatif_deficit_off_restores_unadjusted_segment(
    both: Dataset, pack: Pack, both_q1: Assessment
) -> None:
    capped = both_q1.table.filter(
        (pl.col("trust_type") == "acute")
        & pl.col("financial_deficit")
        & (pl.col("adjusted_segment") == 3)
        & (pl.col("unadjusted_segment") < 3)
    ).sort("trust_code")
    assert capped.height > 0
    code = capped["trust_code"][0]
    unadjusted = capped["unadjusted_segment"][0]
    w = sc.run(both, pack, sc.Scenario(deficit=((code, False),)), quarter=Q1, before=both_q1)
    t = w.trust_rows.row(0, named=True)
    assert t["trust_code"] == code
    assert (t["financial_deficit_before"], t["financial_deficit_after"]) == (True, False)
    assert t["adjusted_segment_after"] == t["unadjusted_segment_after"] == unadjusted
    assert t["average_score_after"] == t["average_score_before"]
    assert t["league_rank_after"] < t["league_rank_before"]
    # the trusts it overtook moved down one place each, and are reported
    assert w.others.height > 0
    assert set(w.others["trust_code"]) == moved(w)
    assert (w.others["league_rank_after"] == w.others["league_rank_before"] + 1).all()
    assert set(w.others["trust_type"]) == {"acute"}


def test_whatif_scenario_file_for_several_trusts(
    tmp_path: Path, both: Dataset, pack: Pack, both_q1: Assessment
) -> None:
    f = tmp_path / "scenario.csv"
    f.write_text(
        "\ufefftrust_code,metric_id,value\n"
        "RCX,OF0013,78\n"
        "r0a, of0013 ,80.5\n"
        "\n"
        "RDY,OF0016,70\n"
        "RCX,OF1046,2\n",
        encoding="utf-8",
    )
    scenario = sc.read_scenario_file(f, pack)
    assert scenario.trusts == ["R0A", "RCX", "RDY"]
    assert [c.metric_id for c in scenario.changes] == ["OF0013", "OF0013", "OF0016", "OF1046"]
    w = sc.run(both, pack, scenario, quarter=Q1, before=both_q1)
    assert sorted(w.trust_rows["trust_code"]) == ["R0A", "RCX", "RDY"]
    after = w.after.metric_scores
    expect = {
        ("RCX", "OF1013"): (78.0, 1.0),
        ("R0A", "OF1013"): (80.5, 1.0),
        ("RDY", "OF1016"): (70.0, None),
        ("RCX", "OF1046"): (None, 2.0),
    }
    for (code, mid), (value, score) in expect.items():
        row = after.filter((pl.col("trust_code") == code) & (pl.col("metric_id") == mid)).row(
            0, named=True
        )
        if value is not None:
            assert row["value"] == value
        if score is not None:
            assert row["score"] == score
    rdy_before = both_q1.metric_scores.filter(
        (pl.col("trust_code") == "RDY") & (pl.col("metric_id") == "OF1016")
    )
    row = after.filter((pl.col("trust_code") == "RDY") & (pl.col("metric_id") == "OF1016"))
    assert row["score"][0] < rdy_before["score"][0]  # 54.31% -> 70%, higher is better
    # the same scenario built by hand gives the same league table
    by_hand = sc.Scenario(
        (
            sc.Change("RCX", "OF0013", 78.0),
            sc.Change("R0A", "OF0013", 80.5),
            sc.Change("RDY", "OF0016", 70.0),
            sc.Change("RCX", "OF1046", 2.0),
        )
    )
    w2 = sc.run(both, pack, by_hand, quarter=Q1, before=both_q1)
    assert_frame_equal(w.after.table, w2.after.table)


@pytest.mark.parametrize(
    ("text", "error", "words"),
    [
        ("OF0013=abc", ValueFormatError, ["not a number", "'abc'", "OF0013"]),
        ("OF0013=", ValueFormatError, ["not a number"]),
        ("OF0013", ValueFormatError, ["METRIC=VALUE"]),
        ("OF9999=1", MethodError, ["OF9999", "not a metric"]),
        ("OF0013=1e7", ValueFormatError, ["out of range", "1e7"]),
        ("OF0013=-2e6", ValueFormatError, ["out of range"]),
        ("OF0013=inf", ValueFormatError, ["out of range", "'inf'"]),
        ("OF0013=nan", ValueFormatError, ["out of range", "'nan'"]),
    ],
)
def test_whatif_bad_set_is_a_typed_error(
    pack: Pack, text: str, error: type[Exception], words: list[str]
) -> None:
    with pytest.raises(error) as exc:
        sc.parse_set(text, "RCX", pack)
    assert isinstance(exc.value, NhsLeagueError)
    for w in words:
        assert w in str(exc.value)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (sc.Change("RDY", "OF0013", 78.0), ["OF0013", "does not apply", MHC]),
        (sc.Change("RCX", "OF1046", 7.0), ["OF1046", "is a score", "from 1 to 4"]),
        (sc.Change("RCX", "OF1046", 0.5), ["OF1046", "is a score", "from 1 to 4"]),
        (sc.Change("ZZZ", "OF0013", 78.0), ["ZZZ", "not in the loaded data", Q1]),
    ],
)
def test_whatif_inapplicable_change_is_a_typed_error(
    both: Dataset, pack: Pack, both_q1: Assessment, change: sc.Change, words: list[str]
) -> None:
    with pytest.raises(NoData) as exc:
        sc.run(both, pack, sc.Scenario((change,)), quarter=Q1, before=both_q1)
    for w in words:
        assert w in str(exc.value)


@pytest.mark.parametrize(
    ("body", "error", "words"),
    [
        (
            "trust_code,metric_id,value\nRCX,OF0013,78\nRCX,OF0014,abc\n",
            ValueFormatError,
            ["line 3", "column value", "not a number", "'abc'"],
        ),
        (
            "trust_code,metric_id,value\nRCX,OF9999,1\n",
            InputError,
            ["line 2", "column metric_id", "unknown metric", "'OF9999'"],
        ),
        (
            "trust_code,metric_id,value\nRCX,OF0013,1e9\n",
            ValueFormatError,
            ["line 2", "out of range", "'1e9'"],
        ),
        (
            "trust,metric,value\nRCX,OF0013,78\n",
            InputError,
            ["line 1", "unexpected header", "trust_code,metric_id,value"],
        ),
        (
            "trust_code,metric_id,value\nRCX,OF0013\n",
            InputError,
            ["line 2", "wrong number of cells"],
        ),
        ("", InputError, ["unexpected header"]),
    ],
)
def test_whatif_bad_scenario_file_is_a_typed_error(
    tmp_path: Path, pack: Pack, body: str, error: type[Exception], words: list[str]
) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(body, encoding="utf-8")
    with pytest.raises(error) as exc:
        sc.read_scenario_file(f, pack)
    assert str(f) in str(exc.value)
    for w in words:
        assert w in str(exc.value)


def test_whatif_missing_scenario_file_is_a_typed_error(tmp_path: Path, pack: Pack) -> None:
    with pytest.raises(InputError, match="cannot read the scenario file"):
        sc.read_scenario_file(tmp_path / "nope.csv", pack)


# === Improvement needed =====================================================================


@pytest.fixture(scope="module")
def improvements(both_q1: Assessment, pack: Pack) -> dict[str, Improvement]:
    """Every acute trust in Q1 not in segment 1."""
    codes = both_q1.table.filter(
        (pl.col("trust_type") == "acute") & (pl.col("adjusted_segment") > 1)
    )["trust_code"]
    return {c: improvement(both_q1, pack, c) for c in codes.to_list()}


def test_every_cheapest_path_reaches_the_target_segment(
    improvements: dict[str, Improvement], both: Dataset, pack: Pack, both_q1: Assessment
) -> None:
    assert len(improvements) == 118
    checked = 0
    for code, imp in improvements.items():
        if imp.blocked_by_override or not imp.reachable:
            continue
        assert imp.steps, code
        for s in imp.steps:
            assert pack.metric(s.metric_id).has_value  # score-only metrics are never changed
            assert s.score_to < s.score_from
        w = sc.run(both, pack, imp.scenario(), quarter=Q1, before=both_q1)
        t = w.trust_rows.row(0, named=True)
        assert t["adjusted_segment_after"] <= imp.target_segment, (code, imp)
        assert t["average_score_after"] <= imp.needed_average + 1e-9, code
        assert t["average_score_after"] == round_half_up(imp.average_after, 2), code
        for s in imp.steps:  # the path's scores are the ones the full recomputation gives
            m = pack.metric(s.metric_id)
            got = w.metric_rows.filter(pl.col("metric_id") == m.score_id)["score_after"][0]
            assert got == pytest.approx(s.score_to, abs=1e-9), (code, s)
        checked += 1
    assert checked >= 40


def test_deficit_trusts_in_segment_3_are_blocked(
    improvements: dict[str, Improvement], both_q1: Assessment
) -> None:
    flags = dict(both_q1.table.select("trust_code", "financial_deficit").iter_rows())
    blocked = [c for c, i in improvements.items() if i.segment == 3 and flags[c]]
    assert blocked
    for code in blocked:
        imp = improvements[code]
        assert imp.blocked_by_override and not imp.reachable and imp.steps == (), code
        assert imp.target_segment == 2
    for code, imp in improvements.items():  # and no one else is
        assert imp.blocked_by_override == (imp.segment == 3 and bool(flags[code])), code


def test_segment_1_needs_no_improvement(both_q1: Assessment, pack: Pack) -> None:
    code = both_q1.of_type("acute")["trust_code"][0]
    imp = improvement(both_q1, pack, code)
    assert (imp.segment, imp.target_segment, imp.steps, imp.gap) == (1, None, (), None)


CUTS = [
    ("implied, acute Q1", None),
    ("fixed", (2.0, 2.5, 3.0)),
    ("mhc Q4", "mhc"),
    ("on two decimals", (2.05, 2.33, 2.61)),
]


@pytest.mark.parametrize("on_cut_point", ["better", "worse"])
@pytest.mark.parametrize(("label", "cuts"), CUTS, ids=[c[0] for c in CUTS])
def test_needed_average_is_the_edge_of_the_target_segment(
    pack: Pack,
    both_q1: Assessment,
    mhc_q4: Assessment,
    label: str,
    cuts: object,
    on_cut_point: str,
) -> None:
    if cuts is None:
        values = both_q1.cut_points.values
    elif cuts == "mhc":
        values = mhc_q4.cut_points.values
    else:
        values = cuts  # type: ignore[assignment]
    p = replace(pack, segmentation=replace(pack.segmentation, on_cut_point=on_cut_point))
    for target in (1, 2, 3):
        need = needed_avg(p, values, target)  # type: ignore[arg-type]
        assert round(need, 2) == need
        assert segment_of(need, values, on_cut_point) == target, (target, need)
        assert segment_of(round(need + 0.01, 2), values, on_cut_point) == target + 1


def test_improvement_table_covers_every_trust_not_in_segment_1(
    both_q1: Assessment, pack: Pack, improvements: dict[str, Improvement]
) -> None:
    t = improvement_table(both_q1, pack)
    expected = both_q1.table.filter(pl.col("adjusted_segment") > 1)["trust_code"]
    assert sorted(t["trust_code"]) == sorted(expected)
    assert t["trust_code"].n_unique() == t.height
    acute = improvement_table(both_q1, pack, "acute")
    assert sorted(acute["trust_code"]) == sorted(improvements)
    capped = set(
        both_q1.table.filter(pl.col("adjusted_segment") > pl.col("unadjusted_segment"))[
            "trust_code"
        ]
    )
    for r in acute.iter_rows(named=True):
        imp = improvements[r["trust_code"]]
        assert r["segment"] == imp.segment
        assert r["target_segment"] == imp.target_segment == imp.segment - 1
        assert r["needed_average"] == imp.needed_average
        assert r["gap"] == imp.gap == round(r["average_score"] - r["needed_average"], 2)
        assert r["blocked_by_override"] == imp.blocked_by_override
        # a positive gap, except for a trust capped by the override: its average is already
        # good enough (negative gap), and it is blocked
        assert (r["gap"] > 0) == (r["trust_code"] not in capped), r


# === Movement ===============================================================================

PAIRS = [(Q1, Q2), (Q2, Q3), (Q3, Q4)]
CAUSES = {"average crossed a cut-point", "cut-points moved"}
OVERRIDE = {"override applied", "override removed"}
ALLOWED_CAUSES = OVERRIDE | CAUSES | {f"{c}; {o}" for c in CAUSES for o in OVERRIDE}


@pytest.fixture(scope="module")
def movements(mhc: Dataset, pack: Pack) -> dict[tuple[str, str], pl.DataFrame]:
    return {(f, t): movement(mhc, pack, f, t, trust_type=MHC, replicates=2_000) for f, t in PAIRS}


@pytest.fixture(scope="module")
def mhc_assessments(mhc: Dataset, pack: Pack) -> dict[str, Assessment]:
    return {q: assess(mhc, pack, quarter=q) for q in (Q1, Q2, Q3, Q4)}


@pytest.mark.parametrize("pair", PAIRS, ids=["Q1-Q2", "Q2-Q3", "Q3-Q4"])
def test_movement_rows_and_change(
    pair: tuple[str, str],
    movements: dict[tuple[str, str], pl.DataFrame],
    mhc_assessments: dict[str, Assessment],
) -> None:
    m = movements[pair]
    assert m.height == 61
    assert m["trust_code"].n_unique() == 61
    assert set(m["trust_type"]) == {MHC}
    for r in m.iter_rows(named=True):
        assert r["change"] == round(r["average_score_to"] - r["average_score_from"], 2)
        assert r["places_up"] == r["league_rank_from"] - r["league_rank_to"]
        # the interval is shown to 3 dp, so a significant one can end at -0.0 (RT2, Q2-Q3)
        if r["significant"]:
            assert r["paired_items"] > 1
            assert r["change_low"] >= 0 or r["change_high"] <= 0, r
        elif r["paired_items"] > 1:
            assert r["change_low"] <= 0 <= r["change_high"], r
        assert r["change_low"] <= r["change_high"]
    # the from/to columns are the two quarters' own league tables
    for q, side in zip(pair, ("from", "to"), strict=True):
        t = mhc_assessments[q].table.select(
            "trust_code", "average_score", "adjusted_segment", "league_rank"
        )
        j = m.join(t, on="trust_code")
        assert (j[f"average_score_{side}"] == j["average_score"]).all()
        assert (j[f"adjusted_segment_{side}"] == j["adjusted_segment"]).all()
        assert (j[f"league_rank_{side}"] == j["league_rank"]).all()


@pytest.mark.parametrize("pair", PAIRS, ids=["Q1-Q2", "Q2-Q3", "Q3-Q4"])
def test_movement_causes(
    pair: tuple[str, str],
    movements: dict[tuple[str, str], pl.DataFrame],
    mhc_assessments: dict[str, Assessment],
) -> None:
    m = movements[pair]
    cuts_from = mhc_assessments[pair[0]].cut_points.values
    changed = 0
    for r in m.iter_rows(named=True):
        cause = r["segment_change_cause"]
        if r["adjusted_segment_from"] == r["adjusted_segment_to"]:
            assert cause is None, r
            continue
        changed += 1
        assert cause in ALLOWED_CAUSES, r
        flag_changed = r["financial_deficit_from"] != r["financial_deficit_to"]
        override = "override applied" if r["financial_deficit_to"] else "override removed"
        if r["unadjusted_segment_from"] == r["unadjusted_segment_to"]:
            assert flag_changed, r
            assert cause == override, r
            continue
        crossed = segment_of(r["average_score_to"], cuts_from) != r["unadjusted_segment_from"]
        main = "average crossed a cut-point" if crossed else "cut-points moved"
        assert cause == (f"{main}; {override}" if flag_changed else main), r
    assert changed > 0


def test_movement_override_only_changes_are_named(
    movements: dict[tuple[str, str], pl.DataFrame],
) -> None:
    rows = pl.concat(list(movements.values())).filter(
        (pl.col("unadjusted_segment_from") == pl.col("unadjusted_segment_to"))
        & (pl.col("adjusted_segment_from") != pl.col("adjusted_segment_to"))
    )
    assert rows.height >= 2  # RXG (Q1-Q2), RY4 (Q2-Q3), RAT (Q3-Q4): deficit flag removed
    for r in rows.iter_rows(named=True):
        assert r["financial_deficit_from"] != r["financial_deficit_to"]
        expected = "override applied" if r["financial_deficit_to"] else "override removed"
        assert r["segment_change_cause"] == expected
        unadjusted = r["unadjusted_segment_to"]
        capped = max(unadjusted, 3) if r["financial_deficit_to"] else unadjusted
        assert r["adjusted_segment_to"] == capped


def test_movement_significance_is_deterministic_for_a_seed(mhc: Dataset, pack: Pack) -> None:
    a = movement(mhc, pack, Q1, Q2, trust_type=MHC, replicates=1_000, seed=5)
    b = movement(mhc, pack, Q1, Q2, trust_type=MHC, replicates=1_000, seed=5)
    assert_frame_equal(a, b)
    assert a.write_csv() == b.write_csv()
    c = movement(mhc, pack, Q1, Q2, trust_type=MHC, replicates=1_000, seed=6)
    assert not c["change_low"].equals(a["change_low"])  # the seed is really used
    assert c.drop("change_low", "change_high", "significant").equals(
        a.drop("change_low", "change_high", "significant")
    )


# === Method variants ========================================================================


def test_no_override_variant(both: Dataset, pack: Pack, both_q1: Assessment) -> None:
    assert both_q1.table.filter(
        pl.col("adjusted_segment") != pl.col("unadjusted_segment")
    ).height  # the baseline has capped trusts
    v = assess_variants(both, pack, ["no-override"], quarter=Q1)
    assert v.table.height == both_q1.table.height
    assert (v.table["adjusted_segment"] == v.table["unadjusted_segment"]).all()
    ranks = competition_ranks(v.table)
    assert dict(v.table.select("trust_code", "league_rank").iter_rows()) == ranks


def test_fixed_thresholds_variant(both: Dataset, pack: Pack) -> None:
    v = assess_variants(both, pack, ["thresholds=2.0,2.5,3.0"], quarter=Q1)
    assert v.cut_points.values == (2.0, 2.5, 3.0)
    on_a_cut = 0
    for r in v.table.iter_rows(named=True):
        expected = segment_of(r["average_score"], (2.0, 2.5, 3.0))
        assert r["unadjusted_segment"] == expected, r
        capped = max(expected, 3) if r["financial_deficit"] else expected
        assert r["adjusted_segment"] == capped, r
        on_a_cut += r["average_score"] in (2.0, 2.5, 3.0)
    assert on_a_cut > 0  # the edge is exercised: 2.00 is segment 1, 2.50 segment 2
    assert dict(v.table.select("trust_code", "league_rank").iter_rows()) == competition_ranks(
        v.table
    )


@pytest.mark.parametrize(("data", "quarter"), [("both", Q1), ("mhc", Q4), ("acute", Q1)])
def test_within_type_pools_variant_needs_no_fallback(
    data: str, quarter: str, pack: Pack, request: pytest.FixtureRequest
) -> None:
    ds: Dataset = request.getfixturevalue(data)
    assert assess(ds, pack, quarter=quarter).fallbacks.height > 0  # the baseline needs them
    v = assess_variants(ds, pack, ["within-type-pools"], quarter=quarter)
    assert v.mode == "reproduce"
    assert v.fallbacks.height == 0
    ranked = v.metric_scores.filter(pl.col("pool_size").is_not_null())
    assert ranked.height > 0
    assert ranked["pool_complete"].all()


def test_exclude_specialist_variant(both: Dataset, pack: Pack, both_q1: Assessment) -> None:
    specialist = both_q1.table.filter(pl.col("subtype") == "Acute - Specialist")
    assert specialist.height == 16
    v = assess_variants(both, pack, ["exclude-specialist"], quarter=Q1)
    assert v.table.filter(pl.col("subtype").str.contains("(?i)specialist")).height == 0
    assert not set(specialist["trust_code"]) & set(v.metric_scores["trust_code"])
    acute = v.of_type("acute")
    assert acute.height == both_q1.of_type("acute").height - 16
    assert (acute["league_size"] == acute.height).all()
    ranks = acute["league_rank"]
    assert ranks.min() == 1 and ranks.max() <= acute.height
    assert dict(v.table.select("trust_code", "league_rank").iter_rows()) == competition_ranks(
        v.table
    )
    assert v.of_type(MHC).height == both_q1.of_type(MHC).height


def test_compare_methods_no_override(both: Dataset, pack: Pack, both_q1: Assessment) -> None:
    c = compare_methods(both, pack, ["no-override"], quarter=Q1, trust_type="acute")
    assert c.height == both_q1.of_type("acute").height
    capped = both_q1.of_type("acute").filter(
        pl.col("adjusted_segment") > pl.col("unadjusted_segment")
    )
    up = c.filter(pl.col("trust_code").is_in(capped["trust_code"].to_list()))
    assert up.height == capped.height > 0
    assert (up["segments_up"] > 0).all() and (up["places_up"] > 0).all()
    assert (c["average_score_baseline"] == c["average_score_variant"]).all()


@pytest.mark.parametrize("variant", ["nonsense", "no-override=yes", "Thresholds=2,2.5,3", ""])
def test_unknown_variant_is_a_method_error(both: Dataset, pack: Pack, variant: str) -> None:
    with pytest.raises(MethodError) as exc:
        apply_variant(pack, both, variant)
    msg = str(exc.value)
    assert "unknown variant" in msg
    for name in ("no-override", "within-type-pools", "thresholds=", "exclude-specialist"):
        assert name in msg.split("allowed:")[1]


@pytest.mark.parametrize(
    "variant",
    ["thresholds=3.0,2.5,2.0", "thresholds=a,b,c", "thresholds=2.0,2.5", "thresholds=1,2,3,4"],
)
def test_bad_thresholds_are_a_method_error(both: Dataset, pack: Pack, variant: str) -> None:
    with pytest.raises(MethodError) as exc:
        apply_variant(pack, both, variant)
    msg = str(exc.value)
    assert variant in msg and "three finite, strictly ascending cut-points" in msg
    assert "allowed: e.g. thresholds=2.0,2.5,3.0" in msg


@pytest.mark.parametrize(
    "variant", ["thresholds=nan,nan,nan", "thresholds=2.0,2.5,inf", "thresholds=2,2,2"]
)
def test_non_finite_thresholds_are_a_method_error(both: Dataset, pack: Pack, variant: str) -> None:
    with pytest.raises(MethodError):
        apply_variant(pack, both, variant)


def test_variants_compose(both: Dataset, pack: Pack) -> None:
    v = assess_variants(both, pack, ["no-override", "thresholds=2.0,2.5,3.0"], quarter=Q1)
    assert v.cut_points.values == (2.0, 2.5, 3.0)
    for r in v.table.iter_rows(named=True):
        seg = segment_of(r["average_score"], (2.0, 2.5, 3.0))
        assert r["unadjusted_segment"] == r["adjusted_segment"] == seg


def test_likely_ranges_report_progress_chunk_by_chunk(mhc: Dataset, pack: Pack) -> None:
    from nhs_league.analysis.uncertainty import CHUNK, likely_ranges

    calls: list[tuple[int, int]] = []
    a = assess(mhc, pack, quarter="Q4 2025/26")
    likely_ranges(a, pack, replicates=2 * CHUNK + 5, progress=lambda d, t: calls.append((d, t)))
    assert calls == [
        (CHUNK, 2 * CHUNK + 5),
        (2 * CHUNK, 2 * CHUNK + 5),
        (2 * CHUNK + 5, 2 * CHUNK + 5),
    ]


def test_an_estimated_step_is_marked_and_its_path_still_holds(mhc: Dataset, pack: Pack) -> None:
    """Q4, MHC only: sickness absence (OF0082) needs the ambulance trusts, so a step on it is
    an estimate; applied as a what-if, the path still reaches the target segment."""
    a = assess(mhc, pack, quarter="Q4 2025/26")
    imp = improvement(a, pack, "RY2")
    marked = {s.metric_id: s.estimated for s in imp.steps}
    assert marked["OF0082"] is True
    assert any(not e for e in marked.values())
    step = next(s for s in imp.steps if s.metric_id == "OF0082")
    assert "estimated, the pool is incomplete" in step.sentence(pack)
    w = sc.run(mhc, pack, imp.scenario(), quarter="Q4 2025/26", before=a)
    assert w.trust_rows["adjusted_segment_after"][0] <= imp.target_segment
