"""Fetch: against a real HTTP server on 127.0.0.1 serving a saved page and NHS England's files.

Never the internet. The server (tests/fixtures/fetch/server.py) serves the reconstructed
publication page, the real files bundled with the package, a ``-v2`` correction of one of them,
and routes that fail: a file cut short (inside a row, between rows, before its last line break,
in transit), HTTP 500, 404, HTML instead of CSV, a slow response, a flaky one, a wrong file.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from math import nan as NAN
from pathlib import Path

import duckdb
import polars as pl
import pytest

from nhs_league import fetch
from nhs_league.completeness import check_complete
from nhs_league.dataset import _SCHEMAS, _TABLES, Dataset
from nhs_league.errors import FetchError, ValueFormatError
from nhs_league.ingest.nhse_nof import read_bytes, read_file
from nhs_league.methods.pack import Pack
from nhs_league.store import Provenance, Store
from tests.conftest import ACUTE_Q1, MHC_Q4
from tests.fixtures.fetch.server import (
    ACUTE,
    ENGLAND,
    HERE,
    MHC,
    MHC_V2,
    PAGE,
    FetchServer,
    corrected_mhc,
    fault,
    serve,
)

MHC_TYPE = "mental-health-community"
FAST = fetch.Options(timeout=5.0, retries=2, backoff=0.0)


@pytest.fixture(scope="module")
def server() -> Iterator[FetchServer]:
    with serve() as s:
        yield s


def run_fetch(
    server_page: str, pack: Pack, *, quarter: str | None = None, options: fetch.Options = FAST
) -> list[fetch.Fetched]:
    with fetch.session(options) as client:
        links = fetch.plan(client, server_page, quarter=quarter, options=options)
        return fetch.download(client, links, pack, options=options)


def fresh_store(path: Path, pack: Pack) -> Path:
    """A store that holds nothing: no bundled files."""
    Store(path, pack, seed=False).close()
    return path


def snapshot(path: Path, pack: Pack) -> tuple[str, dict[str, int], list[tuple[object, ...]]]:
    """The store file's bytes (hash), its row counts and its files table."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with Store(path, pack, read_only=True) as st:
        return digest, st.counts(), st.files().rows()


# --- the page ------------------------------------------------------------------------------------


def test_the_saved_page_lists_three_nof_files() -> None:
    html = (HERE / "publication-page.html").read_text("utf-8")
    links = fetch.find_links(html, ENGLAND + PAGE)
    got = [(x.quarter, x.trust_type, x.kind, x.version, x.url) for x in links]
    assert got == [
        ("Q4 2025/26", "mental-health-community", "data", 2, ENGLAND + MHC_V2),
        ("Q4 2025/26", "mental-health-community", "data", 1, ENGLAND + MHC),
        ("Q1 2025/26", "acute", "data", 1, ENGLAND + ACUTE),
    ]  # not the methodology PDF, the metric metadata CSV or any page link
    assert links[0].name == (
        "q4-2025-26/nhs-oversight-framework-mental-health-and-community-trust-data-v2.csv"
    )


@pytest.mark.parametrize(
    ("text", "quarter"),
    [
        ("Quarter 3 2025/26", "Q3 2025/26"),
        ("Q3 2025-26 results", "Q3 2025/26"),
        ("nof-q3-2025-26-acute-trust-data.csv", "Q3 2025/26"),
        ("2025/26 Q2", "Q2 2025/26"),
        ("Quarter 4, 2025 to 2026", "Q4 2025/26"),
        ("Q3 2025/27", None),  # not a financial year
        ("Published 9 September 2025", None),
    ],
)
def test_parse_quarter(text: str, quarter: str | None) -> None:
    assert fetch.parse_quarter(text) == quarter


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("nhs-oversight-framework-acute-trust-data.csv", ("acute", "data", 1)),
        ("nhs-oversight-framework-non-acute-hospital-trust-data.csv", (MHC_TYPE, "data", 1)),
        ("nhs-oversight-framework-ambulance-trust-league-table-v3.csv", ("ambulance", "league", 3)),
        ("NHS-Oversight-Framework-Acute-Trust-Data-V2.csv", ("acute", "data", 2)),
        ("nhs-oversight-framework-metric-metadata.csv", None),
        ("nhs-oversight-framework-acute-trust-data.xlsx", None),
        ("acute-bed-occupancy-data.csv", None),
    ],
)
def test_classify_by_file_name(filename: str, expected: tuple[str, str, int] | None) -> None:
    link = fetch.classify(f"{ENGLAND}/wp-content/uploads/2026/02/{filename}", "", ["Q3 2025/26"])
    assert (None if link is None else (link.trust_type, link.kind, link.version)) == expected


