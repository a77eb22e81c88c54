"""Read NHS England's NOF files into the canonical tables.

Two kinds of file, every layout seen (spec section 1):

* the trust data file: 16 columns (first release) or 17 with ``Quarter`` first;
* the league-table file: ``Quarter`` first, or ``Reporting_date`` after ``Trust_name``.

Files that carry only values and flags (a trust's own forecast) read the same way; their published
table is simply empty. Every problem raises a typed :mod:`nhs_league.errors` error that names the
file, the line (the header is line 1), the column, the value found and what was expected.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import polars as pl

from nhs_league.errors import (
    DuplicateRowError,
    MetricNotApplicable,
    SchemaError,
    UnknownMetric,
    ValueFormatError,
)
from nhs_league.ingest.csvtext import BOM, decode, read_frame
from nhs_league.ingest.tables import (
    FLAGS_SCHEMA,
    LIKELY_RANK_HIGH,
    LIKELY_RANK_LOW,
    LIKELY_SCORE_HIGH,
    LIKELY_SCORE_LOW,
    OBS_SCHEMA,
    PUBLISHED_SCHEMA,
    TRUSTS_SCHEMA,
    Publication,
    sha256_bytes,
)
from nhs_league.methods.pack import Pack

__all__ = [
    "FLAGS_SCHEMA",
    "LAYOUTS",
    "LIKELY_RANK_HIGH",
    "LIKELY_RANK_LOW",
    "LIKELY_SCORE_HIGH",
    "LIKELY_SCORE_LOW",
    "OBS_SCHEMA",
    "PUBLISHED_SCHEMA",
    "QUARTER_RE",
    "TRUSTS_SCHEMA",
    "Publication",
    "read_bytes",
    "read_file",
    "sha256_bytes",
]

_DATA_COLUMNS = [
    "Region",
    "Trust_type",
    "Trust_subtype",
    "Trust_code",
    "Trust_name",
    "Domain",
    "Sub-domain",
    "Metric_ID",
    "Metric_description",
    "Reporting_date",
    "Units",
    "Value",
    "Median_value",
    "Lower_quartile",
    "Upper_quartile",
    "Rank",
]
_LEAGUE_TAIL = [
    "Average_score",
    "Likely_range_of_average_score",
    "Segment",
    "Trust_in_financial_deficit",
    "Rank",
    "Likely_range_of_rank",
]
_ORG = ["Region", "Trust_type", "Trust_subtype", "Trust_code", "Trust_name"]
LAYOUTS: dict[str, list[str]] = {
    "data-16": _DATA_COLUMNS,
    "data-17": ["Quarter", *_DATA_COLUMNS],
    "league-quarter": ["Quarter", *_ORG, *_LEAGUE_TAIL],
    "league-reporting-date": [*_ORG, "Reporting_date", *_LEAGUE_TAIL],
}
QUARTER_RE = re.compile(r"^Q[1-4] \d{4}/\d{2}$")
_RANGE_RE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+to\s+(-?\d+(?:\.\d+)?)\s*$")


def _layout(header: list[str], name: str) -> str:
    for layout, columns in LAYOUTS.items():
        if header == columns:
            return layout
    kind = "league-quarter" if "Average_score" in header else "data-17"
    if kind == "data-17" and "Quarter" not in header:
        kind = "data-16"
    if kind == "league-quarter" and "Quarter" not in header:
        kind = "league-reporting-date"
    expected = LAYOUTS[kind]
    for col in expected:
        if col not in header:
            close = difflib.get_close_matches(col, [h for h in header if h not in expected], n=1)
            found = close[0] if close else "the columns " + ",".join(header)
            problem = f"column {col!r} is missing"
            if close:
                problem = f"column {col!r} is missing (is {found!r} a misspelling?)"
            raise SchemaError(
                name,
                problem,
                line=1,
                column=col,
                found=found,
                expected="the columns " + ",".join(expected),
            )
    for col in header:
        if col not in expected:
            raise SchemaError(
                name,
                f"unexpected column {col!r}",
                line=1,
                column=col,
                found=col,
                expected="the columns " + ",".join(expected),
            )
    raise SchemaError(
        name,
        "columns are out of order",
        line=1,
        found=",".join(header),
        expected=",".join(expected),
    )


def _numbers(frame: pl.DataFrame, column: str, name: str, *, required: bool) -> pl.Series:
    raw = frame[column]
    parsed = raw.cast(pl.Float64, strict=False)
    bad = (raw.is_not_null() & parsed.is_null()) | ~parsed.is_finite().fill_null(True)
    if required:
        bad = bad | raw.is_null()
    if bad.any():
        i = int(bad.arg_true()[0])
        raise ValueFormatError(
            name,
            "not a number",
            line=int(frame["_line"][i]),
            column=column,
            found=raw[i] if raw[i] is not None else "",
            expected="a number such as 16.0",
        )
    return parsed


def _trust_types(frame: pl.DataFrame, pack: Pack, name: str) -> pl.Series:
    spellings = frame["Trust_type"].unique(maintain_order=True).to_list()
    mapping: dict[str, str] = {}
    for s in spellings:
        canonical = pack.trust_type_for(s) if s is not None else None
        if canonical is None:
            i = int((frame["Trust_type"].is_null() | (frame["Trust_type"] == s)).arg_true()[0])
            allowed = sorted({a for al in pack.trust_types.values() for a in al})
            raise ValueFormatError(
                name,
                "unknown trust type",
                line=int(frame["_line"][i]),
                column="Trust_type",
                found=s or "",
                expected="one of " + ", ".join(allowed),
            )
        mapping[s] = canonical
    return frame["Trust_type"].replace_strict(mapping, return_dtype=pl.String)


def _quarters(
    frame: pl.DataFrame, layout: str, pack: Pack, name: str, quarter: str | None
) -> pl.Series:
    if "Quarter" in frame.columns:
        q = frame["Quarter"]
        bad = q.is_null() | ~q.str.contains(QUARTER_RE.pattern).fill_null(False)
        if bad.any():
            i = int(bad.arg_true()[0])
            raise ValueFormatError(
                name,
                "not a quarter",
                line=int(frame["_line"][i]),
                column="Quarter",
                found=q[i] or "",
                expected='a quarter such as "Q1 2025/26"',
            )
        return q
    if quarter is not None:
        if not QUARTER_RE.match(quarter):
            raise ValueFormatError(
                name, "not a quarter", found=quarter, expected='a quarter such as "Q1 2025/26"'
            )
        return pl.Series("Quarter", [quarter] * frame.height)
    dates = frame["Reporting_date"]
    if layout == "data-16":
        dates = frame.filter(pl.col("Metric_ID").is_in(list(pack.summary_ids)))["Reporting_date"]
    found = sorted({d for d in dates.drop_nulls().to_list() if QUARTER_RE.match(d)})
    if len(found) != 1:
        raise SchemaError(
            name,
            "cannot tell which quarter the file is for",
            column="Reporting_date",
            found=", ".join(found) or None,
            expected='one quarter such as "Q1 2025/26" in the summary rows, or pass the quarter',
        )
    return pl.Series("Quarter", [found[0]] * frame.height)


def _trusts_table(frame: pl.DataFrame, pack: Pack) -> pl.DataFrame:
    region = frame["Region"].replace(pack.region_aliases)
    return (
        pl.DataFrame(
            {
                "quarter": frame["_quarter"],
                "trust_code": frame["Trust_code"],
                "trust_name": frame["Trust_name"],
                "trust_type": frame["_type"],
                "subtype": frame["Trust_subtype"],
                "region": region,
            }
        )
        .unique(subset=["quarter", "trust_code"], keep="first", maintain_order=True)
        .cast(TRUSTS_SCHEMA)  # type: ignore[arg-type]
    )


def _check_codes(frame: pl.DataFrame, name: str) -> None:
    bad = frame["Trust_code"].is_null()
    if bad.any():
        i = int(bad.arg_true()[0])
        raise ValueFormatError(
            name,
            "empty trust code",
            line=int(frame["_line"][i]),
            column="Trust_code",
            found="",
            expected="an ODS code such as RBS",
        )


def _first_repeat(
    frame: pl.DataFrame, keys: list[str]
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The first row (in file order) whose ``keys`` repeat an earlier row's, and that row."""
    repeated = ~pl.struct(keys).is_first_distinct()
    later = frame.select([*keys, "_line"]).filter(repeated)
    if not later.height:
        return None
    second = later.row(0, named=True)
    match = pl.all_horizontal(
        pl.col(k).eq_missing(pl.lit(second[k], dtype=frame.schema[k])) for k in keys
    )
    first = frame.select([*keys, "_line"]).filter(match).row(0, named=True)
    return first, second


