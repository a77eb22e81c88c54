"""Bad input: each case is a real NHS England file (or a slice of one) with one thing broken.

For every case the reader raises the right typed error, whose message names the file, the line
(the header is line 1), the column, the value found and what was expected; loading it leaves the
store exactly as it was; and the CLI says so in one line on stderr with exit status 2.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from nhs_league.errors import (
    DuplicateRowError,
    InputError,
    MetricNotApplicable,
    SchemaError,
    UnknownMetric,
    ValueFormatError,
)
from nhs_league.ingest.nhse_nof import LAYOUTS, read_file
from nhs_league.methods.pack import Pack
from nhs_league.store import Store
from tests.conftest import ACUTE_Q1, MHC_Q4

BOM = b"\xef\xbb\xbf"
DATA_16 = ",".join(LAYOUTS["data-16"])
DATA_17 = ",".join(LAYOUTS["data-17"])


# --- building bad files from real ones ----------------------------------------------------------


def rows_of(path: Path) -> tuple[list[str], list[list[str]]]:
    records = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))
    return records[0], records[1:]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    """Write as NHS England does: BOM, CRLF, one physical line per row (so row i is line i+2)."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    text = buf.getvalue()
    assert text.count("\r\n") == len(rows) + 1  # no cell spans lines
    path.write_bytes(BOM + text.encode("utf-8"))
    return path


def find(header: list[str], rows: list[list[str]], **where: str) -> int:
    """Index of the first row whose cells match ``where``."""
    cols = {header.index(k): v for k, v in where.items()}
    return next(i for i, r in enumerate(rows) if all(r[c] == v for c, v in cols.items()))


def line_of(index: int) -> int:
    return index + 2  # the header is line 1


@dataclass(frozen=True)
class Bad:
    """A bad file and everything its error must say."""

    path: Path
    error: type[InputError]
    line: int | None
    column: str | None
    found: object
    expected: str
    message: str | None = None  # the whole message, where pinned


def missing_column(tmp: Path) -> Bad:
    # a slice of the MHC file (header + 10 real rows) with the Units column cut out
    header, rows = rows_of(MHC_Q4)
    drop = header.index("Units")
    kept = [c for c in header if c != "Units"]
    path = write_csv(tmp / "missing-units.csv", kept, [r[:drop] + r[drop + 1 :] for r in rows[:10]])
    found = "the columns " + ",".join(kept)
    expected = "the columns " + DATA_17
    return Bad(
        path,
        SchemaError,
        1,
        "Units",
        found,
        expected,
        f"{path}, line 1, column Units: column 'Units' is missing; found {found!r}; "
        f"expected {expected}",
    )


def misspelt_column(tmp: Path) -> Bad:
    # the whole acute file, with Metric_ID spelt Metric_Id in the header
    header, rows = rows_of(ACUTE_Q1)
    header = ["Metric_Id" if c == "Metric_ID" else c for c in header]
    path = write_csv(tmp / "misspelt.csv", header, rows)
    return Bad(
        path,
        SchemaError,
        1,
        "Metric_ID",
        "Metric_Id",
        "the columns " + DATA_16,
        f"{path}, line 1, column Metric_ID: column 'Metric_ID' is missing "
        f"(is 'Metric_Id' a misspelling?); found 'Metric_Id'; expected the columns {DATA_16}",
    )


def non_numeric_value(tmp: Path) -> Bad:
    # the whole acute file; Barts' (R1H) A&E 4-hour value replaced with n/a
    header, rows = rows_of(ACUTE_Q1)
    i = find(header, rows, Trust_code="R1H", Metric_ID="OF0013")
    rows[i][header.index("Value")] = "n/a"
    path = write_csv(tmp / "value-na.csv", header, rows)
    line = line_of(i)
    return Bad(
        path,
        ValueFormatError,
        line,
        "Value",
        "n/a",
        "a number such as 16.0",
        f"{path}, line {line}, column Value: not a number; found 'n/a'; "
        "expected a number such as 16.0",
    )


def duplicate_row(tmp: Path) -> Bad:
    # the whole MHC file, its first row (R1A, OF0005, Q1) repeated after row 100
    header, rows = rows_of(MHC_Q4)
    rows.insert(100, list(rows[0]))
    path = write_csv(tmp / "duplicate.csv", header, rows)
    line = line_of(100)
    assert header[4:5] == ["Trust_code"] and rows[0][4] == "R1A"
    return Bad(
        path,
        DuplicateRowError,
        line,
        "Metric_ID",
        "OF0005",
        "one row per quarter, trust, metric and units",
        f"{path}, line {line}, column Metric_ID: duplicate row for Q1 2025/26, R1A, OF0005 (%); "
        "first seen on line 2; found 'OF0005'; "
        "expected one row per quarter, trust, metric and units",
    )


