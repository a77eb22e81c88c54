"""Export one assessment: league tables, metric scores with provenance, and a data dictionary.

Three tables, four formats:

* ``csv`` and ``parquet``: ``out`` is a folder; one file per table;
* ``json``: one file, ``{"meta": ..., "league_table": [...], ...}``;
* ``xlsx``: one workbook, one sheet per table.

Output is deterministic: the same assessment gives the same bytes (no timestamps; the workbook's
creation date is the first day of the assessed quarter). pyarrow and xlsxwriter are imported only
when their format is asked for, so commands that do not export do not pay for them.
"""

from __future__ import annotations

import importlib
import json
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import polars as pl

from nhs_league.api import league_table
from nhs_league.dataset import quarter_key, with_sources
from nhs_league.engine.pipeline import Assessment
from nhs_league.errors import NhsLeagueError, NoData
from nhs_league.methods.pack import Pack

FORMATS = ("csv", "json", "parquet", "xlsx")
TABLES = ("league_table", "metric_scores", "data_dictionary")
METRICS_TABLE = "metrics"  # data-dictionary rows that describe the values of metric_id

_LEAGUE_DESCRIPTIONS = {
    "rank": "League rank within the trust type in England, 1 = best: adjusted segment first, "
    "then average metric score to 2 dp; equal pairs share a rank and the next skips (1, 2, 2, 4).",
    "trust_code": "NHS England organisation code of the trust (e.g. RBS).",
    "trust_name": "Trust name as printed in NHS England's file.",
    "region": "NHS England region of the trust, as printed in NHS England's file.",
    "icb_code": "ODS code of the integrated care board (ICB) the trust is in, from ODS's etr "
    "file (a merged trust's old code is followed to its successor); empty when ODS data cannot "
    "place the trust (see `nhs-league orgs --unmatched`).",
    "icb_name": "Name of the ICB, from the ONS sub-ICB/ICB/region lookup (July 2022).",
    "trust_type": "Trust type, the league the trust is ranked in: acute, "
    "mental-health-community or ambulance.",
    "subtype": "Trust subtype as published by NHS England (e.g. Acute - Teaching).",
    "segment": "Segment 1 (best) to 4 after the financial override (NHS England's adjusted "
    "segment): the unadjusted segment, but no better than 3 for a trust in financial deficit.",
    "average_score": "Average metric score, 1.00 (best) to 4.00 (worst): the mean of the trust's "
    "item scores, rounded half away from zero to 2 dp.",
    "unadjusted_segment": "Segment 1 (best) to 4 from the average metric score and the quarter's "
    "cut-points (see meta.cut_points in the JSON export), before the financial override.",
    "financial_deficit": "Whether NHS England flags the trust as in financial deficit (OF5004, "
    "an input, not computed); such a trust can be no better than segment 3.",
    "final_segment": "Final segment: 5 for a trust in the Recovery Support Programme (OF5007), "
    "otherwise the segment. League ranks ignore it.",
    "n_items": "Number of items the average is taken over (MRSA, E. coli and C. difficile count "
    "as one item; the finance bands count only through combined finance).",
    "league_size": "Number of trusts of this type ranked in the quarter (the N in rank r of N).",
    "quarter": "Reporting quarter, e.g. Q1 2025/26.",
    "score_low": "Likely range of the average, low end: 2.5th percentile of the bootstrap of the "
    "trust's own items (see meta.likely_ranges).",
    "score_high": "Likely range of the average, high end: 97.5th percentile of the bootstrap.",
    "rank_low": "Likely range of the league rank, best end: 2.5th percentile over replicates.",
    "rank_high": "Likely range of the league rank, worst end: 97.5th percentile over replicates.",
    "p_segment_1": "Share of bootstrap replicates in which the trust is in segment 1 "
    "(after the override).",
    "p_segment_2": "Share of bootstrap replicates in segment 2 (after the override).",
    "p_segment_3": "Share of bootstrap replicates in segment 3 (after the override).",
    "p_segment_4": "Share of bootstrap replicates in segment 4 (after the override).",
}