# --- loading -------------------------------------------------------------------------------------


def test_a_new_quarter_loads_into_a_fresh_store(
    server: FetchServer, pack: Pack, tmp_path: Path
) -> None:
    path = fresh_store(tmp_path / "s.duckdb", pack)
    fetched = run_fetch(server.page_url(), pack, quarter="Q4 2025/26")
    assert [f.link.version for f in fetched] == [2, 1]  # only the Q4 links
    with Store(path, pack, seed=False) as st:
        results = fetch.load(st, fetched)
        files = st.files()
        ds = st.dataset()
    assert [r.loaded for r in results] == [True, True]
    assert ds.quarters == ["Q1 2025/26", "Q2 2025/26", "Q3 2025/26", "Q4 2025/26"]
    assert ds.loaded_types("Q4 2025/26") == {"mental-health-community"}
    assert files["source_url"].to_list() == [server.url(MHC_V2), server.url(MHC)]
    assert files["sha256"].to_list() == [
        hashlib.sha256(corrected_mhc()).hexdigest(),
        hashlib.sha256(MHC_Q4.read_bytes()).hexdigest(),
    ]
    assert files["fetched_at"].null_count() == 0
    # Lineage: every Q4 trust's rows come from the correction, named with its URL and hash.
    source = ds.source_of("Q4 2025/26", "mental-health-community")
    assert source.select("kind", "file", "source_url", "trusts").rows() == [
        ("data", fetched[0].link.name, server.url(MHC_V2), 61)
    ]
    traced = ds.with_sources(ds.trusts.filter(pl.col("quarter") == "Q2 2025/26"))
    assert set(traced["source_sha256"]) == {files["sha256"][0]}


def test_a_v2_supersedes_the_first_issue_whatever_the_load_order(
    server: FetchServer, pack: Pack, tmp_path: Path
) -> None:
    fetched = run_fetch(server.page_url(), pack, quarter="Q4")
    datasets = []
    for name, order in (("v2-first", fetched), ("v1-first", fetched[::-1])):
        with Store(fresh_store(tmp_path / f"{name}.duckdb", pack), pack, seed=False) as st:
            fetch.load(st, order)
            assert st.files().height == 2  # the history keeps both
            datasets.append(st.dataset())
    for ds in datasets:
        q4 = ds.quarter("Q4 2025/26")
        assert q4.flags.filter(pl.col("trust_code") == "RYY")["financial_deficit"].item()
        obs = q4.observations.filter(
            (pl.col("trust_code") == "RX4") & (pl.col("metric_id") == "OF0082")
        )
        assert obs["value"].to_list() == [4.99]
        assert set(q4.lineage["file"]) == {fetched[0].link.name}
    a, b = (ds.observations.sort("quarter", "trust_code", "metric_id") for ds in datasets)
    assert a.equals(b)


def test_fetching_the_same_files_again_is_a_no_op(
    server: FetchServer, pack: Pack, tmp_path: Path
) -> None:
    path = fresh_store(tmp_path / "s.duckdb", pack)
    with Store(path, pack, seed=False) as st:
        fetch.load(st, run_fetch(server.page_url(), pack))
    before = snapshot(path, pack)
    with Store(path, pack, seed=False) as st:
        again = fetch.load(st, run_fetch(server.page_url(), pack))
    assert [r.loaded for r in again] == [False, False, False]
    assert snapshot(path, pack) == before


# --- failures: each loads nothing ----------------------------------------------------------------

FAILURES = {
    "truncated": r"line \d+, column \w+: a row with \d+ cells \(cut short\)",
    "row-boundary": r"RP5 has no OF5007 \(Recovery Support flag\) row for Q1 2025/26 .*cut short",
    "no-line-break": r"line 7266: the file does not end with a line break",
    "short-body": r"cut short: 775,777 bytes received of the 1,551,554 announced \(Content-Length\)"
    r", after 3 attempts",
    "server-error": r"HTTP 500 Internal Server Error, after 3 attempts",
    "not-found": r"HTTP 404 Not Found; expected HTTP 200 OK$",
    "html": r"an HTML page, not a CSV file \(Content-Type 'text/html; charset=UTF-8'\)",
    "html-as-csv": r"an HTML page, not a CSV file \(Content-Type 'text/csv'\)",
    "wrong-type": r"the file name says acute trusts but the file holds mental-health-community",
}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, pack: Pack) -> Path:
    path = tmp_path_factory.mktemp("seeded") / "store.duckdb"
    Store(path, pack).close()
    return path


