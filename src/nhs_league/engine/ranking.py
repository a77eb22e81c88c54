"""League tables (spec section 5): aggregated and individual metric rankings."""

from __future__ import annotations

import polars as pl

from nhs_league.engine.frames import Frame


def league_rank(frame: Frame, digits: int = 2) -> Frame:
    """Aggregated metric ranking within each trust type: adjusted segment, then the 2-dp average;
    equal pairs share a rank and the next rank skips (1, 2, 2, 4)."""
    key = pl.col("adjusted_segment") * 10 ** (digits + 2) + (
        pl.col("average_score") * 10**digits
    ).round(0).cast(pl.Int64)
    return frame.with_columns(
        key.rank(method="min").over("trust_type").cast(pl.Int64).alias("league_rank"),
        pl.len().over("trust_type").cast(pl.Int64).alias("league_size"),
    )


def score_rank(frame: Frame) -> Frame:
    """Rank on the average score alone, within trust type (the Rank of OF5002)."""
    return frame.with_columns(
        pl.col("average_score")
        .rank(method="min")
        .over("trust_type")
        .cast(pl.Int64)
        .alias("score_rank")
    )