_SCORE_DESCRIPTIONS = {
    "quarter": "Reporting quarter, e.g. Q1 2025/26.",
    "trust_code": "NHS England organisation code of the trust (e.g. RBS).",
    "trust_name": "Trust name as printed in NHS England's file.",
    "trust_type": "Trust type: acute, mental-health-community or ambulance.",
    "metric_id": "Metric_ID the score is published under (OF1xxx); each one is described in "
    "this dictionary's rows with table 'metrics'.",
    "metric_name": "Name of the metric in the method pack.",
    "value_id": "Metric_ID of the value row the score is computed from (OF0xxx).",
    "value": "The trust's value as published by NHS England, in units; empty for scores "
    "published without a value (input and matrix families).",
    "units": "Units of value (%, mins, count, ratio, ...).",
    "score": "Metric score, 1.00 (best) to 4.00 (worst), unrounded.",
    "family": "Scoring family of the method pack: continuous (ranked), target (meets the "
    "target or ranked among those that miss), standard, bands, matrix (combined finance) or "
    "input (a score NHS England publishes without a value).",
    "pool_size": "Number of trusts the value was ranked among; for basis published-on-grid, the "
    "size of the grid NHS England's score sits on. Empty when the score is not from a ranking.",
    "position": "Position of the value in its pool, 1 = best; equal values share a position. "
    "Empty when the score is not from a ranking or was taken from NHS England's publication.",
    "target_met": "Whether the value meets the metric's target (target and standard families); "
    "empty for the other families.",
    "pool_complete": "Whether every trust type in the metric's pool is loaded; if not, basis "
    "says how the score was obtained.",
    "basis": "How the score was obtained: computed (from the value, complete pool), "
    "computed-partial-pool (loaded trusts only), published-on-grid (NHS England's score, moved "
    "onto the grid of the full pool), published (NHS England's score as printed) or input.",
    "note": "Why the score is not computed against a complete pool; empty when it is.",
    "file_rank": "The Rank column of NHS England's file for this value (within trust type); it "
    "orders equal rounded values.",
    "pack_id": "Id of the method pack the score was computed with.",
    "pack_version": "Version of the method pack.",
}
# Lineage: both tables trace every row to the loaded file its values came from.
_SOURCE_DESCRIPTIONS = {
    "source_file": "Name of the loaded NHS England file this row's values came from (the trust "
    "data file; after a correction, the file that superseded the first issue).",
    "source_sha256": "SHA-256 of the bytes of source_file, as recorded when it was loaded.",
    "source_url": "Where source_file was downloaded from (nhs-league fetch); empty for a file "
    "loaded from disk or bundled with the package.",
}
_LEAGUE_DESCRIPTIONS |= _SOURCE_DESCRIPTIONS
_SCORE_DESCRIPTIONS |= _SOURCE_DESCRIPTIONS

_TYPE_NAMES = (
    ("string", pl.String),
    ("integer", pl.Int64),
    ("number", pl.Float64),
    ("boolean", pl.Boolean),
)
_SCORE_COLUMNS = {"average_score", "score"}  # plus every domain_* column: 2 dp in the workbook
_WIDE_COLUMNS = {"description": 100, "note": 60, "source": 60}  # wrapped in the workbook

Tables = dict[str, pl.DataFrame]
Row = tuple[str, str, str, str, str | None]  # a data-dictionary row