@pytest.mark.parametrize("name", list(FAILURES))
def test_a_bad_download_loads_nothing(
    name: str, server: FetchServer, pack: Pack, seeded: Path
) -> None:
    before = snapshot(seeded, pack)
    hits = server.hits[fault(name)]
    with Store(seeded, pack) as st, pytest.raises(FetchError) as err:
        # The good files download first; the bad one is last on the page.
        fetch.load(st, run_fetch(server.page_url(fault(name)), pack))
    message = str(err.value)
    assert message.startswith(server.url(fault(name)))
    assert err.value.url == server.url(fault(name))
    assert re.search(FAILURES[name], message), message
    assert "\n" not in message
    assert snapshot(seeded, pack) == before
    tries = {"server-error": 3, "short-body": 3, "not-found": 1}.get(name, 1)
    assert server.hits[fault(name)] - hits == tries  # 5xx and broken transfers are retried


def test_retries_back_off_exponentially(server: FetchServer, pack: Pack) -> None:
    options = fetch.Options(timeout=5.0, retries=2, backoff=0.1)
    started = time.perf_counter()
    with fetch.session(options) as client, pytest.raises(FetchError, match="after 3 attempts"):
        fetch.get(client, server.url(fault("server-error")), options)
    assert time.perf_counter() - started >= 0.1 + 0.2


def test_a_flaky_server_is_retried(server: FetchServer, pack: Pack) -> None:
    with fetch.session(FAST) as client:
        body, _ = fetch.get(client, server.url(fault("flaky")), FAST)
    assert body == ACUTE_Q1.read_bytes()
    assert server.hits[fault("flaky")] == 2  # a 503, then the file


def test_timeouts_are_honoured(server: FetchServer, pack: Pack) -> None:
    options = fetch.Options(timeout=0.2, retries=1, backoff=0.0)
    started = time.perf_counter()
    with fetch.session(options) as client, pytest.raises(FetchError) as err:
        fetch.get(client, server.url(fault("slow")), options)
    assert time.perf_counter() - started < 1.5  # two 0.2 s waits, not the 2 s response
    assert "no response within the 0.2 s timeout (ReadTimeout), after 2 attempts" in str(err.value)


def test_page_problems_are_named(server: FetchServer) -> None:
    with fetch.session(FAST) as client:
        with pytest.raises(FetchError, match="no NHS Oversight Framework CSV links on the page"):
            fetch.plan(client, server.url(fault("html")), options=FAST)
        with pytest.raises(FetchError, match=r"no NOF CSV links for Q2 2025/26 on the page; "
                           r"found 'Q1 2025/26, Q4 2025/26'"):  # fmt: skip
            fetch.plan(client, server.page_url(), quarter="Q2 2025/26", options=FAST)
        with pytest.raises(FetchError, match="--quarter: not a quarter"):
            fetch.plan(client, server.page_url(), quarter="spring", options=FAST)
        with pytest.raises(FetchError, match="HTTP 404 Not Found"):
            fetch.plan(client, server.url("/no/such/page/"), options=FAST)
        with pytest.raises(FetchError, match="not a web address"):
            fetch.plan(client, "file:///etc/hosts", options=FAST)


# --- the checks behind "cut short" ---------------------------------------------------------------


def test_every_real_file_passes_the_completeness_checks(pack: Pack) -> None:
    for path in (ACUTE_Q1, MHC_Q4):
        check_complete(read_file(path, pack), pack, str(path))


@pytest.mark.parametrize("path", [ACUTE_Q1, MHC_Q4], ids=["acute", "mhc"])
def test_a_file_cut_between_any_of_its_last_rows_is_caught(path: Path, pack: Pack) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    for cut in range(len(lines) - 25, len(lines)):
        body = b"".join(lines[:cut])
        with pytest.raises(FetchError, match=r"cut short|gap"):
            check_complete(read_bytes(body, "cut.csv", pack), pack, "cut.csv")


# --- the store -----------------------------------------------------------------------------------

_OLD_FILES = (
    "CREATE TABLE files (seq BIGINT PRIMARY KEY, sha256 VARCHAR UNIQUE, name VARCHAR, "
    "path VARCHAR, layout VARCHAR, loaded_at TIMESTAMP, n_rows BIGINT)"
)


def test_a_store_of_the_previous_layout_opens_and_migrates(tmp_path: Path, pack: Pack) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute(_OLD_FILES)  # the files table as the previous version created it
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    for table in _TABLES:
        cols = ", ".join(f"{c} VARCHAR" for c in _SCHEMAS[table])
        con.execute(f"CREATE TABLE {table} (file_seq BIGINT, {cols})")
    con.close()
    with Store(path, pack, read_only=True) as st:  # not migrated: the new columns read as null
        assert st.files().columns[-2:] == ["source_url", "fetched_at"]
    with Store(path, pack) as st:  # migrated, then seeded
        assert st.files().height == 2
        assert st.files()["source_url"].null_count() == 2


