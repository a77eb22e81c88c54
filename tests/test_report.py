"""Reports (issue 5): every number in a Markdown report checked against the engine; change since
last quarter; self-contained HTML; valid chart files; print rendering in Chromium (2-page board
report); byte-identical output; the committed example is current; the CLI's errors."""

from __future__ import annotations

import re
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import Result
from typer.testing import CliRunner

from nhs_league import api
from nhs_league.analysis.movement import movement
from nhs_league.analysis.uncertainty import DEFAULT_REPLICATES, DEFAULT_SEED, likely_ranges
from nhs_league.cli import app
from nhs_league.dataset import Dataset
from nhs_league.engine.pipeline import Assessment, assess
from nhs_league.ingest.nhse_nof import read_bytes, read_file
from nhs_league.methods.pack import Pack
from nhs_league.report.regional import sources
from tests.conftest import ACUTE_Q1, MHC_Q4
from tests.fixtures.fetch.server import corrected_mhc
from tests.web_support import launch_chromium

ROOT = Path(__file__).parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "reports"
EXAMPLE = ROOT / "docs" / "examples" / "north-west-acute-q1-2025-26.md"
DATA = ["--data", str(ACUTE_Q1), "--data", str(MHC_Q4)]
NW_ACUTE = ["report", "--region", "North West", "--type", "acute", "--quarter", "Q1 2025/26"]
NW_MHC_Q2 = ["report", "--region", "North West", "--type", "mental-health-community"]
NW_MHC_Q2 += ["--quarter", "Q2 2025/26"]
QUARTER = r"(Q\d \d{4}/\d\d)"
ORD = r"(\d+)(st|nd|rd|th)"


def run(*args: str) -> Result:
    return CliRunner().invoke(app, [*args, *DATA])


def suffix(n: int) -> str:
    return "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def short(name: str) -> str:
    return re.sub(r" (NHS Foundation Trust|NHS Trust|Foundation Trust)$", "", name)


class Ledger:
    """The report's text; each check takes out the numbers it verified. Digits left at the end
    are numbers no check looked at."""

    def __init__(self, text: str) -> None:
        self.text = text

    def take(self, pattern: str) -> list[re.Match[str]]:
        found = list(re.finditer(pattern, self.text, re.M))
        assert found, f"not in the report: {pattern}"
        self.text = re.sub(pattern, "§", self.text, flags=re.M)
        return found

    def one(self, pattern: str) -> re.Match[str]:
        found = self.take(pattern)
        assert len(found) == 1, pattern
        return found[0]

    def unchecked(self) -> list[str]:
        return [line for line in self.text.splitlines() if re.search(r"\d", line)]


class Engine:
    """What the engine says about a region's (or an ICB's) trusts of one type in one quarter."""

    def __init__(self, data: Dataset, pack: Pack, quarter: str, ttype: str, **where: str) -> None:
        self.data, self.pack, self.ttype, self.where = data, pack, ttype, where
        self.a: Assessment = assess(data, pack, quarter=quarter)
        likely = likely_ranges(self.a, pack)  # the default replicates and seed
        self.table = api.league_table(self.a, pack, ttype, **where).join(
            likely, on="trust_code", how="left", maintain_order="left"
        )
        self.shared = Counter(self.a.of_type(ttype)["league_rank"].to_list())
        self.by_name = {r["trust_name"]: r for r in self.table.iter_rows(named=True)}

    def rows(self) -> list[dict[str, Any]]:
        return list(self.table.iter_rows(named=True))

    def short(self, text: str) -> set[str]:
        """The short names of the area's trusts in ``text``, longest first (one name can hold
        another: "Mersey and West Lancashire Teaching Hospitals")."""
        found = set()
        for name in sorted({short(n) for n in self.by_name}, key=len, reverse=True):
            if name in text:
                found.add(name)
                text = text.replace(name, "§")
        return found