def export(
    a: Assessment, pack: Pack, fmt: str, out: Path, ranges: pl.DataFrame | None = None
) -> list[Path]:
    """Write ``a`` as ``fmt`` to ``out`` (a folder for csv and parquet, else a file).

    ``ranges`` (from :func:`nhs_league.analysis.uncertainty.likely_ranges`) adds the likely
    ranges to the league table. Returns the paths written, in table order.
    """
    if fmt not in FORMATS:
        raise NhsLeagueError(f"unknown export format {fmt!r}; allowed: {', '.join(FORMATS)}")
    if (pack.id, pack.version) != (a.pack_id, a.pack_version):
        raise NhsLeagueError(
            f"the assessment was computed with pack {a.pack_id} {a.pack_version}, "
            f"not {pack.id} {pack.version}; export it with the pack it was computed with"
        )
    out = Path(out)
    if fmt == "xlsx":
        xlsxwriter = _require("xlsxwriter", fmt)  # before any work, so a missing one fails fast
        return _write_xlsx(xlsxwriter, export_tables(a, pack, ranges), a, _file_target(out, fmt))
    if fmt == "json":
        return _write_json(export_tables(a, pack, ranges), meta(a, pack), _file_target(out, fmt))
    if fmt == "parquet":
        pq = _require("pyarrow.parquet", fmt)
        return _write_parquet(pq, export_tables(a, pack, ranges), _folder_target(out, fmt))
    return _write_csv(export_tables(a, pack, ranges), _folder_target(out, fmt))


def export_tables(a: Assessment, pack: Pack, ranges: pl.DataFrame | None = None) -> Tables:
    """The three exported tables, in a fixed row and column order."""
    league = league_frame(a, pack)
    if ranges is not None:
        league = league.join(ranges, on="trust_code", how="left", maintain_order="left")
    scores = scores_frame(a, pack)
    return {
        "league_table": league,
        "metric_scores": scores,
        "data_dictionary": dictionary_frame(pack, league, scores),
    }


def league_frame(a: Assessment, pack: Pack) -> pl.DataFrame:
    """Every trust of every type in ``a``: the league-table columns plus the domain scores.

    Trust types in the pack's order; within a type, as :func:`nhs_league.api.league_table`.
    """
    types = _types(a, pack)
    if not types:
        raise NoData(f"no trust has an average metric score in {a.quarter}; nothing to export")
    league = pl.concat([league_table(a, pack, t) for t in types])
    dom = a.table.select("trust_code", *(f"domain_{d.key}" for d in pack.domains))
    league = league.join(dom, on="trust_code", how="left", maintain_order="left")
    return _clean(_traced(a, league))


