"""The NOF file reader on NHS England's real files: every layout and variant seen.

Every file read here is a bundled NHS England file or a copy of one, edited in ``tmp_path``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from nhs_league.dataset import Dataset
from nhs_league.errors import SchemaError, ValueFormatError
from nhs_league.ingest.nhse_nof import LAYOUTS, Publication, read_file
from nhs_league.methods.pack import Pack
from tests.conftest import ACUTE_Q1, MHC_Q4

BOM = b"\xef\xbb\xbf"
Q1 = "Q1 2025/26"
MHC_QUARTERS = ["Q1 2025/26", "Q2 2025/26", "Q3 2025/26", "Q4 2025/26"]
INPUT_SCORES = {"OF1035", "OF1046", "OF1067", "OF1069"}  # published scores that feed OF1080
TABLES = ("trusts", "observations", "flags", "published")


# --- helpers ------------------------------------------------------------------------------------


def rows_of(path: Path) -> tuple[list[str], list[list[str]]]:
    """The header and data rows of a real file, as NHS England wrote them."""
    records = list(csv.reader(io.StringIO(path.read_text("utf-8-sig"), newline="")))
    return records[0], records[1:]


def raw_frame(path: Path) -> pl.DataFrame:
    """Every cell as a string, with the line each row is on (header = line 1)."""
    header, rows = rows_of(path)
    frame = pl.DataFrame(rows, schema=header, orient="row")
    return frame.with_columns(
        pl.all().replace("", None), pl.int_range(2, frame.height + 2, dtype=pl.Int64).alias("line")
    )


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, bom: bool = True) -> Path:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes((BOM if bom else b"") + buf.getvalue().encode("utf-8"))
    return path


def assert_same_tables(a: Publication, b: Publication) -> None:
    for table in TABLES:
        assert_frame_equal(getattr(a, table), getattr(b, table))


def flag_rows(raw: pl.DataFrame, metric_id: str, column: str) -> pl.DataFrame:
    """A flag as the file states it: one row per (quarter, trust), True where Value is 1."""
    quarter = pl.col("Quarter") if "Quarter" in raw.columns else pl.lit(Q1)
    return (
        raw.filter(pl.col("Metric_ID") == metric_id)
        .select(
            quarter.alias("quarter"),
            pl.col("Trust_code").alias("trust_code"),
            (pl.col("Value").cast(pl.Float64) == 1.0).alias(column),
        )
        .sort("quarter", "trust_code")
    )


@pytest.fixture(scope="module")
def acute_pub(pack: Pack) -> Publication:
    return read_file(ACUTE_Q1, pack)


@pytest.fixture(scope="module")
def mhc_pub(pack: Pack) -> Publication:
    return read_file(MHC_Q4, pack)


# --- layouts ------------------------------------------------------------------------------------


def test_acute_q1_is_the_16_column_layout_and_the_quarter_is_inferred(
    acute_pub: Publication,
) -> None:
    header, _ = rows_of(ACUTE_Q1)
    assert len(header) == 16
    assert "Quarter" not in header
    assert acute_pub.layout == "data-16"
    assert acute_pub.trusts["quarter"].unique().to_list() == [Q1]
    assert acute_pub.trusts.height == 134
    assert acute_pub.trusts["trust_code"].n_unique() == 134
    assert acute_pub.trusts["trust_type"].unique().to_list() == ["acute"]
    assert acute_pub.coverage.rows() == [(Q1, "acute")]


def test_mhc_q4_is_the_17_column_layout_with_four_quarters(mhc_pub: Publication) -> None:
    header, _ = rows_of(MHC_Q4)
    assert len(header) == 17
    assert header[0] == "Quarter"
    assert mhc_pub.layout == "data-17"
    per_quarter = mhc_pub.trusts.group_by("quarter").len().sort("quarter")
    assert per_quarter["quarter"].to_list() == MHC_QUARTERS
    assert per_quarter["len"].to_list() == [61, 61, 61, 61]
    assert mhc_pub.trusts["trust_type"].unique().to_list() == ["mental-health-community"]
    assert mhc_pub.coverage.rows() == [(q, "mental-health-community") for q in MHC_QUARTERS]


@pytest.mark.parametrize("source", [ACUTE_Q1, MHC_Q4], ids=["acute", "mhc"])
def test_with_and_without_bom_read_the_same(source: Path, pack: Pack, tmp_path: Path) -> None:
    raw = source.read_bytes()
    assert raw.startswith(BOM)  # NHS England's files carry one
    bare = tmp_path / source.name
    bare.write_bytes(raw[len(BOM) :])
    with_bom, without = read_file(source, pack), read_file(bare, pack)
    assert with_bom.layout == without.layout
    assert_same_tables(with_bom, without)
    assert without.sha256 == hashlib.sha256(raw[len(BOM) :]).hexdigest() != with_bom.sha256


# --- canonical spellings ------------------------------------------------------------------------


def test_percent_and_percent_sign_units_both_become_percent_sign(
    acute_pub: Publication, mhc_pub: Publication
) -> None:
    acute_units = set(raw_frame(ACUTE_Q1)["Units"])
    mhc_units = set(raw_frame(MHC_Q4)["Units"])
    assert "percent" in acute_units and "%" not in acute_units
    assert "%" in mhc_units and "percent" not in mhc_units
    for pub in (acute_pub, mhc_pub):
        units = set(pub.observations["units"])
        assert "%" in units
        assert "percent" not in units
    # the same metric, spelt differently in the two files, comes out the same
    for pub in (acute_pub, mhc_pub):
        of0005 = pub.observations.filter(pl.col("metric_id") == "OF0005")
        assert of0005.height > 0
        assert of0005["units"].unique().to_list() == ["%"]


def test_old_region_north_east_becomes_north_east_and_yorkshire(
    acute_pub: Publication, mhc_pub: Publication
) -> None:
    raw = raw_frame(ACUTE_Q1)
    old = set(raw.filter(pl.col("Region") == "North East")["Trust_code"])
    assert old  # the first release used the old name
    assert "North East and Yorkshire" not in set(raw["Region"])
    trusts = acute_pub.trusts.filter(pl.col("trust_code").is_in(sorted(old)))
    assert trusts.height == len(old)
    assert trusts["region"].unique().to_list() == ["North East and Yorkshire"]
    assert "North East" not in set(acute_pub.trusts["region"])
    # and the later file's spelling is left alone: both files use the same seven regions
    assert set(acute_pub.trusts["region"]) == set(mhc_pub.trusts["region"])


# --- which row goes where -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "inputs"),
    [(ACUTE_Q1, INPUT_SCORES), (MHC_Q4, {"OF1035", "OF1067"})],
    ids=["acute", "mhc"],
)
def test_observations_hold_values_and_input_scores_published_the_rest(
    source: Path, inputs: set[str], pack: Pack
) -> None:
    pub = read_file(source, pack)
    raw = raw_frame(source)
    obs_ids = set(pub.observations["metric_id"])
    pub_ids = set(pub.published["metric_id"])
    value_ids = {m for m in obs_ids if re.fullmatch(r"OF0\d{3}", m)}
    assert obs_ids == value_ids | inputs
    assert not obs_ids & pub_ids
    # published: the OF1xxx scores of value metrics (and OF1080, computed from the inputs),
    # the domain scores and segments OF4xxx, and the summary results OF5xxx
    assert all(re.fullmatch(r"OF[145]\d{3}", m) for m in pub_ids)
    assert not pub_ids & INPUT_SCORES
    assert {"OF1" + m[3:] for m in value_ids} <= pub_ids
    assert {m for m in pub_ids if m.startswith("OF4")} == {
        "OF4000", "OF4002", "OF4003", "OF4004", "OF4005",
        "OF4100", "OF4102", "OF4103", "OF4104", "OF4105",
    }  # fmt: skip
    assert {"OF5000", "OF5002", "OF5003"} <= pub_ids
    # the deficit and support flags are inputs: they go to the flags table, not to published
    assert not pub_ids & {"OF5004", "OF5007"}
    n_flag_rows = raw.filter(pl.col("Metric_ID").is_in(["OF5004", "OF5007"])).height
    assert pub.flags["financial_deficit"].count() + pub.flags["intensive_support"].count() == (
        n_flag_rows
    )
    # every other row of the file lands in exactly one of the two tables
    assert pub.observations.height + pub.published.height + n_flag_rows == raw.height
    n_obs = raw.filter(
        pl.col("Metric_ID").str.contains(r"^OF0\d{3}$") | pl.col("Metric_ID").is_in(inputs)
    ).height
    assert pub.observations.height == n_obs
    # each observation remembers its line, and that line of the file holds that row
    joined = pub.observations.join(raw, on="line", how="left")
    assert joined["Trust_code"].to_list() == joined["trust_code"].to_list()
    assert joined["Metric_ID"].to_list() == joined["metric_id"].to_list()
    assert (joined["Value"].cast(pl.Float64) == joined["value"]).all()


def test_acute_flags_come_from_of5004_and_of5007(acute_pub: Publication) -> None:
    raw = raw_frame(ACUTE_Q1)
    flags = acute_pub.flags.sort("quarter", "trust_code")
    assert flags.height == 134
    assert flags.null_count().row(0) == (0, 0, 0, 0)
    deficit = flag_rows(raw, "OF5004", "financial_deficit")
    support = flag_rows(raw, "OF5007", "intensive_support")
    assert_frame_equal(flags.select("quarter", "trust_code", "financial_deficit"), deficit)
    assert_frame_equal(flags.select("quarter", "trust_code", "intensive_support"), support)
    assert flags["financial_deficit"].any() and not flags["financial_deficit"].all()


def test_mhc_intensive_support_is_null_where_the_file_has_no_of5007(
    mhc_pub: Publication,
) -> None:
    raw = raw_frame(MHC_Q4)
    with_support = set(raw.filter(pl.col("Metric_ID") == "OF5007")["Quarter"])
    assert with_support == {"Q1 2025/26", "Q2 2025/26"}  # none in Q3 or Q4
    flags = mhc_pub.flags.sort("quarter", "trust_code")
    assert flags.height == 4 * 61
    assert flags["financial_deficit"].null_count() == 0
    assert_frame_equal(
        flags.select("quarter", "trust_code", "financial_deficit"),
        flag_rows(raw, "OF5004", "financial_deficit"),
    )
    for quarter in MHC_QUARTERS:
        support = flags.filter(pl.col("quarter") == quarter)["intensive_support"]
        if quarter in with_support:
            assert support.null_count() == 0
        else:
            assert support.null_count() == 61
    assert_frame_equal(
        flags.filter(pl.col("quarter").is_in(sorted(with_support))).select(
            "quarter", "trust_code", "intensive_support"
        ),
        flag_rows(raw, "OF5007", "intensive_support"),
    )


# --- a trust's own forecast: values and flags only ----------------------------------------------

FORECAST_TRUSTS = ["R0A", "RBS", "RJ1"]


def forecast_rows(*, with_deficit_flag: bool) -> tuple[list[str], list[list[str]]]:
    header, rows = rows_of(ACUTE_Q1)
    i_code, i_id = header.index("Trust_code"), header.index("Metric_ID")
    keep = [
        r
        for r in rows
        if r[i_code] in FORECAST_TRUSTS
        and (re.fullmatch(r"OF0\d{3}", r[i_id]) or (with_deficit_flag and r[i_id] == "OF5004"))
    ]
    return header, keep


def test_forecast_with_values_and_deficit_flag_reads_with_no_published(
    acute_pub: Publication, pack: Pack, tmp_path: Path
) -> None:
    header, rows = forecast_rows(with_deficit_flag=True)
    path = write_csv(tmp_path / "forecast.csv", header, rows)
    pub = read_file(path, pack)
    assert pub.layout == "data-16"
    assert pub.published.height == 0
    assert sorted(pub.trusts["trust_code"]) == FORECAST_TRUSTS
    assert pub.trusts["quarter"].unique().to_list() == [Q1]  # from the OF5004 rows
    expected_obs = acute_pub.observations.filter(
        pl.col("trust_code").is_in(FORECAST_TRUSTS), pl.col("metric_id").str.starts_with("OF0")
    )
    assert pub.observations.height == expected_obs.height == len(rows) - 3
    assert_frame_equal(
        pub.observations.drop("line").sort("trust_code", "metric_id"),
        expected_obs.drop("line").sort("trust_code", "metric_id"),
    )
    assert_frame_equal(
        pub.flags.select("quarter", "trust_code", "financial_deficit").sort("trust_code"),
        acute_pub.flags.filter(pl.col("trust_code").is_in(FORECAST_TRUSTS))
        .select("quarter", "trust_code", "financial_deficit")
        .sort("trust_code"),
    )
    assert pub.flags["intensive_support"].null_count() == 3


def test_forecast_without_summary_rows_needs_the_quarter(pack: Pack, tmp_path: Path) -> None:
    header, rows = forecast_rows(with_deficit_flag=False)
    path = write_csv(tmp_path / "values-only.csv", header, rows)
    with pytest.raises(SchemaError) as info:
        read_file(path, pack)
    assert str(info.value) == (
        f"{path}, column Reporting_date: cannot tell which quarter the file is for; "
        'expected one quarter such as "Q1 2025/26" in the summary rows, or pass the quarter'
    )
    pub = read_file(path, pack, quarter=Q1)
    assert pub.layout == "data-16"
    assert pub.trusts["quarter"].unique().to_list() == [Q1]
    assert pub.observations["quarter"].unique().to_list() == [Q1]
    assert pub.observations.height == len(rows)
    assert pub.published.height == 0
    assert pub.flags.height == 3
    assert pub.flags["financial_deficit"].null_count() == 3


def test_a_quarter_that_is_not_a_quarter_is_refused(pack: Pack, tmp_path: Path) -> None:
    header, rows = forecast_rows(with_deficit_flag=False)
    path = write_csv(tmp_path / "values-only.csv", header, rows)
    with pytest.raises(ValueFormatError, match=r"not a quarter; found '2025 Q1'"):
        read_file(path, pack, quarter="2025 Q1")


# --- league-table layouts -----------------------------------------------------------------------


def league_rows(layout: str) -> tuple[list[str], list[list[str]]]:
    """A league table built from the real acute Q1 data file's published summary rows.

    The likely ranges are not in the data file, so they are left empty rather than made up.
    """
    raw = raw_frame(ACUTE_Q1)
    summary = raw.filter(pl.col("Metric_ID").is_in(["OF5000", "OF5002", "OF5004"]))
    org = ["Region", "Trust_type", "Trust_subtype", "Trust_code", "Trust_name"]
    wide = summary.pivot(on="Metric_ID", index=org, values="Value").join(
        summary.filter(pl.col("Metric_ID") == "OF5000").select("Trust_code", "Rank"),
        on="Trust_code",
    )
    wide = wide.sort(pl.col("Rank").cast(pl.Float64), "Trust_code")
    out = []
    for r in wide.iter_rows(named=True):
        cells = {
            "Quarter": Q1,
            "Reporting_date": Q1,
            **{c: r[c] for c in org},
            "Average_score": r["OF5002"],
            "Likely_range_of_average_score": "",
            "Segment": str(int(float(r["OF5000"]))),
            "Trust_in_financial_deficit": {"1.0": "Yes", "0.0": "No"}[r["OF5004"]],
            "Rank": str(int(float(r["Rank"]))),
            "Likely_range_of_rank": "",
        }
        out.append([cells[c] for c in LAYOUTS[layout]])
    return LAYOUTS[layout], out


@pytest.mark.parametrize("layout", ["league-quarter", "league-reporting-date"])
def test_league_table_layouts_carry_the_published_summary(
    layout: str, acute_pub: Publication, pack: Pack, tmp_path: Path
) -> None:
    header, rows = league_rows(layout)
    assert len(rows) == 134
    path = write_csv(tmp_path / f"{layout}.csv", header, rows)
    league = read_file(path, pack)
    assert league.layout == layout
    assert league.observations.height == 0
    assert_frame_equal(league.trusts.sort("trust_code"), acute_pub.trusts.sort("trust_code"))

    def summary(pub: Publication, metric_id: str) -> pl.DataFrame:
        return (
            pub.published.filter(pl.col("metric_id") == metric_id)
            .select("quarter", "trust_code", "trust_type", "value", "rank")
            .sort("trust_code")
        )

    assert set(league.published["metric_id"]) == {"OF5000", "OF5002"}  # empty ranges: no rows
    # averages equal the data file's (a league file gives no rank to the average)
    assert_frame_equal(
        summary(league, "OF5002").drop("rank"), summary(acute_pub, "OF5002").drop("rank")
    )
    # segments and league ranks equal the data file's OF5000 rows
    assert_frame_equal(summary(league, "OF5000"), summary(acute_pub, "OF5000"))
    assert_frame_equal(
        league.flags.select("quarter", "trust_code", "financial_deficit").sort("trust_code"),
        acute_pub.flags.select("quarter", "trust_code", "financial_deficit").sort("trust_code"),
    )
    assert league.flags["intensive_support"].null_count() == 134


def test_a_league_file_added_onto_the_data_file_keeps_the_observations(
    acute_pub: Publication, pack: Pack, tmp_path: Path
) -> None:
    header, rows = league_rows("league-quarter")
    league = read_file(write_csv(tmp_path / "league.csv", header, rows), pack)
    data_only = Dataset.from_publications([acute_pub])
    combined = data_only.add(league)
    assert combined.sources == ((acute_pub.name, acute_pub.sha256), (league.name, league.sha256))
    assert_frame_equal(combined.observations, data_only.observations)
    assert_frame_equal(combined.trusts.sort("trust_code"), data_only.trusts.sort("trust_code"))
    # metric and domain scores stay; the league file's OF5000/OF5002 replace the data file's
    assert combined.published.height == data_only.published.height
    key = ["quarter", "trust_code", "metric_id"]
    assert_frame_equal(
        combined.published.select(*key, "value").sort(key),
        data_only.published.select(*key, "value").sort(key),
    )
    # the support flag, which a league file does not carry, is kept
    assert_frame_equal(combined.flags.sort("trust_code"), data_only.flags.sort("trust_code"))


# --- CSV variants the reader must take in its stride --------------------------------------------


def test_quoted_header_and_blank_lines_read_the_same(pack: Pack, tmp_path: Path) -> None:
    text = MHC_Q4.read_bytes().decode("utf-8-sig")
    head, _, body = text.partition("\r\n")
    quoted = ",".join(f'"{h}"' for h in head.split(","))
    path = tmp_path / "quoted.csv"
    path.write_text(quoted + "\r\n" + body + "\r\n\r\n", encoding="utf-8", newline="")
    assert_same_tables(read_file(path, pack), read_file(MHC_Q4, pack))


def test_a_cell_spanning_two_lines_keeps_later_line_numbers_true(
    pack: Pack, tmp_path: Path
) -> None:
    header, rows = rows_of(MHC_Q4)
    rows = rows[:20]
    i_desc = header.index("Metric_description")
    rows[2][i_desc] = rows[2][i_desc].replace(" ", "\n", 1)  # a line break inside quotes
    path = write_csv(tmp_path / "multiline.csv", header, rows)
    pub = read_file(path, pack)
    # rows 1-3 start on lines 2-4; row 3 takes two lines, so row 4 starts on line 6
    assert pub.observations["line"].to_list()[:5] == [2, 3, 4, 6, 7]


# --- determinism --------------------------------------------------------------------------------


@pytest.mark.parametrize("source", [ACUTE_Q1, MHC_Q4], ids=["acute", "mhc"])
def test_reading_twice_gives_equal_tables_and_the_true_sha256(source: Path, pack: Pack) -> None:
    a, b = read_file(source, pack), read_file(source, pack)
    assert (a.layout, a.name, a.path) == (b.layout, b.name, b.path)
    assert_same_tables(a, b)
    assert a.sha256 == b.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
