"""The analysis commands (whatif, improve, movement, compare-methods) and the likely-range columns
of ``table``, run as real subprocesses against a fresh store seeded from the bundled data.

The commands are run through the installed console script ``nhs-league`` (the entry point
``nhs_league.cli:main``), as a user runs them; ``python -m nhs_league.cli`` and
``python -m nhs_league`` see the same commands (``test_python_dash_m_sees_the_analysis_commands``).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import ACUTE_Q1

_SCRIPT = Path(sys.executable).with_name("nhs-league")
NHS_LEAGUE = (
    [str(_SCRIPT)]
    if _SCRIPT.exists()
    else [sys.executable, "-c", "from nhs_league.cli import main; main()"]
)
RANGE_COLUMNS = [
    "score_low",
    "score_high",
    "rank_low",
    "rank_high",
    "p_segment_1",
    "p_segment_2",
    "p_segment_3",
    "p_segment_4",
]


def run(*args: str, store: Path | None = None) -> subprocess.CompletedProcess[str]:
    extra = ["--store", str(store)] if store is not None else []
    return subprocess.run(
        [*NHS_LEAGUE, *args, *extra],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def csv_of(r: subprocess.CompletedProcess[str]) -> pl.DataFrame:
    assert r.returncode == 0, r.stderr
    return pl.read_csv(io.StringIO(r.stdout))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli_analysis") / "store.duckdb"
    r = run("load", str(ACUTE_Q1), store=path)  # seeds, then finds the file already loaded
    assert r.returncode == 0, r.stderr
    assert "already loaded" in r.stdout
    return path


# --- likely ranges in the league table ------------------------------------------------------


def test_table_csv_is_byte_identical_run_twice(store: Path) -> None:
    first = run("table", "--format", "csv", store=store)
    second = run("table", "--format", "csv", store=store)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert first.stdout == second.stdout
    t = pl.read_csv(io.StringIO(first.stdout))
    assert t.height == 134
    for col in RANGE_COLUMNS:
        assert col in t.columns
    p = t.select(pl.sum_horizontal(*[f"p_segment_{k}" for k in (1, 2, 3, 4)]).alias("p"))["p"]
    assert (p - 1).abs().max() <= 2e-4 + 1e-12
    assert (t["score_low"] <= t["average_score"]).all()
    assert (t["average_score"] <= t["score_high"]).all()
    assert (t["rank_low"] <= t["rank_high"]).all()


def test_table_seed_and_replicates_are_used(store: Path) -> None:
    base = ["table", "--type", "mental-health-community", "--format", "csv", "--replicates"]
    a = run(*base, "500", "--seed", "1", store=store)
    b = run(*base, "500", "--seed", "2", store=store)
    assert a.returncode == b.returncode == 0, a.stderr + b.stderr
    assert a.stdout != b.stdout
    none = csv_of(run(*base, "0", store=store))
    assert not set(RANGE_COLUMNS) & set(none.columns)
    assert none.height == 61


def test_table_with_a_variant(store: Path) -> None:
    t = csv_of(
        run(
            "table",
            "--variant",
            "thresholds=2.0,2.5,3.0",
            "--variant",
            "no-override",
            "--replicates",
            "0",
            "--format",
            "csv",
            store=store,
        )
    )
    assert t.height == 134
    expected = (
        1
        + (t["average_score"] > 2.0).cast(pl.Int64)
        + (t["average_score"] > 2.5).cast(pl.Int64)
        + (t["average_score"] > 3.0).cast(pl.Int64)
    )
    assert (t["segment"] == expected).all()
    assert (t["segment"] == t["unadjusted_segment"]).all()


# --- whatif ---------------------------------------------------------------------------------


def test_whatif_json(store: Path) -> None:
    r = run(
        "whatif", "RCX", "--set", "OF0013=78", "--deficit", "no", "--format", "json", store=store
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["quarter"], doc["mode"]) == ("Q1 2025/26", "reproduce")
    [t] = doc["trusts"]
    assert t["trust_code"] == "RCX"
    assert (t["financial_deficit_before"], t["financial_deficit_after"]) == (True, False)
    assert t["average_score_after"] < t["average_score_before"]
    [m] = [m for m in doc["metric_scores"] if m["metric_id"] == "OF1013"]
    assert (m["value_before"], m["value_after"], m["score_after"]) == (61.9, 78.0, 1.0)
    assert m["score_before"] > 3.5
    assert doc["others"], "raising RCX re-scales the trusts still missing the target"
    for o in doc["others"]:
        assert o["trust_code"] != "RCX"
        assert (o["league_rank_before"], o["adjusted_segment_before"]) != (
            o["league_rank_after"],
            o["adjusted_segment_after"],
        )


def test_whatif_human_output(store: Path) -> None:
    r = run("whatif", "RCX", "--set", "OF0013=78", store=store)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("The Queen Elizabeth Hospital, King's Lynn, NHS Foundation Trust")
    assert "average 3.35 → 3.15" in r.stdout
    assert "Metric scores that changed" in r.stdout
    assert "Other trusts whose segment or rank changed" in r.stdout


def test_whatif_scenario_file(store: Path, tmp_path: Path) -> None:
    f = tmp_path / "scenario.csv"
    f.write_text("trust_code,metric_id,value\nRCX,OF0013,78\nR0A,OF0013,80\n", encoding="utf-8")
    r = run("whatif", "RCX", "--file", str(f), "--format", "csv", store=store)
    t = csv_of(r)
    assert sorted(t["trust_code"]) == ["R0A", "RCX"]
    assert (t["average_score_after"] < t["average_score_before"]).all()


# --- improve --------------------------------------------------------------------------------


def test_improve_one_trust_json(store: Path) -> None:
    r = run("improve", "RJR", "--format", "json", store=store)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["trust_code"], doc["quarter"]) == ("RJR", "Q1 2025/26")
    assert doc["target_segment"] == 3
    assert doc["needed_average"] == 2.6
    assert doc["gap"] == 0.44  # RJR's average is 3.04
    assert doc["reachable"] and not doc["blocked_by_override"]
    assert len(doc["steps"]) == len(doc["changes"]) >= 1
    assert doc["summary"].startswith("Improvement needed: segment 3 needs an average of 2.60")
    for c in doc["changes"]:
        assert c["score_to"] < c["score_from"]


def test_improve_table_csv(store: Path) -> None:
    t = csv_of(run("improve", "--type", "acute", "--format", "csv", store=store))
    assert t.columns == [
        "trust_code",
        "trust_name",
        "segment",
        "target_segment",
        "average_score",
        "needed_average",
        "gap",
        "blocked_by_override",
    ]
    assert t.height == 118  # of 134 acute trusts, 16 are in segment 1
    assert (t["segment"] > 1).all()
    assert (t["target_segment"] == t["segment"] - 1).all()
    assert not t.filter(pl.col("blocked_by_override"))["segment"].ne(3).any()
    assert t.filter(pl.col("trust_code") == "RJR").row(0, named=True)["gap"] == 0.44


# --- movement -------------------------------------------------------------------------------


def test_movement_csv(store: Path) -> None:
    args = ["movement", "--from", "Q1", "--to", "Q2", "--type", "mental-health-community"]
    first = run(*args, "--format", "csv", "--replicates", "2000", store=store)
    t = csv_of(first)
    assert t.height == 61
    for col in [
        "average_score_from",
        "average_score_to",
        "change",
        "change_low",
        "change_high",
        "significant",
        "segment_change_cause",
        "league_rank_from",
        "league_rank_to",
    ]:
        assert col in t.columns
    diff = (t["average_score_to"] - t["average_score_from"]).round(2)
    assert (t["change"] - diff).abs().max() < 1e-9
    moved = t.filter(pl.col("adjusted_segment_from") != pl.col("adjusted_segment_to"))
    assert moved.height > 0 and moved["segment_change_cause"].null_count() == 0
    stayed = t.filter(pl.col("adjusted_segment_from") == pl.col("adjusted_segment_to"))
    assert stayed["segment_change_cause"].null_count() == stayed.height
    assert "override removed" in moved["segment_change_cause"].to_list()  # RXG
    again = run(*args, "--format", "csv", "--replicates", "2000", store=store)
    assert again.stdout == first.stdout  # the significance is seeded


# --- compare-methods ------------------------------------------------------------------------


def test_compare_methods_no_override_csv(store: Path) -> None:
    t = csv_of(run("compare-methods", "--variant", "no-override", "--format", "csv", store=store))
    assert t.height > 0
    assert ((t["places_up"] != 0) | (t["segments_up"] != 0)).all()  # --changed-only
    assert "RQM" in t["trust_code"].to_list()  # capped at 3 by the override; 1 without it
    rqm = t.filter(pl.col("trust_code") == "RQM").row(0, named=True)
    assert (rqm["adjusted_segment_baseline"], rqm["adjusted_segment_variant"]) == (3, 1)
    assert (t["average_score_baseline"] == t["average_score_variant"]).all()
    full = csv_of(
        run("compare-methods", "--variant", "no-override", "--all", "--format", "csv", store=store)
    )
    assert full.height == 134


# --- errors and help ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["whatif", "RCX", "--set", "OF0013=abc"], ["not a number", "'abc'"]),
        (["whatif", "RCX", "--set", "OF9999=1"], ["OF9999", "not a metric"]),
        (["whatif", "RCX", "--deficit", "maybe"], ["--deficit", "'maybe'", "yes or no"]),
        (["compare-methods", "--variant", "nonsense"], ["nonsense", "unknown variant", "allowed"]),
        (["whatif", "RCX", "--set", "OF0013=1e9"], ["out of range"]),
        (["whatif", "RCX"], ["nothing to change"]),
        (["whatif", "RCX", "--set", "OF1046=7"], ["OF1046", "from 1 to 4"]),
        (["whatif", "RDY", "--set", "OF0013=78"], ["does not apply"]),
        (["compare-methods", "--variant", "thresholds=3,2,1"], ["strictly ascending cut-points"]),
        (["whatif", "RBS", "--set", "OF0017=10"], ["RBS reports no OF0017", "only values"]),
        (
            ["movement", "--from", "Q1", "--to", "Q1", "--type", "acute"],
            ["the same quarter (Q1 2025/26)"],
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(store: Path, args: list[str], words: list[str]) -> None:
    r = run(*args, store=store)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.startswith("error: ")
    assert r.stderr.count("\n") == 1
    assert "Traceback" not in r.stderr
    for w in words:
        assert w in r.stderr


@pytest.mark.parametrize("command", ["whatif", "improve", "movement", "compare-methods"])
def test_help_has_an_example(command: str) -> None:
    r = run(command, "--help")
    assert r.returncode == 0, r.stderr
    assert f"Example: nhs-league {command}" in r.stdout


def test_top_level_help_lists_the_analysis_commands() -> None:
    r = run("--help")
    assert r.returncode == 0, r.stderr
    for command in ("whatif", "improve", "movement", "compare-methods"):
        assert command in r.stdout


@pytest.mark.parametrize("module", ["nhs_league.cli", "nhs_league"])
def test_python_dash_m_sees_the_analysis_commands(module: str) -> None:
    r = subprocess.run(
        [sys.executable, "-m", module, "whatif", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert "Example: nhs-league whatif" in r.stdout


def test_improve_paths_for_every_trust(store: Path) -> None:
    t = csv_of(
        run(
            "improve",
            "--type",
            "mental-health-community",
            "--paths",
            "--format",
            "csv",
            store=store,
        )
    )
    assert "path" in t.columns
    blocked = t.filter(pl.col("blocked_by_override"))
    assert blocked["path"].null_count() == blocked.height  # no path while the override blocks
    open_ = t.filter(~pl.col("blocked_by_override"))
    assert open_["path"].null_count() < open_.height
    assert all(" from " in p and " to " in p for p in open_["path"].drop_nulls())