def _traced(a: Assessment, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` plus source_file (name without folders: the bytes must not depend on where the
    file was), source_sha256 and source_url for each row."""
    traced = with_sources(a.lineage, frame)
    return traced.with_columns(pl.col("source_file").str.replace(r"^.*[/\\]", ""))


def _types(a: Assessment, pack: Pack) -> list[str]:
    """The trust types in ``a``, in the pack's order."""
    present = set(a.table["trust_type"].unique().to_list())
    return [t for t in pack.trust_types if t in present] + sorted(present - set(pack.trust_types))


def scores_frame(a: Assessment, pack: Pack) -> pl.DataFrame:
    """Every metric score, with its trust and metric names and what it was computed from."""
    names = {m.score_id: m.name for m in pack.metrics}
    s = (
        a.metric_scores.join(
            a.table.select("trust_code", "trust_name"), on="trust_code", how="left"
        )
        .with_columns(
            pl.col("metric_id")
            .replace_strict(names, default=None, return_dtype=pl.String)
            .alias("metric_name"),
            pl.lit(a.pack_id).alias("pack_id"),
            pl.lit(a.pack_version).alias("pack_version"),
        )
        .sort(_type_key(a, pack), "trust_code", "metric_id")
    )
    s = _traced(a, s)
    first = ["quarter", "trust_code", "trust_name", "trust_type", "metric_id", "metric_name"]
    return _clean(s.select(*first, *(c for c in s.columns if c not in first)))


def _type_key(a: Assessment, pack: Pack) -> pl.Expr:
    """Sorts trust types as :func:`league_frame` does."""
    order = {t: i for i, t in enumerate(_types(a, pack))}
    return pl.col("trust_type").replace_strict(order, default=len(order), return_dtype=pl.Int64)


def dictionary_frame(pack: Pack, league: pl.DataFrame, scores: pl.DataFrame) -> pl.DataFrame:
    """One row per column of ``league`` and ``scores``, then one per metric of the pack."""
    descriptions = {
        "league_table": _LEAGUE_DESCRIPTIONS | _domain_descriptions(pack),
        "metric_scores": _SCORE_DESCRIPTIONS,
    }
    rows: list[Row] = [
        (table, col, _type_name(dtype), descriptions[table][col], None)
        for table, frame in (("league_table", league), ("metric_scores", scores))
        for col, dtype in frame.schema.items()
    ]
    rows += [_metric_row(pack, m.score_id) for m in pack.metrics]
    schema = dict.fromkeys(("table", "column", "type", "description", "source"), pl.String)
    return pl.DataFrame(rows, schema=schema, orient="row")


def _type_name(dtype: pl.DataType) -> str:
    return next((name for name, t in _TYPE_NAMES if dtype == t), str(dtype).lower())


def _domain_descriptions(pack: Pack) -> dict[str, str]:
    return {
        f"domain_{d.key}": f"{d.name} domain score ({d.score_id}), 1.00 (best) to 4.00 (worst): "
        "the mean of the trust's item scores in the domain, to 2 dp; empty if it has none."
        for d in pack.domains
    }


def _metric_row(pack: Pack, metric_id: str) -> Row:
    m = pack.metric(metric_id)
    value = f"value {m.id}, {m.units}" if m.has_value else "published as a score, no value"
    where = f"{pack.domain(m.domain).name}; {value}; pool {m.pool}"
    text = f"{m.name} ({where}). {m.help}"
    return METRICS_TABLE, m.score_id, f"score ({m.family})", text, m.source


def _sources(a: Assessment) -> tuple[list[str], list[str]]:
    """File names without folders (the bytes must not depend on where the files were) and hashes."""
    return [Path(name).name for name, _ in a.files], [sha for _, sha in a.files]


def _clean(frame: pl.DataFrame) -> pl.DataFrame:
    """NaN is not a value in JSON or in a workbook: store it as empty."""
    return frame.with_columns(pl.col(pl.Float64).fill_nan(None))


def meta(a: Assessment, pack: Pack) -> dict[str, Any]:
    """What the tables rest on: quarter, mode, method pack, source files, cut-points, notes."""
    files, shas = _sources(a)
    return {
        "quarter": a.quarter,
        "mode": a.mode,
        "pack": {"id": pack.id, "version": pack.version, "name": pack.name, "source": pack.source},
        "loaded_types": list(a.loaded_types),
        "sources": [{"file": f, "sha256": s} for f, s in zip(files, shas, strict=True)],
        "cut_points": {
            "values": list(a.cut_points.values),
            "method": a.cut_points.method,
            "note": a.cut_points.note,
        },
        "notes": list(a.notes),
    }


def _folder_target(out: Path, fmt: str) -> Path:
    if out.exists() and not out.is_dir():
        raise NhsLeagueError(f"{out} is a file; --format {fmt} writes a folder of three files")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _file_target(out: Path, fmt: str) -> Path:
    if out.is_dir():
        raise NhsLeagueError(f"{out} is a folder; --format {fmt} writes one file, e.g. {out}.{fmt}")
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def _require(module: str, fmt: str) -> ModuleType:
    """Import an optional dependency, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise NhsLeagueError(
            f"--format {fmt} needs the optional package {module.split('.')[0]}; "
            f"install it with: pip install {module.split('.')[0]}"
        ) from None


def _write_csv(tables: Tables, folder: Path) -> list[Path]:
    paths = [folder / f"{name}.csv" for name in tables]
    for path, frame in zip(paths, tables.values(), strict=True):
        frame.write_csv(path, float_precision=None)
    return paths


def _write_parquet(pq: ModuleType, tables: Tables, folder: Path) -> list[Path]:
    paths = [folder / f"{name}.parquet" for name in tables]
    for path, frame in zip(paths, tables.values(), strict=True):
        pq.write_table(frame.to_arrow(), str(path), compression="zstd")
    return paths


def _write_json(tables: Tables, info: dict[str, Any], path: Path) -> list[Path]:
    """One JSON document; one record a line, so the file reads and diffs well."""

    def dump(obj: Any, indent: int | None = None) -> str:
        return json.dumps(obj, ensure_ascii=False, allow_nan=False, indent=indent)

    parts = ['{\n  "meta": ' + dump(info, indent=2).replace("\n", "\n  ")]
    for name, frame in tables.items():
        rows = ",\n    ".join(dump(r) for r in frame.iter_rows(named=True))
        parts.append(f"  {dump(name)}: [\n    {rows}\n  ]" if rows else f"  {dump(name)}: []")
    path.write_text(",\n".join(parts) + "\n}\n", encoding="utf-8", newline="\n")
    return [path]


def quarter_start(quarter: str) -> datetime:
    """The first day of a financial-year quarter: Q1 2025/26 is 1 April 2025."""
    year, q = quarter_key(quarter)
    month = 4 + 3 * (q - 1)
    return datetime(year + (month > 12), (month - 1) % 12 + 1, 1)


def _write_xlsx(xlsxwriter: ModuleType, tables: Tables, a: Assessment, path: Path) -> list[Path]:
    options = {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False}
    wb = xlsxwriter.Workbook(str(path), options)
    wb.set_properties(
        {
            "title": f"NHS Oversight Framework league tables, {a.quarter}",
            "subject": f"{a.pack_id} {a.pack_version}, mode {a.mode}",
            "comments": "Written by nhs-league; the created date is the start of the quarter.",
            "created": quarter_start(a.quarter),  # fixed, so the same data gives the same bytes
        }
    )
    formats = _xlsx_formats(wb)
    for name, frame in tables.items():
        _xlsx_sheet(wb.add_worksheet(name), frame, formats)
    wb.close()
    return [path]


def _xlsx_formats(wb: Any) -> dict[str, Any]:
    return {
        "header": wb.add_format({"bold": True, "bg_color": "#DCE6F1", "bottom": 1}),
        "score": wb.add_format({"num_format": "0.00"}),
        "integer": wb.add_format({"num_format": "0"}),
        "wrap": wb.add_format({"text_wrap": True, "valign": "top"}),
    }


def _xlsx_sheet(ws: Any, frame: pl.DataFrame, formats: dict[str, Any]) -> None:
    """One table on one sheet: header row frozen, filters on, each column formatted and sized."""
    ws.write_row(0, 0, frame.columns, formats["header"])
    for j, (col, dtype) in enumerate(frame.schema.items()):
        kind = _xlsx_kind(col, dtype)
        ws.set_column(j, j, _xlsx_width(frame, col), formats[kind] if kind else None)
        ws.write_column(1, j, frame[col].to_list())
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, frame.height, max(frame.width - 1, 0))


def _xlsx_kind(col: str, dtype: pl.DataType) -> str | None:
    if dtype == pl.Float64 and (col in _SCORE_COLUMNS or col.startswith("domain_")):
        return "score"
    if dtype == pl.Int64:
        return "integer"
    return "wrap" if col in _WIDE_COLUMNS else None


def _xlsx_width(frame: pl.DataFrame, col: str) -> int:
    """Wide enough for the header (and its filter button) and the longest value, within limits."""
    if col in _WIDE_COLUMNS:
        return _WIDE_COLUMNS[col]
    longest = max((len(str(v)) for v in frame[col].to_list() if v is not None), default=0)
    cap = 12 if frame[col].dtype == pl.Float64 else 50
    return min(max(len(col) + 4, longest + 2), max(cap, len(col) + 4))
