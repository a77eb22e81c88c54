"""The web dashboard in a real browser: Debian's Chromium through Playwright, against a real
uvicorn server on 127.0.0.1 serving a fresh store seeded from the bundled NHS England files.

Every number checked on screen is computed here from the engine (``nhs_league.api``,
``nhs_league.analysis.scenario``), except NHS England's published facts (acute Q1 2025/26:
Alder Hey RBS 16th with 2.02, The Clatterbridge Cancer Centre REN 8th with 1.70, the Countess of
Chester RJR 133rd with 3.04, and 23 acute trusts in the North West).

Each test also fails on any console error, page error, Content-Security-Policy violation,
failed sub-resource, or request to anywhere but 127.0.0.1 (see ``web_support.Watch``).
Full-page screenshots of each page type go to ``test-artifacts/web/`` (gitignored).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import polars as pl
import pytest
from playwright.sync_api import Browser, Locator, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from nhs_league import api
from nhs_league.analysis import scenario
from nhs_league.analysis.scenario import Change, Scenario
from nhs_league.analysis.uncertainty import DEFAULT_REPLICATES, DEFAULT_SEED, likely_ranges
from nhs_league.dataset import Dataset
from nhs_league.engine.pipeline import Assessment, assess
from nhs_league.methods.pack import Pack
from nhs_league.store import Store
from tests.web_support import (
    Watch,
    axe_violations,
    describe_violations,
    launch_chromium,
    live_server,
    new_context,
    screenshot,
    serious,
)

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "web"
QUARTER = "Q1 2025/26"  # the acute quarter bundled (NHS England's first publication)
MODE = "reproduce"  # what the pages show (NHS England's method as published)
NORTH_WEST = "North West"
NAV_TIMEOUT_MS = 30_000
WAIT_MS = 10_000  # anything on a page that is already loaded

# One URL of each page type (screenshots, axe, clean console).
PAGES: dict[str, str] = {
    "home": "/",
    "league": "/league/acute?region=North+West",
    "trust": "/trust/RBS",
    "metric": "/metric/OF0013?trust_type=acute",
    "compare": "/compare?codes=RBS&codes=REN&codes=RJR",
    "whatif": "/whatif/RCX",
    "region": "/region/north-west",
    "method": "/method",
}
# States of those pages that carry more markup: results, error summaries, the error page.
MORE_STATES: dict[str, tuple[str, int]] = {
    "whatif-result": ("/whatif/RCX?OF0013=78&deficit=no", 200),
    "whatif-errors": ("/whatif/RCX?OF0013=abc&OF0014=-5", 422),
    "league-change": ("/league/mental-health-community", 200),
    "not-found": ("/trust/ZZZ", 404),
}


# ------------------------------------------- once for this module: store, engine, server, browser
# Module-scoped (only this module uses them), so the browser and server are gone before the rest
# of the suite runs.


@pytest.fixture(scope="module")
def web_store(tmp_path_factory: pytest.TempPathFactory, pack: Pack) -> Path:
    """A fresh store, seeded from the files bundled with the package."""
    path = tmp_path_factory.mktemp("web-browser") / "store.duckdb"
    Store(path, pack).close()
    return path


@pytest.fixture(scope="module")
def web_data(web_store: Path, pack: Pack) -> Dataset:
    """The store's dataset, as the engine sees it: expected values are computed from this."""
    return api.open_dataset(pack, store=web_store)


@pytest.fixture(scope="module")
def acute_q1(web_data: Dataset, pack: Pack) -> Assessment:
    return assess(web_data, pack, quarter=QUARTER, mode=MODE)


@pytest.fixture(scope="module")
def acute_q1_ranges(acute_q1: Assessment, pack: Pack) -> pl.DataFrame:
    """The likely ranges as the pages compute them: NHS England's quarter, the default seed."""
    return likely_ranges(acute_q1, pack, replicates=DEFAULT_REPLICATES, seed=DEFAULT_SEED)