def unknown_metric(tmp: Path) -> Bad:
    # the whole acute file; one OF0025 row relabelled OF9999
    header, rows = rows_of(ACUTE_Q1)
    i = find(header, rows, Trust_code="RBS", Metric_ID="OF0025")
    rows[i][header.index("Metric_ID")] = "OF9999"
    path = write_csv(tmp / "unknown-metric.csv", header, rows)
    return Bad(
        path,
        UnknownMetric,
        line_of(i),
        "Metric_ID",
        "OF9999",
        "a metric of the method pack nof-2025-26 (OF0003, OF0005, OF0010, OF0011, OF0013, "
        "OF0014, ...), a domain or a summary id",
    )


def metric_not_applicable(tmp: Path) -> Bad:
    # the whole acute file; the first OF0013 (A&E, acute only) row claims a non-acute trust type
    header, rows = rows_of(ACUTE_Q1)
    i = find(header, rows, Metric_ID="OF0013")
    rows[i][header.index("Trust_type")] = "Mental health and community trust"
    path = write_csv(tmp / "not-applicable.csv", header, rows)
    line = line_of(i)
    return Bad(
        path,
        MetricNotApplicable,
        line,
        "Metric_ID",
        "OF0013",
        "a trust type in acute",
        f"{path}, line {line}, column Metric_ID: metric OF0013 does not apply to "
        "mental-health-community trusts; found 'OF0013'; expected a trust type in acute",
    )


def undecodable(tmp: Path) -> Bad:
    # a slice of the MHC file (header + 10 rows); one trust name holds a latin-1 byte
    header, rows = rows_of(MHC_Q4)
    i = 4
    name = rows[i][header.index("Trust_name")]
    assert name == "Sussex Community NHS Foundation Trust"
    good = write_csv(tmp / "undecodable.csv", header, rows[:10]).read_bytes()
    bad_name = b"Sussex Communit\xe9 NHS Foundation Trust"
    raw = good.replace(name.encode(), bad_name)
    assert raw.count(b"\xe9") == 1
    path = tmp / "undecodable.csv"
    path.write_bytes(raw)
    line = line_of(i)
    return Bad(
        path,
        SchemaError,
        line,
        "Trust_name",
        bad_name,
        "a UTF-8 CSV file (with or without BOM)",
        f"{path}, line {line}, column Trust_name: the file is not UTF-8 text; "
        r"found b'Sussex Communit\xe9 NHS Foundation Trust'; "
        "expected a UTF-8 CSV file (with or without BOM)",
    )


def empty_file(tmp: Path) -> Bad:
    path = tmp / "empty.csv"
    path.write_bytes(b"")
    return Bad(
        path,
        SchemaError,
        1,
        None,
        "",
        "a CSV header and rows",
        f"{path}, line 1: the file is empty; found ''; expected a CSV header and rows",
    )


def header_only(tmp: Path) -> Bad:
    header, _ = rows_of(ACUTE_Q1)
    path = write_csv(tmp / "header-only.csv", header, [])
    return Bad(
        path,
        SchemaError,
        2,
        None,
        "",
        "at least one data row",
        f"{path}, line 2: the file has a header but no rows; found ''; "
        "expected at least one data row",
    )


CASES: dict[str, Callable[[Path], Bad]] = {
    "missing-column": missing_column,
    "misspelt-column": misspelt_column,
    "non-numeric-value": non_numeric_value,
    "duplicate-row": duplicate_row,
    "unknown-metric": unknown_metric,
    "metric-not-applicable": metric_not_applicable,
    "undecodable": undecodable,
    "empty-file": empty_file,
    "header-only": header_only,
}


def check(bad: Bad, pack: Pack) -> InputError:
    """Read the bad file; the error must be exactly ``bad.error`` and say everything."""
    with pytest.raises(InputError) as info:
        read_file(bad.path, pack)
    exc = info.value
    assert type(exc) is bad.error
    assert (exc.file, exc.line, exc.column, exc.found, exc.expected) == (
        str(bad.path),
        bad.line,
        bad.column,
        bad.found,
        bad.expected,
    )
    text = str(exc)
    assert "\n" not in text
    where = str(bad.path)
    if bad.line is not None:
        where += f", line {bad.line}"
    if bad.column is not None:
        where += f", column {bad.column}"
    assert text.startswith(where + ": ")
    assert f"; found {bad.found!r}" in text
    assert text.endswith(f"; expected {bad.expected}")
    if bad.message is not None:
        assert text == bad.message
    return exc


# --- one test per case: the error says what, where, found and expected --------------------------


def test_missing_column(tmp_path: Path, pack: Pack) -> None:
    check(missing_column(tmp_path), pack)


def test_misspelt_column(tmp_path: Path, pack: Pack) -> None:
    check(misspelt_column(tmp_path), pack)


