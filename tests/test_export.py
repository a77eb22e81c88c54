"""Export: league tables, metric scores with provenance and a data dictionary, in four formats."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from nhs_league.api import LEAGUE_COLUMNS
from nhs_league.dataset import Dataset
from nhs_league.engine.pipeline import Assessment, assess
from nhs_league.errors import NhsLeagueError
from nhs_league.export import (
    FORMATS,
    METRICS_TABLE,
    TABLES,
    export,
    export_tables,
    quarter_start,
)
from nhs_league.export import meta as export_meta
from nhs_league.ingest.nhse_nof import read_bytes, read_file
from nhs_league.methods.pack import Pack
from tests.conftest import ACUTE_Q1, MHC_Q4
from tests.fixtures.fetch.server import corrected_mhc

SHA_ACUTE_Q1 = "e7d3d45fa7ddef859d6a548fe4652e7f8e1cfe4d5c1adc92afd97fd5237b656a"
PROVENANCE = ["family", "pool_size", "position", "target_met", "basis", "note"]
PROVENANCE += ["pack_id", "pack_version", "source_file", "source_sha256", "source_url"]


@pytest.fixture(scope="module")
def q1(both: Dataset, pack: Pack) -> Assessment:
    return assess(both, pack, quarter="Q1 2025/26", mode="reproduce")


@pytest.fixture(scope="module")
def tables(q1: Assessment, pack: Pack) -> dict[str, pl.DataFrame]:
    return export_tables(q1, pack)


def _target(root: Path, fmt: str) -> Path:
    return root / fmt if fmt in ("csv", "parquet") else root / f"nof.{fmt}"


def _sheets(path: Path) -> dict[str, pl.DataFrame]:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        out = {}
        for ws in wb.worksheets:
            header, *rows = ws.iter_rows(values_only=True)
            out[ws.title] = pl.DataFrame(
                rows, schema=list(header), orient="row", infer_schema_length=None
            )
        return out
    finally:
        wb.close()


def _read_back(fmt: str, paths: list[Path]) -> dict[str, pl.DataFrame]:
    if fmt == "csv":
        return {p.stem: pl.read_csv(p, infer_schema_length=None) for p in paths}
    if fmt == "parquet":
        return {p.stem: pl.read_parquet(p) for p in paths}
    if fmt == "json":
        doc = json.loads(paths[0].read_text(encoding="utf-8"))
        return {t: pl.DataFrame(doc[t], infer_schema_length=None) for t in TABLES}
    return _sheets(paths[0])


def test_league_table_has_every_trust_and_the_domain_scores(
    tables: dict[str, pl.DataFrame], pack: Pack
) -> None:
    league = tables["league_table"]
    domains = [f"domain_{d.key}" for d in pack.domains]
    assert league.columns == [
        *LEAGUE_COLUMNS,
        *domains,
        "source_file",
        "source_sha256",
        "source_url",
    ]
    counts = dict(league.group_by("trust_type").len().iter_rows())
    assert counts == {"acute": 134, "mental-health-community": 61}
    rbs = league.filter(pl.col("trust_code") == "RBS").row(0, named=True)
    assert (rbs["rank"], rbs["average_score"], rbs["league_size"]) == (16, 2.02, 134)
    assert rbs["trust_name"].startswith("Alder Hey")
    assert league["trust_type"].to_list()[:134] == ["acute"] * 134  # pack order, then rank


def test_metric_scores_carry_their_provenance(tables: dict[str, pl.DataFrame]) -> None:
    scores = tables["metric_scores"]
    assert set(PROVENANCE) <= set(scores.columns)
    assert scores["pack_id"].unique().to_list() == ["nof-2025-26"]
    assert scores["pack_version"].unique().to_list() == ["1.0.0"]
    assert scores["trust_name"].null_count() == 0
    assert scores["metric_name"].null_count() == 0


def test_every_row_traces_to_the_file_it_came_from(
    tables: dict[str, pl.DataFrame], q1: Assessment
) -> None:
    """Lineage: each exported row names the file (and its hash) its values were read from,
    checked against hashes of the bundled files computed here."""
    sha = {
        "acute": (ACUTE_Q1.name, hashlib.sha256(ACUTE_Q1.read_bytes()).hexdigest()),
        "mental-health-community": (MHC_Q4.name, hashlib.sha256(MHC_Q4.read_bytes()).hexdigest()),
    }
    assert sha["acute"][1] == SHA_ACUTE_Q1
    for name in ("league_table", "metric_scores"):
        t = tables[name]
        for trust_type, (file, digest) in sha.items():
            rows = t.filter(pl.col("trust_type") == trust_type)
            assert rows.height > 0
            assert set(rows["source_file"]) == {file}
            assert set(rows["source_sha256"]) == {digest}
        assert t["source_url"].null_count() == t.height  # read from disk, not fetched


def test_data_dictionary_describes_every_column_and_metric(
    tables: dict[str, pl.DataFrame], pack: Pack
) -> None:
    d = tables["data_dictionary"]
    for table in ("league_table", "metric_scores"):
        described = d.filter(pl.col("table") == table)
        assert described["column"].to_list() == tables[table].columns
        assert described["description"].str.len_chars().min() > 10
        assert described["type"].null_count() == 0
    metrics = d.filter(pl.col("table") == METRICS_TABLE)
    assert metrics["column"].to_list() == [m.score_id for m in pack.metrics]
    a_e = metrics.filter(pl.col("column") == "OF1013").row(0, named=True)
    assert pack.metric("OF1013").help in a_e["description"]
    assert a_e["source"] == pack.metric("OF1013").source


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_reads_back_to_the_same_tables(
    fmt: str, q1: Assessment, pack: Pack, tables: dict[str, pl.DataFrame], tmp_path: Path
) -> None:
    paths = export(q1, pack, fmt, _target(tmp_path, fmt))
    if fmt in ("csv", "parquet"):
        assert [p.name for p in paths] == [f"{t}.{fmt}" for t in TABLES]
    else:
        assert paths == [tmp_path / f"nof.{fmt}"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)
    back = _read_back(fmt, paths)
    league = back["league_table"]
    assert league.height == 195
    assert dict(league.group_by("trust_type").len().iter_rows()) == {
        "acute": 134,
        "mental-health-community": 61,
    }
    rbs = league.filter(pl.col("trust_code") == "RBS").row(0, named=True)
    assert (rbs["rank"], rbs["average_score"]) == (16, 2.02)
    # xlsx stores 16 significant digits, hence a (tiny) tolerance
    assert_frame_equal(league, tables["league_table"], check_dtypes=False, rel_tol=1e-12)
    assert back["metric_scores"].columns == tables["metric_scores"].columns
    assert back["metric_scores"].height == tables["metric_scores"].height
    assert back["data_dictionary"]["description"].to_list() == (
        tables["data_dictionary"]["description"].to_list()
    )


def test_parquet_keeps_the_column_types(
    q1: Assessment, pack: Pack, tables: dict[str, pl.DataFrame], tmp_path: Path
) -> None:
    back = _read_back("parquet", export(q1, pack, "parquet", tmp_path))
    for name in TABLES:
        assert_frame_equal(back[name], tables[name], check_exact=True)


def test_json_meta_says_what_the_tables_rest_on(q1: Assessment, pack: Pack, tmp_path: Path) -> None:
    (path,) = export(q1, pack, "json", tmp_path / "nof.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert list(doc) == ["meta", *TABLES]
    meta = doc["meta"]
    assert (meta["quarter"], meta["mode"]) == ("Q1 2025/26", "reproduce")
    assert (meta["pack"]["id"], meta["pack"]["version"]) == ("nof-2025-26", "1.0.0")
    assert meta["sources"][0] == {
        "file": "nhs-oversight-framework-acute-trust-data.csv",
        "sha256": SHA_ACUTE_Q1,
    }
    assert meta["cut_points"]["values"] == list(q1.cut_points.values)
    assert meta["cut_points"]["method"] == q1.cut_points.method


def test_meta_and_rows_name_the_correction_not_the_file_it_superseded(pack: Pack) -> None:
    v2_name = "nhs-oversight-framework-mental-health-and-community-trust-data-v2.csv"
    v1, v2 = read_file(MHC_Q4, pack), read_bytes(corrected_mhc(), v2_name, pack)
    a = assess(Dataset.from_publications([v2, v1]), pack, quarter="Q4 2025/26")
    assert export_meta(a, pack)["sources"] == [{"file": v2_name, "sha256": v2.sha256}]
    traced = export_tables(a, pack)["league_table"]
    assert set(traced["source_sha256"]) == {v2.sha256}


def test_xlsx_has_a_frozen_header_filters_and_formats(
    q1: Assessment, pack: Pack, tmp_path: Path
) -> None:
    (path,) = export(q1, pack, "xlsx", tmp_path / "nof.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == list(TABLES)
    for name in TABLES:
        ws = wb[name]
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}{ws.max_row}"
        assert ws.cell(1, 1).font.bold
    league = wb["league_table"]
    header = [c.value for c in league[1]]
    avg = league.cell(2, header.index("average_score") + 1)
    rank = league.cell(2, header.index("rank") + 1)
    assert (avg.number_format, rank.number_format) == ("0.00", "0")
    assert league.column_dimensions["C"].width > 30  # trust names
    scores = wb["metric_scores"]
    score_col = [c.value for c in scores[1]].index("score") + 1
    assert scores.cell(2, score_col).number_format == "0.00"
    assert wb.properties.created.isoformat() == "2025-04-01T00:00:00"


@pytest.mark.parametrize("fmt", FORMATS)
def test_exporting_twice_gives_the_same_bytes(
    fmt: str, q1: Assessment, pack: Pack, tmp_path: Path
) -> None:
    first = export(q1, pack, fmt, _target(tmp_path / "1", fmt))
    second = export(q1, pack, fmt, _target(tmp_path / "2", fmt))
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_xlsx_dates_come_from_the_data_not_the_clock(
    q1: Assessment, pack: Pack, tmp_path: Path
) -> None:
    (path,) = export(q1, pack, "xlsx", tmp_path / "nof.xlsx")
    with zipfile.ZipFile(path) as z:
        core = z.read("docProps/core.xml").decode()
        stamps = {i.date_time for i in z.infolist()}
    assert "<dcterms:created" in core and "2025-04-01T00:00:00Z" in core
    assert "2025-04-01T00:00:00Z</dcterms:modified>" in core
    assert len(stamps) == 1  # xlsxwriter's fixed member timestamp


@pytest.mark.parametrize(
    ("quarter", "start"),
    [("Q1 2025/26", "2025-04-01"), ("Q3 2025/26", "2025-10-01"), ("Q4 2025/26", "2026-01-01")],
)
def test_quarter_start(quarter: str, start: str) -> None:
    assert quarter_start(quarter).date().isoformat() == start


def test_bad_requests_are_clear_errors(q1: Assessment, pack: Pack, tmp_path: Path) -> None:
    with pytest.raises(NhsLeagueError, match="unknown export format 'xls'; allowed: csv"):
        export(q1, pack, "xls", tmp_path / "x.xls")
    with pytest.raises(NhsLeagueError, match="is a folder; --format json writes one file"):
        export(q1, pack, "json", tmp_path)
    (tmp_path / "f").write_text("x")
    with pytest.raises(NhsLeagueError, match="is a file; --format csv writes a folder"):
        export(q1, pack, "csv", tmp_path / "f")


@pytest.mark.parametrize(("fmt", "module"), [("xlsx", "xlsxwriter"), ("parquet", "pyarrow")])
def test_a_missing_optional_dependency_is_a_clear_error(
    fmt: str,
    module: str,
    q1: Assessment,
    pack: Pack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes "import module" fail
    monkeypatch.setitem(sys.modules, f"{module}.parquet", None)
    with pytest.raises(NhsLeagueError, match=rf"needs the optional package {module}; install"):
        export(q1, pack, fmt, _target(tmp_path, fmt))
    assert not _target(tmp_path, fmt).exists()


def test_optional_dependencies_are_imported_only_when_used() -> None:
    code = (
        "import sys, nhs_league.cli, nhs_league.export\n"
        "print(sorted(m for m in ('pyarrow', 'xlsxwriter') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_export_writes_the_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "nhs_league.cli", "export", "--format", "csv", "--out", str(out)]
    cmd += ["--store", str(tmp_path / "s.duckdb")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.csv" for t in TABLES)
    assert done.stdout.count("wrote ") == 3
    league = pl.read_csv(out / "league_table.csv")
    assert league.height > 0 and league.columns[: len(LEAGUE_COLUMNS)] == LEAGUE_COLUMNS
