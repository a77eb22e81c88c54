"""Render frames and records for the terminal and for pipes (table, csv, json, md)."""

from __future__ import annotations

import io
import json
from typing import Any

import polars as pl

FORMATS = ("table", "csv", "json", "md")


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


def arrow(frame: pl.DataFrame, before: str, after: str, name: str) -> pl.Series:
    """ "before → after" strings, numbers as printed in tables (2 dp for floats)."""
    return pl.Series(
        name, [f"{_cell(a)} → {_cell(b)}" for a, b in zip(frame[before], frame[after], strict=True)]
    )


def to_csv(frame: pl.DataFrame) -> str:
    return frame.write_csv(float_precision=None)


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n"


def to_markdown(frame: pl.DataFrame, title: str | None = None) -> str:
    out = io.StringIO()
    if title:
        out.write(f"**{title}**\n\n")
    out.write("| " + " | ".join(frame.columns) + " |\n")
    out.write("|" + "|".join("---" for _ in frame.columns) + "|\n")
    for row in frame.iter_rows():
        out.write("| " + " | ".join(_cell(v).replace("|", "\\|") for v in row) + " |\n")
    return out.getvalue()


def rich_table(frame: pl.DataFrame, title: str | None = None, caption: str | None = None) -> Any:
    from rich.table import Table

    table = Table(title=title, caption=caption, title_justify="left", caption_justify="left")
    for col in frame.columns:
        numeric = frame[col].dtype.is_numeric()
        table.add_column(col, justify="right" if numeric else "left", overflow="fold")
    for row in frame.iter_rows():
        table.add_row(*(_cell(v) for v in row))
    return table


def render(
    frame: pl.DataFrame, fmt: str, *, title: str | None = None, caption: str | None = None
) -> str | Any:
    """Text for csv/json/md, a Rich renderable for table."""
    if fmt == "csv":
        return to_csv(frame)
    if fmt == "json":
        return to_json(frame.to_dicts())
    if fmt == "md":
        return to_markdown(frame, title)
    return rich_table(frame, title, caption)