def check_table(led: Ledger, eng: Engine, change: dict[str, str] | None) -> None:
    rows = led.take(
        r"^\| (\d+)(=?) \| ([^|]+?) \| ([A-Z0-9]{3}) \| (\d)(\*?)(?:, final (\d))? \| "
        r"(\d\.\d\d) \| (\d+)–(\d+) \| (\d\.\d\d)–(\d\.\d\d) \|(?: (up \d+|down \d+|same|new) \|)?$"
    )
    assert len(rows) == eng.table.height
    for m, r in zip(rows, eng.rows(), strict=True):
        assert (int(m[1]), m[2] == "=") == (r["rank"], eng.shared[r["rank"]] > 1)
        assert (m[3], m[4], int(m[5])) == (r["trust_name"], r["trust_code"], r["segment"])
        assert (m[6] == "*") == (r["segment"] != r["unadjusted_segment"])
        assert m[7] == (str(r["final_segment"]) if r["final_segment"] != r["segment"] else None)
        assert (float(m[8]), int(m[9]), int(m[10])) == (
            r["average_score"],
            r["rank_low"],
            r["rank_high"],
        )
        assert (float(m[11]), float(m[12])) == (r["score_low"], r["score_high"])
        assert m[13] == (None if change is None else change[r["trust_code"]])


def check_sentences(led: Ledger, eng: Engine, noun: str, prev: dict[str, Any] | None) -> None:
    for r in eng.rows():
        m = led.one(
            rf"^- {re.escape(r['trust_name'])} is (joint )?{ORD} of (\d+) {noun} trusts in "
            r"England, in segment (\d) with an average score of (\d\.\d\d) \(likely rank "
            r"(\d+)–(\d+)\)\.(?: Its average alone would place it in segment (\d), but it is "
            r"flagged in financial deficit, so the override caps it at segment (\d)\.)?"
            r"(?: It is in NHS England's Recovery Support Programme, so its final segment is "
            r"(\d)\.)?(?P<change> .*)?$"
        )
        assert (bool(m[1]), int(m[2]), m[3]) == (
            eng.shared[r["rank"]] > 1,
            r["rank"],
            suffix(r["rank"]),
        )
        assert (int(m[4]), int(m[5]), float(m[6])) == (
            r["league_size"],
            r["segment"],
            r["average_score"],
        )
        assert (int(m[7]), int(m[8])) == (r["rank_low"], r["rank_high"])
        capped = r["segment"] != r["unadjusted_segment"]
        assert (m[9], m[10]) == ((str(r["unadjusted_segment"]), "3") if capped else (None, None))
        final = r["final_segment"]
        assert m[11] == (str(final) if final != r["segment"] else None)
        if prev is None:
            assert m["change"] is None
        else:
            check_change(m["change"], r, prev)


def check_change(text: str, r: dict[str, Any], prev: dict[str, Any]) -> None:
    p = prev["table"].get(r["trust_code"])
    if p is None:
        assert text == f" It was not in the {prev['quarter']} table."
        return
    m = re.fullmatch(
        rf" Since {QUARTER} it has (?:kept its place \({ORD}\)|moved (up|down) (\d+) places? "
        rf"\(from {ORD}\)), its average (?:is unchanged at (\d\.\d\d)|(improved|worsened) from "
        r"(\d\.\d\d) to (\d\.\d\d) \((not )?statistically significant\)), and it (?:stayed in "
        r"segment (\d)|moved from segment (\d) to segment (\d)(?: because [a-z ,-]+)?)\.",
        text,
    )
    assert m, text
    assert m[1] == prev["quarter"]
    if m[2]:
        assert int(m[2]) == r["rank"] == p["rank"]
    else:
        up = p["rank"] - r["rank"]
        assert (m[4], int(m[5])) == ("up" if up > 0 else "down", abs(up))
        assert (int(m[6]), m[7]) == (p["rank"], suffix(p["rank"]))
    if m[8]:
        assert float(m[8]) == r["average_score"] == p["average_score"]
    else:
        better = r["average_score"] < p["average_score"]
        assert m[9] == ("improved" if better else "worsened")
        assert (float(m[10]), float(m[11])) == (p["average_score"], r["average_score"])
        assert (m[12] is None) == prev["significant"][r["trust_code"]]
    if m[13]:
        assert int(m[13]) == r["segment"] == p["segment"]
    else:
        assert (int(m[14]), int(m[15])) == (p["segment"], r["segment"])