def _read_data(frame: pl.DataFrame, pack: Pack, name: str) -> tuple[pl.DataFrame, ...]:
    value = _numbers(frame, "Value", name, required=True)
    rank = _numbers(frame, "Rank", name, required=False)
    units = frame["Units"].fill_null("").replace(pack.unit_aliases)
    frame = frame.with_columns(value.alias("_value"), rank.alias("_rank"), units.alias("_units"))
    # Every Metric_ID must be known to the pack.
    domain_ids = {d.score_id for d in pack.domains} | {d.segment_id for d in pack.domains}
    known_other = domain_ids | pack.summary_ids
    # The deficit and support flags are inputs set by NHS England, not results: they go to the
    # flags table only, so that a file of values and flags has an empty published table.
    flag_ids = {pack.summary["financial_deficit_flag"], pack.summary["intensive_support_flag"]}
    ids = frame["Metric_ID"]
    role: dict[str, str] = {}
    for mid in ids.unique(maintain_order=True).to_list():
        if mid in flag_ids:
            role[mid] = "flag"
        elif mid in known_other:
            role[mid or ""] = "published"
        elif mid is not None and pack.has_metric(mid):
            m = pack.metric(mid)
            is_input_row = (m.has_value and mid == m.id) or (m.family == "input")
            role[mid] = "observation" if is_input_row else "published"
        else:
            i = int((ids.is_null() | (ids == mid)).arg_true()[0])
            allowed = sorted({m.id for m in pack.metrics} | {m.score_id for m in pack.metrics})
            raise UnknownMetric(
                name,
                "unknown Metric_ID",
                line=int(frame["_line"][i]),
                column="Metric_ID",
                found=mid or "",
                expected="a metric of the method pack "
                + pack.id
                + " ("
                + ", ".join(allowed[:6])
                + ", ...), a domain or a summary id",
            )
    # A metric must apply to the trust type it is reported for.
    # (Each pair once, in file order, with the line it is first seen on.)
    pairs = frame.select("Metric_ID", "_type", "_line").unique(
        subset=["Metric_ID", "_type"], keep="first", maintain_order=True
    )
    for mid, ttype, line in pairs.iter_rows():
        if pack.has_metric(str(mid)) and ttype not in pack.metric(str(mid)).trust_types:
            raise MetricNotApplicable(
                name,
                f"metric {mid} does not apply to {ttype} trusts",
                line=int(line),
                column="Metric_ID",
                found=mid,
                expected="a trust type in " + ", ".join(pack.metric(str(mid)).trust_types),
            )
    # One row per (quarter, trust, metric, units).
    keys = ["_quarter", "Trust_code", "Metric_ID", "_units"]
    repeat = _first_repeat(frame, keys)
    if repeat is not None:
        first, second = repeat
        raise DuplicateRowError(
            name,
            f"duplicate row for {first['_quarter']}, {first['Trust_code']}, "
            f"{first['Metric_ID']} ({first['_units']}); first seen on line {first['_line']}",
            line=int(second["_line"]),
            column="Metric_ID",
            found=second["Metric_ID"],
            expected="one row per quarter, trust, metric and units",
        )
    frame = frame.with_columns(pl.col("Metric_ID").replace_strict(role).alias("_role"))
    columns = [
        pl.col("_quarter").alias("quarter"),
        pl.col("Trust_code").alias("trust_code"),
        pl.col("_type").alias("trust_type"),
        pl.col("Metric_ID").alias("metric_id"),
        pl.col("_units").alias("units"),
        pl.col("_value").alias("value"),
        pl.col("_rank").alias("rank"),
    ]
    obs = frame.filter(pl.col("_role") == "observation").select(
        *columns,
        pl.col("Reporting_date").alias("reporting_date"),
        pl.col("_line").alias("line"),
    )
    pub = frame.filter(pl.col("_role") == "published").select(columns)
    flags = _flags_from_summary(frame, pack, name)
    return obs, pub, flags


