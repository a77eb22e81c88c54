"""Analysis commands of ``nhs-league``: whatif, improve, movement, compare-methods.

Thin, like :mod:`nhs_league.cli.core`: parse, call the library, print.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nhs_league.cli.app import app
from nhs_league.cli.options import (
    DataOpt,
    Fmt,
    FmtOpt,
    Mode,
    ModeOpt,
    PackOpt,
    QuarterOpt,
    StoreOpt,
    TypeOpt,
    context,
    echo,
    track,
)


@app.command()
def whatif(
    query: Annotated[str, typer.Argument(help="Trust code or part of its name.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="METRIC=VALUE, e.g. OF0013=80 (repeatable)."),
    ] = None,
    deficit: Annotated[
        str | None, typer.Option("--deficit", help="yes or no: set the financial deficit flag.")
    ] = None,
    scenario_file: Annotated[
        Path | None,
        typer.Option("--file", help="Scenario CSV (trust_code,metric_id,value) for many trusts."),
    ] = None,
    quarter: QuarterOpt = None,
    fmt: FmtOpt = Fmt.table,
    mode: ModeOpt = Mode.reproduce,
    data: DataOpt = None,
    store: StoreOpt = None,
    pack: PackOpt = "nof-2025-26",
) -> None:
    """What if a trust's values (or deficit flag) were different? Everything is recomputed.

    Example: nhs-league whatif RCX --set OF0013=78 --deficit no
    """
    import polars as pl

    from nhs_league import api
    from nhs_league.analysis import scenario as sc
    from nhs_league.errors import ValueFormatError
    from nhs_league.output import render, to_json

    p, ds = context(pack, data, store)
    code, q = api.trust_quarter(ds, query, quarter)
    base = sc.read_scenario_file(scenario_file, p) if scenario_file else sc.Scenario()
    changes = base.changes + tuple(sc.parse_set(s, code, p) for s in set_ or [])
    flags: tuple[tuple[str, bool], ...] = ()
    if deficit is not None:
        if deficit.lower() not in ("yes", "no"):
            raise ValueFormatError(
                "--deficit", "not yes or no", found=deficit, expected="yes or no"
            )
        flags = ((code, deficit.lower() == "yes"),)
    scenario = sc.Scenario(changes, flags)
    if not scenario.changes and not scenario.deficit:
        raise ValueFormatError("whatif", "nothing to change", expected="--set, --deficit or --file")
    w = sc.run(ds, p, scenario, quarter=q, mode=mode.value)
    changed = w.metric_rows.filter(
        pl.col("score_before").ne_missing(pl.col("score_after"))
        | pl.col("value_before").ne_missing(pl.col("value_after"))
    )
    if fmt is Fmt.json:
        echo(
            to_json(
                {
                    "quarter": q,
                    "mode": mode.value,
                    "trusts": w.trust_rows.to_dicts(),
                    "metric_scores": changed.to_dicts(),
                    "others": w.others.to_dicts(),
                }
            )
        )
        return
    if fmt is not Fmt.table:
        echo(render(w.trust_rows, fmt.value))
        return
    for r in w.trust_rows.iter_rows(named=True):
        echo(
            f"{r['trust_name']} ({r['trust_code']}), {q}: average {r['average_score_before']:.2f}"
            f" → {r['average_score_after']:.2f}; segment {r['adjusted_segment_before']} → "
            f"{r['adjusted_segment_after']}; rank {r['league_rank_before']} → "
            f"{r['league_rank_after']}\n"
        )
    echo(
        render(
            changed.select(
                "trust_code",
                "metric_id",
                "value_before",
                "value_after",
                "score_before",
                "score_after",
                "basis_after",
            ),
            "table",
            title="Metric scores that changed",
        )
    )
    if w.others.height:
        echo(
            render(
                w.others.select(
                    "trust_code",
                    "trust_name",
                    "adjusted_segment_before",
                    "adjusted_segment_after",
                    "league_rank_before",
                    "league_rank_after",
                ),
                "table",
                title=f"Other trusts whose segment or rank changed ({w.others.height})",
            )
        )


@app.command()
def improve(
    query: Annotated[str | None, typer.Argument(help="Trust code or name (omit: all).")] = None,
    trust_type: Annotated[TypeOpt, typer.Option("--type", help="Trust type.")] = TypeOpt.acute,
    paths: Annotated[
        bool, typer.Option("--paths", help="With no trust: work out every trust's cheapest path.")
    ] = False,
    quarter: QuarterOpt = None,
    fmt: FmtOpt = Fmt.table,
    mode: ModeOpt = Mode.reproduce,
    data: DataOpt = None,
    store: StoreOpt = None,
    pack: PackOpt = "nof-2025-26",
) -> None:
    """Improvement needed to move up a segment: the average needed, the gap, whether the
    financial override blocks it, and the cheapest path (for one trust, or all with --paths).

    Example: nhs-league improve RCX
    """
    import polars as pl

    from nhs_league import api
    from nhs_league.analysis.improvement import improvement_table
    from nhs_league.engine.pipeline import assess
    from nhs_league.output import render, to_json

    p, ds = context(pack, data, store)
    if query is None:
        a = api.assess_default(ds, p, quarter=quarter, trust_type=trust_type.value, mode=mode.value)
        t = improvement_table(a, p, trust_type.value)
        if paths:
            found = [api.improvement_summary(a, p, c) for c in track(t["trust_code"].to_list())]
            t = t.with_columns(
                pl.Series("path", ["; ".join(f["steps"]) or None for f in found], pl.String)
            )
        title = f"Improvement needed, {trust_type.value}, {a.quarter}"
        echo(render(t, fmt.value, title=title))
        return
    code, q = api.trust_quarter(ds, query, quarter)
    a = assess(ds, p, quarter=q, mode=mode.value)
    summary = api.improvement_summary(a, p, code)
    if fmt is Fmt.json:
        echo(to_json({"trust_code": code, "quarter": a.quarter, **summary}))
        return
    echo(summary["summary"] + "\n" + "".join(f"  - {s}\n" for s in summary["steps"]))


@app.command()
def movement(
    q_from: Annotated[str, typer.Option("--from", help="Earlier quarter, e.g. Q1.")],
    q_to: Annotated[str, typer.Option("--to", help="Later quarter, e.g. Q2.")],
    trust_type: Annotated[TypeOpt, typer.Option("--type", help="Trust type.")] = TypeOpt.acute,
    replicates: Annotated[
        int, typer.Option(min=100, max=1_000_000, help="Bootstrap replicates.")
    ] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 20250926,
    fmt: FmtOpt = Fmt.table,
    mode: ModeOpt = Mode.reproduce,
    data: DataOpt = None,
    store: StoreOpt = None,
    pack: PackOpt = "nof-2025-26",
) -> None:
    """Movement between quarters: change in average (and whether it is significant), segment
    and rank, and the cause of any segment change.

    Example: nhs-league movement --from Q1 --to Q2 --type mental-health-community
    """
    import polars as pl

    from nhs_league import api
    from nhs_league.analysis.movement import movement as run
    from nhs_league.errors import NoData
    from nhs_league.output import arrow, render

    p, ds = context(pack, data, store)
    a, b = api.resolve_quarter(ds, q_from), api.resolve_quarter(ds, q_to)
    if a == b:
        raise NoData(f"--from and --to are the same quarter ({a}); give two different quarters")
    m = run(
        ds, p, a, b, trust_type=trust_type.value, mode=mode.value, replicates=replicates, seed=seed
    )
    if m.height == 0:
        raise NoData(f"no {trust_type.value} trust is loaded in both {a} and {b}")
    if fmt is Fmt.table:
        m = pl.DataFrame(
            [
                m["trust_code"].alias("Code"),
                m["trust_name"].alias("Trust"),
                arrow(m, "average_score_from", "average_score_to", "Average"),
                m["change"].alias("Change"),
                m["significant"].replace_strict({True: "yes", False: "no"}).alias("Significant"),
                arrow(m, "adjusted_segment_from", "adjusted_segment_to", "Segment"),
                m["segment_change_cause"].fill_null("").alias("Why the segment changed"),
                arrow(m, "league_rank_from", "league_rank_to", "Rank"),
            ]
        )
    echo(
        render(
            m,
            fmt.value,
            title=f"Movement {a} → {b}, {trust_type.value}",
            caption="Significant: the 95% interval of a paired bootstrap of the item "
            "score changes excludes zero.",
        )
    )


@app.command("compare-methods")
def compare_methods(
    variant: Annotated[
        list[str],
        typer.Option(
            "--variant",
            help="no-override, within-type-pools, thresholds=2.0,2.5,3.0, exclude-specialist.",
        ),
    ],
    trust_type: Annotated[TypeOpt, typer.Option("--type", help="Trust type.")] = TypeOpt.acute,
    quarter: QuarterOpt = None,
    changed_only: Annotated[
        bool, typer.Option("--changed-only/--all", help="Only the trusts that move.")
    ] = True,
    fmt: FmtOpt = Fmt.table,
    mode: ModeOpt = Mode.reproduce,
    data: DataOpt = None,
    store: StoreOpt = None,
    pack: PackOpt = "nof-2025-26",
) -> None:
    """The published method and a variant side by side: which trusts move, and by how much.

    Example: nhs-league compare-methods --variant no-override --type acute
    """
    import polars as pl

    from nhs_league import api
    from nhs_league.analysis.variants import compare_methods as run
    from nhs_league.output import arrow, render

    p, ds = context(pack, data, store)
    q = api.resolve_quarter(ds, quarter, trust_type.value)
    c = run(ds, p, variant, quarter=q, trust_type=trust_type.value, mode=mode.value)
    moved = c.filter(
        (pl.col("places_up") != 0)
        | (pl.col("segments_up") != 0)
        | pl.col("league_rank_variant").is_null()
    )
    title = (
        f"{', '.join(variant)} against the published method, {trust_type.value}, {q}: "
        f"{moved.height} of {c.height} trusts move"
    )
    shown = moved if changed_only else c
    if fmt is Fmt.table:
        shown = pl.DataFrame(
            [
                shown["trust_code"].alias("Code"),
                shown["trust_name"].alias("Trust"),
                arrow(shown, "average_score_baseline", "average_score_variant", "Average"),
                arrow(shown, "adjusted_segment_baseline", "adjusted_segment_variant", "Segment"),
                arrow(shown, "league_rank_baseline", "league_rank_variant", "Rank"),
                shown["places_up"].alias("Places up"),
            ]
        )
    echo(render(shown, fmt.value, title=title))
