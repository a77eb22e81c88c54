"""Movement between quarters: change in average, segment and rank, whether the change in average
is statistically significant, and why a segment changed (docs/analysis.md).

**Significance** (a paired bootstrap). The same item (metric, or the infection group) is matched
across the two quarters, and each trust's n paired differences (later − earlier) are resampled
with replacement, n draws, as the likely ranges resample items. The 2.5th–97.5th percentiles of
the resampled mean difference give a 95% interval; the change is significant when it excludes
zero. Pairing matters: resampling each quarter's items independently mixes the spread *between*
metrics (scores run from 1 to 4 within any trust) into the test, and then no change in this data
would ever be significant. Items present in only one quarter do not enter the test
(``paired_items`` says how many did).

**Cause of a segment change** (adjusted segment):
``override applied`` / ``override removed`` when the unadjusted segment stayed put and the
financial deficit flag changed; otherwise ``average crossed a cut-point`` when the new average
would be in a different segment even under the earlier quarter's cut-points, else
``cut-points moved``; an override change on top is added after a semicolon.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from nhs_league.analysis.uncertainty import DEFAULT_SEED, Items, padded, resample_means
from nhs_league.dataset import Dataset
from nhs_league.engine.pipeline import Assessment, assess
from nhs_league.engine.segments import CutPoints, unadjusted
from nhs_league.methods.pack import Pack

DEFAULT_REPLICATES = 10_000


def _cause(r: dict[str, object], before: CutPoints, pack: Pack) -> str | None:
    if r["adjusted_segment_from"] == r["adjusted_segment_to"]:
        return None
    d_from, d_to = bool(r["financial_deficit_from"]), bool(r["financial_deficit_to"])
    override = None
    if d_from != d_to:
        override = "override applied" if d_to else "override removed"
    if r["unadjusted_segment_from"] == r["unadjusted_segment_to"]:
        return override or "unexplained"
    average = float(r["average_score_to"])  # type: ignore[arg-type]
    at_old = int(unadjusted(pack, before.values, np.array(average)))
    main = (
        "cut-points moved"
        if at_old == r["unadjusted_segment_from"]
        else ("average crossed a cut-point")
    )
    return f"{main}; {override}" if override else main


def _significance(
    a: Assessment, b: Assessment, codes: list[str], replicates: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    pairs = (
        b.items.select("trust_code", "item_id", pl.col("score").alias("to"))
        .join(
            a.items.select("trust_code", "item_id", pl.col("score").alias("from")),
            on=["trust_code", "item_id"],
            how="inner",
        )
        .with_columns((pl.col("to") - pl.col("from")).alias("diff"))
    )
    values, counts = padded(pairs, "diff", codes)
    diffs = Items(codes, np.zeros(len(codes)), values, counts, np.zeros(len(codes), bool))
    means = resample_means(diffs, replicates, np.random.default_rng(seed))
    lo, hi = np.percentile(means, [2.5, 97.5], axis=1)
    sig = ((lo > 0) | (hi < 0)) & (counts > 1)
    return lo, hi, sig, counts


def movement(
    data: Dataset,
    pack: Pack,
    q_from: str,
    q_to: str,
    *,
    trust_type: str | None = None,
    mode: str = "reproduce",
    replicates: int = DEFAULT_REPLICATES,
    seed: int = DEFAULT_SEED,
) -> pl.DataFrame:
    """One row per trust present in both quarters (of ``trust_type`` if given)."""
    a = assess(data, pack, quarter=q_from, mode=mode)
    b = assess(data, pack, quarter=q_to, mode=mode)
    cols = [
        "average_score",
        "unadjusted_segment",
        "adjusted_segment",
        "league_rank",
        "financial_deficit",
    ]
    ta, tb = a.table, b.table
    if trust_type:
        ta, tb = (
            ta.filter(pl.col("trust_type") == trust_type),
            tb.filter(pl.col("trust_type") == trust_type),
        )
    j = (
        tb.select(
            "trust_code", "trust_name", "trust_type", *[pl.col(c).alias(f"{c}_to") for c in cols]
        )
        .join(
            ta.select("trust_code", *[pl.col(c).alias(f"{c}_from") for c in cols]),
            on="trust_code",
            how="inner",
        )
        .sort("trust_type", "league_rank_to", "trust_code")
    )
    codes = j["trust_code"].to_list()
    lo, hi, sig, paired = _significance(a, b, codes, replicates, seed)
    causes = [_cause(r, a.cut_points, pack) for r in j.iter_rows(named=True)]
    return j.with_columns(
        (pl.col("average_score_to") - pl.col("average_score_from")).round(2).alias("change"),
        (pl.col("league_rank_from") - pl.col("league_rank_to")).alias("places_up"),
        pl.Series("change_low", np.round(lo, 3) + 0.0),  # + 0.0: no "-0.0"
        pl.Series("change_high", np.round(hi, 3) + 0.0),
        pl.Series("significant", sig),
        pl.Series("paired_items", paired),
        pl.Series("segment_change_cause", causes, dtype=pl.String),
    ).select(
        "trust_code",
        "trust_name",
        "trust_type",
        "average_score_from",
        "average_score_to",
        "change",
        "change_low",
        "change_high",
        "significant",
        "paired_items",
        "adjusted_segment_from",
        "adjusted_segment_to",
        "segment_change_cause",
        "league_rank_from",
        "league_rank_to",
        "places_up",
        "unadjusted_segment_from",
        "unadjusted_segment_to",
        "financial_deficit_from",
        "financial_deficit_to",
    )
