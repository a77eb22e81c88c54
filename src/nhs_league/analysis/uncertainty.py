"""Likely ranges: a bootstrap of each trust's own items (spec section 5).

Each trust's n items are resampled with replacement (n draws). The mean is rounded to 2 dp as
published, segmented with the quarter's own cut-points, capped by the financial override, and
ranked within its trust type on (segment, 2-dp mean), exactly as the league table is.

* The **score range** (2.5th–97.5th percentile of the resampled mean) and the **segment
  probabilities** depend on the trust's own items only, so they are computed from the *exact*
  distribution of the resampled mean (an n-fold convolution, :func:`mean_distribution`): no
  Monte Carlo noise, the same for every seed, the limit NHS England's ~10,000 replicates estimate.
* The **rank range** depends on every trust of the type at once, so it is simulated: R replicates
  (default 10,000), all trusts resampled together, the 2.5th–97.5th percentile of the ranks.

Vectorised with NumPy; seeded; byte-identical for the same inputs, seed and replicate count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from nhs_league.engine.aggregate import round_half_up, to_units
from nhs_league.engine.pipeline import Assessment
from nhs_league.engine.segments import capped, highest_average, unadjusted
from nhs_league.methods.pack import Pack

DEFAULT_REPLICATES = 10_000
DEFAULT_SEED = 20250926
CHUNK = 2_000  # replicates drawn at a time: bounds memory; fixed, so results never depend on it
LOW, HIGH = 2.5, 97.5
MAX_ITEMS = 255  # pair indices are drawn as uint16 (n * n < 65,536); trusts have about 20
GRID = 1e-3  # resolution of item scores in the exact distribution of a trust's mean

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


def padded(frame: pl.DataFrame, column: str, codes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``column`` of ``frame`` (rows: trust_code, item_id, ...) as one NaN-padded row per trust
    of ``codes``, items in item order; and the number of items of each trust."""
    grouped = (
        frame.sort("trust_code", "item_id")
        .group_by("trust_code", maintain_order=True)
        .agg(pl.col(column))
    )
    lists = dict(zip(grouped["trust_code"].to_list(), grouped[column].to_list(), strict=True))
    counts = np.array([len(lists.get(c, [])) for c in codes], dtype=np.int64)
    values = np.full((len(codes), int(counts.max(initial=1))), np.nan)
    for i, c in enumerate(codes):
        values[i, : counts[i]] = lists.get(c, [])
    return values, counts