def test_a_batch_is_one_transaction(tmp_path: Path, pack: Pack) -> None:
    path = fresh_store(tmp_path / "s.duckdb", pack)
    good = read_file(MHC_Q4, pack)
    acute = read_file(ACUTE_Q1, pack)
    bad = replace(acute, observations=acute.observations.with_columns(value=pl.lit("x")))
    before = snapshot(path, pack)
    with Store(path, pack, seed=False) as st, pytest.raises(duckdb.Error):
        st.add_all([(good, Provenance("http://127.0.0.1/a.csv")), (bad, Provenance())])
    assert snapshot(path, pack) == before


# --- the command line ----------------------------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nhs_league.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_fetch_loads_and_says_what(server: FetchServer, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    r = cli("fetch", "--source-url", server.page_url(), "--quarter", "Q4", "--store", str(store))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith(
        "q4-2025-26/nhs-oversight-framework-mental-health-and-community-trust-data-v2.csv: "
        "loaded 8893 rows [Q1 2025/26 mental-health-community;"
    )
    assert lines[0].endswith(f"from {server.url(MHC_V2)}")
    assert "already loaded (same content)" in lines[1]  # the bundled first issue


def test_cli_dry_run_lists_and_loads_nothing(server: FetchServer, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    r = cli("fetch", "--source-url", server.page_url(), "--dry-run", "--store", str(store))
    assert r.returncode == 0, r.stderr
    assert "3 files would be fetched (dry run)" in r.stdout
    assert server.url(MHC_V2) in r.stdout
    assert not store.exists()


@pytest.mark.parametrize("name", ["truncated", "server-error", "html"])
def test_cli_fetch_failure_exits_2_with_one_line(
    name: str, server: FetchServer, pack: Pack, seeded: Path
) -> None:
    before = snapshot(seeded, pack)
    url = server.page_url(fault(name))
    r = cli(
        "fetch", "--source-url", url, "--backoff", "0", "--retries", "2", "--store", str(seeded)
    )
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1
    assert r.stderr.startswith(f"error: {server.url(fault(name))}")
    assert re.search(FAILURES[name], r.stderr)
    assert snapshot(seeded, pack) == before


# --- lineage -------------------------------------------------------------------------------------


def test_lineage_names_the_data_file_and_the_league_table(pack: Pack, tmp_path: Path) -> None:
    from tests.test_ingest import league_rows, write_csv

    data = read_file(ACUTE_Q1, pack)
    league = read_file(write_csv(tmp_path / "league.csv", *league_rows("league-quarter")), pack)
    ds = Dataset.from_publications([data, league], source_urls={data.sha256: "https://x/a.csv"})
    assert ds.source_of("Q1 2025/26", "acute").select("kind", "sha256", "trusts").rows() == [
        ("data", data.sha256, 134),
        ("league", league.sha256, 134),
    ]
    assert ds.source_of("Q2 2025/26", "acute").height == 0
    traced = ds.with_sources(ds.trusts)  # every row to the file its values came from
    assert set(traced["source_sha256"]) == {data.sha256}
    assert set(traced["source_url"]) == {"https://x/a.csv"}
    assert ds.quarter("Q1 2025/26").lineage.height == 2 * 134
    # A later data file for the same quarter and type takes over both.
    again = ds.add(replace(data, name="again.csv", sha256="0" * 64))
    assert again.source_of("Q1 2025/26", "acute")["file"].to_list() == ["again.csv"]


@pytest.mark.parametrize(
    ("field", "value"), [("timeout", 0.0), ("retries", -1), ("backoff", -0.5), ("timeout", NAN)]
)
def test_download_options_are_checked(field: str, value: float) -> None:
    with pytest.raises(ValueFormatError, match=rf"fetch options: {field} out of range"):
        fetch.Options(**{field: value})


def test_a_short_quarter_means_the_latest_on_the_page() -> None:
    """ "Q3" means the latest Q3, as it does for every other command."""

    def link(quarter: str) -> fetch.Link:
        return fetch.Link(f"https://x/{quarter}.csv", quarter, "acute", "data", 1, quarter)

    links = [link("Q3 2025/26"), link("Q3 2026/27"), link("Q4 2026/27")]
    assert fetch.select(links, "Q3") == [links[1]]
    assert fetch.select(links, "q3 2025-26") == [links[0]]
    assert fetch.select(links, "Q1") == []
    assert fetch.select(links, None) == links
