"""The web dashboard and JSON API: the real app over a real DuckDB store seeded from NHS England's
bundled files, driven in-process by Starlette's TestClient. Numbers are checked against the
engine (``nhs_league.api``), not against copies of themselves."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from markupsafe import escape

from nhs_league import api
from nhs_league.analysis import scenario as sc
from nhs_league.analysis.uncertainty import likely_ranges
from nhs_league.dataset import Dataset
from nhs_league.methods.pack import Pack
from nhs_league.web.app import create_app
from nhs_league.web.state import Memo

Q1 = "Q1 2025/26"
PAGES = [
    "/",
    "/?trust_type=mental-health-community&quarter=Q2",
    "/league/acute",
    "/league/acute?region=north-west&sort=average&order=desc",
    "/league/mental-health-community?quarter=Q3",
    "/trust/RBS",
    "/trust/RX4?quarter=Q2",
    "/metric/OF0013",
    "/metric/OF1016?trust_type=mental-health-community",
    "/compare",
    "/compare?codes=RBS&codes=REN&codes=RX4",
    "/whatif/RCX",
    "/whatif/RCX?OF0013=78&deficit=no",
    "/region/north-west",
    "/region/London",
    "/method",
]
API = [
    "/api/v1/home",
    "/api/v1/league/acute?region=North%20West",
    "/api/v1/trusts",
    "/api/v1/trusts/RBS",
    "/api/v1/metrics/OF0013",
    "/api/v1/compare?codes=RBS&codes=REN",
    "/api/v1/whatif/RCX?set=OF0013=78",
    "/api/v1/regions/north-west",
    "/api/v1/method",
    "/api/v1/openapi.json",
]


@pytest.fixture(scope="module")
def store_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("web") / "store.duckdb"


@pytest.fixture(scope="module")
def app(store_file: Path, pack: Pack) -> FastAPI:
    return create_app(store_file, pack=pack)


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def q1(both: Dataset, pack: Pack) -> Any:
    return api.assess_default(both, pack, quarter=Q1)


def get_json(client: TestClient, url: str, status: int = 200) -> Any:
    r = client.get(url)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


def league_codes(page: str) -> list[str]:
    body = page.split('<tbody class="nhsuk-table__body">', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<span class="app-code">([A-Z0-9]+)</span>', body)


def check_security_headers(headers: Any) -> None:
    csp = headers["content-security-policy"]
    for part in (
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ):
        assert part in csp
    assert "unsafe" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


# --- every page and API route -------------------------------------------------------------


@pytest.mark.parametrize("url", PAGES)
def test_every_page_is_a_complete_accessible_html_page(client: TestClient, url: str) -> None:
    r = client.get(url)
    assert r.status_code == 200, r.text
    check_security_headers(r.headers)
    page = r.text
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="en-GB">' in page
    assert page.count("<h1") == 1
    assert 'href="#maincontent">Skip to main content</a>' in page
    assert '<main class="nhsuk-main-wrapper" id="maincontent" role="main">' in page
    assert "not an official NHS England product" in page
    assert "Contains public sector information licensed under the" in page
    assert "Open Government Licence v3.0</a>." in page
    assert "nhsuk-logo" not in page and "NHS homepage" not in page  # no NHS logo
    assert "<script>" not in page and " style=" not in page  # nothing inline (the CSP)
    assert page.count("<table") == page.count('class="nhsuk-table-container app-scroll"')
    for table in re.findall(r"<table.*?</table>", page, flags=re.S):
        assert "<caption" in table
        assert 'scope="col"' in table


@pytest.mark.parametrize("url", API)
def test_every_api_route_answers_json(client: TestClient, url: str) -> None:
    r = client.get(url)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    check_security_headers(r.headers)
    assert r.json()


def test_static_files_and_errors_carry_the_headers_too(client: TestClient) -> None:
    for url in ("/static/site.css", "/static/charts.js", "/nowhere", "/api/v1/nowhere"):
        check_security_headers(client.get(url).headers)


# --- league table -------------------------------------------------------------------------


def test_the_home_form_leads_to_the_league_page(client: TestClient) -> None:
    r = client.get("/league?trust_type=acute&quarter=Q1&region=north-west", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/league/acute?quarter=Q1&region=north-west"
    page = client.get("/").text
    assert '<form class="app-filters" method="get" action="/league">' in page
    for name in ("trust_type", "quarter", "region"):
        assert f'name="{name}"' in page


def test_league_rows_are_the_engines(client: TestClient, q1: Any, pack: Pack) -> None:
    got = get_json(client, "/api/v1/league/acute?region=North%20West")
    want = api.league_table(q1, pack, "acute", region="North West")
    assert got["quarter"] == Q1 and got["league_size"] == 134 and got["shown"] == want.height
    cols = [
        "rank",
        "trust_code",
        "trust_name",
        "segment",
        "unadjusted_segment",
        "average_score",
        "financial_deficit",
        "final_segment",
        "n_items",
    ]
    assert [{c: r[c] for c in cols} for r in got["rows"]] == want.select(cols).to_dicts()
    rbs = next(r for r in got["rows"] if r["trust_code"] == "RBS")
    assert (rbs["rank"], rbs["average_score"], rbs["segment_label"]) == (16, 2.02, "1")
    ranges = likely_ranges(q1, pack).filter(pl.col("trust_code") == "RBS").row(0, named=True)
    assert (rbs["score_low"], rbs["score_high"]) == (ranges["score_low"], ranges["score_high"])
    assert (rbs["rank_low"], rbs["rank_high"]) == (ranges["rank_low"], ranges["rank_high"])
    assert got["previous_quarter"] is None and rbs["average_change"] is None


def test_league_page_shows_those_rows_in_that_order(client: TestClient) -> None:
    url = "league/acute?region=North%20West&sort=average&order=desc"
    rows = get_json(client, f"/api/v1/{url}")["rows"]
    page = client.get(f"/{url}").text
    assert league_codes(page) == [r["trust_code"] for r in rows]
    assert [r["average_score"] for r in rows] == sorted(
        (r["average_score"] for r in rows), reverse=True
    )
    # The override shown as "3*" with its reason, for Mersey and West Lancashire (RBN).
    rbn = next(r for r in rows if r["trust_code"] == "RBN")
    assert rbn["segment_label"] == "3*" and rbn["unadjusted_segment"] < 3
    assert '3*<span class="nhsuk-u-visually-hidden"> (capped by the financial override' in page
    assert "not available" in page  # no Q4 2024/25 acute data: no change since last quarter


@pytest.mark.parametrize(
    ("query", "expect"),
    [
        ("segment=1", lambda r: r["segment"] == 1),
        ("subtype=acute%20-%20teaching", lambda r: r["subtype"] == "Acute - Teaching"),
        ("region=north-west", lambda r: r["region"] == "North West"),
        ("region=North%20East", lambda r: r["region"] == "North East and Yorkshire"),
        ("q=alder%20hey", lambda r: r["trust_code"] == "RBS"),
        ("q=rbs", lambda r: r["trust_code"] == "RBS"),
    ],
)
def test_league_filters_and_search(client: TestClient, query: str, expect: Any) -> None:
    got = get_json(client, f"/api/v1/league/acute?{query}")
    assert got["rows"] and all(expect(r) for r in got["rows"])
    assert all(r["rank"] >= 1 for r in got["rows"]) and got["league_size"] == 134


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("trust", "trust_name"),
        ("code", "trust_code"),
        ("average", "average_score"),
        ("likely-rank", "rank_low"),
        ("segment", "segment"),
        ("rank", "rank"),
    ],
)
def test_league_sorts(client: TestClient, sort: str, key: str) -> None:
    for order in ("asc", "desc"):
        rows = get_json(client, f"/api/v1/league/acute?sort={sort}&order={order}")["rows"]
        values = [r[key] for r in rows]
        assert values == sorted(values, reverse=order == "desc")


def test_icb_filter_and_column(client: TestClient, q1: Any, pack: Pack) -> None:
    got = get_json(client, "/api/v1/league/acute")
    if not got["has_icb"]:
        pytest.skip("organisation data (ICBs) is not available")
    code = got["icbs"][0]["value"]
    rows = get_json(client, f"/api/v1/league/acute?icb={code}")["rows"]
    want = api.league_table(q1, pack, "acute", icb=code)
    assert [r["trust_code"] for r in rows] == want["trust_code"].to_list()
    assert {r["icb_code"] for r in rows} == {code}


def test_filters_that_exist_but_select_nothing_give_an_empty_table(client: TestClient) -> None:
    got = get_json(client, "/api/v1/league/acute?region=London&subtype=Acute%20-%20Small")
    assert got["rows"] == [] or all(r["subtype"] == "Acute - Small" for r in got["rows"])
    assert (
        "No trusts match these filters."
        in client.get("/league/acute?region=London&q=no-such-trust").text
    )


def test_change_since_last_quarter(client: TestClient, both: Dataset, pack: Pack) -> None:
    got = get_json(client, "/api/v1/league/mental-health-community?quarter=Q4")
    assert got["previous_quarter"] == "Q3 2025/26"
    q3 = api.assess_default(both, pack, quarter="Q3 2025/26").of_type("mental-health-community")
    before = {r["trust_code"]: r for r in q3.iter_rows(named=True)}
    for r in got["rows"]:
        b = before[r["trust_code"]]
        assert r["average_change"] == round(r["average_score"] - b["average_score"], 2)
        assert r["rank_change"] == b["league_rank"] - r["rank"]


# --- downloads ----------------------------------------------------------------------------

QUERY = "region=North%20West&sort=average&order=desc"


def test_csv_download_is_what_the_page_shows(client: TestClient) -> None:
    rows = get_json(client, f"/api/v1/league/acute?{QUERY}")["rows"]
    r = client.get(f"/league/acute.csv?{QUERY}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="nof-acute-q1-2025-26.csv"' in r.headers["content-disposition"]
    got = list(csv.DictReader(io.StringIO(r.text)))
    assert [g["trust_code"] for g in got] == [x["trust_code"] for x in rows]
    for g, x in zip(got, rows, strict=True):
        assert int(g["rank"]) == x["rank"] and g["segment_label"] == x["segment_label"]
        assert float(g["average_score"]) == x["average_score"]
        assert int(g["rank_low"]) == x["rank_low"] and float(g["score_high"]) == x["score_high"]


def test_xlsx_download_is_what_the_page_shows(client: TestClient) -> None:
    rows = get_json(client, f"/api/v1/league/acute?{QUERY}")["rows"]
    r = client.get(f"/league/acute.xlsx?{QUERY}")
    assert r.status_code == 200 and "spreadsheetml" in r.headers["content-type"]
    sheet = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True)["league_table"]
    header, *body = list(sheet.iter_rows(values_only=True))
    got = [dict(zip(header, row, strict=True)) for row in body]
    assert [g["trust_code"] for g in got] == [x["trust_code"] for x in rows]
    for g, x in zip(got, rows, strict=True):
        assert (g["rank"], g["average_score"], g["segment_label"]) == (
            x["rank"],
            x["average_score"],
            x["segment_label"],
        )
    assert r.content == client.get(f"/league/acute.xlsx?{QUERY}").content  # deterministic


# --- trust, metric, compare, what-if, region, method --------------------------------------


def test_trust_page_is_the_trust_profile(client: TestClient, q1: Any, pack: Pack) -> None:
    got = get_json(client, "/api/v1/trusts/RBS")
    want = api.trust_profile(q1, pack, "RBS")
    t = got["trust"]
    assert (t["league_rank"], t["league_size"], t["average_score"]) == (16, 134, 2.02)
    assert t["segment"] == want["segment"] and t["n_items"] == want["n_items"]
    assert [m["explanation"] for m in got["metrics"]] == [m["explanation"] for m in want["metrics"]]
    assert [m["score"] for m in got["metrics"]] == [m["score"] for m in want["metrics"]]
    assert got["improvement"]["summary"] == api.improvement_summary(q1, pack, "RBS")["summary"]
    assert any(p["is_this_trust"] for p in got["peers"]) and got["peer_group"] == t["subtype"]
    page = client.get("/trust/rbs").text  # codes in any case
    for m in want["metrics"]:
        assert str(escape(m["explanation"])) in page
    assert "16th of 134 acute trusts in England" in page
    assert "/whatif/RBS?quarter=Q1+2025%2F26" in page


def test_trust_history_covers_every_loaded_quarter(client: TestClient) -> None:
    got = get_json(client, "/api/v1/trusts/RX4")
    assert [h["quarter"] for h in got["history"]] == [f"Q{k} 2025/26" for k in (1, 2, 3, 4)]
    improve = get_json(client, "/api/v1/trusts/RJR?quarter=Q1")["improvement"]
    assert improve["target_segment"] == 3 and improve["steps"]


def test_metric_page_is_the_metric_ranking(client: TestClient, q1: Any, pack: Pack) -> None:
    got = get_json(client, "/api/v1/metrics/of0013")
    want = api.metric_ranking(q1, pack, "OF1013", "acute")
    assert got["metric"]["target"] == 78.0 and got["quarter"] == Q1
    assert [(r["imr_rank"], r["trust_code"], r["value"]) for r in got["rows"]] == [
        (r["imr_rank"], r["trust_code"], r["value"]) for r in want.iter_rows(named=True)
    ]
    page = client.get("/metric/OF0013").text
    assert 'data-chart-for="chart-metric"' in page and page.count("<tr class") > 100


def test_compare_up_to_four_trusts(client: TestClient) -> None:
    got = get_json(client, "/api/v1/compare?codes=alder%20hey&codes=REN&codes=RX4")
    assert [t["trust_code"] for t in got["trusts"]] == ["RBS", "REN", "RX4"]
    assert {t["quarter"] for t in got["trusts"]} == {Q1, "Q4 2025/26"}
    assert all(len(m["cells"]) == 3 for m in got["metrics"])
    err = get_json(client, "/api/v1/compare?" + "&".join(f"codes=R{i}" for i in range(5)), 422)
    assert err["error"]["code"] == "too_many_trusts" and "at most 4" in err["error"]["message"]
    page = client.get("/compare?" + "&".join(f"codes=R{i}" for i in range(5)))
    assert page.status_code == 422 and "at most 4" in page.text
    assert get_json(client, "/api/v1/compare", 422)["error"]["code"] == "no_trusts"


def test_whatif_is_the_scenario_engine(client: TestClient, both: Dataset, pack: Pack) -> None:
    got = get_json(client, "/api/v1/whatif/RCX?set=OF0013=78&deficit=no")["result"]
    scenario = sc.Scenario((sc.Change("RCX", "OF0013", 78.0),), (("RCX", False),))
    w = sc.run(both, pack, scenario, quarter=Q1)
    want = w.trust_rows.row(0, named=True)
    assert got["trust"]["average_after"] == want["average_score_after"]
    assert got["trust"]["rank_after"] == want["league_rank_after"]
    assert got["trust"]["deficit_after"] is False
    assert {o["trust_code"] for o in got["others"]} == set(w.others["trust_code"].to_list())
    # The form (one field per value, by GET) gives the same numbers.
    page = client.get("/whatif/RCX?quarter=Q1&OF0013=78&OF0014=14.1&deficit=no").text
    assert "The result" in page and f"{want['average_score_after']:.2f}" in page
    # Unchanged values are no change at all.
    same = get_json(client, "/api/v1/whatif/RCX?set=OF0014=14.1")
    assert same["result"] is None


@pytest.mark.parametrize(
    "changes",
    [
        "set=OF0013=150",
        "set=OF0013=-1",
        "set=OF0013=nan",
        "set=OF0013=inf",
        "set=OF0013=1e400",
        "set=OF0013=abc",
        "set=OF9999=1",
        "set=OF1013",
        "set=OF1046=9",
        "set=OF0013=70&set=OF0013=71",
        "&".join(f"set=OF0013={i}" for i in range(45)),
    ],
)
def test_whatif_inputs_are_bounded(client: TestClient, changes: str) -> None:
    err = get_json(client, f"/api/v1/whatif/RCX?{changes}", 422)["error"]
    assert err["code"] in ("invalid_whatif", "invalid_request") and err["fields"]
    page = client.get(f"/whatif/RCX?{changes}")
    assert page.status_code == 422 and "There is a problem" in page.text


def test_whatif_form_shows_errors_beside_the_fields(client: TestClient) -> None:
    r = client.get("/whatif/RCX?OF0013=178&OF0014=abc")
    assert r.status_code == 422
    assert "There is a problem" in r.text and "must be from 0 to 100 (%); got 178" in r.text
    assert 'id="value-OF0013-error"' in r.text and 'value="178"' in r.text


def test_region_page_reads_like_a_newspaper(client: TestClient) -> None:
    got = get_json(client, "/api/v1/regions/north-west")
    acute = next(s for s in got["sections"] if s["trust_type"] == "acute")
    assert acute["sentences"][0] == (
        "The best acute trust in the North West is The Christie NHS Foundation Trust, 3rd of "
        "134 nationally with an average of 1.51 (segment 1)."
    )
    assert acute["sentences"][1].startswith(
        "The worst acute trust in the North West is Countess of Chester Hospital NHS "
        "Foundation Trust, 133rd of 134 nationally with an average of 3.04"
    )
    assert acute["in_region"] == 23
    for spelling in ("North%20West", "NORTH-WEST", "north_west"):
        assert get_json(client, f"/api/v1/regions/{spelling}")["region"] == "North West"
    assert get_json(client, "/api/v1/regions/North%20East")["region"] == "North East and Yorkshire"
    err = get_json(client, "/api/v1/regions/north-wset", 404)["error"]
    assert err["code"] == "unknown_region" and err["suggestions"][0] == "North West"
    assert "The best acute trust in London is" in client.get("/region/london").text


def test_method_page_is_the_method_pack(client: TestClient, pack: Pack) -> None:
    from nhs_league.methods.pack import FAMILIES
    from nhs_league.web.pages.method import FAMILY_HELP

    assert set(FAMILY_HELP) == set(FAMILIES)
    got = get_json(client, "/api/v1/method")
    assert [m["metric_id"] for m in got["metrics"]] == [m.score_id for m in pack.metrics]
    page = client.get("/method").text
    for m in pack.metrics:
        assert f'href="/metric/{m.score_id}"' in page
        assert str(escape(m.help)) in page
    matrix = next(m for m in pack.metrics if m.family == "matrix")
    assert got["matrices"][0]["cells"] == [list(r) for r in matrix.matrix]
    assert str(escape(pack.override_help)) in page


# --- errors -------------------------------------------------------------------------------


def test_unknown_trust_is_404_with_close_matches(client: TestClient) -> None:
    err = get_json(client, "/api/v1/trusts/alder", 404)["error"]
    assert err["status"] == 404 and err["code"] == "unknown_trust"
    assert "Alder Hey Children's NHS Foundation Trust (RBS)" in err["suggestions"]
    r = client.get("/trust/alder")
    assert r.status_code == 404 and "Page not found" in r.text
    assert '<a href="/trust/RBS">Alder Hey Children&#39;s NHS Foundation Trust (RBS)</a>' in r.text
    assert get_json(client, "/api/v1/metrics/OF9999", 404)["error"]["code"] == "unknown_metric"
    assert get_json(client, "/api/v1/league/ambulance", 404)["error"]["code"] == "no_data"
    assert get_json(client, "/api/v1/trusts/RBS?quarter=Q3", 404)["error"]["code"] == "no_data"


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/league/hospital",
        "/api/v1/league/acute?segment=9",
        "/api/v1/league/acute?sort=bad",
        "/api/v1/league/acute?region=atlantis",
        "/api/v1/whatif/RCX?deficit=maybe",
        "/api/v1/league/acute?q=" + "x" * 101,
    ],
)
def test_invalid_requests_are_422_envelopes(client: TestClient, url: str) -> None:
    err = get_json(client, url, 422)["error"]
    assert err["status"] == 422
    assert err["code"] in ("invalid_request", "invalid_filter", "unknown_region")
    assert err["message"]
    page = client.get(url.replace("/api/v1", ""))
    assert page.status_code == 422 and "There is a problem with the request" in page.text


def test_blank_form_fields_mean_not_given(client: TestClient) -> None:
    """A plain HTML form sends every field, a dropdown left on "All" as ``segment=``: that is
    no filter, not an invalid one (found by the browser tests)."""
    blank = "region=North+West&subtype=&segment=&icb=&q=&sort=rank&order=asc"
    page = client.get(f"/league/acute?{blank}")
    assert page.status_code == 200
    assert page.text == client.get("/league/acute?region=North+West&sort=rank&order=asc").text
    rows = get_json(client, f"/api/v1/league/acute?{blank}", 200)["rows"]
    assert len(rows) == 23
    assert client.get("/whatif/RCX?set=OF0013%3D78&deficit=").status_code == 200
    # A value that is there but wrong is still rejected.
    assert client.get("/league/acute?segment=0").status_code == 422


def test_over_long_addresses_are_414(client: TestClient) -> None:
    assert get_json(client, "/api/v1/league/acute?q=" + "x" * 5000, 414)["error"]["code"] == (
        "uri_too_long"
    )
    assert client.get("/league/acute?" + "a=b&" * 1000).status_code == 414
    assert client.get("/trust/" + "R" * 600).status_code == 414


def test_read_only_methods(client: TestClient) -> None:
    r = client.head("/league/acute")
    assert r.status_code == 200 and r.content == b""
    assert int(r.headers["content-length"]) > 1000
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        r = client.request(method, "/api/v1/league/acute")
        assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


def test_openapi_document_lists_only_the_api(client: TestClient) -> None:
    doc = get_json(client, "/api/v1/openapi.json")
    assert doc["paths"] and all(p.startswith("/api/v1/") for p in doc["paths"])
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    for path in doc["paths"].values():
        responses = path["get"]["responses"]
        assert responses["404"]["content"]["application/json"]["schema"] == envelope
        assert responses["422"]["content"]["application/json"]["schema"] == envelope
    assert client.get("/docs").status_code == 404  # no CDN-loaded Swagger UI


# --- hostile input ------------------------------------------------------------------------

HOSTILE = "</script><script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://example.invalid","x")'


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, pack: Pack) -> Iterator[TestClient]:
    """The real acute file with Alder Hey renamed to a script and The Christie to a formula."""
    from nhs_league.ingest.nhse_nof import read_file
    from tests.conftest import ACUTE_Q1

    text = ACUTE_Q1.read_text("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    code, name = rows[0].index("Trust_code"), rows[0].index("Trust_name")
    for row in rows[1:]:
        row[name] = {"RBS": HOSTILE, "RBV": FORMULA}.get(row[code], row[name])
    path = tmp_path_factory.mktemp("hostile") / "acute.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    data = Dataset.from_publications([read_file(path, pack)])
    with TestClient(create_app(data=data, pack=pack)) as c:
        yield c


def no_raw_script(page: str) -> None:
    assert "<script>alert(1)" not in page
    assert "</script><script>" not in page
    for block in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', page, re.S):
        assert "<" not in block and ">" not in block
        json.loads(block)


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/league/acute",
        "/league/acute?q=alder",
        "/trust/RBS",
        "/trust/RBT",  # RBS among its peers
        "/metric/OF0013",
        "/compare?codes=RBS&codes=RBV",
        "/whatif/RBS?OF0013=80",
        "/region/north-west",
        "/trust/RBX",  # close matches include the hostile name
    ],
)
def test_a_hostile_trust_name_is_escaped_everywhere(hostile: TestClient, url: str) -> None:
    r = hostile.get(url)
    assert r.status_code in (200, 404)
    no_raw_script(r.text)


def test_a_hostile_name_survives_as_data(hostile: TestClient) -> None:
    page = hostile.get("/trust/RBS").text
    assert html.escape(HOSTILE) in page
    blocks = re.findall(
        r'<script type="application/json" data-chart-for="chart-peers">(.*?)<', page
    )
    peers = json.loads(blocks[0])["layer"][0]["data"]["values"]
    assert any(HOSTILE in p["trust"] for p in peers)
    assert get_json(hostile, "/api/v1/trusts/RBS")["trust"]["trust_name"] == HOSTILE


def test_downloads_cannot_carry_a_formula(hostile: TestClient) -> None:
    got = list(csv.DictReader(io.StringIO(hostile.get("/league/acute.csv").text)))
    assert next(r for r in got if r["trust_code"] == "RBV")["trust_name"] == "'" + FORMULA
    sheet = openpyxl.load_workbook(io.BytesIO(hostile.get("/league/acute.xlsx").content))
    cells = [c for row in sheet["league_table"].iter_rows() for c in row if c.value == FORMULA]
    assert cells and all(c.data_type == "s" for c in cells)  # text, never a formula


@pytest.mark.parametrize(
    "url",
    [
        "/league/acute?q=<script>alert(1)</script>",
        "/league/acute?region=<script>alert(1)</script>",
        "/league/acute?subtype=<script>alert(1)</script>",
        "/compare?codes=<script>alert(1)</script>",
        "/trust/<script>alert(1)<%2Fscript>",
        "/region/<script>alert(1)<%2Fscript>",
        "/metric/<script>alert(1)<%2Fscript>",
        "/whatif/RCX?OF0013=<script>alert(1)</script>",
        "/whatif/RCX?set=<script>alert(1)</script>",
        '/league/acute?q="><script>alert(1)</script>',
    ],
)
def test_hostile_query_strings_are_escaped(client: TestClient, url: str) -> None:
    r = client.get(url)
    assert r.status_code in (200, 404, 422)
    no_raw_script(r.text)


def test_json_blocks_escape_what_could_end_the_element() -> None:
    from nhs_league.web.render import json_block

    value = {"name": HOSTILE + "<!-- & \u2028"}
    text = str(json_block(value))
    assert not set("<>&") & set(text) and "\u2028" not in text
    assert json.loads(text) == value


# --- store, caching, speed, CLI -----------------------------------------------------------


def test_the_store_is_seeded_once_then_only_read(tmp_path: Path, pack: Pack) -> None:
    path = tmp_path / "new" / "store.duckdb"
    app = create_app(path, pack=pack)  # no store yet: seeded from the bundled files
    assert path.exists()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    files = sorted(p.name for p in path.parent.iterdir())
    with TestClient(app) as c:
        for url in ("/league/acute", "/api/v1/whatif/RCX?set=OF0013=80", "/trust/RBS"):
            assert c.get(url).status_code == 200
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in path.parent.iterdir()) == files
    create_app(path, pack=pack)  # a second app (another process) can open the same store


def test_responses_are_kept_and_identical(client: TestClient) -> None:
    url = "/league/acute?region=north-west&sort=trust"
    first = client.get(url)
    assert client.get(url).content == first.content
    check_security_headers(client.get(url).headers)


def test_memo_computes_once_under_concurrent_requests() -> None:
    calls: list[str] = []
    gate = threading.Event()

    def slow(key: str) -> str:
        gate.wait(1)
        calls.append(key)
        return key.upper()

    memo: Memo[str, str] = Memo(slow)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(memo("q1"))) for _ in range(8)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join()
    assert calls == ["q1"] and results == ["Q1"] * 8


def test_the_league_page_is_fast_once_warm(app: FastAPI, client: TestClient) -> None:
    """A coarse guard (the load test measures properly): recomputing the likely ranges per
    request would take ~400 ms."""
    app.state.web.warm()
    times = []
    for i in range(15):
        started = time.perf_counter()
        assert client.get(f"/league/acute?q=a&segment={1 + i % 4}&n={i}").status_code == 200
        times.append(time.perf_counter() - started)
    assert statistics.median(times) < 0.25


def test_serve_has_help_with_an_example() -> None:
    from typer.testing import CliRunner

    from nhs_league.cli import app

    r = CliRunner().invoke(app, ["serve", "--help"])
    assert r.exit_code == 0
    assert "Example: nhs-league serve" in r.output and "--store" in r.output