def check_glance(led: Ledger, eng: Engine, noun: str, area: str) -> None:
    rows = eng.rows()
    m = led.one(
        rf"^- (\d+) {noun} trusts? in {area}, (?:each )?ranked among all (\d+) {noun} trusts in "
        r"England \(rank 1 is best; a lower average score is better\)\.$"
    )
    assert (int(m[1]), int(m[2])) == (len(rows), rows[0]["league_size"])
    line = led.one(r"^- Segments: (.*)\.$")[1]
    parts = re.findall(
        r"(\d+) in segment (\d)(?: \((\d+) capped by [a-z ]+, marked (\d)\*\))?", line
    )
    assert not re.search(r"\d", re.sub(r"(\d+) in segment (\d)( \([^)]*\))?", "", line))
    segs = Counter(r["segment"] for r in rows)
    caps = Counter(r["segment"] for r in rows if r["segment"] != r["unadjusted_segment"])
    assert {int(s): int(n) for n, s, _, _ in parts} == dict(segs)
    assert {int(s): int(c) for _, s, c, k in parts if c and k == s} == dict(caps)
    places = [("Best ", rows[0]["rank"]), ("Lowest ", rows[-1]["rank"])]
    if rows[0]["rank"] == rows[-1]["rank"]:
        places = [("", rows[0]["rank"])]
    for label, rank in places:
        items = led.one(rf"^- {label}[Pp]laced: (.*)\.$")[1].split("; ")
        expected = [r for r in rows if r["rank"] == rank]
        assert len(items) == len(expected)
        for item, r in zip(items, expected, strict=True):
            tie = "joint " if eng.shared[rank] > 1 else ""
            size, seg, avg = r["league_size"], r["segment"], r["average_score"]
            assert item == (
                f"{r['trust_name']}, {tie}{rank}{suffix(rank)} of {size} (segment {seg}, "
                f"average {avg:.2f})"
            )


def check_box(led: Ledger, eng: Engine, noun: str) -> None:
    rows = eng.rows()
    m = led.one(
        r"^> \*\*Likely ranges\.\*\* A rank rests on an average of (\d+)(?: to (\d+))? metric "
        r"scores, so it is less certain than it looks\. Resampling each trust's own scores "
        r"\(([\d,]+) bootstrap replicates, seed (\d+)\) gives a likely rank that holds 95% of "
        r"the resampled places\. (?:The narrowest here is|Here it is) (\d+)–(\d+) \((.+?)\)"
        r"(?:, the widest (\d+)–(\d+) \((.+?)\))?\. Trusts whose likely ranges overlap could "
        r"well be in the other order\.$"
    )
    items = [r["n_items"] for r in rows]
    assert (int(m[1]), int(m[2] or m[1])) == (min(items), max(items))
    assert (int(m[3].replace(",", "")), int(m[4])) == (DEFAULT_REPLICATES, DEFAULT_SEED)
    width = {r["rank_high"] - r["rank_low"] for r in rows}
    wide = (m[8], m[9], m[10]) if m[8] else (m[5], m[6], m[7])
    for lo, hi, who, w in ((m[5], m[6], m[7], min(width)), (*wide, max(width))):
        r = next(r for r in rows if short(r["trust_name"]) == who)
        assert (int(lo), int(hi), int(hi) - int(lo)) == (r["rank_low"], r["rank_high"], w)
    m = led.one(
        r"^> \*\*The financial override\.\*\* A trust flagged in financial deficit can be no "
        r"better than segment 3\. (?:Here (\d+) of the (\d+) trusts|All (\d+) trusts here|"
        r"None of the (\d+) trusts here|The trust here) (?:is|are|is not) flagged(.*)$"
    )
    flagged = sum(bool(r["financial_deficit"]) for r in rows)
    assert int(m[1] or m[3] or 0) == flagged and int(m[2] or m[3] or m[4] or 1) == len(rows)
    capped = [r for r in rows if r["segment"] != r["unadjusted_segment"]]
    if flagged == 0 or not capped:
        assert m[5] in (".", "; the cap changed none of their segments.")
    else:
        c = re.fullmatch(
            r"; the cap changed the segment of (\d+), marked 3\*: (.*)\. Their league rank "
            r"follows the capped segment\.",
            m[5],
        )
        assert c and int(c[1]) == len(capped)
        pattern = r"([^()]+?) \(segment (\d) on (?:its|their) average alone\)"
        found = [(int(s), n) for names, s in re.findall(pattern, c[2]) for n in eng.short(names)]
        assert not re.search(r"\d", re.sub(pattern, "", c[2]))
        assert sorted(found) == sorted(
            (r["unadjusted_segment"], short(r["trust_name"])) for r in capped
        )
    rsp = {short(r["trust_name"]) for r in rows if r["final_segment"] != r["segment"]}
    if rsp:
        m = led.one(
            r"^> \*\*Recovery Support Programme\.\*\* (.+) (?:is|are) in NHS England's Recovery "
            r"Support Programme: final segment 5 whatever the scores\. The league rank uses "
            r"segments 1 to 4\.$"
        )
        assert eng.short(m[1]) == rsp
    m = led.one(
        rf"^> \*\*Where the segments begin\.\*\* The cut-points come from the averages of all "
        rf"(\d+) {noun} trusts in England: segment 1 is an average of (\d\.\d\d) or better, "
        r"segment 2 up to (\d\.\d\d), segment 3 up to (\d\.\d\d), segment 4 above\. Trusts "
        r"either side of a cut-point can be almost equal\.$"
    )
    everyone = eng.a.of_type(eng.ttype)
    assert int(m[1]) == everyone.height
    for k in (1, 2, 3):  # the stated top of segment k separates the engine's segments k and k+1
        top = float(m[k + 1])
        unadj = everyone.select("average_score", "unadjusted_segment").rows()
        assert all((avg <= top + 1e-9) == (seg <= k) for avg, seg in unadj)
    m = led.one(
        r"^> \*\*Published scores used\.\*\* .* for (\d+) metric scores? of (?:these trusts|"
        r"this trust) the report takes NHS England's published score \((\w+) mode\)\.$"
    )
    codes = [r["trust_code"] for r in rows]
    assert int(m[1]) == eng.a.fallbacks.filter(pl.col("trust_code").is_in(codes)).height
    assert m[2] == eng.a.mode