@pytest.fixture(scope="module")
def base_url(web_store: Path, web_data: Dataset) -> Iterator[str]:
    from nhs_league.web.app import create_app

    with live_server(create_app(web_store)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = launch_chromium(p)
        try:
            yield b
        finally:
            b.close()


# ---------------------------------------------------------------- per test: a tab that watches


@dataclass
class Tab:
    page: Page
    watch: Watch
    base: str

    def open(self, path: str, status: int = 200) -> Page:
        response = self.page.goto(self.base + path, wait_until="load", timeout=NAV_TIMEOUT_MS)
        assert response is not None, f"no response for {path}"
        assert response.status == status, f"GET {path}: {response.status}"
        return self.page

    def problems(self) -> list[str]:
        return self.watch.problems(self.page)


def _tab(browser: Browser, base_url: str, *, javascript: bool) -> Iterator[Tab]:
    context = new_context(browser, javascript=javascript, viewport={"width": 1280, "height": 900})
    watch = Watch()
    watch.attach(context)
    # A safety net: nothing may leave the machine even if a page tried (the watch records it).
    context.route(
        re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*", re.IGNORECASE),
        lambda route: route.abort(),
    )
    context.set_default_timeout(WAIT_MS)
    context.set_default_navigation_timeout(NAV_TIMEOUT_MS)
    page = context.new_page()
    tab = Tab(page, watch, base_url)
    try:
        yield tab
        problems = tab.problems()
        assert not problems, "the browser saw problems:\n" + "\n".join(problems)
    finally:
        context.close()


@pytest.fixture
def tab(browser: Browser, base_url: str) -> Iterator[Tab]:
    yield from _tab(browser, base_url, javascript=True)


@pytest.fixture
def tab_nojs(browser: Browser, base_url: str) -> Iterator[Tab]:
    yield from _tab(browser, base_url, javascript=False)


@pytest.fixture(params=[True, False], ids=["js", "no-js"])
def tab_either(request: pytest.FixtureRequest, browser: Browser, base_url: str) -> Iterator[Tab]:
    """Run the test once with JavaScript and once without: every filter is a plain GET form."""
    yield from _tab(browser, base_url, javascript=request.param)


# ---------------------------------------------------------------- reading the screen

_READ_TABLE = """
(table) => {
  const text = (el) => el.innerText.replace(/\\s+/g, ' ').trim();
  const heads = Array.from(table.querySelectorAll('thead th, thead td')).map(text);
  const rows = Array.from(table.querySelectorAll('tbody tr')).map((tr) => {
    const code = tr.querySelector('.app-code');
    const link = tr.querySelector('a[href^="/trust/"]');
    const fromLink = link ? new URL(link.href).pathname.split('/')[2] : null;
    return {
      cells: Array.from(tr.querySelectorAll('th, td')).map(text),
      code: code ? text(code) : fromLink,
    };
  });
  return {heads, rows};
}
"""


@dataclass(frozen=True)
class ScreenTable:
    heads: list[str]
    rows: list[dict[str, Any]]

    def column(self, prefix: str) -> list[str]:
        i = next(
            (n for n, h in enumerate(self.heads) if h.lower().startswith(prefix.lower())), None
        )
        assert i is not None, f"no column starting {prefix!r} in {self.heads}"
        return [r["cells"][i] for r in self.rows]

    @property
    def codes(self) -> list[str]:
        return [r["code"] for r in self.rows]


def read_table(page: Page, selector: str) -> ScreenTable:
    got = page.locator(selector).first.evaluate(_READ_TABLE)
    return ScreenTable(got["heads"], got["rows"])


def league_on_screen(page: Page) -> ScreenTable:
    t = read_table(page, "table.app-league")
    if len(t.rows) == 1 and t.rows[0]["code"] is None:  # "No trusts match these filters."
        return ScreenTable(t.heads, [])
    return t


def choose(
    page: Page, label: str | re.Pattern[str], *, value: str | None = None, text: str | None = None
) -> None:
    field = page.get_by_label(label, exact=True)
    if value is not None:
        field.select_option(value=value)
    else:
        field.select_option(label=text)


def submit(page: Page, button: str) -> None:
    """Press a form's button; the page it leads to must answer 200."""
    with page.expect_navigation() as nav:
        page.get_by_role("button", name=button).click()
    response = nav.value
    assert response is not None and response.status == 200, (
        f"{button!r} led to {response.status if response else 'nothing'}: {page.url}"
    )


def follow(page: Page, link: Locator) -> None:
    """Follow a link; the page it leads to must answer 200."""
    with page.expect_navigation() as nav:
        link.click()
    response = nav.value
    assert response is not None and response.status == 200, page.url


def apply_filters(page: Page) -> None:
    submit(page, "Apply filters")


# ---------------------------------------------------------------- expected values from the engine


def engine_league(
    a: Assessment, pack: Pack, trust_type: str = "acute", **filters: Any
) -> pl.DataFrame:
    """The engine's league table in the page's default order (rank, then name)."""
    segment = filters.pop("segment", None)
    t = api.league_table(a, pack, trust_type, **filters)
    if segment is not None:
        t = t.filter(pl.col("segment") == segment)
    return t.sort("rank", "trust_name")


def two(x: float) -> str:
    return f"{x:.2f}"


def segment_text(segment: int, unadjusted: int) -> str:
    """The segment as a reader sees it: "3*" where the override capped it."""
    return f"{segment}*" if segment != unadjusted else str(segment)


def assert_league_matches(shown: ScreenTable, expected: pl.DataFrame) -> None:
    assert shown.codes == expected["trust_code"].to_list()
    assert shown.column("Rank") == [str(r) for r in expected["rank"]]
    assert shown.column("Average") == [two(x) for x in expected["average_score"]]
    segments = [s.split(" ")[0] for s in shown.column("Segment")]
    assert segments == [
        segment_text(s, u)
        for s, u in zip(expected["segment"], expected["unadjusted_segment"], strict=True)
    ]


# ---------------------------------------------------------------- the watcher itself


def test_watch_catches_csp_violations_and_outside_requests(tab: Tab) -> None:
    """The checks every other test relies on can fail: an inline script is a CSP violation, and
    a request to another host is recorded (and aborted) even from a page without a CSP."""
    page = tab.open("/method")
    with pytest.raises(PlaywrightError):  # the browser refuses the inline script
        page.add_script_tag(content="window.__inline = 1")
    assert page.evaluate("window.__inline === undefined")
    assert any("CSP violation: script-src" in p for p in tab.problems()), tab.problems()
    assert any("Content Security Policy" in m for m in tab.watch.console_errors)
    page.goto("about:blank")
    page.set_content('<img src="http://192.0.2.1/pixel.png" alt="">')
    assert tab.watch.external_requests == ["http://192.0.2.1/pixel.png"]
    tab.watch = Watch()  # this test's own violations are expected: start clean for teardown


def test_axe_reports_what_it_should(tab: Tab) -> None:
    """The accessibility check can fail: an image without alt text is a critical violation."""
    page = tab.page
    page.set_content('<html lang="en"><title>t</title><main><img src="data:,"></main></html>')
    bad = serious(axe_violations(page))
    assert [v["id"] for v in bad] == ["image-alt"], describe_violations(bad)
    assert "image-alt (critical)" in describe_violations(bad)


# ---------------------------------------------------------------- each page type


def _charts_render(page: Page) -> int:
    """Wait for every chart on the page to be drawn by vega (an svg or canvas element)."""
    blocks = page.locator("script[type='application/json'][data-chart-for]")
    n = blocks.count()
    for i in range(n):
        target = blocks.nth(i).get_attribute("data-chart-for")
        page.locator(f"#{target} svg, #{target} canvas").first.wait_for(state="attached")
        assert page.locator(f"#{target} svg, #{target} canvas").count() >= 1
    return n


@pytest.mark.parametrize("name", list(PAGES))
def test_page_type_opens_cleanly(tab: Tab, name: str) -> None:
    page = tab.open(PAGES[name])
    heading = page.locator("main h1")
    assert heading.count() == 1
    assert heading.inner_text().strip()
    assert page.title().strip()
    if name in ("home", "trust", "metric", "compare"):
        assert _charts_render(page) >= 1, f"{name} has no chart"
    screenshot(page, ARTIFACTS, name)


@pytest.mark.parametrize(
    ("path", "status"),
    [(p, 200) for p in PAGES.values()] + list(MORE_STATES.values()),
    ids=list(PAGES) + list(MORE_STATES),
)
def test_page_type_has_no_serious_accessibility_violations(
    tab: Tab, path: str, status: int
) -> None:
    page = tab.open(path, status)
    _charts_render(page)
    bad = serious(axe_violations(page))
    assert not bad, f"axe-core on {path}:\n{describe_violations(bad)}"


# ---------------------------------------------------------------- the league table


def test_league_north_west_through_the_form(
    tab: Tab, acute_q1: Assessment, acute_q1_ranges: pl.DataFrame, pack: Pack
) -> None:
    page = tab.open("/league/acute")
    assert len(league_on_screen(page).rows) == acute_q1.of_type("acute").height
    choose(page, "Region", text=NORTH_WEST)
    apply_filters(page)
    assert parse_qs(urlsplit(page.url).query)["region"] == [NORTH_WEST]
    shown = league_on_screen(page)
    expected = engine_league(acute_q1, pack, region=NORTH_WEST)
    assert_league_matches(shown, expected)
    # NHS England's published facts.
    assert len(shown.rows) == 23
    rows = dict(zip(shown.codes, zip(shown.column("Rank"), shown.column("Average"), strict=True),
                    strict=True))  # fmt: skip
    assert rows["RBS"] == ("16", "2.02")
    assert rows["REN"] == ("8", "1.70")
    assert rows["RJR"] == ("133", "3.04")
    assert "23 shown of 134" in page.locator("table.app-league caption").inner_text()
    # The likely ranges are the engine's bootstrap (10,000 replicates, the default seed).
    ranges = expected.join(acute_q1_ranges, on="trust_code", how="left", maintain_order="left")
    assert shown.column("Likely rank") == [
        f"{lo}–{hi}" for lo, hi in zip(ranges["rank_low"], ranges["rank_high"], strict=True)
    ]
    assert shown.column("Likely average") == [
        f"{two(lo)}–{two(hi)}"
        for lo, hi in zip(ranges["score_low"], ranges["score_high"], strict=True)
    ]
    assert dict(zip(shown.codes, shown.column("Likely rank"), strict=True))["RBS"] == "5–92"


def test_league_segment_and_subtype_filters(
    tab_either: Tab, acute_q1: Assessment, pack: Pack
) -> None:
    page = tab_either.open("/league/acute")
    subtypes = [
        o for o in page.get_by_label("Subtype", exact=True).locator("option").all_inner_texts()
        if o != "All subtypes"
    ]  # fmt: skip
    assert set(subtypes) == set(acute_q1.of_type("acute")["subtype"].to_list())
    subtype = sorted(subtypes)[0]
    choose(page, "Region", text=NORTH_WEST)
    choose(page, "Segment", value="3")
    apply_filters(page)
    expected = engine_league(acute_q1, pack, region=NORTH_WEST, segment=3)
    assert expected.height > 0
    assert_league_matches(league_on_screen(page), expected)

    choose(page, "Region", value="")
    choose(page, "Segment", value="")
    choose(page, "Subtype", text=subtype)
    apply_filters(page)
    expected = engine_league(acute_q1, pack, subtype=subtype)
    assert 0 < expected.height < acute_q1.of_type("acute").height
    assert_league_matches(league_on_screen(page), expected)


def test_league_icb_filter(tab: Tab, acute_q1: Assessment, pack: Pack) -> None:
    page = tab.open("/league/acute")
    icb = page.get_by_label("Integrated care board (ICB)", exact=True)
    options = icb.locator("option")
    values = [options.nth(i).get_attribute("value") for i in range(options.count())]
    codes = [v for v in values if v]
    assert [c for c, _ in api.icbs(acute_q1, "acute")] == codes
    chosen = codes[0]
    icb.select_option(value=chosen)
    apply_filters(page)
    expected = engine_league(acute_q1, pack, icb=chosen)
    assert expected.height > 0
    assert_league_matches(league_on_screen(page), expected)


def test_league_search_by_name(tab: Tab, acute_q1: Assessment, pack: Pack) -> None:
    page = tab.open("/league/acute")
    page.get_by_label("Search by name or code").fill("children")
    apply_filters(page)
    expected = engine_league(acute_q1, pack).filter(
        pl.col("trust_name").str.to_lowercase().str.contains("children", literal=True)
    )
    assert expected.height >= 3  # Alder Hey, Birmingham, Sheffield, ...
    assert "RBS" in expected["trust_code"].to_list()
    assert_league_matches(league_on_screen(page), expected)


def test_league_sorting(tab: Tab, acute_q1: Assessment, pack: Pack) -> None:
    page = tab.open("/league/acute?region=North+West")
    expected = engine_league(acute_q1, pack, region=NORTH_WEST)

    sort_link = page.locator("table.app-league thead").get_by_role("link", name="Average score")
    follow(page, sort_link)  # the column header: ascending first
    shown = league_on_screen(page)
    averages = [float(x) for x in shown.column("Average")]
    assert averages == sorted(averages)
    assert sorted(shown.codes) == sorted(expected["trust_code"].to_list())
    header = page.locator("table.app-league thead th[aria-sort]")
    assert header.get_attribute("aria-sort") == "ascending"

    follow(page, sort_link)  # again: descending
    averages = [float(x) for x in league_on_screen(page).column("Average")]
    assert averages == sorted(averages, reverse=True)
    assert averages[0] > averages[-1]

    choose(page, "Sort by", value="trust")
    choose(page, "Order", value="asc")
    apply_filters(page)
    by_name = expected.sort("trust_name")["trust_code"].to_list()
    assert league_on_screen(page).codes == by_name


def _download(page: Page, link_text: str, folder: Path) -> Path:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_text).click()
    download = info.value
    path = folder / download.suggested_filename
    download.save_as(str(path))
    return path


