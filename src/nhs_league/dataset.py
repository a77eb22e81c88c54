"""A dataset: the canonical tables of one or more publications, combined.

Pure data, no I/O. When two publications cover the same (quarter, trust type), the later one wins:
NHS England restates earlier quarters in every release, and a corrected file supersedes the first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from nhs_league.ingest.nhse_nof import (
    FLAGS_SCHEMA,
    OBS_SCHEMA,
    PUBLISHED_SCHEMA,
    TRUSTS_SCHEMA,
    Publication,
)
from nhs_league.ingest.tables import Schema

_TABLES = ("trusts", "observations", "flags", "published")
_SCHEMAS: dict[str, Schema] = {
    "trusts": TRUSTS_SCHEMA,
    "observations": OBS_SCHEMA,
    "flags": FLAGS_SCHEMA,
    "published": PUBLISHED_SCHEMA,
}


@dataclass(frozen=True)
class Dataset:
    trusts: pl.DataFrame
    observations: pl.DataFrame
    flags: pl.DataFrame
    published: pl.DataFrame
    sources: tuple[tuple[str, str], ...] = ()  # (file name, sha256) in load order

    @classmethod
    def empty(cls) -> Dataset:
        return cls(
            trusts=pl.DataFrame(schema=TRUSTS_SCHEMA),
            observations=pl.DataFrame(schema=OBS_SCHEMA),
            flags=pl.DataFrame(schema=FLAGS_SCHEMA),
            published=pl.DataFrame(schema=PUBLISHED_SCHEMA),
        )

    @classmethod
    def from_publications(cls, publications: Iterable[Publication]) -> Dataset:
        ds = cls.empty()
        for pub in publications:
            ds = ds.add(pub)
        return ds

    def add(self, pub: Publication) -> Dataset:
        """This dataset with ``pub`` added; ``pub`` replaces what it covers (quarter, type)."""
        covered = pub.trusts.select("quarter", "trust_code")
        cover_types = pub.trusts.select("quarter", "trust_type").unique()
        old_codes = self.trusts.join(cover_types, on=["quarter", "trust_type"], how="semi").select(
            "quarter", "trust_code"
        )
        drop = pl.concat([covered, old_codes]).unique()
        parts: dict[str, pl.DataFrame] = {}
        for name in _TABLES:
            mine: pl.DataFrame = getattr(self, name)
            theirs: pl.DataFrame = getattr(pub, name)
            if name == "flags" and pub.layout.startswith("league") and self.flags.height:
                # A league-table file carries the deficit flag only; keep known support flags.
                theirs = (
                    theirs.drop("intensive_support")
                    .join(
                        self.flags.select("quarter", "trust_code", "intensive_support"),
                        on=["quarter", "trust_code"],
                        how="left",
                    )
                    .select(list(FLAGS_SCHEMA))
                )
            if name in ("observations", "published") and pub.layout.startswith("league"):
                # A league file adds published results; it does not wipe the trust data's values.
                keep = mine.join(
                    theirs.select("quarter", "trust_code", "metric_id").unique(),
                    on=["quarter", "trust_code", "metric_id"],
                    how="anti",
                )
                parts[name] = pl.concat([keep, theirs])
                continue
            kept = mine.join(drop, on=["quarter", "trust_code"], how="anti")
            parts[name] = pl.concat([kept, theirs.cast(_SCHEMAS[name])])  # type: ignore[arg-type]
        return Dataset(**parts, sources=(*self.sources, (pub.name, pub.sha256)))

    @property
    def quarters(self) -> list[str]:
        return sorted(self.trusts["quarter"].unique().to_list(), key=quarter_key)

    def quarter(self, quarter: str) -> Dataset:
        """Only the rows of one quarter."""
        return Dataset(
            _rows_of(self.trusts, quarter),
            _rows_of(self.observations, quarter),
            _rows_of(self.flags, quarter),
            _rows_of(self.published, quarter),
            self.sources,
        )

    def loaded_types(self, quarter: str) -> set[str]:
        return set(self.trusts.filter(pl.col("quarter") == quarter)["trust_type"].to_list())


def _rows_of(frame: pl.DataFrame, quarter: str) -> pl.DataFrame:
    """The rows of ``frame`` in ``quarter``: ``frame.filter(pl.col("quarter") == quarter)``, column
    by column, which on frames this small costs a fraction of a query."""
    mask = frame["quarter"] == quarter
    return pl.DataFrame([column.filter(mask) for column in frame.iter_columns()])


def quarter_key(quarter: str) -> tuple[int, int]:
    """Sort key for "Q1 2025/26": (2025, 1)."""
    q, year = quarter.split(" ")
    return int(year[:4]), int(q[1])
