"""CSV and XLSX downloads of exactly the league table a page shows (same filters and order).

CSV cells that a spreadsheet would run as a formula (text starting ``=``, ``+``, ``-``, ``@``, tab
or carriage return) get a leading apostrophe; numbers are written as numbers. The workbook uses
the export module's formats, and its created date is the quarter's first day, so the same table
gives the same bytes.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import polars as pl

from nhs_league.export import _xlsx_formats, _xlsx_sheet, quarter_start
from nhs_league.web.models import LeagueContext
from nhs_league.web.pages.common import slug
from nhs_league.web.pages.league import download_frame

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def filename(ctx: LeagueContext, ext: str) -> str:
    return f"nof-{ctx.trust_type}-{slug(ctx.quarter)}.{ext}"


def _cell(v: Any) -> Any:
    if isinstance(v, str) and v.startswith(_FORMULA_START):
        return "'" + v
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else v


def to_csv(ctx: LeagueContext) -> str:
    frame = download_frame(ctx)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(frame.columns)
    for row in frame.iter_rows():
        w.writerow([_cell(v) for v in row])
    return out.getvalue()


def to_xlsx(ctx: LeagueContext) -> bytes:
    import xlsxwriter

    frame: pl.DataFrame = download_frame(ctx)
    buffer = io.BytesIO()
    options = {
        "in_memory": True,
        "strings_to_numbers": False,
        "strings_to_formulas": False,
        "strings_to_urls": False,
    }
    wb = xlsxwriter.Workbook(buffer, options)
    wb.set_properties(
        {
            "title": f"{ctx.label} trusts, {ctx.quarter}: NHS Oversight Framework league table",
            "comments": "Written by nhs-league (an independent reproduction).",
            "created": quarter_start(ctx.quarter),
        }
    )
    _xlsx_sheet(wb.add_worksheet("league_table"), frame, _xlsx_formats(wb))
    wb.close()
    return buffer.getvalue()
