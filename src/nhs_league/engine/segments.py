"""Steps 3-4: cut-points, segments, the financial override and segment 5 (spec section 4)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from nhs_league.engine.frames import nullable
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


_EPS = 1e-9  # 2-dp averages and cut-points compared without binary noise


def unadjusted(pack: Pack, cuts: tuple[float, ...], average: np.ndarray) -> np.ndarray:
    """Segment of each 2-dp ``average`` (any shape): 1 + the number of cut-points it is past; an
    average on a cut-point takes the better segment unless the pack says otherwise (spec §4)."""
    edges = np.asarray(cuts)
    expanded = np.asarray(average, dtype=float)[..., None]
    if pack.segmentation.on_cut_point == "better":
        past = expanded > edges + _EPS
    else:
        past = expanded >= edges - _EPS
    out: np.ndarray = 1 + past.sum(axis=-1)
    return out


def capped(pack: Pack, segment: np.ndarray, deficit: np.ndarray) -> np.ndarray:
    """The financial override: a trust in deficit is no better than the pack's best segment.
    ``deficit`` is per trust (axis 0 of ``segment``)."""
    flag = np.asarray(deficit).reshape(np.shape(deficit) + (1,) * (segment.ndim - np.ndim(deficit)))
    out: np.ndarray = np.where(flag, np.maximum(segment, pack.override_best_segment), segment)
    return out


def highest_average(pack: Pack, cuts: tuple[float, ...], segment: int) -> float:
    """The highest 2-dp average that ``cuts`` place in ``segment`` (1-3): the inverse of
    :func:`unadjusted`."""
    cut = cuts[segment - 1]
    scale = 10**pack.segmentation.average_digits
    if pack.segmentation.on_cut_point == "better":
        return float(np.floor(cut * scale + _EPS) / scale)
    return float((np.ceil(cut * scale - _EPS) - 1) / scale)


def segments(
    pack: Pack, cuts: CutPoints, average: np.ndarray, deficit: np.ndarray, support: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unadjusted, adjusted (override) and final (segment 5) segments of 2-dp ``average`` scores
    (spec §4); ``deficit`` and ``support``: the trusts in financial deficit and in intensive
    support."""
    plain = unadjusted(pack, cuts.values, average)
    adjusted = capped(pack, plain, deficit)
    final = np.where(support, pack.segment5, adjusted)
    return plain, adjusted, final


def apply_segments(pack: Pack, frame: pl.DataFrame, cuts: CutPoints) -> pl.DataFrame:
    """Add unadjusted, adjusted (override) and final (segment 5) segments (see :func:`segments`).

    ``frame`` needs ``average_score`` (2 dp), ``financial_deficit`` and ``intensive_support``.
    Without an average, the segments are null unless the override or segment 5 sets them.
    """
    average = frame["average_score"]
    deficit = frame["financial_deficit"].fill_null(False).to_numpy()
    support = frame["intensive_support"].fill_null(False).to_numpy()
    found = segments(pack, cuts, average.to_numpy().astype(float), deficit, support)
    known = average.is_not_null().to_numpy()
    valid = (known, known | deficit, known | deficit | support)
    names = ("unadjusted_segment", "adjusted_segment", "final_segment")
    return frame.with_columns(
        nullable(name, segment, ok, pl.Int64)
        for name, segment, ok in zip(names, found, valid, strict=True)
    )
