"""The DuckDB store: seeded on first use, one transaction per load, content-hash no-ops."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import nhs_league.store as store_module
from nhs_league.api import open_dataset
from nhs_league.errors import NhsLeagueError
from nhs_league.methods.pack import Pack
from nhs_league.store import Store, default_store_path
from tests.conftest import ACUTE_Q1, MHC_Q4


def test_new_store_is_seeded_from_the_bundled_files(store_path: Path, pack: Pack) -> None:
    with Store(store_path, pack) as st:
        files = st.files()
        assert files.height == 2
        assert files["name"].to_list() == [
            "q1-2025-26/nhs-oversight-framework-acute-trust-data.csv",
            "q4-2025-26/nhs-oversight-framework-mental-health-and-community-trust-data.csv",
        ]
        assert all(len(h) == 64 for h in files["sha256"])
        ds = st.dataset()
    assert ds.quarters == ["Q1 2025/26", "Q2 2025/26", "Q3 2025/26", "Q4 2025/26"]
    assert ds.loaded_types("Q1 2025/26") == {"acute", "mental-health-community"}
    assert ds.loaded_types("Q2 2025/26") == {"mental-health-community"}


def test_loading_the_same_content_again_is_a_no_op(
    store_path: Path, pack: Pack, tmp_path: Path
) -> None:
    copy = tmp_path / "renamed.csv"
    copy.write_bytes(ACUTE_Q1.read_bytes())
    with Store(store_path, pack) as st:
        before = st.counts()
        r = st.load_file(copy)
        assert not r.loaded
        assert st.counts() == before


def test_a_later_file_supersedes_what_it_covers_and_history_is_kept(
    store_path: Path, pack: Pack, tmp_path: Path
) -> None:
    # A corrected copy of the MHC file: one value changed. It replaces the earlier rows for the
    # quarters and type it covers, while the store keeps both files.
    rows = list(csv.reader(io.StringIO(MHC_Q4.read_text("utf-8-sig"))))
    i = next(n for n, r in enumerate(rows) if r[0] == "Q4 2025/26" and r[8] == "OF0082")
    rows[i][rows[0].index("Value")] = "9.99"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    corrected = tmp_path / "mhc-v2.csv"
    corrected.write_text(out.getvalue(), "utf-8")
    with Store(store_path, pack) as st:
        r = st.load_file(corrected)
        assert r.loaded
        assert st.files().height == 3
        ds = st.dataset()
    obs = ds.observations.filter(
        (pl.col("metric_id") == "OF0082") & (pl.col("quarter") == "Q4 2025/26")
    )
    assert obs.height == 61  # replaced, not duplicated
    assert 9.99 in obs["value"].to_list()


def test_env_var_and_default_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NHS_LEAGUE_STORE", str(tmp_path / "x.duckdb"))
    assert default_store_path() == tmp_path / "x.duckdb"
    monkeypatch.delenv("NHS_LEAGUE_STORE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_store_path() == tmp_path / "xdg" / "nhs-league" / "store.duckdb"


def test_open_dataset_reads_the_store(store_path: Path, pack: Pack) -> None:
    ds = open_dataset(pack, store=store_path)
    assert ds.trusts.filter(pl.col("quarter") == "Q1 2025/26").height == 134 + 61


def test_read_only_store_must_exist(tmp_path: Path, pack: Pack) -> None:
    from nhs_league.errors import StoreError

    with pytest.raises(StoreError, match="no store here"):
        Store(tmp_path / "none.duckdb", pack, read_only=True)


def test_an_interrupted_seeding_completes_next_time(store_path: Path, pack: Pack) -> None:
    with Store(store_path, pack) as st:
        full = st.counts()
        # As if the process had died after the first bundled file: the second file's rows and the
        # seeded mark are gone.
        st.con.execute("DELETE FROM meta")
        for table in ("trusts", "observations", "flags", "published"):
            st.con.execute(f"DELETE FROM {table} WHERE file_seq = 2")
        st.con.execute("DELETE FROM files WHERE seq = 2")
        assert st.counts()["files"] == 1
    with Store(store_path, pack) as st:
        assert st.counts() == full
        assert st.files()["name"].to_list()[-1].startswith("q4-2025-26/")


def test_a_failed_seeding_releases_the_file(
    store_path: Path, pack: Pack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bundled file that does not read stops the seeding with its error, and the store file
    is not left locked: another process can open it straight away."""
    monkeypatch.setattr(store_module, "bundled_files", lambda: [("bad.csv", b"not,a\nnof,file\n")])
    # The error's traceback keeps the half-built Store alive, as a caller that logs or re-raises
    # it would: only an explicit close releases the file.
    with pytest.raises(NhsLeagueError, match=r"bad\.csv") as failure:
        Store(store_path, pack)
    code = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
        "print(con.execute('SELECT count(*) FROM files').fetchall()[0][0])"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(store_path)], capture_output=True, text=True, check=False
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "0"
    assert failure.traceback  # still held while the other process opened the file