def test_downloads_are_exactly_the_table_on_screen(
    tab: Tab, tmp_path: Path, acute_q1: Assessment, pack: Pack
) -> None:
    from openpyxl import load_workbook

    page = tab.open("/league/acute?region=North+West&sort=average&order=desc")
    shown = league_on_screen(page)
    assert len(shown.rows) == 23

    csv_path = _download(page, "Download this table as CSV", tmp_path)
    assert csv_path.suffix == ".csv"
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text("utf-8"))))
    assert [r["trust_code"] for r in rows] == shown.codes
    assert [r["rank"] for r in rows] == shown.column("Rank")
    assert [two(float(r["average_score"])) for r in rows] == shown.column("Average")
    assert [r["segment_label"] for r in rows] == [s.split(" ")[0] for s in shown.column("Segment")]

    xlsx_path = _download(page, "Download this table as a spreadsheet (XLSX)", tmp_path)
    assert xlsx_path.suffix == ".xlsx"
    wb = load_workbook(xlsx_path, read_only=True)
    try:
        sheet = wb.worksheets[0]
        values = list(sheet.iter_rows(values_only=True))
    finally:
        wb.close()
    head, body = list(values[0]), values[1:]
    code, rank, avg = (head.index(c) for c in ("trust_code", "rank", "average_score"))
    assert [r[code] for r in body] == shown.codes
    assert [str(r[rank]) for r in body] == shown.column("Rank")
    assert [two(r[avg]) for r in body] == shown.column("Average")
    # And both are the engine's numbers, unrounded.
    engine = dict(engine_league(acute_q1, pack, region=NORTH_WEST)
                  .select("trust_code", "average_score").iter_rows())  # fmt: skip
    assert {r[code]: r[avg] for r in body} == pytest.approx(engine, abs=1e-12)


