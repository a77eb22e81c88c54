"""What a correction changed: every cell, and every league position that moved because of it.

A correction is a file that supersedes an earlier file of the same release (the same latest
quarter, trust types and kind; :class:`nhs_league.dataset.Release`), normally NHS England's
``-v2`` reissue of a file. For one quarter, :func:`corrections` compares

* the two files' rows of that quarter, cell by cell (:func:`changed_cells`): each value, rank and
  reporting date (named by the trust data file's columns ``Value``, ``Rank``,
  ``Reporting_date``), each flag (as the ``Value`` of its metric id, 0.0 or 1.0) and each trust's
  name, type, subtype and region. The store keeps the rows the method reads, so columns it does
  not read (medians, quartiles, descriptions) are not compared;
* the quarter assessed with the dataset as it was before the correction and after it
  (:func:`moved_positions`): every trust whose average score, segment, final segment or league
  rank changed. A correction can move trusts it does not list: ranks shift around a trust that
  moved, and pools and cut-points are shared.

Pure: it works on stored files (:meth:`nhs_league.store.Store.stored_files`), not on the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import polars as pl

from nhs_league.dataset import Dataset, Release, release_of, version_of
from nhs_league.engine.pipeline import assess
from nhs_league.ingest.tables import Publication
from nhs_league.methods.pack import Pack
from nhs_league.store import StoredFile, dataset_of

CELL_COLUMNS = ["quarter", "trust_code", "trust_name", "metric_id", "units", "column", "old", "new"]
_KEY = ["trust_code", "metric_id", "units", "column"]
_TRUST_COLUMNS = {
    "trust_name": "Trust_name",
    "trust_type": "Trust_type",
    "subtype": "Trust_subtype",
    "region": "Region",
}
_POSITION = {
    "average_score": "average",
    "adjusted_segment": "segment",
    "final_segment": "final_segment",
    "league_rank": "rank",
}


@dataclass(frozen=True)
class Correction:
    """One file superseding an earlier issue of its release, seen in one quarter."""

    quarter: str
    release: Release
    old: StoredFile
    new: StoredFile
    cells: pl.DataFrame  # CELL_COLUMNS
    moves: pl.DataFrame  # trust_code, trust_name, trust_type, then <x>_before, <x>_after

    def as_dict(self) -> dict[str, object]:
        def ref(f: StoredFile) -> dict[str, object]:
            return {
                "file": f.publication.name,
                "sha256": f.publication.sha256,
                "source_url": f.provenance.source_url,
                "version": version_of(f.publication.name),
            }

        return {
            "quarter": self.quarter,
            "trust_types": list(self.release.trust_types),
            "kind": self.release.kind,
            "superseded": ref(self.old),
            "superseding": ref(self.new),
            "cells": self.cells.to_dicts(),
            "moves": self.moves.to_dicts(),
        }


def supersessions(files: Sequence[StoredFile]) -> list[tuple[StoredFile, StoredFile]]:
    """Each (earlier, later) pair of consecutive issues of one release, in load order of the
    later; issues ordered by version, then load order, as the dataset replays them."""
    groups: dict[Release, list[StoredFile]] = {}
    for f in files:
        groups.setdefault(release_of(f.publication), []).append(f)
    pairs = []
    for members in groups.values():
        issues = sorted(members, key=lambda f: (version_of(f.publication.name), f.seq))
        pairs += list(pairwise(issues))
    return sorted(pairs, key=lambda pair: pair[1].seq)


def corrections(
    files: Sequence[StoredFile],
    pack: Pack,
    quarter: str,
    *,
    trust_type: str | None = None,
    mode: str = "reproduce",
) -> list[Correction]:
    """Every correction among ``files`` (in load order) that covers ``quarter`` (and
    ``trust_type``), with the cells it changed and the positions that moved."""
    out = []
    for old, new in supersessions(files):
        release = release_of(new.publication)
        if quarter not in set(new.publication.trusts["quarter"].to_list()):
            continue
        if trust_type is not None and trust_type not in release.trust_types:
            continue
        issues = [f for f in files if release_of(f.publication) == release]
        rank = {f.seq: (version_of(f.publication.name), f.seq) for f in issues}
        later = {s for s in rank if rank[s] > rank[new.seq]}
        before = dataset_of([f for f in files if f.seq not in later | {new.seq}])
        after = dataset_of([f for f in files if f.seq not in later])
        cells = changed_cells(old.publication, new.publication, quarter, pack, trust_type)
        moves = moved_positions(before, after, pack, quarter, mode)
        if trust_type is not None:
            moves = moves.filter(pl.col("trust_type") == trust_type)
        out.append(Correction(quarter, release, old, new, cells, moves))
    return out


# --- cells ---------------------------------------------------------------------------------------


def _cells(pub: Publication, quarter: str, pack: Pack, trust_type: str | None) -> pl.DataFrame:
    """Every cell of ``pub`` in ``quarter`` as (trust_code, metric_id, units, column, value)."""
    trusts = pub.trusts.filter(pl.col("quarter") == quarter)
    if trust_type is not None:
        trusts = trusts.filter(pl.col("trust_type") == trust_type)
    codes = trusts.select("trust_code")
    as_text = pl.all().exclude("trust_code", "metric_id", "units").cast(pl.String)
    values = pl.concat(
        [
            pub.observations.filter(pl.col("quarter") == quarter).select(
                "trust_code",
                "metric_id",
                "units",
                pl.col("value").alias("Value"),
                pl.col("rank").alias("Rank"),
                pl.col("reporting_date").alias("Reporting_date"),
            ),
            pub.published.filter(pl.col("quarter") == quarter).select(
                "trust_code",
                "metric_id",
                "units",
                pl.col("value").alias("Value"),
                pl.col("rank").alias("Rank"),
                pl.lit(None, pl.String).alias("Reporting_date"),
            ),
        ]
    ).with_columns(as_text)
    flags = pub.flags.filter(pl.col("quarter") == quarter)
    flag_cells = [
        flags.select(
            "trust_code",
            pl.lit(pack.summary[key]).alias("metric_id"),
            pl.lit("flag").alias("units"),
            pl.col(name).cast(pl.Float64).cast(pl.String).alias("Value"),
        )
        for key, name in (
            ("financial_deficit_flag", "financial_deficit"),
            ("intensive_support_flag", "intensive_support"),
        )
    ]
    trust_cells = trusts.select(
        "trust_code",
        pl.lit("").alias("metric_id"),
        pl.lit("").alias("units"),
        *[pl.col(c).alias(name) for c, name in _TRUST_COLUMNS.items()],
    )
    long = [
        f.unpivot(index=["trust_code", "metric_id", "units"], variable_name="column")
        for f in (values, *flag_cells, trust_cells)
    ]
    return pl.concat(long).join(codes, on="trust_code", how="semi")


def changed_cells(
    old: Publication,
    new: Publication,
    quarter: str,
    pack: Pack,
    trust_type: str | None = None,
) -> pl.DataFrame:
    """Every cell of ``quarter`` whose value differs between ``old`` and ``new`` (a row in one
    file only: each of its cells, with the other side null). Trust-level cells (name, type,
    subtype, region) have no metric id."""
    a = _cells(old, quarter, pack, trust_type).rename({"value": "old"})
    b = _cells(new, quarter, pack, trust_type).rename({"value": "new"})
    diff = a.join(b, on=_KEY, how="full", coalesce=True).filter(
        pl.col("old").ne_missing(pl.col("new"))
    )
    names = pl.concat(
        [
            p.trusts.filter(pl.col("quarter") == quarter).select("trust_code", "trust_name")
            for p in (new, old)
        ]
    ).unique("trust_code", keep="first", maintain_order=True)
    return (
        diff.join(names, on="trust_code", how="left")
        .with_columns(
            pl.lit(quarter).alias("quarter"),
            pl.col("metric_id").replace("", None),
            pl.col("units").replace("", None),
        )
        .sort("trust_code", "metric_id", "units", "column", nulls_last=False)
        .select(CELL_COLUMNS)
    )


# --- positions -----------------------------------------------------------------------------------


def _positions(data: Dataset, pack: Pack, quarter: str, mode: str) -> pl.DataFrame:
    columns = ["trust_code", "trust_name", "trust_type", *_POSITION]
    if quarter not in data.quarters:
        return pl.DataFrame(schema={c: pl.String for c in columns[:3]}).with_columns(
            pl.lit(None, pl.Float64).alias("average_score"),
            *[pl.lit(None, pl.Int64).alias(c) for c in columns[4:]],
        )
    return assess(data, pack, quarter=quarter, mode=mode).table.select(columns)


def moved_positions(
    before: Dataset, after: Dataset, pack: Pack, quarter: str, mode: str = "reproduce"
) -> pl.DataFrame:
    """The trusts of ``quarter`` whose average score, segment, final segment or league rank
    differs between the two datasets, with ``<x>_before`` and ``<x>_after`` for each."""
    a = _positions(before, pack, quarter, mode)
    b = _positions(after, pack, quarter, mode)
    joined = a.join(b, on="trust_code", how="full", coalesce=True, suffix="_after")
    changed = pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_after")) for c in _POSITION)
    return (
        joined.filter(changed)
        .select(
            "trust_code",
            pl.coalesce("trust_name_after", "trust_name").alias("trust_name"),
            pl.coalesce("trust_type_after", "trust_type").alias("trust_type"),
            *[
                expr
                for c, short in _POSITION.items()
                for expr in (
                    pl.col(c).alias(f"{short}_before"),
                    pl.col(f"{c}_after").alias(f"{short}_after"),
                )
            ],
        )
        .sort("trust_type", "rank_after", "trust_code", nulls_last=True)
    )
