"""League tables (spec section 5): aggregated and individual metric rankings."""

from __future__ import annotations

import numpy as np
import polars as pl

from nhs_league.engine.runs import as_previous, run_start


def competition_ranks(group: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Ranks of ``key`` within each ``group``, smallest first: equal keys share a rank and the
    next rank skips (1, 2, 2, 4)."""
    order = np.lexsort((key, group))
    same_group = as_previous(group[order])
    same_key = same_group & as_previous(key[order])
    ranks = np.empty(order.size, dtype=np.int64)
    ranks[order] = 1 + run_start(same_key) - run_start(same_group)
    return ranks


def league_key(adjusted: np.ndarray, average: np.ndarray, digits: int = 2) -> np.ndarray:
    """Aggregated metric ranking order: adjusted segment, then the ``digits``-dp average."""
    out: np.ndarray = adjusted * 10 ** (digits + 2) + np.round(average * 10**digits).astype(
        np.int64
    )
    return out


def league_rank(frame: pl.DataFrame, digits: int = 2) -> pl.DataFrame:
    """Aggregated metric ranking within each trust type: adjusted segment, then the 2-dp average;
    equal pairs share a rank and the next rank skips (1, 2, 2, 4)."""
    group = frame["trust_type"].rank("dense").to_numpy()
    key = league_key(
        frame["adjusted_segment"].to_numpy(), frame["average_score"].to_numpy(), digits
    )
    return frame.with_columns(
        pl.Series("league_rank", competition_ranks(group, key), dtype=pl.Int64),
        pl.Series("league_size", np.bincount(group)[group], dtype=pl.Int64),
    )
