"""The command line, run as a real subprocess against a fresh store seeded from bundled data."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import ACUTE_Q1, MHC_Q4


def run(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nhs_league.cli", *args, "--store", str(store)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "store.duckdb"
    r = run("load", str(ACUTE_Q1), store=path)  # seeds, then finds the file already loaded
    assert r.returncode == 0, r.stderr
    assert "already loaded" in r.stdout
    return path


def test_north_west_acute_table(store: Path) -> None:
    r = run("table", "--type", "acute", "--region", "North West", "--format", "csv", store=store)
    assert r.returncode == 0, r.stderr
    t = pl.read_csv(io.StringIO(r.stdout))
    for col in [
        "rank",
        "trust_code",
        "trust_name",
        "region",
        "trust_type",
        "segment",
        "average_score",
        "unadjusted_segment",
        "financial_deficit",
        "final_segment",
        "n_items",
    ]:
        assert col in t.columns
    assert t.height == 23
    assert set(t["quarter"]) == {"Q1 2025/26"}
    facts = {"RBS": (16, 2.02), "REN": (8, 1.70), "RJR": (133, 3.04)}
    for code, (rank, avg) in facts.items():
        row = t.filter(pl.col("trust_code") == code).row(0, named=True)
        assert (row["rank"], row["average_score"]) == (rank, avg)
    assert t["rank"].to_list() == sorted(t["rank"].to_list())


def test_table_human_output_names_the_trusts(store: Path) -> None:
    r = run("table", "--region", "north west", "--top", "5", store=store)
    assert r.returncode == 0, r.stderr
    assert "Alder Hey Children's NHS Foundation Trust" in r.stdout
    assert "North West: 5 shown of 134" in r.stdout


@pytest.mark.parametrize("fmt", ["json", "md"])
def test_table_formats(store: Path, fmt: str) -> None:
    r = run(
        "table", "--type", "mental-health-community", "--top", "3", "--format", fmt, store=store
    )
    assert r.returncode == 0, r.stderr
    if fmt == "json":
        rows = json.loads(r.stdout)
        assert [row["rank"] for row in rows] == sorted(row["rank"] for row in rows)
        assert rows[0]["quarter"] == "Q4 2025/26"  # latest quarter for this type
    else:
        assert r.stdout.count("\n|") >= 4


def test_trust_by_partial_name(store: Path) -> None:
    r = run("trust", "alder hey", "--format", "json", store=store)
    assert r.returncode == 0, r.stderr
    prof = json.loads(r.stdout)
    assert prof["trust_code"] == "RBS"
    assert (prof["league_rank"], prof["league_size"], prof["average_score"]) == (16, 134, 2.02)
    assert prof["n_items"] == 14
    ids = {m["metric_id"] for m in prof["metrics"]}
    assert {"OF1013", "OF1080", "OF1082"} <= ids
    assert all(
        m["explanation"].startswith(m["value_id"] or m["metric_id"]) for m in prof["metrics"]
    )


def test_explain_sentence(store: Path) -> None:
    r = run("explain", "RCX", "OF0013", store=store)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == (
        "OF0013 scored 3.88: 61.9% missed the 78% target; 79th of the 84 trusts that missed it:"
        " 2 + 2 × 78/83"
    )


def test_metric_ranking(store: Path) -> None:
    r = run("metric", "OF0013", "--format", "csv", store=store)
    assert r.returncode == 0, r.stderr
    t = pl.read_csv(io.StringIO(r.stdout))
    assert t.height == 123
    assert t["trust_code"][0] == "RP6"
    assert t["value"].to_list() == sorted(t["value"].to_list(), reverse=True)


def test_verify_json_shape(store: Path) -> None:
    r = run("verify", "--quarter", "Q1 2025/26", "--format", "json", store=store)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    q = doc["quantities"]
    assert set(q) == {
        "metric_scores",
        "average_score",
        "domain_scores",
        "unadjusted_segment",
        "adjusted_segment",
        "final_segment",
        "league_rank",
    }
    assert q["league_rank"] == {"matched": 195, "total": 195, "max_diff": 0.0}
    assert doc["metrics"]["OF1013"]["matched"] == doc["metrics"]["OF1013"]["total"] == 123


def test_verify_with_data_files_needs_no_store(tmp_path: Path) -> None:
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "nhs_league.cli",
            "verify",
            "--mode",
            "strict",
            "--data",
            str(MHC_Q4),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"NHS_LEAGUE_STORE": str(tmp_path / "never.duckdb"), "PATH": ""},
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["quantities"]["metric_scores"]["matched"] == 4 * 305
    assert not (tmp_path / "never.duckdb").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["trust", "no such trust"], "error: no trust matches 'no such trust'"),
        (["trust", "hospital"], "error: 'hospital' matches"),
        (["table", "--region", "Narnia"], "error: no region 'Narnia' in this table; allowed:"),
        (["table", "--quarter", "Q3 2019/20"], "error: quarter 'Q3 2019/20' is not loaded"),
        (["explain", "RBS", "OF9999"], "error: nof-2025-26: OF9999: not a metric of this pack"),
    ],
)
def test_errors_are_one_line_and_exit_2(store: Path, args: list[str], message: str) -> None:
    r = run(*args, store=store)
    assert r.returncode == 2
    assert r.stderr.startswith(message)
    assert r.stderr.count("\n") == 1
    assert "Traceback" not in r.stderr


def test_usage_error_exits_2(store: Path) -> None:
    r = run("table", "--type", "dental", store=store)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr


def test_help_has_examples() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "nhs_league.cli", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0
    for cmd in ("load", "table", "trust", "metric", "explain", "verify", "export"):
        assert cmd in r.stdout
        sub = subprocess.run(
            [sys.executable, "-m", "nhs_league.cli", cmd, "--help"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert "Example: nhs-league " + cmd in sub.stdout


def test_cli_default_seed_is_the_library_default() -> None:
    from nhs_league.analysis.uncertainty import DEFAULT_SEED
    from nhs_league.cli.options import DEFAULT_SEED as CLI_SEED

    assert CLI_SEED == DEFAULT_SEED


def test_a_bad_file_does_not_create_a_store(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("not,a,nof,file\n1,2,3,4\n", "utf-8")
    store = tmp_path / "new.duckdb"
    r = run("load", str(bad), store=store)
    assert r.returncode == 2
    assert r.stderr.startswith(f"error: {bad}")
    assert not store.exists()


def test_verify_check_fails_on_an_unexplained_mismatch(tmp_path: Path) -> None:
    rows = list(csv.reader(io.StringIO(ACUTE_Q1.read_text("utf-8-sig"))))
    i = next(n for n, r in enumerate(rows) if r[3] == "RBS" and r[7] == "OF1013")
    rows[i][rows[0].index("Value")] = "1.5"  # NHS England published 1.0: met the target
    changed = tmp_path / "acute.csv"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    changed.write_text(out.getvalue(), "utf-8")
    args = [sys.executable, "-m", "nhs_league.cli", "verify", "--data"]
    ok = subprocess.run(
        [*args, str(ACUTE_Q1), "--check"], capture_output=True, text=True, check=False, timeout=120
    )
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(
        [*args, str(changed), "--check", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert bad.returncode == 1
    assert bad.stderr == "verify: 1 unexplained mismatches\n"
    doc = json.loads(bad.stdout)
    [cell] = [m for m in doc["mismatches"] if m["reason"] == "unexplained"]
    assert (cell["trust_code"], cell["metric_id"], cell["published"]) == ("RBS", "OF1013", 1.5)