def test_league_works_without_javascript(tab_nojs: Tab, acute_q1: Assessment, pack: Pack) -> None:
    page = tab_nojs.open("/league/acute")
    assert page.evaluate("document.body.classList.contains('js-enabled')") is False
    choose(page, "Region", text=NORTH_WEST)
    page.get_by_label("Search by name or code").fill("cheshire")
    apply_filters(page)
    expected = engine_league(acute_q1, pack, region=NORTH_WEST).filter(
        pl.col("trust_name").str.to_lowercase().str.contains("cheshire", literal=True)
    )
    assert set(expected["trust_code"]) == {"RBT", "RJN"}  # Mid Cheshire, East Cheshire
    assert_league_matches(league_on_screen(page), expected)
    follow(page, page.locator("table.app-league thead").get_by_role("link", name="Trust"))
    assert league_on_screen(page).codes == expected.sort("trust_name")["trust_code"].to_list()


def _change_on_screen(text: str) -> tuple[float, int]:
    """ "−0.05; up 3" → (-0.05, 3); "+0.10; down 2" → (0.10, -2); "0.00; same rank" → (0, 0)."""
    avg, _, rank = text.partition(";")
    value = float(avg.strip().replace("−", "-"))
    words = rank.split()
    places = 0 if words[0] == "same" else int(words[1]) * (1 if words[0] == "up" else -1)
    return value, places


