"""Steps 3-4: cut-points, segments, the financial override and segment 5 (spec section 4)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from nhs_league.engine.frames import Frame
from nhs_league.methods.pack import Pack


@dataclass(frozen=True)
class CutPoints:
    """Three cut-points between segments 1|2, 2|3 and 3|4, and how they were found."""

    values: tuple[float, float, float]
    method: str
    note: str = ""


def quartiles(averages: np.ndarray, method: str = "linear") -> CutPoints:
    """National quartiles of the 2-dp averages (spec §4: [fits] linear interpolation)."""
    q = np.percentile(averages, [25, 50, 75], method=method)  # type: ignore[call-overload]
    return CutPoints(
        (float(q[0]), float(q[1]), float(q[2])),
        "national-quartiles",
        f"quartiles of {len(averages)} loaded trusts' averages",
    )


def implied(averages: np.ndarray, segments: np.ndarray) -> CutPoints | None:
    """Cut-points implied by published segments: the midpoint of each gap between the highest
    average of one segment and the lowest of the next (spec §4). None if a segment is empty or
    the published segments overlap."""
    cuts = []
    for k in (1, 2, 3):
        upper, lower = averages[segments == k], averages[segments == k + 1]
        if upper.size == 0 or lower.size == 0 or upper.max() >= lower.min():
            return None
        cuts.append((float(upper.max()) + float(lower.min())) / 2)
    return CutPoints(
        (cuts[0], cuts[1], cuts[2]), "implied", "midpoints of the gaps between published segments"
    )


def fixed(pack: Pack) -> CutPoints:
    t = pack.segmentation.thresholds
    return CutPoints((t[0], t[1], t[2]), "fixed-thresholds", "fixed thresholds of the method pack")


def segment_of(average: pl.Expr, cuts: CutPoints, on_cut_point: str = "better") -> pl.Expr:
    """1 + the number of cut-points the average is past (spec §4)."""
    past = [(average > c) if on_cut_point == "better" else (average >= c) for c in cuts.values]
    return 1 + past[0].cast(pl.Int64) + past[1].cast(pl.Int64) + past[2].cast(pl.Int64)


def apply_segments(pack: Pack, frame: Frame, cuts: CutPoints) -> Frame:
    """Add unadjusted, adjusted (override) and final (segment 5) segments.

    ``frame`` needs ``average_score`` (2 dp), ``financial_deficit`` and ``intensive_support``.
    """
    unadj = segment_of(pl.col("average_score"), cuts, pack.segmentation.on_cut_point)
    best = pack.override_best_segment
    return (
        frame.with_columns(unadj.alias("unadjusted_segment"))
        .with_columns(
            pl.when(pl.col("financial_deficit").fill_null(False))
            .then(pl.max_horizontal(pl.col("unadjusted_segment"), pl.lit(best)))
            .otherwise(pl.col("unadjusted_segment"))
            .alias("adjusted_segment")
        )
        .with_columns(
            pl.when(pl.col("intensive_support").fill_null(False))
            .then(pl.lit(pack.segment5, dtype=pl.Int64))
            .otherwise(pl.col("adjusted_segment"))
            .alias("final_segment")
        )
    )