def check_report(md: str, eng: Engine, noun: str, area: str, prev: dict[str, Any] | None) -> None:
    """Every number of a regional Markdown report, checked against the engine."""
    led = Ledger(md)
    quarter = led.one(rf"^# {noun.capitalize()} trusts in {area}, {QUARTER}$")[1]
    assert quarter == eng.a.quarter
    changes = None
    if prev is not None:
        changes = {}
        for r in eng.rows():
            p = prev["table"].get(r["trust_code"])
            up = None if p is None else p["rank"] - r["rank"]
            changes[r["trust_code"]] = (
                "new"
                if up is None
                else ("same" if up == 0 else (f"up {up}" if up > 0 else f"down {-up}"))
            )
    check_table(led, eng, changes)
    m = led.one(
        rf"^Rank: of all (\d+) {noun} trusts in England \(= a shared rank\)\. Segment: 1 "
        r"\(best\) to 4; \* capped at 3 by the financial override; final 5: in the Recovery "
        r"Support Programme\. Likely rank and likely average: the 95% ranges described below\."
        rf"(?: Change: places moved since {QUARTER}\.)?$"
    )
    assert int(m[1]) == eng.table["league_size"][0]
    assert m[2] == (prev["quarter"] if prev else None)
    check_sentences(led, eng, noun, prev)
    check_glance(led, eng, noun, area)
    check_box(led, eng, noun)
    check_change_summary(led, eng, prev)
    led.take(r"NHS England's NHS Oversight Framework 2025/26 league tables")
    led.take(r"Open Government Licence v3\.0\.")
    assert led.unchecked() == []


