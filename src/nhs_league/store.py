"""The DuckDB store: every loaded file, its canonical rows, and when it came.

* One load is one transaction: all of a file or nothing.
* Loading the same bytes again is a no-op (keyed by SHA-256 of the content).
* Nothing is overwritten: each file's rows are kept with its load sequence number, and the
  dataset is rebuilt by replaying files in load order (a later file supersedes what it covers;
  within one release a higher version wins whatever the load order, see
  :func:`nhs_league.dataset.replay_order`).
* Each file records where it came from: its path, and for a download its URL and fetch time.
* A new store is seeded from the publications bundled with the package, once; a seeding that was
  interrupted completes the next time the store is opened.
* A store written by an earlier version opens unchanged: missing columns are added on open.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import duckdb
import polars as pl

from nhs_league.dataset import _SCHEMAS, _TABLES, Dataset
from nhs_league.errors import StoreError
from nhs_league.ingest.nhse_nof import Publication, read_bytes, read_file
from nhs_league.methods.pack import Pack

ENV_VAR = "NHS_LEAGUE_STORE"
_FILE_COLUMNS = (
    "seq BIGINT PRIMARY KEY",
    "sha256 VARCHAR UNIQUE",
    "name VARCHAR",
    "path VARCHAR",
    "layout VARCHAR",
    "loaded_at TIMESTAMP",
    "n_rows BIGINT",
    "source_url VARCHAR",
    "fetched_at TIMESTAMP",
)
# Columns added since the first store layout: (name, SQL type), added on open when missing.
_ADDED_FILE_COLUMNS = (("source_url", "VARCHAR"), ("fetched_at", "TIMESTAMP"))
_SQL_TYPES = {pl.String: "VARCHAR", pl.Float64: "DOUBLE", pl.Int64: "BIGINT", pl.Boolean: "BOOLEAN"}


def default_store_path() -> Path:
    """``$NHS_LEAGUE_STORE``, else the user's data directory (XDG on Linux)."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "nhs-league" / "store.duckdb"


def bundled_files() -> list[tuple[str, bytes]]:
    """The NHS England publications shipped with the package, oldest release first."""
    root = resources.files("nhs_league").joinpath("data", "nhse")
    out = []
    for folder in sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name):
        for f in sorted(
            (p for p in folder.iterdir() if p.name.endswith(".csv")), key=lambda p: p.name
        ):
            out.append((f"{folder.name}/{f.name}", f.read_bytes()))
    return out


@dataclass(frozen=True)
class LoadResult:
    name: str
    sha256: str
    loaded: bool  # False: the same content was already in the store
    rows: int
    coverage: tuple[tuple[str, str], ...]  # (quarter, trust type)


@dataclass(frozen=True)
class Provenance:
    """Where a file came from, when it was downloaded: its URL and the time (UTC)."""

    source_url: str | None = None
    fetched_at: datetime | None = None


@dataclass(frozen=True)
class StoredFile:
    """One file in the store: its load sequence number, its rows read back, and provenance."""

    seq: int
    publication: Publication
    provenance: Provenance