def _flag_values(frame: pl.DataFrame, metric_id: str, name: str) -> pl.DataFrame:
    rows = frame.filter(pl.col("Metric_ID") == metric_id)
    bad = ~rows["_value"].is_in([0.0, 1.0])
    if bad.any():
        i = int(bad.arg_true()[0])
        raise ValueFormatError(
            name,
            f"{metric_id} is a flag",
            line=int(rows["_line"][i]),
            column="Value",
            found=rows["Value"][i],
            expected="0 or 1",
        )
    return rows.select(
        pl.col("_quarter").alias("quarter"),
        pl.col("Trust_code").alias("trust_code"),
        (pl.col("_value") == 1.0).alias(metric_id),
    )


def _flags_from_summary(frame: pl.DataFrame, pack: Pack, name: str) -> pl.DataFrame:
    deficit_id = pack.summary["financial_deficit_flag"]
    support_id = pack.summary["intensive_support_flag"]
    base = frame.select(
        pl.col("_quarter").alias("quarter"), pl.col("Trust_code").alias("trust_code")
    ).unique(maintain_order=True)
    out = base
    rows = frame.filter(pl.col("Metric_ID").is_in([deficit_id, support_id]))
    for mid, col in ((deficit_id, "financial_deficit"), (support_id, "intensive_support")):
        vals = _flag_values(rows, mid, name).rename({mid: col})
        out = out.join(vals, on=["quarter", "trust_code"], how="left")
    return out.cast(FLAGS_SCHEMA)  # type: ignore[arg-type]