def check_change_summary(led: Ledger, eng: Engine, prev: dict[str, Any] | None) -> None:
    if prev is None:
        m = led.one(rf"^- Change since last quarter: {QUARTER} is not loaded, so no change is")
        loaded = eng.data.trusts.filter(pl.col("trust_type") == eng.ttype)["quarter"]
        assert m[1] == "Q4 2024/25" and m[1] not in loaded.to_list()
        return
    m = led.one(
        rf"^- Change since {QUARTER}: (\d+) moved up, (\d+) down, (\d+) kept their place"
        r"(?:, (\d+) new to the table)?\.(?: Biggest rise: (.+?), up (\d+) places?\.)?"
        r"(?: Biggest fall: (.+?), down (\d+) places?\.)? (\d+ trusts?|No trust) changed segment\.$"
    )
    rows = eng.rows()
    moves = {
        r["trust_name"]: prev["table"][r["trust_code"]]
        for r in rows
        if r["trust_code"] in prev["table"]
    }
    ups = {n: p["rank"] - eng.by_name[n]["rank"] for n, p in moves.items()}
    assert m[1] == prev["quarter"]
    assert [int(m[i]) for i in (2, 3, 4)] == [
        sum(u > 0 for u in ups.values()),
        sum(u < 0 for u in ups.values()),
        sum(u == 0 for u in ups.values()),
    ]
    assert int(m[5] or 0) == len(rows) - len(moves)
    rise = max(ups, key=lambda n: ups[n])  # the first of equals, in league order
    fall = min(ups, key=lambda n: ups[n])
    assert (m[6], m[7]) == ((rise, str(ups[rise])) if ups[rise] > 0 else (None, None))
    assert (m[8], m[9]) == ((fall, str(-ups[fall])) if ups[fall] < 0 else (None, None))
    changed = sum(p["segment"] != eng.by_name[n]["segment"] for n, p in moves.items())
    assert m[10] == (f"{changed} trust{'s' if changed != 1 else ''}" if changed else "No trust")


# ---- the reports ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nw_md() -> str:
    r = run(*NW_ACUTE, "--format", "md")
    assert r.exit_code == 0, r.output
    return r.stdout


def test_north_west_acute_states_the_published_facts(nw_md: str) -> None:
    table = re.findall(
        r"^\| (\d+)=? \| [^|]+ \| ([A-Z0-9]{3}) \| [^|]+ \| ([\d.]+) \|", nw_md, re.M
    )
    assert len(table) == 23
    facts = {code: (int(rank), float(avg)) for rank, code, avg in table}
    assert facts["RBS"] == (16, 2.02)
    assert facts["REN"] == (8, 1.70)
    assert facts["RJR"] == (133, 3.04)
    assert (
        "Alder Hey Children's NHS Foundation Trust is 16th of 134 acute trusts in England, in "
        "segment 1 with an average score of 2.02 (likely rank 5–92)." in nw_md
    )
    assert "Q4 2024/25 is not loaded, so no change is shown" in nw_md


def test_every_number_in_the_region_report_is_the_engines(
    nw_md: str, both: Dataset, pack: Pack
) -> None:
    eng = Engine(both, pack, "Q1 2025/26", "acute", region="North West")
    check_report(nw_md, eng, "acute", "the North West", None)


def previous(eng: Engine, quarter: str) -> dict[str, Any]:
    """The engine's view of ``eng``'s area in an earlier quarter, and which changes are
    significant (``analysis.movement``)."""
    before = assess(eng.data, eng.pack, quarter=quarter)
    table = api.league_table(before, eng.pack, eng.ttype, **eng.where)
    m = movement(eng.data, eng.pack, quarter, eng.a.quarter, trust_type=eng.ttype)
    return {
        "quarter": quarter,
        "table": {r["trust_code"]: r for r in table.iter_rows(named=True)},
        "significant": dict(zip(m["trust_code"], m["significant"], strict=True)),
    }


def test_change_since_last_quarter_is_the_engines(both: Dataset, pack: Pack) -> None:
    r = run(*NW_MHC_Q2)
    assert r.exit_code == 0, r.output
    eng = Engine(both, pack, "Q2 2025/26", "mental-health-community", region="North West")
    prev = previous(eng, "Q1 2025/26")
    check_report(r.stdout, eng, "mental health and community", "the North West", prev)
    assert "| up 9 |" in r.stdout  # Bridgewater, 39th to joint 30th


def test_icb_reports_are_the_engines(both: Dataset, pack: Pack) -> None:
    r = run("report", "--icb", "QE1", "--type", "acute", "--quarter", "Q1")
    assert r.exit_code == 0, r.output
    eng = Engine(both, pack, "Q1 2025/26", "acute", icb="QE1")
    area = r"the area of NHS Lancashire and South Cumbria Integrated Care Board \(QE1\)"
    check_report(r.stdout, eng, "acute", area, None)
    # an ICB with one mental health trust, in the last quarter: singular wording, change since Q3
    r = run("report", "--icb", "wiltshire", "--type", "mental-health-community")
    assert r.exit_code == 0, r.output
    eng = Engine(both, pack, "Q4 2025/26", "mental-health-community", icb="QOX")
    assert eng.table.height == 1
    area = r"the area of NHS Bath and North East Somerset, Swindon and Wiltshire [A-Za-z ]+ \(QOX\)"
    check_report(r.stdout, eng, "mental health and community", area, previous(eng, "Q3 2025/26"))


