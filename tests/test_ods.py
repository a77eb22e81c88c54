"""Organisation data: every loaded trust gets an ODS region and ICB, or a reason why not."""

from __future__ import annotations

import csv
from datetime import date
from importlib import resources
from pathlib import Path

import polars as pl
import pytest

from nhs_league import api
from nhs_league.dataset import Dataset
from nhs_league.errors import NoData, SchemaError, ValueFormatError
from nhs_league.ingest import ods
from nhs_league.methods.pack import Pack
from tests.test_cli import run

ODS = resources.files("nhs_league").joinpath("data", "ods")


def _etr_rows() -> dict[str, list[str]]:
    with ODS.joinpath("etr.csv").open(encoding="utf-8-sig", newline="") as fh:
        return {row[0]: row for row in csv.reader(fh)}


def _ons_icbs() -> dict[str, tuple[str, str]]:
    with ODS.joinpath("ons_sicbl_icb_nhser_jul2022_lookup.csv").open(encoding="utf-8-sig") as fh:
        return {r["ICB22CDH"]: (r["ICB22NM"], r["NHSER22NM"]) for r in csv.DictReader(fh)}


def test_bundled_files_parse_completely() -> None:
    o = ods.organisations()
    assert len(o.orgs) == len(_etr_rows()) == 273
    assert len(o.icbs) == 42
    g = o.orgs["G6V2S"]
    assert (g.name, g.region, g.icb_code, g.opened, g.closed) == (
        "NORTH LONDON NHS FOUNDATION TRUST",
        "London",
        "QMJ",
        date(2024, 11, 1),
        None,
    )


def test_every_loaded_trust_is_matched_or_listed_with_a_reason(both: Dataset) -> None:
    m = api.org_matches(both)
    assert m.height == both.trusts["trust_code"].n_unique() == 195
    unmatched = m.filter(pl.col("status") == ods.UNMATCHED)
    assert unmatched["trust_code"].to_list() == ["TAD", "TAH", "TAJ"]
    assert all("care trusts" in n for n in unmatched["note"].to_list())
    matched = m.filter(pl.col("status") != ods.UNMATCHED)
    assert matched["icb_code"].null_count() == 0


def test_icb_and_region_agree_with_the_raw_files(both: Dataset) -> None:
    """Checked against the files read independently with the csv module."""
    etr, ons_icbs = _etr_rows(), _ons_icbs()
    m = api.org_matches(both).filter(pl.col("status") == ods.MATCHED)
    differs = []
    for r in m.iter_rows(named=True):
        row = etr[r["trust_code"]]
        assert r["icb_code"] == row[3]
        assert (r["icb_name"], r["ods_region"]) == ons_icbs[row[3]]
        nof = {"East": "East of England"}.get(r["region"], r["region"])
        if nof != r["ods_region"]:
            differs.append(r["trust_code"])
            assert r["note"] == (
                f"region differs: the NOF file says {r['region']}, ODS {r['ods_region']}"
            )
        else:
            assert r["note"] is None
    # Oxleas: the NOF files put it in London; ODS in Kent and Medway ICB (South East).
    assert differs == ["RPG"]


def test_merged_trust_is_followed_to_its_successor() -> None:
    """RRP (Barnet, Enfield and Haringey) closed 2024-10-31; G6V2S opened the next day in the
    same ICB: an old code resolves to the new trust's ICB."""
    o = ods.organisations()
    assert o.successors["RRP"] == "G6V2S"
    m = o.match("RRP")
    assert m.status == ods.SUCCESSOR
    assert m.org is not None and m.org.code == "G6V2S"
    assert m.icb is not None and m.icb.name == "NHS North Central London Integrated Care Board"
    assert "RRP -> G6V2S" in m.note
    # Ambiguous mergers (two trusts opened the next day in the same ICB) are not guessed.
    assert "RVX" not in o.successors
    closed = o.match("R1C")  # Solent: closed, no new organisation in ODS's etr file
    assert closed.status == ods.UNMATCHED and "no successor" in closed.note


def test_league_table_icb_filter(pack: Pack, acute: Dataset) -> None:
    a = api.assess_default(acute, pack)
    full = api.league_table(a, pack, "acute")
    cm = api.league_table(a, pack, "acute", icb="Cheshire and Merseyside")
    assert cm.height == 12 and set(cm["icb_code"]) == {"QYG"}
    assert set(cm["region"]) == {"North West"}
    assert api.league_table(a, pack, "acute", icb="qyg").equals(cm)
    assert api.league_table(a, pack, "acute", icb="E54000008").equals(cm)
    # Ranks stay national.
    ranks = dict(full.select("trust_code", "rank").iter_rows())
    assert all(ranks[c] == r for c, r in cm.select("trust_code", "rank").iter_rows())
    # Every acute trust is in exactly one ICB table.
    total = sum(api.league_table(a, pack, "acute", icb=c).height for c, _ in api.icbs(a, "acute"))
    assert total == full.height == 134


def test_icb_errors_name_the_choices(pack: Pack, acute: Dataset) -> None:
    a = api.assess_default(acute, pack)
    with pytest.raises(NoData, match=r"no ICB 'Atlantis' .* allowed: .*QYG \(Cheshire"):
        api.league_table(a, pack, "acute", icb="Atlantis")
    with pytest.raises(NoData, match=r"matches 4 ICBs: QOX .*; give its code"):
        api.league_table(a, pack, "acute", icb="North East")


def test_trust_profile_carries_the_icb(pack: Pack, acute: Dataset) -> None:
    prof = api.trust_profile(api.assess_default(acute, pack), pack, "RBS")
    assert (prof["icb_code"], prof["icb_name"]) == (
        "QYG",
        "NHS Cheshire and Merseyside Integrated Care Board",
    )


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ('"RX1","A","Y56"\n', SchemaError, r"x\.csv, line 1: wrong number of columns; found 3"),
        (
            '"RX1",' + '"",' * 9 + '"2020-01-01",' + '"",' * 15 + '""\n',
            ValueFormatError,
            r"x\.csv, line 1, column 11: not a date; found '2020-01-01'; expected YYYYMMDD",
        ),
        ('"",' + '"",' * 25 + '""\n', ValueFormatError, r"line 1, column 1: empty organisation"),
    ],
)
def test_bad_etr_rows_are_named(text: str, error: type[Exception], message: str) -> None:
    good = ODS.joinpath("etr.csv").read_text("utf-8-sig").splitlines(keepends=True)[0]
    assert len(ods.read_etr(good, "x.csv")) == 1
    with pytest.raises(error, match=message):
        ods.read_etr(text, "x.csv")


def test_bad_ons_lookup_names_the_missing_column() -> None:
    with pytest.raises(SchemaError, match=r"y\.csv, line 1: missing columns; found 'ICB22NM"):
        ods.read_ons("SICBL22CD,ICB22CDH,ICB22CD,NHSER22CDH,NHSER22NM\n", "y.csv")


def test_cli_orgs_and_table_icb(store_path: Path) -> None:
    r = run("orgs", "--unmatched", "--format", "csv", store=store_path)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(r.stdout.splitlines()))
    assert [x["trust_code"] for x in rows] == ["RPG", "TAD", "TAH", "TAJ"]
    r = run("table", "--icb", "QE1", "--replicates", "0", "--format", "csv", store=store_path)
    assert r.returncode == 0, r.stderr
    assert {x["icb_code"] for x in csv.DictReader(r.stdout.splitlines())} == {"QE1"}
    r = run("table", "--icb", "Atlantis", "--replicates", "0", store=store_path)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "no ICB 'Atlantis'" in r.stderr