def _range(frame: pl.DataFrame, column: str, name: str) -> tuple[pl.Series, pl.Series]:
    lows: list[float | None] = []
    highs: list[float | None] = []
    for i, cell in enumerate(frame[column].to_list()):
        if cell is None or cell == "":
            lows.append(None)
            highs.append(None)
            continue
        m = _RANGE_RE.match(cell)
        if not m:
            raise ValueFormatError(
                name,
                "not a range",
                line=int(frame["_line"][i]),
                column=column,
                found=cell,
                expected='a range such as "6 to 49"',
            )
        lows.append(float(m.group(1)))
        highs.append(float(m.group(2)))
    return pl.Series(lows, dtype=pl.Float64), pl.Series(highs, dtype=pl.Float64)


def _read_league(frame: pl.DataFrame, pack: Pack, name: str) -> tuple[pl.DataFrame, ...]:
    avg = _numbers(frame, "Average_score", name, required=True)
    seg = _numbers(frame, "Segment", name, required=True)
    rank = _numbers(frame, "Rank", name, required=True)
    deficit = frame["Trust_in_financial_deficit"]
    bad = ~deficit.is_in(["Yes", "No"]).fill_null(False)
    if bad.any():
        i = int(bad.arg_true()[0])
        raise ValueFormatError(
            name,
            "not a yes/no flag",
            line=int(frame["_line"][i]),
            column="Trust_in_financial_deficit",
            found=deficit[i] or "",
            expected="Yes or No",
        )
    s_lo, s_hi = _range(frame, "Likely_range_of_average_score", name)
    r_lo, r_hi = _range(frame, "Likely_range_of_rank", name)
    repeat = _first_repeat(frame, ["_quarter", "Trust_code"])
    if repeat is not None:
        first, second = repeat
        raise DuplicateRowError(
            name,
            f"duplicate row for {first['_quarter']}, {first['Trust_code']}; "
            f"first seen on line {first['_line']}",
            line=int(second["_line"]),
            column="Trust_code",
            found=second["Trust_code"],
            expected="one row per quarter and trust",
        )
    base = {
        "quarter": frame["_quarter"],
        "trust_code": frame["Trust_code"],
        "trust_type": frame["_type"],
    }
    parts = []
    for mid, units, value, rk in (
        (pack.summary["average_score"], "score", avg, None),
        (pack.summary["adjusted_segment"], "segment", seg, rank),
        (LIKELY_SCORE_LOW, "score", s_lo, None),
        (LIKELY_SCORE_HIGH, "score", s_hi, None),
        (LIKELY_RANK_LOW, "rank", r_lo, None),
        (LIKELY_RANK_HIGH, "rank", r_hi, None),
    ):
        parts.append(
            pl.DataFrame(
                {
                    **base,
                    "metric_id": [mid] * frame.height,
                    "units": [units] * frame.height,
                    "value": value,
                    "rank": rk if rk is not None else [None] * frame.height,
                },
                schema=PUBLISHED_SCHEMA,
            ).filter(pl.col("value").is_not_null())
        )
    pub = pl.concat(parts)
    flags = pl.DataFrame(
        {
            "quarter": frame["_quarter"],
            "trust_code": frame["Trust_code"],
            "financial_deficit": deficit == "Yes",
            "intensive_support": [None] * frame.height,
        },
        schema=FLAGS_SCHEMA,
    )
    return pl.DataFrame(schema=OBS_SCHEMA), pub, flags


def read_bytes(
    raw: bytes, name: str, pack: Pack, *, quarter: str | None = None, path: str | None = None
) -> Publication:
    """Read one NHS England NOF file from its bytes."""
    text = decode(raw, name)
    body = raw[len(BOM) :] if raw.startswith(BOM) else raw
    frame, layout = read_frame(body, text, name, _layout)
    _check_codes(frame, name)
    frame = frame.with_columns(
        _quarters(frame, layout, pack, name, quarter).alias("_quarter"),
        _trust_types(frame, pack, name).alias("_type"),
    )
    reader = _read_data if layout.startswith("data") else _read_league
    obs, pub, flags = reader(frame, pack, name)
    return Publication(
        path=path or name,
        name=name,
        sha256=sha256_bytes(raw),
        layout=layout,
        trusts=_trusts_table(frame, pack),
        observations=obs.cast(OBS_SCHEMA),  # type: ignore[arg-type]
        flags=flags,
        published=pub.cast(PUBLISHED_SCHEMA),  # type: ignore[arg-type]
    )


def read_file(path: str | Path, pack: Pack, *, quarter: str | None = None) -> Publication:
    """Read one NHS England NOF file (trust data or league table, any layout seen)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SchemaError(str(path), f"cannot read the file ({exc.strerror})") from None
    return read_bytes(raw, str(path), pack, quarter=quarter, path=str(path))