def test_league_change_since_last_quarter(tab: Tab, web_data: Dataset, pack: Pack) -> None:
    """Mental health and community trusts have Q1 to Q4: the latest table shows the change."""
    now, before = (
        assess(web_data, pack, quarter=q, mode=MODE).of_type("mental-health-community")
        for q in ("Q4 2025/26", "Q3 2025/26")
    )
    page = tab.open("/league/mental-health-community")
    assert "Q4 2025/26" in page.locator("main h1").inner_text()
    shown = league_on_screen(page)
    assert len(shown.rows) == now.height
    previous = {
        c: (a, r)
        for c, a, r in before.select("trust_code", "average_score", "league_rank").iter_rows()
    }
    current = {
        c: (a, r)
        for c, a, r in now.select("trust_code", "average_score", "league_rank").iter_rows()
    }
    changes = shown.column("Change since")
    moved = 0
    for code, text in zip(shown.codes, changes, strict=True):
        if code not in previous:
            assert text == "not in Q3 2025/26", code
            continue
        value, places = _change_on_screen(text)
        (avg_now, rank_now), (avg_then, rank_then) = current[code], previous[code]
        assert value == pytest.approx(avg_now - avg_then, abs=0.005 + 1e-9), code
        assert places == rank_then - rank_now, code
        moved += places != 0
    assert moved > 0  # the quarter did move someone: the column is not all "same rank"