class Store:
    """The DuckDB store. ``seed=False`` opens (or creates) a store without loading the bundled
    publications into it, e.g. for a store filled by ``fetch`` alone."""

    def __init__(
        self, path: str | Path, pack: Pack, *, read_only: bool = False, seed: bool = True
    ) -> None:
        self.path = Path(path)
        self.pack = pack
        if not self.path.exists() and read_only:
            raise StoreError(f"{self.path}: no store here to open read-only")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except (OSError, duckdb.Error) as exc:
            raise StoreError(f"{self.path}: cannot open the store ({exc})") from None
        if not read_only:
            try:
                self._create()
                if seed:
                    self._seed()
            except BaseException:
                self.con.close()  # a failed seeding must not keep the file locked
                raise

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _create(self) -> None:
        self.con.execute(f"CREATE TABLE IF NOT EXISTS files ({', '.join(_FILE_COLUMNS)})")
        for column, sql_type in _ADDED_FILE_COLUMNS:
            self.con.execute(f"ALTER TABLE files ADD COLUMN IF NOT EXISTS {column} {sql_type}")
        self.con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        for table in _TABLES:
            cols = ", ".join(f"{c} {_SQL_TYPES[t]}" for c, t in _SCHEMAS[table].items())
            self.con.execute(f"CREATE TABLE IF NOT EXISTS {table} (file_seq BIGINT, {cols})")

    def _seed(self) -> None:
        """Load the bundled publications once, the first time the store is opened. The mark is
        set only after every file loaded, so an interrupted seeding completes next time (files
        already in are no-ops by content hash)."""
        done = self.con.execute("SELECT count(*) FROM meta WHERE key = 'seeded'").fetchall()
        if done[0][0]:
            return
        for name, raw in bundled_files():
            self.load_bytes(raw, name)
        self.con.execute("INSERT INTO meta VALUES ('seeded', ?)", [datetime.now(UTC).isoformat()])

    def has(self, sha256: str) -> bool:
        return bool(
            self.con.execute("SELECT count(*) FROM files WHERE sha256 = ?", [sha256]).fetchall()[0][
                0
            ]
        )

    def load_bytes(
        self, raw: bytes, name: str, *, quarter: str | None = None, path: str | None = None
    ) -> LoadResult:
        """Validate then store one file. Any error leaves the store exactly as it was."""
        pub = read_bytes(raw, name, self.pack, quarter=quarter, path=path)
        return self.add(pub)

    def load_file(self, path: str | Path, *, quarter: str | None = None) -> LoadResult:
        """Validate then store one file, recorded under its full path."""
        pub = read_file(path, self.pack, quarter=quarter)
        return self.add(replace(pub, path=str(Path(path).resolve())))

    def add(self, pub: Publication, provenance: Provenance | None = None) -> LoadResult:
        """Store one file in one transaction; a no-op if its content is already in."""
        return self.add_all([(pub, provenance or Provenance())])[0]

    def add_all(self, items: Sequence[tuple[Publication, Provenance]]) -> list[LoadResult]:
        """Store several files in one transaction: all of them or, on any error, none."""
        results = []
        self.con.execute("BEGIN TRANSACTION")
        try:
            for pub, provenance in items:
                results.append(self._insert(pub, provenance))
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return results

    def _insert(self, pub: Publication, provenance: Provenance) -> LoadResult:
        coverage = tuple(pub.coverage.iter_rows())
        rows = sum(getattr(pub, t).height for t in _TABLES)
        if self.has(pub.sha256):
            return LoadResult(pub.name, pub.sha256, False, 0, coverage)
        seq = self.con.execute("SELECT coalesce(max(seq), 0) + 1 FROM files").fetchall()[0][0]
        fetched_at = provenance.fetched_at
        self.con.execute(
            "INSERT INTO files (seq, sha256, name, path, layout, loaded_at, n_rows, source_url, "
            "fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                seq,
                pub.sha256,
                pub.name,
                pub.path,
                pub.layout,
                datetime.now(UTC).replace(tzinfo=None),
                rows,
                provenance.source_url,
                fetched_at.astimezone(UTC).replace(tzinfo=None) if fetched_at else None,
            ],
        )
        for table in _TABLES:
            frame = getattr(pub, table).with_columns(pl.lit(seq, pl.Int64).alias("file_seq"))
            frame = frame.select("file_seq", *_SCHEMAS[table].keys())
            self.con.register("_incoming", frame.to_arrow())
            self.con.execute(f"INSERT INTO {table} SELECT * FROM _incoming")
            self.con.unregister("_incoming")
        return LoadResult(pub.name, pub.sha256, True, rows, coverage)

    def _added_file_columns(self) -> str:
        """The columns added since the first layout, as a select list: NULL for any that a store
        written by an earlier version (and opened read-only, so not migrated) lacks."""
        have = {
            r[0]
            for r in self.con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'files'"
            ).fetchall()
        }
        return ", ".join(
            c if c in have else f"CAST(NULL AS {t}) AS {c}" for c, t in _ADDED_FILE_COLUMNS
        )

    def files(self) -> pl.DataFrame:
        """One row per stored file, in load order: seq, name, sha256, layout, loaded_at, n_rows,
        source_url, fetched_at (both null for a file not downloaded by ``fetch``)."""
        extra = self._added_file_columns()
        files: pl.DataFrame = self.con.sql(
            f"SELECT seq, name, sha256, layout, loaded_at, n_rows, {extra} FROM files ORDER BY seq"
        ).pl()
        return files

    def stored_files(self) -> list[StoredFile]:
        """Every stored file with its rows, in load order."""
        extra = self._added_file_columns()
        files = self.con.execute(
            f"SELECT seq, name, sha256, path, layout, {extra} FROM files ORDER BY seq"
        ).fetchall()
        tables = {
            t: self.con.sql(f"SELECT * FROM {t}").pl().cast({"file_seq": pl.Int64, **_SCHEMAS[t]})
            for t in _TABLES
        }
        out = []
        for seq, name, sha, path, layout, url, fetched_at in files:
            parts = {
                t: tables[t].filter(pl.col("file_seq") == seq).drop("file_seq") for t in _TABLES
            }
            pub = Publication(path=path, name=name, sha256=sha, layout=layout, **parts)
            fetched = fetched_at.replace(tzinfo=UTC) if fetched_at else None
            out.append(StoredFile(int(seq), pub, Provenance(url, fetched)))
        return out

    def dataset(self) -> Dataset:
        """Replay every stored file, in the order of :func:`nhs_league.dataset.replay_order`."""
        return dataset_of(self.stored_files())

    def counts(self) -> dict[str, int]:
        return {
            t: int(self.con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0])
            for t in ("files", *_TABLES)
        }


def dataset_of(files: Sequence[StoredFile]) -> Dataset:
    """The dataset of some stored files (given in load order), with each file's URL in its
    lineage."""
    urls = {f.publication.sha256: f.provenance.source_url for f in files if f.provenance.source_url}
    return Dataset.from_publications((f.publication for f in files), source_urls=urls)