def test_non_numeric_value(tmp_path: Path, pack: Pack) -> None:
    check(non_numeric_value(tmp_path), pack)


def test_duplicate_row(tmp_path: Path, pack: Pack) -> None:
    check(duplicate_row(tmp_path), pack)


def test_unknown_metric(tmp_path: Path, pack: Pack) -> None:
    exc = check(unknown_metric(tmp_path), pack)
    assert str(exc).startswith(f"{exc.file}, line {exc.line}, column Metric_ID: unknown Metric_ID")


def test_metric_on_a_trust_type_it_does_not_apply_to(tmp_path: Path, pack: Pack) -> None:
    check(metric_not_applicable(tmp_path), pack)


def test_undecodable_file(tmp_path: Path, pack: Pack) -> None:
    check(undecodable(tmp_path), pack)


def test_empty_file(tmp_path: Path, pack: Pack) -> None:
    bad = empty_file(tmp_path)
    assert bad.path.stat().st_size == 0
    check(bad, pack)


def test_header_only_file(tmp_path: Path, pack: Pack) -> None:
    check(header_only(tmp_path), pack)


# --- more ways a file goes wrong ----------------------------------------------------------------


def test_duplicate_reports_the_first_repeated_row_and_where_it_was_first_seen(
    tmp_path: Path, pack: Pack
) -> None:
    # two different rows repeated: the error is about the first repeat, not the first original
    header, rows = rows_of(MHC_Q4)
    rows = [*rows[:10], rows[2], rows[0]]
    path = write_csv(tmp_path / "two-duplicates.csv", header, rows)
    with pytest.raises(DuplicateRowError) as info:
        read_file(path, pack)
    assert info.value.line == 12
    assert rows[2][4] == "R1L"
    assert "duplicate row for Q1 2025/26, R1L, OF0005 (%); first seen on line 4;" in str(info.value)


@pytest.mark.parametrize("value", ["inf", "-inf", "1e999", "nan", ""])
def test_values_that_are_not_finite_numbers(tmp_path: Path, pack: Pack, value: str) -> None:
    header, rows = rows_of(MHC_Q4)
    rows = rows[:10]
    rows[6][header.index("Value")] = value
    path = write_csv(tmp_path / "value.csv", header, rows)
    with pytest.raises(ValueFormatError) as info:
        read_file(path, pack)
    assert str(info.value) == (
        f"{path}, line 8, column Value: not a number; found {value!r}; "
        "expected a number such as 16.0"
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda r: [*r, "extra"],
            "line 5: a row with 18 cells; found 18; "
            "expected 17 cells, one per column of the header",
        ),
        (
            lambda r: r[:-1],
            "line 5, column Rank: a row with 16 cells (cut short); found 16; "
            "expected 17 cells, one per column of the header",
        ),
    ],
    ids=["too-many-cells", "too-few-cells"],
)
def test_a_row_with_the_wrong_number_of_cells(
    tmp_path: Path, pack: Pack, edit: Callable[[list[str]], list[str]], message: str
) -> None:
    header, rows = rows_of(MHC_Q4)
    rows = rows[:10]
    rows[3] = edit(rows[3])
    path = tmp_path / "ragged.csv"
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n").writerows([header, *rows])
    path.write_bytes(BOM + buf.getvalue().encode())
    with pytest.raises(SchemaError) as info:
        read_file(path, pack)
    assert str(info.value) == f"{path}, {message}"


def test_an_unclosed_quote(tmp_path: Path, pack: Pack) -> None:
    header, rows = rows_of(MHC_Q4)
    text = write_csv(tmp_path / "q.csv", header, rows[:10]).read_bytes().decode("utf-8-sig")
    lines = text.split("\r\n")
    lines[7] = lines[7].replace(",Mental health", ',"Mental health', 1)
    path = tmp_path / "unclosed.csv"
    path.write_text("\r\n".join(lines), encoding="utf-8", newline="")
    with pytest.raises(SchemaError) as info:
        read_file(path, pack)
    assert info.value.line == 8
    assert "not a well-formed CSV file" in str(info.value)


def test_a_league_file_with_a_trust_twice(tmp_path: Path, pack: Pack) -> None:
    header = LAYOUTS["league-quarter"]
    _, data = rows_of(ACUTE_Q1)
    org = {r[3]: r[:5] for r in data}  # Region .. Trust_name of each trust, from the real file
    rows = [
        ["Q1 2025/26", *org["R0A"], "2.41", "", "3", "No", "71", ""],
        ["Q1 2025/26", *org["RBS"], "1.80", "", "2", "No", "10", ""],
        ["Q1 2025/26", *org["R0A"], "2.41", "", "3", "No", "71", ""],
    ]
    path = write_csv(tmp_path / "league.csv", header, rows)
    with pytest.raises(DuplicateRowError) as info:
        read_file(path, pack)
    assert str(info.value) == (
        f"{path}, line 4, column Trust_code: duplicate row for Q1 2025/26, R0A; "
        "first seen on line 2; found 'R0A'; expected one row per quarter and trust"
    )


