"""A dataset: the canonical tables of one or more publications, combined.

Pure data, no I/O. When two publications cover the same (quarter, trust type), the later one wins:
NHS England restates earlier quarters in every release, and a corrected file supersedes the first.

"Later" is by content, not by when a file was loaded (:func:`replay_order`): the release with the
latest quarter wins, and within one release (same latest quarter, trust types, kind and name but
for ``-vN``) the highest version, so a ``-v2`` supersedes the first issue whichever was loaded
first; files that tie on all of that replay in load order. Every row can say which file it came
from (:attr:`Dataset.lineage`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

import polars as pl

from nhs_league.ingest.nhse_nof import (
    FLAGS_SCHEMA,
    OBS_SCHEMA,
    PUBLISHED_SCHEMA,
    TRUSTS_SCHEMA,
    Publication,
)
from nhs_league.ingest.tables import Schema

LINEAGE_SCHEMA: Schema = {
    "quarter": pl.String,
    "trust_code": pl.String,
    "trust_type": pl.String,
    "kind": pl.String,  # "data" (values and published results) or "league" (a league table)
    "file": pl.String,
    "sha256": pl.String,
    "source_url": pl.String,
}
_VERSION_RE = re.compile(r"[-_ ]v(\d+)(?:\.[A-Za-z]+)?$", re.IGNORECASE)
_STEM_VERSION_RE = re.compile(r"[-_ ]v\d+$")


def _empty_lineage() -> pl.DataFrame:
    return pl.DataFrame(schema=LINEAGE_SCHEMA)


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
    sources: tuple[tuple[str, str], ...] = ()  # (file name, sha256) in replay order
    # Which file supplies each (quarter, trust): one row per kind of file, see LINEAGE_SCHEMA.
    lineage: pl.DataFrame = field(default_factory=_empty_lineage)

    @classmethod
    def empty(cls) -> Dataset:
        return cls(
            trusts=pl.DataFrame(schema=TRUSTS_SCHEMA),
            observations=pl.DataFrame(schema=OBS_SCHEMA),
            flags=pl.DataFrame(schema=FLAGS_SCHEMA),
            published=pl.DataFrame(schema=PUBLISHED_SCHEMA),
        )

    @classmethod
    def from_publications(
        cls, publications: Iterable[Publication], *, source_urls: Mapping[str, str] | None = None
    ) -> Dataset:
        """The publications combined, in load order but a higher version of the same release
        after a lower one (:func:`replay_order`). ``source_urls``: sha256 -> where it came from."""
        pubs = list(publications)
        urls = source_urls or {}
        ds = cls.empty()
        for i in replay_order(pubs):
            ds = ds.add(pubs[i], source_url=urls.get(pubs[i].sha256))
        return ds

    def add(self, pub: Publication, *, source_url: str | None = None) -> Dataset:
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
        return Dataset(
            **parts,
            sources=(*self.sources, (pub.name, pub.sha256)),
            lineage=self._lineage_after(pub, drop, source_url),
        )

    def _lineage_after(
        self, pub: Publication, drop: pl.DataFrame, source_url: str | None
    ) -> pl.DataFrame:
        """The lineage once ``pub`` is added, mirroring :meth:`add`: a data file replaces every
        row of the trusts it drops; a league table only the league rows of the trusts it lists
        (their values stay those of the data file)."""
        kind = kind_of(pub)
        if kind == "data":
            kept = self.lineage.join(drop, on=["quarter", "trust_code"], how="anti")
        else:
            listed = pub.trusts.select("quarter", "trust_code").with_columns(
                pl.lit(kind).alias("kind")
            )
            kept = self.lineage.join(listed, on=["quarter", "trust_code", "kind"], how="anti")
        new = pub.trusts.select(
            "quarter",
            "trust_code",
            "trust_type",
            pl.lit(kind).alias("kind"),
            pl.lit(pub.name).alias("file"),
            pl.lit(pub.sha256).alias("sha256"),
            pl.lit(source_url, pl.String).alias("source_url"),
        )
        return pl.concat([kept, new.cast(LINEAGE_SCHEMA)])  # type: ignore[arg-type]

    def source_of(self, quarter: str, trust_type: str) -> pl.DataFrame:
        """The files that supply ``(quarter, trust_type)``: kind, file, sha256, source_url and
        how many trusts each supplies; normally one trust data file (and perhaps a league
        table). Empty if nothing is loaded for it."""
        return (
            self.lineage.filter(
                (pl.col("quarter") == quarter) & (pl.col("trust_type") == trust_type)
            )
            .group_by("kind", "file", "sha256", "source_url")
            .agg(pl.len().cast(pl.Int64).alias("trusts"))
            .sort("kind", "file")
        )

    def with_sources(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` (with ``quarter`` and ``trust_code`` columns) plus ``source_file``,
        ``source_sha256`` and ``source_url``: the file each row's values come from (the trust
        data file; a league table for a trust that only a league table lists)."""
        return with_sources(self.lineage, frame)

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
            _rows_of(self.lineage, quarter),
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


