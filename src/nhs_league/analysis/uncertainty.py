"""Likely ranges: a bootstrap of each trust's own items (spec section 5).

For each replicate, every trust's n items are resampled with replacement (n draws), the mean is
rounded to 2 dp as published, segmented with the quarter's own cut-points, capped by the
financial override, and ranked within its trust type on (segment, 2-dp mean), exactly as the
league table is. The score range and rank range are the 2.5th and 97.5th percentiles over
replicates; the segment probabilities are the share of replicates in each adjusted segment.

Vectorised with NumPy; seeded; byte-identical for the same inputs, seed and replicate count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from nhs_league.engine.pipeline import Assessment
from nhs_league.methods.pack import Pack

DEFAULT_REPLICATES = 10_000
DEFAULT_SEED = 20250926
CHUNK = 2_000  # replicates drawn at a time: bounds memory; fixed, so results never depend on it
LOW, HIGH = 2.5, 97.5

RANGE_COLUMNS = [
    "score_low",
    "score_high",
    "rank_low",
    "rank_high",
    "p_segment_1",
    "p_segment_2",
    "p_segment_3",
    "p_segment_4",
]

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Items:
    """Each trust's item scores as a padded matrix."""

    codes: list[str]
    types: np.ndarray  # trust type per trust
    values: np.ndarray  # (trusts, max items), NaN-padded
    counts: np.ndarray  # items per trust
    deficit: np.ndarray  # financial override flag per trust


def item_matrix(a: Assessment) -> Items:
    table = a.table.sort("trust_code")
    codes = table["trust_code"].to_list()
    grouped = (
        a.items.sort("trust_code", "item_id")
        .group_by("trust_code", maintain_order=True)
        .agg(pl.col("score"))
    )
    lists = dict(zip(grouped["trust_code"].to_list(), grouped["score"].to_list(), strict=True))
    counts = np.array([len(lists.get(c, [])) for c in codes], dtype=np.int64)
    values = np.full((len(codes), int(counts.max(initial=1))), np.nan)
    for i, c in enumerate(codes):
        values[i, : counts[i]] = lists.get(c, [])
    return Items(
        codes=codes,
        types=table["trust_type"].to_numpy(),
        values=values,
        counts=counts,
        deficit=table["financial_deficit"].fill_null(False).to_numpy().astype(bool),
    )


def resample_means(items: Items, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """(trusts, replicates) means of n draws with replacement from each trust's n items.

    Trusts with the same item count are drawn together, in increasing order of n, so the draws
    (and so the results) depend only on the seed, the items and the replicate count.
    """
    means = np.zeros((len(items.codes), replicates))
    for n in np.unique(items.counts):
        if n == 0:
            continue
        rows = np.flatnonzero(items.counts == n)
        idx = rng.integers(0, n, size=(rows.size, replicates, n), dtype=np.uint8)
        vals = items.values[rows, :n]
        drawn = np.take_along_axis(vals[:, None, :], idx.astype(np.intp), axis=2)
        means[rows] = drawn.sum(axis=2) / n
    return means


def _round2(x: np.ndarray, digits: int) -> np.ndarray:
    scale = 10.0**digits
    out: np.ndarray = np.floor(x * scale + 0.5 + 1e-9)
    return out  # integer hundredths


def competition_ranks(keys: np.ndarray) -> np.ndarray:
    """Competition ranks (1, 2, 2, 4) down axis 0, for each column, smaller key better."""
    order = np.argsort(keys, axis=0, kind="stable")
    srt = np.take_along_axis(keys, order, axis=0)
    pos = np.arange(keys.shape[0])[:, None]
    new_run = np.ones_like(srt, dtype=bool)
    new_run[1:] = srt[1:] != srt[:-1]
    start = np.maximum.accumulate(np.where(new_run, pos, 0), axis=0)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, start + 1, axis=0)
    return ranks


def likely_ranges(
    a: Assessment,
    pack: Pack,
    *,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = DEFAULT_SEED,
    progress: Progress | None = None,
) -> pl.DataFrame:
    """Per trust: score_low/high, rank_low/high and p_segment_1..4 (see module docstring)."""
    if replicates < 1:
        raise ValueError("replicates must be at least 1")
    items = item_matrix(a)
    digits = pack.published_digits
    cuts = np.array(a.cut_points.values)
    rng = np.random.default_rng(seed)
    t = len(items.codes)
    means = np.empty((t, replicates))
    ranks = np.empty((t, replicates), dtype=np.int64)
    segs = np.empty((t, replicates), dtype=np.int8)
    done = 0
    while done < replicates:
        r = min(CHUNK, replicates - done)
        m = resample_means(items, r, rng)
        hundredths = _round2(m, digits)
        rounded = hundredths / 10.0**digits
        if pack.segmentation.on_cut_point == "better":
            seg = 1 + (rounded[:, :, None] > cuts[None, None, :] + 1e-9).sum(axis=2)
        else:
            seg = 1 + (rounded[:, :, None] >= cuts[None, None, :] - 1e-9).sum(axis=2)
        seg = np.where(items.deficit[:, None], np.maximum(seg, pack.override_best_segment), seg)
        key = seg.astype(np.int64) * 100_000 + hundredths.astype(np.int64)
        rk = np.empty_like(key)
        for ttype in np.unique(items.types):
            rows = items.types == ttype
            rk[rows] = competition_ranks(key[rows])
        means[:, done : done + r] = m
        ranks[:, done : done + r] = rk
        segs[:, done : done + r] = seg
        done += r
        if progress is not None:
            progress(done, replicates)
    lo, hi = np.percentile(means, [LOW, HIGH], axis=1)
    rlo, rhi = np.percentile(ranks, [LOW, HIGH], axis=1)
    out = {
        "trust_code": items.codes,
        "score_low": np.floor(lo * 100 + 0.5 + 1e-9) / 100,
        "score_high": np.floor(hi * 100 + 0.5 + 1e-9) / 100,
        "rank_low": np.floor(rlo + 0.5).astype(np.int64),
        "rank_high": np.floor(rhi + 0.5).astype(np.int64),
    }
    for k in (1, 2, 3, 4):
        out[f"p_segment_{k}"] = np.round((segs == k).mean(axis=1), 4)
    return pl.DataFrame(out).with_columns(
        pl.col("score_low").round(2), pl.col("score_high").round(2)
    )


def with_ranges(a: Assessment, pack: Pack, frame: pl.DataFrame, **kw: object) -> pl.DataFrame:
    """``frame`` (one row per trust, with ``trust_code``) with the likely-range columns added."""
    ranges = likely_ranges(a, pack, **kw)  # type: ignore[arg-type]
    return frame.join(ranges, on="trust_code", how="left")
