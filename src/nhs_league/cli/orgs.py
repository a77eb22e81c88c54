"""``orgs``: which NHS England region and ICB each loaded trust is in, and which could not be
matched to ODS organisation data (and why)."""

from __future__ import annotations

from typing import Annotated

import typer

from nhs_league.cli.app import app
from nhs_league.cli.options import DataOpt, Fmt, FmtOpt, PackOpt, StoreOpt, context, echo


@app.command()
def orgs(
    unmatched: Annotated[
        bool, typer.Option("--unmatched", help="Only trusts not matched, or with a note.")
    ] = False,
    fmt: FmtOpt = Fmt.table,
    data: DataOpt = None,
    store: StoreOpt = None,
    pack: PackOpt = "nof-2025-26",
) -> None:
    """Every loaded trust matched to ODS organisation data: region, ICB, or why not.

    Example: nhs-league orgs --unmatched
    """
    import polars as pl

    from nhs_league import api
    from nhs_league.output import render

    _, ds = context(pack, data, store)
    m = api.org_matches(ds)
    from nhs_league.ingest.ods import MATCHED, SUCCESSOR, UNMATCHED

    counts = {s: m.filter(pl.col("status") == s).height for s in (MATCHED, SUCCESSOR, UNMATCHED)}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    if unmatched:
        m = m.filter((pl.col("status") != "matched") | pl.col("note").is_not_null())
    if fmt is Fmt.table:
        shown = m.select(
            pl.col("trust_code").alias("Code"),
            pl.col("trust_name").alias("Trust"),
            pl.col("status").alias("Status"),
            pl.col("icb_code").alias("ICB"),
            pl.col("icb_name").alias("ICB name"),
            pl.col("note").fill_null("").alias("Note"),
        )
        title = f"Loaded trusts matched to ODS organisation data: {summary}"
        echo(render(shown, "table", title=title))
    else:
        echo(render(m, fmt.value, title="orgs"))
