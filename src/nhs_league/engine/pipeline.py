"""The whole method for one quarter: scores, items, averages, segments, league ranks.

``assess`` is pure: a dataset and a pack in, an :class:`Assessment` out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from nhs_league.dataset import LINEAGE_SCHEMA, Dataset
from nhs_league.engine import aggregate, metrics, ranking, segments
from nhs_league.engine.frames import bools, index_of, nullable, take
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
    # Which file supplies each trust's rows in this quarter (Dataset.lineage, one quarter).
    lineage: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=LINEAGE_SCHEMA))

    def of_type(self, trust_type: str) -> pl.DataFrame:
        return self.table.filter(pl.col("trust_type") == trust_type).sort(
            "league_rank", "trust_name"
        )

    @property
    def files(self) -> list[tuple[str, str]]:
        """(file name, sha256) of the files that supply this quarter's rows, in replay order:
        unlike ``sources`` (every file replayed), a superseded file is not among them."""
        used = self.lineage.select("file", "sha256").unique(maintain_order=True)
        return [(name, sha) for name, sha in used.iter_rows()]

    @property
    def fallbacks(self) -> pl.DataFrame:
        """Cells that did not come from a value against a complete pool, and why."""
        return self.metric_scores.filter(~pl.col("basis").is_in([COMPUTED, INPUT])).select(
            "trust_code", "metric_id", "basis", "note"
        )


def _cut_points(
    pack: Pack, mode: str, averages: np.ndarray, published: pl.DataFrame
) -> tuple[segments.CutPoints, list[str]]:
    """Cut-points of the 2-dp ``averages`` of the table's trusts, and a note if a fallback."""
    seg = pack.segmentation
    method = seg.method if mode == metrics.STRICT else seg.reproduce_method
    notes: list[str] = []
    if method == "fixed-thresholds":
        return segments.fixed(pack), notes
    if method == "implied":
        pub_averages, pub_segments = metrics.published_pair(
            published, pack.summary["average_score"], pack.summary["unadjusted_segment"]
        )
        cuts = segments.implied(pub_averages, pub_segments)
        if cuts is not None:
            return cuts, notes
        notes.append(
            "cut-points: the published segments do not imply cut-points "
            "(a segment is empty or not published); used national quartiles instead"
        )
    return segments.quartiles(averages, seg.percentile_method), notes


def latest_quarter(data: Dataset, trust_type: str | None = None) -> str:
    trusts = data.trusts
    if trust_type is not None:
        trusts = trusts.filter(pl.col("trust_type") == trust_type)
    quarters = Dataset(trusts, data.observations, data.flags, data.published).quarters
    if not quarters:
        raise NoData(f"no loaded data{' for ' + trust_type + ' trusts' if trust_type else ''}")
    return quarters[-1]


def _table_rows(
    trusts: pl.DataFrame, codes: list[str], n_items: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The rows of ``trusts`` in the table, those with items (``n_items``: per trust in
    ``codes``), and each one's trust: its place in ``codes``."""
    trust = index_of(trusts["trust_code"].to_list(), codes)
    scored = trust >= 0
    has_items = np.zeros(trust.size, dtype=bool)
    has_items[scored] = n_items[trust[scored]] > 0
    rows = np.flatnonzero(has_items)
    return rows, trust[rows]


def _flags(
    flag_rows: pl.DataFrame, codes: list[str], trust: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each flag of the trusts ``trust`` (places in ``codes``): where it is set, and where it is
    known (a trust without a flag row, or with a null flag, has it unknown and unset)."""
    row = np.full(len(codes), -1)  # each trust's flag row, -1 if none
    of_row = index_of(flag_rows["trust_code"].to_list(), codes)
    row[of_row[of_row >= 0]] = np.flatnonzero(of_row >= 0)
    row = row[trust]
    found = row >= 0
    out = {}
    for name in ("financial_deficit", "intensive_support"):
        value, known = bools(flag_rows[name])
        is_set, is_known = np.zeros(trust.size, dtype=bool), np.zeros(trust.size, dtype=bool)
        is_set[found], is_known[found] = value[row[found]], known[row[found]]
        out[name] = (is_set, is_known)
    return out


def _table(
    pack: Pack, mode: str, q: Dataset, scores: metrics.Scores, avgs: aggregate.Averages
) -> tuple[pl.DataFrame, segments.CutPoints, list[str]]:
    """The league table: each trust of the quarter that has items, with its averages, flags,
    segments and ranks, in league order within each trust type; and the cut-points used."""
    rows, trust = _table_rows(q.trusts, scores.codes, avgs.n_items)
    average = aggregate.round_array(avgs.raw[trust], pack.published_digits)
    cuts, notes = _cut_points(pack, mode, average, q.published)
    flag = _flags(q.flags, scores.codes, trust)
    unadjusted, adjusted, final = segments.segments(
        pack, cuts, average, flag["financial_deficit"][0], flag["intensive_support"][0]
    )
    types = q.trusts["trust_type"].to_list()
    trust_type = index_of(types, sorted(set(types)))[rows]
    league = ranking.competition_ranks(
        trust_type, ranking.league_key(adjusted, average, pack.ranking_digits)
    )
    o = np.lexsort((trust, league, trust_type))  # the table's order: type, league rank, code
    table = take(q.trusts, rows[o]).hstack(
        [
            *aggregate.average_columns(pack, avgs, trust[o]),
            *[
                nullable(name, is_set[o], known[o], pl.Boolean)
                for name, (is_set, known) in flag.items()
            ],
            pl.Series("unadjusted_segment", unadjusted[o], dtype=pl.Int64),
            pl.Series("adjusted_segment", adjusted[o], dtype=pl.Int64),
            pl.Series("final_segment", final[o], dtype=pl.Int64),
            pl.Series("league_rank", league[o], dtype=pl.Int64),
            pl.Series("league_size", np.bincount(trust_type)[trust_type][o], dtype=pl.Int64),
            pl.Series(
                "score_rank", ranking.competition_ranks(trust_type, average)[o], dtype=pl.Int64
            ),
        ]
    )
    return table, cuts, notes


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
    loaded = set(q.trusts["trust_type"].to_list())  # q holds the one quarter
    scores = metrics.score_quarter(
        pack, q.observations, q.trusts, q.published, loaded, mode, changed
    )
    plan = aggregate.ItemPlan.of(pack, quarter)
    found = aggregate.group_items(
        plan, len(scores.codes), scores.trust, scores.metric_ids, scores.metric, scores.score
    )
    avgs = aggregate.trust_averages(
        found.trust, plan.domain[found.item], found.score, len(scores.codes), len(pack.domains)
    )
    table, cuts, notes = _table(pack, mode, q, scores, avgs)
    return Assessment(
        quarter=quarter,
        mode=mode,
        pack_id=pack.id,
        pack_version=pack.version,
        loaded_types=tuple(sorted(loaded)),
        metric_scores=scores.frame,
        items=aggregate.item_frame(quarter, scores.codes, plan, found),
        table=table,
        cut_points=cuts,
        notes=tuple(notes + metrics.fallback_notes(scores)),
        sources=data.sources,
        lineage=q.lineage,
    )