# ---- files: charts, HTML, determinism, the committed example ----------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_markdown_with_charts_is_byte_identical_and_current(tmp_path: Path) -> None:
    outs = []
    for name in ("one", "two"):
        out = tmp_path / name / EXAMPLE.name
        r = run(*NW_ACUTE, "--format", "md", "--output", str(out))
        assert r.exit_code == 0, r.output
        outs.append(out)
    for ext in (".md", ".svg", ".png"):
        assert outs[0].with_suffix(ext).read_bytes() == outs[1].with_suffix(ext).read_bytes()
    md, svg, png = (outs[0].with_suffix(e) for e in (".md", ".svg", ".png"))
    assert f"]({svg.name})" in md.read_text("utf-8")
    root = ET.fromstring(svg.read_text("utf-8"))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    width, height = float(root.attrib["width"]), float(root.attrib["height"])
    assert png_size(png.read_bytes()) == (round(width * 2), round(height * 2))
    assert len(re.findall("<text", svg.read_text("utf-8"))) > 23  # a label per trust, and more
    for ext in (".md", ".svg"):  # docs/examples holds what the command prints today
        committed = EXAMPLE.with_suffix(ext).read_text("utf-8")
        assert committed == outs[0].with_suffix(ext).read_text("utf-8"), f"regenerate {ext}"


@pytest.fixture(scope="module")
def html_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("html")
    args = {
        "north-west-acute": [*NW_ACUTE],
        "north-west-mhc-q2": [*NW_MHC_Q2],
        "board-RBS": ["report", "--trust", "RBS"],
        "board-RH5": ["report", "--trust", "RH5"],  # the acute trust with the most metrics
        "board-RX4": ["report", "--trust", "RX4", "--quarter", "Q4"],  # history of 4 quarters
    }
    paths = {}
    for name, a in args.items():
        paths[name] = out / f"{name}.html"
        r = run(*a, "--format", "html", "--output", str(paths[name]))
        assert r.exit_code == 0, r.output
    return paths


def test_html_is_self_contained_and_matches_the_markdown(
    html_reports: dict[str, Path], nw_md: str, tmp_path: Path
) -> None:
    for path in html_reports.values():
        html = path.read_text("utf-8")
        assert re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html) == []
        assert "<script" not in html and "<link" not in html and "@import" not in html
        assert re.findall(r"url\((?!#)", html) == []
        assert "Contains public sector information licensed under the Open Government" in html
        assert "not an official NHS England product" in html
    html = html_reports["north-west-acute"].read_text("utf-8")
    assert html.count("<svg") == 1 and 'role="img"' in html
    text = re.sub(r"<svg.*?</svg>|<style>.*?</style>|<[^>]+>", " ", html, flags=re.S)

    def numbers(s: str) -> set[str]:
        return set(re.findall(r"\d+(?:[.,]\d+)*", s.replace("&#39;", "'")))

    assert numbers(text) == numbers(nw_md)  # one report object, two renderings
    again = tmp_path / "again.html"
    assert run(*NW_ACUTE, "--format", "html", "--output", str(again)).exit_code == 0
    assert again.read_bytes() == html_reports["north-west-acute"].read_bytes()


def test_html_prints_cleanly_in_chromium(html_reports: dict[str, Path]) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pages = {}
    with sync_playwright() as p:
        browser = launch_chromium(p)  # fails with a clear message if Chromium is missing
        page = browser.new_page(viewport={"width": 900, "height": 1200})
        requests: list[str] = []
        page.on("request", lambda req: requests.append(req.url))
        for name, path in html_reports.items():
            page.goto(path.as_uri())
            pdf = ARTIFACTS / f"{name}.pdf"
            page.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)
            shot = ARTIFACTS / f"{name}.png"
            page.screenshot(path=str(shot), full_page=True)
            pages[name] = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf.read_bytes()))
            width, height = png_size(shot.read_bytes())
            assert width >= 900 and height > 1200 and shot.stat().st_size > 50_000, name
        browser.close()
    assert [u for u in requests if not u.startswith("file://")] == []
    assert {k: v for k, v in pages.items() if k.startswith("board")} == {
        "board-RBS": 2,
        "board-RH5": 2,
        "board-RX4": 2,
    }
    assert 2 <= pages["north-west-acute"] <= 5 and 1 <= pages["north-west-mhc-q2"] <= 4