def test_charts_have_their_data_in_tables_without_javascript(
    tab_nojs: Tab, acute_q1: Assessment
) -> None:
    page = tab_nojs.open("/trust/RBS")
    assert page.locator(".app-chart svg, .app-chart canvas").count() == 0  # nothing drew
    subtype = acute_q1.table.filter(pl.col("trust_code") == "RBS")["subtype"][0]
    peers = acute_q1.of_type("acute").filter(pl.col("subtype") == subtype).sort("league_rank")
    table = read_table(page, f"table:has(caption:text('{subtype} trusts'))")
    own = [r["cells"] for r in table.rows if r["code"] is None]  # its own row is not a link
    assert len(own) == 1 and "(this trust)" in " ".join(own[0])
    assert [c or "RBS" for c in table.codes] == peers["trust_code"].to_list()
    assert table.column("Average") == [two(x) for x in peers["average_score"]]


# ---------------------------------------------------------------- trust, what-if and the rest


def test_trust_page_shows_the_engine_profile(
    tab: Tab, acute_q1: Assessment, acute_q1_ranges: pl.DataFrame, pack: Pack
) -> None:
    profile = api.trust_profile(acute_q1, pack, "RBS")
    page = tab.open("/trust/RBS")
    assert profile["trust_name"] in page.locator("main h1").inner_text()
    summary = page.locator("dl.nhsuk-summary-list").first.inner_text()
    assert profile["league_rank"] == 16  # NHS England: 16th of 134, average 2.02
    assert two(profile["average_score"]) == "2.02"
    assert f"16th of {profile['league_size']}" in summary
    assert "2.02 over" in summary
    r = acute_q1_ranges.filter(pl.col("trust_code") == "RBS").row(0, named=True)
    assert (
        f"Average {two(r['score_low'])}–{two(r['score_high'])}; "
        f"rank {r['rank_low']}–{r['rank_high']}"
    ) in summary
    domains = read_table(page, "table:has(caption:text('Domain scores of'))")
    assert {row["cells"][0]: row["cells"][1] for row in domains.rows} == {
        name: "—" if score is None else two(score) for name, score in profile["domains"].items()
    }
    metrics = read_table(page, "table:has(caption:text('Metric values and scores'))")
    assert len(metrics.rows) == len(profile["metrics"])
    shown = {r["cells"][0].split(" ")[0]: r["cells"] for r in metrics.rows}
    for m in profile["metrics"]:
        cells = shown[m["metric_id"]]
        assert cells[2] == two(m["score"]), m["metric_id"]
        assert cells[3] == m["explanation"], m["metric_id"]
    follow(page, page.get_by_role("link", name=re.compile("What if")).first)
    assert urlsplit(page.url).path == "/whatif/RBS"