def with_sources(lineage: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
    """:meth:`Dataset.with_sources` over a lineage frame (an Assessment keeps its quarter's)."""
    first = (
        lineage.sort(pl.col("kind") != "data")
        .unique(subset=["quarter", "trust_code"], keep="first", maintain_order=True)
        .select(
            "quarter",
            "trust_code",
            pl.col("file").alias("source_file"),
            pl.col("sha256").alias("source_sha256"),
            "source_url",
        )
    )
    return frame.join(first, on=["quarter", "trust_code"], how="left", maintain_order="left")


# --- supersession ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    """What a file restates: its latest quarter, its trust types, its kind (data or league) and
    its name without the ``-vN`` suffix. Two files of the same release are issues of one
    publication (a ``-v2`` corrects the first); a file of another name is another publication."""

    quarter: str
    trust_types: tuple[str, ...]
    kind: str
    stem: str


def kind_of(pub: Publication) -> str:
    return "league" if pub.layout.startswith("league") else "data"


def version_of(name: str) -> int:
    """The issue number in a file name: ``...-trust-data-v2.csv`` is 2; no suffix is 1."""
    m = _VERSION_RE.search(name)
    return int(m.group(1)) if m else 1


def stem_of(name: str) -> str:
    """The file name without folders, extension and ``-vN``: the same for every issue."""
    return _STEM_VERSION_RE.sub("", PurePath(name).stem.lower())


def release_of(pub: Publication) -> Release:
    quarters = pub.trusts["quarter"].unique().to_list()
    latest = max(quarters, key=quarter_key) if quarters else ""
    types = tuple(sorted(set(pub.trusts["trust_type"].to_list())))
    return Release(latest, types, kind_of(pub), stem_of(pub.name))


def replay_order(publications: Sequence[Publication]) -> list[int]:
    """The order to add ``publications`` (given in load order) in.

    By what each file restates, not when it was loaded: older releases first, so the newest
    release is the last word on every quarter it restates (a publication page lists the newest
    first, and a store may get an old release late); a league table after the data file of its
    quarter; then load order. The issues of one release (same name but for ``-vN``) take that
    release's places in order of version, so a ``-v2`` supersedes the first issue even when it
    was loaded first.
    """
    rel = [release_of(p) for p in publications]
    base = sorted(
        range(len(publications)),
        key=lambda i: (_quarter_or_zero(rel[i].quarter), rel[i].kind == "league", i),
    )
    groups: dict[Release, list[int]] = {}
    for slot, i in enumerate(base):
        groups.setdefault(rel[i], []).append(slot)
    order = list(base)
    for slots in groups.values():
        members = [base[s] for s in slots]
        by_version = sorted(members, key=lambda i: (version_of(publications[i].name), i))
        for slot, i in zip(slots, by_version, strict=True):
            order[slot] = i
    return order


def _quarter_or_zero(quarter: str) -> tuple[int, int]:
    return quarter_key(quarter) if quarter else (0, 0)