def test_board_report_is_the_engines(both: Dataset, pack: Pack) -> None:
    r = run("report", "--trust", "alder hey")
    assert r.exit_code == 0, r.output
    md = r.stdout
    a = assess(both, pack, quarter="Q1 2025/26")
    prof = api.trust_profile(a, pack, "RBS")
    lr = likely_ranges(a, pack).filter(pl.col("trust_code") == "RBS").row(0, named=True)
    assert md.startswith("# Alder Hey Children's NHS Foundation Trust (RBS): board report, Q1")
    cells = dict(re.findall(r"^\| ([A-Z][^|]+?) \| ([^|]+?) \|$", md, re.M))
    rank, size = prof["league_rank"], prof["league_size"]
    assert cells["League rank"] == f"{rank}{suffix(rank)} of {size} acute trusts in England"
    assert cells["Segment"] == f"{prof['segment']} of 4 (1 is best)"
    assert (
        cells["Average metric score"] == f"{prof['average_score']:.2f} over {prof['n_items']} items"
    )
    assert cells["Likely average"] == f"{lr['score_low']:.2f}–{lr['score_high']:.2f}"
    assert cells["Likely rank"] == f"{lr['rank_low']}–{lr['rank_high']}"
    chances = re.findall(r"(\d): (\d+)%", cells["Chance of each segment"])
    assert [(int(k), int(p)) for k, p in chances] == [
        (k, round(100 * lr[f"p_segment_{k}"])) for k in (1, 2, 3, 4)
    ]
    for domain, score in prof["domains"].items():
        assert cells[domain] == f"{score:.2f}"
    rows = re.findall(r"^\| (OF\d{4}) [^|]+ \| [^|]+ \| (\d\.\d\d) \| ", md, re.M)
    assert rows and sorted(rows) == sorted(
        (m["metric_id"], f"{m['score']:.2f}") for m in prof["metrics"]
    )
    summary = api.improvement_summary(a, pack, "RBS")["summary"]
    assert summary.removeprefix("Improvement needed: ").capitalize() in md
    seg, avg = prof["segment"], prof["average_score"]
    assert f"| {a.quarter} | {rank} of {size} | {seg} | {avg:.2f} |" in md
    assert "Q4 2024/25 is not loaded" in md
    imp = api.improvement_summary(a, pack, "RJR")
    r = run("report", "--trust", "RJR")
    assert r.exit_code == 0, r.output
    assert imp["steps"] and all(f"- {step}\n" in r.stdout for step in imp["steps"])


# ---- the command line -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report"], "error: report: say what to report on; found 'none'; expected exactly one"),
        (["report", "--region", "North West", "--trust", "RBS"], "error: report: say what"),
        (["report", "--region", "Narnia"], "error: no region 'Narnia' in this table; allowed:"),
        (["report", "--icb", "QZZ"], "error: no ICB 'QZZ' among the trusts of this table"),
        (["report", "--region", "London", "--quarter", "Q3"], "error: no acute trusts loaded"),
        (["report", "--trust", "RBS", "--type", "ambulance"], "error: report: --type does not"),
        (["report", "--trust", "RBS", "--output", "x.svg"], "error: report: the output file is"),
    ],
)
def test_errors_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    """As a user runs it: the console entry point turns typed errors into one line, exit 2."""
    r = subprocess.run(
        [sys.executable, "-m", "nhs_league.cli", *args, *DATA],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith(message), r.stderr
    assert r.stderr.count("\n") == 1 and r.stdout == ""


def test_help_has_an_example() -> None:
    r = CliRunner().invoke(app, ["report", "--help"])
    assert r.exit_code == 0
    assert "Example: nhs-league report" in r.stdout


def test_a_report_names_the_correction_not_the_file_it_superseded(pack: Pack) -> None:
    v2_name = "nhs-oversight-framework-mental-health-and-community-trust-data-v2.csv"
    v1, v2 = read_file(MHC_Q4, pack), read_bytes(corrected_mhc(), v2_name, pack)
    a = assess(Dataset.from_publications([v1, v2]), pack, quarter="Q4 2025/26")
    assert sources(a) == (v2_name,)