def _whatif_result(page: Page) -> dict[str, list[str]]:
    table = read_table(page, "table:has(caption:text('before and after'))")
    return {r["cells"][0]: r["cells"][1:] for r in table.rows}


def test_whatif_value_change(tab: Tab, web_data: Dataset, acute_q1: Assessment, pack: Pack) -> None:
    result = scenario.run(
        web_data, pack, Scenario((Change("RCX", "OF0013", 78.0),)), quarter=QUARTER,
        before=acute_q1,
    )  # fmt: skip
    trust = result.trust_rows.row(0, named=True)
    metric = result.metric_rows.filter(pl.col("metric_id") == "OF1013").row(0, named=True)
    assert metric["score_after"] == 1.0

    page = tab.open("/whatif/RCX")
    page.get_by_label(re.compile(r"^OF0013 ")).fill("78")
    submit(page, "Recalculate")
    rows = _whatif_result(page)
    assert rows["Average score"] == [
        two(trust["average_score_before"]),
        two(trust["average_score_after"]),
    ]
    assert rows["Rank"] == [str(trust["league_rank_before"]), str(trust["league_rank_after"])]
    assert rows["Segment"][1].startswith(str(trust["adjusted_segment_after"]))
    changed = read_table(page, "table:has(caption:text('Metric scores that changed'))")
    of1013 = next(r["cells"] for r in changed.rows if r["cells"][0].startswith("OF1013"))
    assert of1013[-2:] == [two(metric["score_before"]), "1.00"]
    others = page.get_by_role("heading", name=re.compile("Other trusts whose segment or rank"))
    assert others.inner_text().endswith(f": {result.others.height}")