# --- the store is left exactly as it was ---------------------------------------------------------


@pytest.fixture(scope="session")
def seeded_store(tmp_path_factory: pytest.TempPathFactory, pack: Pack) -> Path:
    """A store seeded with the bundled files, made once and copied by each test."""
    path = tmp_path_factory.mktemp("template") / "store.duckdb"
    Store(path, pack).close()
    assert not path.with_suffix(".duckdb.wal").exists()
    return path


@pytest.fixture
def store_copy(seeded_store: Path, tmp_path: Path) -> Path:
    path = tmp_path / "store" / "store.duckdb"
    path.parent.mkdir()
    shutil.copyfile(seeded_store, path)
    return path


def snapshot(path: Path, pack: Pack) -> tuple[dict[str, int], pl.DataFrame, dict[str, object]]:
    with Store(path, pack) as st:
        ds = st.dataset()
        tables: dict[str, object] = {
            t: getattr(ds, t) for t in ("trusts", "observations", "flags", "published")
        }
        tables["sources"] = ds.sources
        return st.counts(), st.files(), tables


def assert_same_snapshot(a: tuple[object, ...], b: tuple[object, ...]) -> None:
    counts_a, files_a, tables_a = a
    counts_b, files_b, tables_b = b
    assert counts_a == counts_b
    assert isinstance(files_a, pl.DataFrame) and isinstance(files_b, pl.DataFrame)
    assert_frame_equal(files_a, files_b)
    assert isinstance(tables_a, dict) and isinstance(tables_b, dict)
    assert tables_a.keys() == tables_b.keys()
    for key, value in tables_a.items():
        if isinstance(value, pl.DataFrame):
            assert_frame_equal(value, tables_b[key])
        else:
            assert value == tables_b[key]


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_file_leaves_the_store_unchanged(
    case: str, store_copy: Path, tmp_path: Path, pack: Pack
) -> None:
    bad = CASES[case](tmp_path)
    before = snapshot(store_copy, pack)
    with Store(store_copy, pack) as st:
        assert st.counts()["files"] == 2
        with pytest.raises(bad.error) as info:
            st.load_file(bad.path)
        assert info.value.line == bad.line
        # unchanged on the same connection, and again when the store is reopened
        assert st.counts() == before[0]
        assert_frame_equal(st.files(), before[1])
    assert_same_snapshot(snapshot(store_copy, pack), before)


# --- the CLI: one line on stderr, exit status 2, no traceback -----------------------------------


def run_load(path: Path, store: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nhs_league.cli", "load", str(path), "--store", str(store)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("case", list(CASES))
def test_cli_load_of_a_bad_file(case: str, store_copy: Path, tmp_path: Path, pack: Pack) -> None:
    bad = CASES[case](tmp_path)
    with pytest.raises(InputError) as info:
        read_file(bad.path, pack)
    before = snapshot(store_copy, pack)
    r = run_load(bad.path, store_copy)
    assert r.returncode == 2
    assert r.stdout == ""
    assert "Traceback" not in r.stderr + r.stdout
    assert r.stderr.startswith("error: ")
    assert r.stderr.endswith("\n") and r.stderr.count("\n") == 1
    assert str(bad.path) in r.stderr
    assert f", line {bad.line}" in r.stderr
    assert r.stderr == f"error: {info.value}\n"
    assert_same_snapshot(snapshot(store_copy, pack), before)


# --- a good file loaded twice -------------------------------------------------------------------


def test_loading_the_same_good_file_twice_is_a_no_op_the_second_time(
    store_copy: Path, tmp_path: Path, pack: Pack
) -> None:
    # new content (no BOM), so the first load stores it and the second finds it
    good = tmp_path / "acute-no-bom.csv"
    good.write_bytes(ACUTE_Q1.read_bytes().removeprefix(BOM))
    with Store(store_copy, pack) as st:
        first = st.load_file(good)
        assert first.loaded
        assert first.rows > 0
        after_first = st.counts()
        files_after_first = st.files()
        assert after_first["files"] == 3
        second = st.load_file(good)
        assert not second.loaded
        assert second.rows == 0
        assert second.sha256 == first.sha256
        assert second.coverage == first.coverage == (("Q1 2025/26", "acute"),)
        assert st.counts() == after_first
        assert_frame_equal(st.files(), files_after_first)
    r = run_load(good, store_copy)
    assert r.returncode == 0, r.stderr
    assert "already loaded (same content)" in r.stdout
    with Store(store_copy, pack) as st:
        assert st.counts() == after_first
