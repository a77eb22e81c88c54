"""Step 1: score each metric, 1.00 (best) to 4.00 (spec section 2).

Pure functions over NumPy arrays and Polars frames. Each score row carries its family, the size of
the group it was ranked in, its position there and whether a target was met, so that
:mod:`nhs_league.engine.explain` can state the arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from nhs_league.engine.runs import as_previous, run_start
from nhs_league.methods.pack import Metric

SCORE_SCHEMA = {
    "quarter": pl.String,
    "trust_code": pl.String,
    "trust_type": pl.String,
    "metric_id": pl.String,
    "value_id": pl.String,
    "value": pl.Float64,
    "units": pl.String,
    "score": pl.Float64,
    "family": pl.String,
    "pool_size": pl.Int64,
    "position": pl.Int64,
    "target_met": pl.Boolean,
    "pool_complete": pl.Boolean,
    "basis": pl.String,
    "note": pl.String,
    "file_rank": pl.Float64,
}

# basis: how a score was obtained.
COMPUTED = "computed"  # from the value, against a complete pool
PARTIAL_POOL = "computed-partial-pool"  # from the value, against the loaded trusts only
PUBLISHED = "published-on-grid"  # NHS England's published score, moved back onto the grid
PUBLISHED_RAW = "published"  # NHS England's published score as printed
INPUT = "input"  # a score NHS England publishes without a value
ESTIMATED = "estimated"  # a scenario's changed value placed among recovered grid scores


def positions(key: np.ndarray, group: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Competition positions (1, 2, 2, 4) of ``key`` (smaller is better).

    Values that are equal share a position, except within one ``group`` (trust type), where the
    file's within-type ``rank`` recovers NHS England's order of the unrounded values (spec §2,
    Positions). Equal values across groups cannot be ordered and share the position.
    """
    # Sorted by key, then group, then rank, equal keys form a run, split into runs of one group
    # and those into runs of one rank (NaN sorts last and equals nothing).
    order = np.lexsort((rank, group, key))
    k, g, r = key[order], group[order], rank[order]
    same_key = as_previous(k)
    same_group = same_key & as_previous(g)
    same_rank = same_group & as_previous(r)
    # the keys before a key's run are smaller; within its group, those before its rank's run
    # have a smaller rank (a NaN rank is smaller than none)
    smaller = run_start(same_key)
    ranked_ahead = np.where(np.isnan(r), 0, run_start(same_rank) - run_start(same_group))
    # a NaN key is smaller than none and larger than none
    out = np.empty(key.size, dtype=np.int64)
    out[order] = np.where(np.isnan(k), 1, 1 + smaller + ranked_ahead)
    return out


def _spread(pos: np.ndarray, n: int, lo: float, span: float) -> np.ndarray:
    if n <= 1:
        return np.full(pos.shape, lo)
    return lo + span * (pos - 1) / (n - 1)


@dataclass(frozen=True)
class Scored:
    """Scores of one metric for the trusts of one pool (parallel arrays)."""

    score: np.ndarray
    pool_size: np.ndarray
    position: np.ndarray
    target_met: np.ndarray  # object array of True/False/None


def _key(metric: Metric, value: np.ndarray) -> np.ndarray:
    return -value if metric.higher_is_better else value


def _met(metric: Metric, value: np.ndarray) -> np.ndarray:
    assert metric.target is not None
    # A value exactly on the target counts as met (spec §2, family B).
    return value >= metric.target if metric.higher_is_better else value <= metric.target


def score_ranked(
    metric: Metric, value: np.ndarray, group: np.ndarray, rank: np.ndarray, is_count: np.ndarray
) -> Scored:
    """Score one pool of a ranked family (continuous, target, standard)."""
    n = len(value)
    score = np.zeros(n)
    pool = np.zeros(n, dtype=np.int64)
    pos = np.zeros(n, dtype=np.int64)
    met = np.full(n, None, dtype=object)
    key = _key(metric, value)
    if metric.family == "continuous":
        p = positions(key, group, rank)
        return Scored(_spread(p, n, 1.0, 3.0), np.full(n, n), p, met)
    ok = _met(metric, value)
    if metric.family == "target":
        # Count rows (no threshold): 1 + count, at most 4; they are not in the ranked group.
        ranked = ~ok & ~is_count
        score[ok & ~is_count] = 1.0
        score[is_count] = np.minimum(1.0 + value[is_count], 4.0)
        lo, span = 2.0, 2.0
    elif metric.family == "standard":
        ranked = ok
        score[~ok] = 4.0
        lo, span = 1.0, 2.0
    else:  # pragma: no cover - families are validated by the pack
        raise ValueError(metric.family)
    m = int(ranked.sum())
    if m:
        p = positions(key[ranked], group[ranked], rank[ranked])
        score[ranked] = _spread(p, m, lo, span)
        pos[ranked] = p
        pool[ranked] = m
    met[:] = np.where(is_count, value == 0, ok)
    return Scored(score, pool, pos, met)


def band_score(metric: Metric, value: np.ndarray) -> np.ndarray:
    """Family D: four bands. The outer edge belongs to band 1; a value on an inner edge goes to
    the worse band (spec §2, ``inner_edge = "worse"``) or, if the pack says so, the better one."""
    e1, e2, e3 = metric.bands
    sign = 1.0 if metric.higher_is_better else -1.0
    v, b1, b2, b3 = sign * value, sign * e1, sign * e2, sign * e3
    inner = np.greater if metric.inner_edge == "worse" else np.greater_equal
    out: np.ndarray = np.where(
        v >= b1, 1.0, np.where(inner(v, b2), 2.0, np.where(inner(v, b3), 3.0, 4.0))
    )
    return out


def matrix_score(metric: Metric, row: np.ndarray, col: np.ndarray) -> np.ndarray:
    table = np.asarray(metric.matrix, dtype=float)
    out: np.ndarray = table[row.astype(int) - 1, col.astype(int) - 1]
    return out


_GRID_BLOCK = 16  # candidate pool sizes tried at once by grid_size


def grid_size(
    scores: np.ndarray,
    lo: float,
    span: float,
    at_least: int,
    tolerance: float = 0.005,
    limit: int = 1000,
) -> int | None:
    """The smallest pool size N >= ``at_least`` whose grid ``lo + span·k/(N−1)`` holds every
    published (rounded) score to within ``tolerance`` (spec §6)."""
    if scores.size == 0:
        return None
    eps = 1e-9
    for first in range(max(at_least, 2), limit + 1, _GRID_BLOCK):
        # candidate sizes N, a block at a time: one row each
        n = np.arange(first, min(first + _GRID_BLOCK, limit + 1))[:, None]
        k = np.round((scores - lo) * (n - 1) / span)
        d = scores - (lo + span * k / (n - 1))
        # Published figures round halves up: a score may sit 0.005 above its grid point, never
        # 0.005 below it. This rejects grids that fit only by rounding both ways.
        fits = np.all((d > -tolerance + eps) & (d <= tolerance + eps), axis=1)
        if fits.any():
            return int(n[fits.argmax(), 0])
    return None


def snap(scores: np.ndarray, lo: float, span: float, n: int) -> np.ndarray:
    """Move published scores back onto the grid of pool size ``n``."""
    k = np.round((scores - lo) * (n - 1) / span)
    return lo + span * k / (n - 1)


def grid_of(metric: Metric) -> tuple[float, float]:
    """(lowest score, span) of a ranked family's grid."""
    return {"continuous": (1.0, 3.0), "target": (2.0, 2.0), "standard": (1.0, 2.0)}[metric.family]