def test_whatif_deficit_flag_lifts_the_cap(
    tab: Tab, web_data: Dataset, acute_q1: Assessment, pack: Pack
) -> None:
    capped = (
        acute_q1.of_type("acute")
        .filter(pl.col("adjusted_segment") != pl.col("unadjusted_segment"))
        .sort("league_rank")
    )
    assert capped.height > 0
    code = capped["trust_code"][0]
    result = scenario.run(
        web_data, pack, Scenario(deficit=((code, False),)), quarter=QUARTER, before=acute_q1
    )
    trust = result.trust_rows.row(0, named=True)
    assert trust["adjusted_segment_after"] < trust["adjusted_segment_before"]

    page = tab.open(f"/whatif/{code}")
    choose(page, re.compile("^Financial deficit flag"), value="no")
    submit(page, "Recalculate")
    rows = _whatif_result(page)
    assert rows["Financial deficit"] == ["Yes", "No"]
    assert rows["Segment"][0].startswith(f"{trust['adjusted_segment_before']}*")
    assert rows["Segment"][1] == str(trust["adjusted_segment_after"])
    assert rows["Rank"] == [str(trust["league_rank_before"]), str(trust["league_rank_after"])]


def test_compare_page(tab: Tab, acute_q1: Assessment, pack: Pack) -> None:
    page = tab.open("/compare")
    for i, code in enumerate(["RBS", "REN", "RJR"], start=1):
        page.get_by_label(f"Trust {i}", exact=True).fill(code)
    submit(page, "Compare")
    table = read_table(page, "table:has(caption:text('side by side'))")
    by_row = {r["cells"][0]: r["cells"][1:] for r in table.rows}
    profiles = [api.trust_profile(acute_q1, pack, c) for c in ("RBS", "REN", "RJR")]
    assert by_row["Average score"] == [two(p["average_score"]) for p in profiles]
    assert [r.split(" ")[0] for r in by_row["Rank"]] == ["16th", "8th", "133rd"]
    _charts_render(page)


def test_metric_page_ranking(tab: Tab, acute_q1: Assessment, pack: Pack) -> None:
    page = tab.open("/metric/OF0013?trust_type=acute")
    expected = api.metric_ranking(acute_q1, pack, "OF0013", "acute")
    shown = read_table(page, "table:has(caption:text('every acute trust ranked'))")
    assert shown.codes == expected["trust_code"].to_list()
    assert shown.column("Rank") == [str(r) for r in expected["imr_rank"]]
    assert shown.column("Score") == [two(x) for x in expected["score"]]


def test_region_page(tab: Tab, acute_q1: Assessment) -> None:
    page = tab.open("/region/north-west")
    assert NORTH_WEST in page.locator("main h1").inner_text()
    n = acute_q1.of_type("acute").filter(pl.col("region") == NORTH_WEST).height
    assert n == 23
    assert "23" in page.locator("main").inner_text()


def test_home_page_segment_counts_and_chart(tab: Tab, acute_q1: Assessment) -> None:
    page = tab.open("/")
    table = read_table(page, "table:has(caption:text('Trusts in each segment'))")
    acute = next(r["cells"] for r in table.rows if r["cells"][0].startswith("Acute"))
    counts = acute_q1.of_type("acute").group_by("adjusted_segment").len()
    expected = {int(s): int(n) for s, n in counts.iter_rows()}
    heads = table.heads
    for k in (1, 2, 3, 4):
        i = heads.index(f"Segment {k}")
        assert acute[i].split(" ")[0] == str(expected.get(k, 0))
    assert _charts_render(page) == 1
    choose(page, "Region", text=NORTH_WEST)
    submit(page, "Show the league table")
    assert urlsplit(page.url).path == "/league/acute"
    assert len(league_on_screen(page).rows) == 23
