"""The whole method for one quarter: scores, items, averages, segments, league ranks.

``assess`` is pure: a dataset and a pack in, an :class:`Assessment` out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from nhs_league.dataset import Dataset
from nhs_league.engine import aggregate, metrics, ranking, segments
from nhs_league.engine.frames import collect
from nhs_league.engine.scoring import COMPUTED, INPUT
from nhs_league.errors import NoData
from nhs_league.methods.pack import Pack


@dataclass(frozen=True)
class Assessment:
    """Everything computed for one quarter, with what it rests on."""

    quarter: str
    mode: str
    pack_id: str
    pack_version: str
    loaded_types: tuple[str, ...]
    metric_scores: pl.DataFrame
    items: pl.DataFrame
    table: pl.DataFrame
    cut_points: segments.CutPoints
    notes: tuple[str, ...] = field(default=())
    sources: tuple[tuple[str, str], ...] = field(default=())

    def of_type(self, trust_type: str) -> pl.DataFrame:
        return self.table.filter(pl.col("trust_type") == trust_type).sort(
            "league_rank", "trust_name"
        )

    @property
    def fallbacks(self) -> pl.DataFrame:
        """Cells that did not come from a value against a complete pool, and why."""
        return self.metric_scores.filter(~pl.col("basis").is_in([COMPUTED, INPUT])).select(
            "trust_code", "metric_id", "basis", "note"
        )


def _published_pair(published: pl.DataFrame, a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
    """The published values of metrics ``a`` and ``b`` of each trust that has both."""
    of = metrics.published_values(published, [a, b])
    codes = [c for c, v in of[a].items() if v is not None and of[b].get(c) is not None]
    return (
        np.array([of[a][c] for c in codes], dtype=float),
        np.array([of[b][c] for c in codes], dtype=float),
    )


def _cut_points(
    pack: Pack, mode: str, table: pl.DataFrame, published: pl.DataFrame
) -> tuple[segments.CutPoints, list[str]]:
    seg = pack.segmentation
    method = seg.method if mode == metrics.STRICT else seg.reproduce_method
    notes: list[str] = []
    if method == "fixed-thresholds":
        return segments.fixed(pack), notes
    if method == "implied":
        averages, segs = _published_pair(
            published, pack.summary["average_score"], pack.summary["unadjusted_segment"]
        )
        cuts = segments.implied(averages, segs)
        if cuts is not None:
            return cuts, notes
        notes.append(
            "cut-points: the published segments do not imply cut-points "
            "(a segment is empty or not published); used national quartiles instead"
        )
    avgs = table["average_score"].drop_nulls().to_numpy()
    return segments.quartiles(avgs, seg.percentile_method), notes


def _fallback_notes(scores: pl.DataFrame) -> list[str]:
    """One note per metric and basis of the scores that are not computed from a complete pool."""
    counts = collect(
        scores.lazy()
        .filter(~pl.col("basis").is_in([COMPUTED, INPUT]))
        .group_by("metric_id", "basis")
        .agg(pl.len(), pl.col("note").first())
        .sort("metric_id", "basis")
    )
    return [
        f"{row['metric_id']}: {row['len']} scores {row['basis']} ({row['note']})"
        for row in counts.iter_rows(named=True)
    ]


def latest_quarter(data: Dataset, trust_type: str | None = None) -> str:
    trusts = data.trusts
    if trust_type is not None:
        trusts = trusts.filter(pl.col("trust_type") == trust_type)
    quarters = Dataset(trusts, data.observations, data.flags, data.published).quarters
    if not quarters:
        raise NoData(f"no loaded data{' for ' + trust_type + ' trusts' if trust_type else ''}")
    return quarters[-1]


def assess(
    data: Dataset,
    pack: Pack,
    *,
    quarter: str | None = None,
    mode: str = "reproduce",
    changed: frozenset[tuple[str, str]] = frozenset(),
) -> Assessment:
    """Recompute one quarter (default: the latest loaded) from the dataset's values and flags.

    ``mode`` is ``strict`` (everything from values; national quartiles of the loaded trusts) or
    ``reproduce`` (NHS England's published score, on the grid, where a pool needs an unloaded
    trust type; cut-points implied by the published segments).
    """
    if mode not in metrics.MODES:
        raise ValueError(f"mode must be one of {', '.join(metrics.MODES)}, got {mode!r}")
    quarter = quarter or latest_quarter(data)
    q = data.quarter(quarter)
    if q.trusts.height == 0:
        raise NoData(f"no loaded data for {quarter}; loaded quarters: {', '.join(data.quarters)}")
    loaded = set(q.trusts["trust_type"].unique().to_list())  # q holds the one quarter
    scores = metrics.score_quarter(pack, q.observations, q.published, loaded, mode, changed)
    item_frame = aggregate.items(pack, scores, quarter)
    avgs = aggregate.averages(pack, item_frame)
    table = collect(
        q.trusts.lazy()
        .join(avgs.lazy().drop("quarter"), on="trust_code", how="inner")
        .join(q.flags.lazy().drop("quarter"), on="trust_code", how="left")
    )
    cuts, notes = _cut_points(pack, mode, table, q.published)
    table = collect(
        ranking.score_rank(
            ranking.league_rank(
                segments.apply_segments(pack, table.lazy(), cuts), pack.ranking_digits
            )
        ).sort("trust_type", "league_rank", "trust_code")
    )
    notes += _fallback_notes(scores)
    return Assessment(
        quarter=quarter,
        mode=mode,
        pack_id=pack.id,
        pack_version=pack.version,
        loaded_types=tuple(sorted(loaded)),
        metric_scores=scores,
        items=item_frame,
        table=table,
        cut_points=cuts,
        notes=tuple(notes),
        sources=data.sources,
    )