def item_matrix(a: Assessment) -> Items:
    table = a.table.sort("trust_code")
    codes = table["trust_code"].to_list()
    values, counts = padded(a.items, "score", codes)
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
    (and so the results) depend only on the seed, the items and the replicate count. Draws are
    taken two at a time, as one uniform index into the table of pair sums (the same distribution
    as two independent draws, with half the gathering), plus one single draw when n is odd.
    """
    means = np.zeros((len(items.codes), replicates))
    if items.counts.max(initial=0) > MAX_ITEMS:
        raise ValueError(f"at most {MAX_ITEMS} items per trust can be resampled")
    for n in np.unique(items.counts):
        if n == 0:
            continue
        rows = np.flatnonzero(items.counts == n)
        vals = items.values[rows, :n]
        pair_sums = (vals[:, :, None] + vals[:, None, :]).reshape(rows.size, n * n)
        pairs = rng.integers(0, n * n, size=(rows.size, replicates, n // 2), dtype=np.uint16)
        total = np.take_along_axis(pair_sums[:, None, :], pairs.astype(np.intp), axis=2).sum(2)
        if n % 2:
            one = rng.integers(0, n, size=(rows.size, replicates, 1), dtype=np.uint8)
            total += np.take_along_axis(vals[:, None, :], one.astype(np.intp), axis=2)[:, :, 0]
        means[rows] = total / n
    return means


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
    ranks = np.empty((t, replicates), dtype=np.int64)
    done = 0
    while done < replicates:
        r = min(CHUNK, replicates - done)
        hundredths = to_units(resample_means(items, r, rng), digits)
        seg = capped(
            pack, unadjusted(pack, a.cut_points.values, hundredths / 10.0**digits), items.deficit
        )
        key = seg.astype(np.int64) * 100_000 + hundredths.astype(np.int64)
        rk = np.empty_like(key)
        for ttype in np.unique(items.types):
            rows = items.types == ttype
            rk[rows] = competition_ranks(key[rows])
        ranks[:, done : done + r] = rk
        done += r
        if progress is not None:
            progress(done, replicates)
    rlo, rhi = np.percentile(ranks, [LOW, HIGH], axis=1)
    exact = [_exact(items, i, cuts, pack) for i in range(t)]
    out: dict[str, object] = {
        "trust_code": items.codes,
        "score_low": [e[0] for e in exact],
        "score_high": [e[1] for e in exact],
        "rank_low": np.floor(rlo + 0.5).astype(np.int64),
        "rank_high": np.floor(rhi + 0.5).astype(np.int64),
    }
    for k in (1, 2, 3, 4):
        out[f"p_segment_{k}"] = [round(float(e[2][k - 1]), 4) for e in exact]
    return pl.DataFrame(out)


def mean_distribution(values: np.ndarray, step: float = GRID) -> tuple[np.ndarray, np.ndarray]:
    """The exact distribution of the mean of n draws with replacement from n ``values``.

    Values are placed on a grid of ``step`` (the mean is then exact to step/2); the n-fold
    convolution of one draw's distribution is taken with an FFT. Returns (means, probabilities).
    """
    n = values.size
    lo = float(values.min())
    q = np.round((values - lo) / step).astype(np.int64)
    one = np.bincount(q, minlength=int(q.max()) + 1) / n
    size = n * (one.size - 1) + 1
    fft_len = 1 << max(size - 1, 1).bit_length()
    pmf = np.fft.irfft(np.fft.rfft(one, fft_len) ** n, fft_len)[:size]
    pmf = np.clip(pmf, 0.0, None)
    pmf /= pmf.sum()
    return lo + np.arange(size) * step / n, pmf


def _segment_probabilities(means: np.ndarray, cdf: np.ndarray, cuts: np.ndarray, deficit: bool,
                           pack: Pack) -> np.ndarray:  # fmt: skip
    """P(adjusted segment = 1..4) from the distribution of the unrounded mean.

    The 2-dp average is at most a cut-point c exactly when the unrounded mean is below the
    rounding boundary of the largest 2-dp value not past c (halves round up)."""
    half = 0.5 / 10.0**pack.segmentation.average_digits
    at_most = []
    for k in range(1, cuts.size + 1):
        # means below this round to at most the highest 2-dp average of segment k
        boundary = highest_average(pack, tuple(cuts), k) + half
        j = int(np.searchsorted(means, boundary - 1e-12, side="left"))
        at_most.append(float(cdf[j - 1]) if j > 0 else 0.0)
    cum = np.array([*at_most, 1.0])
    probs = np.diff(cum, prepend=0.0)
    if deficit:  # the override: segments 1 and 2 become 3
        best = pack.override_best_segment
        probs[best - 1] += probs[: best - 1].sum()
        probs[: best - 1] = 0.0
    out: np.ndarray = np.clip(probs, 0.0, 1.0)
    return out


def _exact(items: Items, i: int, cuts: np.ndarray, pack: Pack
           ) -> tuple[float | None, float | None, np.ndarray]:  # fmt: skip
    """Score range (2.5th and 97.5th percentiles, 2 dp) and segment probabilities of trust i,
    from the exact resampling distribution of its mean: no Monte Carlo noise."""
    n = int(items.counts[i])
    if n == 0:
        return None, None, np.zeros(4)
    means, pmf = mean_distribution(items.values[i, :n])
    cdf = np.cumsum(pmf)
    digits = pack.published_digits
    low = means[min(int(np.searchsorted(cdf, LOW / 100 - 1e-12)), means.size - 1)]
    high = means[min(int(np.searchsorted(cdf, HIGH / 100 - 1e-12)), means.size - 1)]
    probs = _segment_probabilities(means, cdf, cuts, bool(items.deficit[i]), pack)
    return (round_half_up(float(low), digits), round_half_up(float(high), digits), probs)
