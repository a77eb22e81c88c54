"""What a correction changed: checked against an independent diff of the two CSV files and an
independent assessment of each file on its own.

The correction is the ``-v2`` of tests/fixtures/fetch: NHS England's real Q4 2025/26 mental
health and community file with the three cells of ``v2-edits.csv`` changed.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from nhs_league.changes import changed_cells, corrections, supersessions
from nhs_league.dataset import Dataset, replay_order, version_of
from nhs_league.engine.pipeline import assess
from nhs_league.ingest.nhse_nof import read_bytes, read_file
from nhs_league.methods.pack import Pack
from nhs_league.store import Provenance, Store, StoredFile
from tests.conftest import ACUTE_Q1, MHC_Q4
from tests.fixtures.fetch.server import corrected_mhc, v2_edits

V1_NAME = "q4-2025-26/nhs-oversight-framework-mental-health-and-community-trust-data.csv"
V2_NAME = "q4-2025-26/nhs-oversight-framework-mental-health-and-community-trust-data-v2.csv"
V2_URL = "https://www.england.nhs.uk/wp-content/uploads/2026/06/" + V2_NAME.split("/")[1]
QUARTERS = ["Q1 2025/26", "Q2 2025/26", "Q3 2025/26", "Q4 2025/26"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, pack: Pack) -> Path:
    """The bundled files (seeded), then the v2 correction, as ``fetch`` would load it."""
    path = tmp_path_factory.mktemp("changes") / "store.duckdb"
    with Store(path, pack) as st:
        v2 = read_bytes(corrected_mhc(), V2_NAME, pack)
        st.add(v2, Provenance(V2_URL, datetime(2026, 6, 11, 9, 30, tzinfo=UTC)))
    return path


@pytest.fixture(scope="module")
def files(store: Path, pack: Pack) -> list[StoredFile]:
    with Store(store, pack, read_only=True) as st:
        return st.stored_files()


def csv_diff(quarter: str) -> set[tuple[str, str, str, float, float]]:
    """The changed Value and Rank cells of ``quarter``, from the two CSV files alone."""
    key = ["Quarter", "Trust_code", "Metric_ID", "Units"]

    def read(raw: bytes) -> pl.DataFrame:
        return pl.read_csv(raw, infer_schema=False).filter(pl.col("Quarter") == quarter)

    old, new = read(MHC_Q4.read_bytes()), read(corrected_mhc())
    both = old.join(new, on=key, how="full", coalesce=True, suffix="_new")
    out = set()
    for column in ("Value", "Rank"):
        a = pl.col(column).cast(pl.Float64)
        b = pl.col(f"{column}_new").cast(pl.Float64)
        for row in both.filter(a.ne_missing(b)).iter_rows(named=True):
            out.add(
                (
                    row["Trust_code"],
                    row["Metric_ID"],
                    column,
                    float(row[column]),
                    float(row[f"{column}_new"]),
                )
            )
    return out


def listed(cells: pl.DataFrame) -> set[tuple[str, str, str, float, float]]:
    return {
        (r["trust_code"], r["metric_id"], r["column"], float(r["old"]), float(r["new"]))
        for r in cells.iter_rows(named=True)
    }


@pytest.mark.parametrize("quarter", QUARTERS)
def test_changed_cells_match_a_diff_of_the_two_csv_files(
    quarter: str, files: list[StoredFile], pack: Pack
) -> None:
    (c,) = corrections(files, pack, quarter)
    assert (c.old.publication.name, c.new.publication.name) == (V1_NAME, V2_NAME)
    assert c.new.provenance.source_url == V2_URL
    assert listed(c.cells) == csv_diff(quarter)
    documented = {
        (e["Trust_code"], e["Metric_ID"], e["Column"], float(e["Old"]), float(e["New"]))
        for e in v2_edits()
        if e["Quarter"] == quarter
    }
    assert listed(c.cells) == documented


def test_cells_name_the_trust_and_the_units(files: list[StoredFile], pack: Pack) -> None:
    (c,) = corrections(files, pack, "Q4 2025/26")
    rx4 = ("RX4", "Cumbria, Northumberland, Tyne and Wear NHS Foundation Trust", "OF0082", "%")
    ryy = ("RYY", "Kent Community Health NHS Foundation Trust", "OF5004", "flag")
    shown = c.cells.select("trust_code", "trust_name", "metric_id", "units", "old", "new")
    assert shown.rows() == [(*rx4, "6.99", "4.99"), (*ryy, "0.0", "1.0")]


def positions(pack: Pack, raw: bytes, name: str, quarter: str) -> pl.DataFrame:
    """The league positions of ``quarter`` assessed from one file alone."""
    data = Dataset.from_publications([read_bytes(raw, name, pack)])
    return assess(data, pack, quarter=quarter).table.select(
        "trust_code", "average_score", "adjusted_segment", "final_segment", "league_rank"
    )


@pytest.mark.parametrize("quarter", ["Q3 2025/26", "Q4 2025/26"])
def test_moved_positions_match_an_independent_assessment(
    quarter: str, files: list[StoredFile], pack: Pack
) -> None:
    (c,) = corrections(files, pack, quarter)
    before = positions(pack, MHC_Q4.read_bytes(), "v1.csv", quarter)
    after = positions(pack, corrected_mhc(), "v2.csv", quarter)
    both = before.join(after, on="trust_code", suffix="_after")
    moved = both.filter(
        pl.any_horizontal(
            pl.col(x) != pl.col(f"{x}_after")
            for x in ("average_score", "adjusted_segment", "final_segment", "league_rank")
        )
    )
    assert set(c.moves["trust_code"]) == set(moved["trust_code"])
    assert c.moves.height > 1  # a correction moves trusts it does not list
    for row in c.moves.iter_rows(named=True):
        ref = both.filter(pl.col("trust_code") == row["trust_code"]).row(0, named=True)
        ranks = (ref["league_rank"], ref["league_rank_after"])
        assert (row["rank_before"], row["rank_after"]) == ranks
        assert (row["segment_before"], row["segment_after"]) == (
            ref["adjusted_segment"],
            ref["adjusted_segment_after"],
        )


def test_the_override_flag_caps_the_top_trust(files: list[StoredFile], pack: Pack) -> None:
    (c,) = corrections(files, pack, "Q4 2025/26")
    ryy = c.moves.filter(pl.col("trust_code") == "RYY").row(0, named=True)
    assert (ryy["segment_before"], ryy["rank_before"]) == (1, 1)
    assert ryy["segment_after"] == pack.override_best_segment == 3
    assert ryy["average_before"] == ryy["average_after"] == 1.53


def _older_release(value: str) -> bytes:
    """The real Q4 release cut back to Q1–Q3, as a Q3 release would have been, with RX4's Q2
    OF0082 value set to ``value`` (so the test can see which release a cell came from)."""
    rows = list(csv.reader(io.StringIO(MHC_Q4.read_bytes().decode("utf-8-sig"))))
    header, body = rows[0], [r for r in rows[1:] if r[0] != "Q4 2025/26"]
    at = {c: i for i, c in enumerate(header)}
    for r in body:
        if (r[at["Quarter"]], r[at["Trust_code"]], r[at["Metric_ID"]]) == (
            "Q2 2025/26",
            "RX4",
            "OF0082",
        ):
            r[at["Value"]] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([header, *body])
    return out.getvalue().encode("utf-8")


def _value(ds: Dataset, quarter: str, code: str, metric: str) -> float:
    obs = ds.observations.filter(
        (pl.col("quarter") == quarter)
        & (pl.col("trust_code") == code)
        & (pl.col("metric_id") == metric)
    )
    return float(obs["value"][0])


def test_the_newest_release_wins_whatever_the_load_order(pack: Pack) -> None:
    """A publication page lists the newest release first; fetched in that order, the older
    release must not overwrite the quarters the newer one restates (found in review)."""
    q4 = read_file(MHC_Q4, pack)
    q3 = read_bytes(_older_release("7.77"), "q3-2025-26/" + V1_NAME.split("/")[1], pack)
    original = _value(Dataset.from_publications([q4]), "Q2 2025/26", "RX4", "OF0082")
    assert original != 7.77
    for order in ([q4, q3], [q3, q4]):
        ds = Dataset.from_publications(order)
        assert _value(ds, "Q2 2025/26", "RX4", "OF0082") == original
        assert set(ds.source_of("Q2 2025/26", "mental-health-community")["sha256"]) == {q4.sha256}


def test_a_file_of_another_name_is_not_an_issue_of_the_release(pack: Pack) -> None:
    """A trust's own file for the same quarter, loaded after the -v2, wins (load order), and
    ``changes`` does not call the -v2 a correction of it."""
    v2 = read_bytes(corrected_mhc(), V2_NAME, pack)
    mine = read_bytes(MHC_Q4.read_bytes(), "my-own-copy.csv", pack)
    ds = Dataset.from_publications([v2, mine])
    assert set(ds.source_of("Q4 2025/26", "mental-health-community")["sha256"]) == {mine.sha256}
    stored = [StoredFile(1, v2, Provenance()), StoredFile(2, mine, Provenance())]
    assert corrections(stored, pack, "Q4 2025/26") == []


def test_no_correction_no_changes(files: list[StoredFile], pack: Pack) -> None:
    assert corrections(files, pack, "Q1 2025/26", trust_type="acute") == []
    assert corrections(files[:2], pack, "Q4 2025/26") == []  # the bundled files only


def test_the_version_counts_not_the_load_order(pack: Pack) -> None:
    v1, v2 = read_file(MHC_Q4, pack), read_bytes(corrected_mhc(), V2_NAME, pack)
    acute = read_file(ACUTE_Q1, pack)
    # Acute Q1 is the older release, so it replays first; then v1 before v2 whatever the order.
    assert replay_order([v2, acute, v1]) == [1, 2, 0]
    assert replay_order([acute, v1, v2]) == [0, 1, 2]
    a = Dataset.from_publications([v2, v1]).observations
    b = Dataset.from_publications([v1, v2]).observations
    assert a.equals(b)
    # Loaded the other way round, the correction still supersedes, with the same changes.
    reverse = [
        StoredFile(1, v2, Provenance(V2_URL)),
        StoredFile(2, v1, Provenance()),
    ]
    ((old, new),) = supersessions(reverse)
    assert (old.publication.name, new.publication.name) == (v1.name, V2_NAME)
    (c,) = corrections(reverse, pack, "Q4 2025/26")
    assert listed(c.cells) == csv_diff("Q4 2025/26")
    assert "RYY" in set(c.moves["trust_code"])


@pytest.mark.parametrize(
    ("name", "version"),
    [("a/x-data.csv", 1), ("a/x-data-v2.csv", 2), ("x-data-V3.csv", 3), ("x_v10.csv", 10)],
)
def test_version_of(name: str, version: int) -> None:
    assert version_of(name) == version


def test_a_trust_level_cell_is_listed_without_a_metric(pack: Pack) -> None:
    old = read_file(MHC_Q4, pack)
    renamed = old.trusts.with_columns(
        pl.when(pl.col("trust_code") == "RYY")
        .then(pl.lit("Kent Community Health NHS Trust"))
        .otherwise(pl.col("trust_name"))
        .alias("trust_name")
    )
    new = replace(old, trusts=renamed)
    cells = changed_cells(old, new, "Q2 2025/26", pack)
    assert cells.select("trust_code", "metric_id", "column", "old", "new").rows() == [
        ("RYY", None, "Trust_name", "Kent Community Health NHS Foundation Trust",
         "Kent Community Health NHS Trust"),
    ]  # fmt: skip


# --- the command line ----------------------------------------------------------------------------


def cli(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nhs_league.cli", *args, "--store", str(store)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_changes_table(store: Path) -> None:
    r = cli("changes", "--quarter", "Q4 2025/26", store=store)
    assert r.returncode == 0, r.stderr
    first = r.stdout.splitlines()[0]
    assert first.startswith(f"Q4 2025/26, mental-health-community: {V2_NAME} (sha256 ")
    assert f"from {V2_URL}) supersedes {V1_NAME}" in first
    assert "Cells changed (2)" in r.stdout
    assert "League positions that moved (" in r.stdout
    assert "Kent Community Health NHS Foundation Trust" in r.stdout


def test_cli_changes_json_and_csv(store: Path, files: list[StoredFile], pack: Pack) -> None:
    r = cli("changes", "--quarter", "Q3", "--format", "json", store=store)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["quarter"] == "Q3 2025/26"
    (c,) = doc["corrections"]
    assert (c["superseded"]["version"], c["superseding"]["version"]) == (1, 2)
    assert [(x["trust_code"], x["metric_id"], x["old"], x["new"]) for x in c["cells"]] == [
        ("RT2", "OF0061", "6.91", "5.91")
    ]
    r = cli("changes", "--quarter", "Q4", "--format", "csv", store=store)
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [(x["trust_code"], x["column"], x["file"]) for x in rows] == [
        ("RX4", "Value", V2_NAME),
        ("RYY", "Value", V2_NAME),
    ]
    r = cli("changes", "--quarter", "Q4", "--format", "csv", "--positions", store=store)
    moved = pl.read_csv(io.StringIO(r.stdout))
    (c,) = corrections(files, pack, "Q4 2025/26")
    expected = c.moves.filter(pl.col("trust_code") == "RYY")["rank_after"].to_list()
    assert moved.filter(pl.col("trust_code") == "RYY")["rank_after"].to_list() == expected
    assert expected and expected != [1]  # the override moved RYY off the top


def test_cli_changes_none_and_errors(store: Path, tmp_path: Path) -> None:
    r = cli("changes", "--quarter", "Q1", "--type", "acute", store=store)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "no corrections loaded for Q1 2025/26 (acute trusts)\n"
    r = cli("changes", "--quarter", "Q2 2024/25", store=store)
    assert r.returncode == 2
    assert r.stderr.startswith("error: quarter 'Q2 2024/25' is not loaded; loaded quarters: ")
    assert r.stderr.count("\n") == 1
