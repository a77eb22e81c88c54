"""Core commands: load, table, trust, metric, explain, verify, export."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from nhs_league.cli.app import app
from nhs_league.cli.options import (
    DEFAULT_SEED,
    DataOpt,
    ExportFmt,
    Fmt,
    FmtOpt,
    Mode,
    ModeOpt,
    PackOpt,
    QuarterOpt,
    ReplicatesOpt,
    SeedOpt,
    StoreOpt,
    TypeOpt,
    VariantOpt,
    assess_for,
    context,
    echo,
    ranges,
)


@app.command()
def load(
    files: Annotated[list[Path], typer.Argument(help="NHS England NOF CSV files.")],
    store: StoreOpt = None,
    quarter: Annotated[str | None, typer.Option(help="Quarter, for files that do not say.")] = None,
    pack: PackOpt = "nof-2025-26",
) -> None:
    """Load NHS England files into the store (each file in one transaction).

    Every file is read and checked before the store is opened: a bad file changes nothing.

    Example: nhs-league load nhs-oversight-framework-acute-trust-data.csv
    """
    from nhs_league.ingest.nhse_nof import read_file
    from nhs_league.methods.pack import load_pack
    from nhs_league.store import Store, default_store_path

    p = load_pack(pack)
    publications = [read_file(f, p, quarter=quarter) for f in files]
    with Store(store or default_store_path(), p) as st:
        for f, pub in zip(files, publications, strict=True):
            r = st.add(pub)
            covers = "; ".join(f"{q} {t}" for q, t in r.coverage)
            verb = f"loaded {r.rows} rows" if r.loaded else "already loaded (same content)"
            echo(f"{f}: {verb} [{covers}] sha256 {r.sha256[:12]}\n")


@app.command()
def table(
    quarter: QuarterOpt = None,
    trust_type: Annotated[TypeOpt, typer.Option("--type", help="Trust type.")] = TypeOpt.acute,
    region: Annotated[str | None, typer.Option(help='e.g. "North West".')] = None,
    subtype: Annotated[str | None, typer.Option(help='e.g. "Acute - Teaching".')] = None,
    icb: Annotated[
        str | None,
        typer.Option(help='Integrated care board: code (QE1) or name ("Cheshire and Merseyside").'),
    ] = None,
    top: Annotated[int | None, typer.Option(min=1, help="Only the first N rows.")] = None,
    fmt: FmtOpt = Fmt.table,
    mode: ModeOpt = Mode.reproduce,
    variant: VariantOpt = None,
    replicates: ReplicatesOpt = 10_000,
    seed: SeedOpt = DEFAULT_SEED,
    data: DataOpt = None,
    store: StoreOpt = None,
    pack: PackOpt = "nof-2025-26",
) -> None:
    """A league table: rank, segment, average score and likely ranges within one trust type.

    Example: nhs-league table --type acute --region "North West"
    """
    from nhs_league import api
    from nhs_league.output import render

    p, ds = context(pack, data, store)
    a = assess_for(ds, p, quarter, trust_type.value, mode.value, variant)
    t = api.league_table(a, p, trust_type.value, region=region, subtype=subtype, icb=icb, top=top)
    if replicates:
        t = t.join(
            ranges(a, p, replicates, seed), on="trust_code", how="left", maintain_order="left"
        )
    if fmt is Fmt.table:
        import polars as pl

        from nhs_league.engine.explain import segment_label

        shown = t.select(
            pl.col("rank").alias("Rank"),
            pl.col("trust_code").alias("Code"),
            pl.col("trust_name").alias("Trust"),
            *([] if region else [pl.col("region").alias("Region")]),
            pl.Series(
                "Segment",
                [segment_label(s, u) for s, u in t.select("segment", "unadjusted_segment").rows()],
                dtype=pl.String,
            ),
            pl.col("average_score").alias("Average"),
            *(
                [pl.format("{}–{}", "rank_low", "rank_high").alias("Likely rank")]
                if replicates
                else []
            ),
            pl.col("financial_deficit").alias("Deficit"),
            pl.col("final_segment").alias("Final"),
            pl.col("n_items").alias("Items"),
        )
        where = f", {t['region'][0]}" if region and t.height else ""
        where += f", {t['icb_name'][0]}" if icb and t.height else ""
        title = (
            f"{p.trust_type_labels[trust_type.value]} trusts, {a.quarter}{where}: "
            f"{t.height} shown of {a.of_type(trust_type.value).height}"
        )
        caption = (
            f"Rank: of all {trust_type.value} trusts in England. *: segment capped at 3 by the "
            f"financial override. Final: 5 = Recovery Support Programme. "
            + (
                f"Likely rank: 95% of {replicates:,} bootstrap replicates (seed {seed}). "
                if replicates
                else ""
            )
            + f"Mode: {a.mode}"
            + (f"; variant {', '.join(variant)}." if variant else ".")
        )
        echo(render(shown, "table", title=title, caption=caption))
    else:
        echo(render(t, fmt.value, title=f"{trust_type.value} {a.quarter}"))


@app.command()
def trust(
    query: Annotated[
        str, typer.Argument(help='Trust code (RBS) or part of its name ("alder hey").')
    ],
    quarter: QuarterOpt = None,
    fmt: FmtOpt = Fmt.table,
    mode: ModeOpt = Mode.reproduce,
    replicates: ReplicatesOpt = 10_000,
    seed: SeedOpt = DEFAULT_SEED,
    data: DataOpt = None,
    store: StoreOpt = None,
    pack: PackOpt = "nof-2025-26",
) -> None:
    """One trust: segment, rank of N, average with its likely range, domains, every metric
    explained, and what it would take to move up a segment.

    Example: nhs-league trust "alder hey"
    """
    import polars as pl

    from nhs_league import api
    from nhs_league.engine.pipeline import assess
    from nhs_league.output import render, to_json

    p, ds = context(pack, data, store)
    code, q = api.trust_quarter(ds, query, quarter)
    a = assess(ds, p, quarter=q, mode=mode.value)
    prof = api.trust_profile(a, p, code)
    if replicates:
        r = ranges(a, p, replicates, seed).filter(pl.col("trust_code") == code)
        prof["likely_range"] = r.drop("trust_code").row(0, named=True)
    prof["improvement"] = api.improvement_summary(a, p, code)
    if fmt is Fmt.json:
        echo(to_json(prof))
        return
    metrics = pl.DataFrame(prof["metrics"]).select(
        "metric_id", "name", "value", "units", "score", "explanation"
    )
    if fmt is not Fmt.table:
        echo(render(metrics, fmt.value))
        return
    seg = str(prof["segment"])
    if prof["segment"] != prof["unadjusted_segment"]:
        seg += f" (unadjusted {prof['unadjusted_segment']}; capped by the financial override)"
    if prof["final_segment"] != prof["segment"]:
        seg += f"; final segment {prof['final_segment']} (Recovery Support Programme)"
    lines = [
        f"{prof['trust_name']} ({code})",
        f"{p.trust_type_labels[prof['trust_type']]}, {prof['subtype']}, {prof['region']}; "
        f"{prof['quarter']}",
        f"Segment {seg}",
        f"Rank {prof['league_rank']} of {prof['league_size']}; average metric score "
        f"{prof['average_score']:.2f} over {prof['n_items']} items",
        f"Financial deficit: {'yes' if prof['financial_deficit'] else 'no'}; Recovery Support "
        "Programme: "
        + {True: "yes", False: "no", None: "not published"}[prof["intensive_support"]],
        "Domains: "
        + "; ".join(f"{k} {v:.2f}" for k, v in prof["domains"].items() if v is not None),
    ]
    if "likely_range" in prof:
        lr = prof["likely_range"]
        lines.insert(
            4,
            (
                f"Likely range: average {lr['score_low']:.2f}–{lr['score_high']:.2f}, rank "
                f"{lr['rank_low']}–{lr['rank_high']}; chance of segment 1/2/3/4: "
                + " / ".join(f"{lr[f'p_segment_{k}']:.0%}" for k in (1, 2, 3, 4))
            ),
        )
    lines.append(prof["improvement"]["summary"])
    lines += [f"  - {step}" for step in prof["improvement"]["steps"]]
    echo("\n".join(lines) + "\n")
    echo(render(metrics, "table"))


@app.command()
def metric(
    metric_id: Annotated[str, typer.Argument(help="OF0013 (value) or OF1013 (score).")],
    trust_type: Annotated[TypeOpt, typer.Option("--type", help="Trust type.")] = TypeOpt.acute,
    quarter: QuarterOpt = None,
    top: Annotated[int | None, typer.Option(min=1, help="Only the first N rows.")] = None,
    fmt: FmtOpt = Fmt.table,
    mode: ModeOpt = Mode.reproduce,
    data: DataOpt = None,
    store: StoreOpt = None,
    pack: PackOpt = "nof-2025-26",
) -> None:
    """Individual metric ranking: every trust of a type on one metric.

    Example: nhs-league metric OF0013 --type acute --top 10
    """
    from nhs_league import api
    from nhs_league.output import render

    p, ds = context(pack, data, store)
    m = p.metric(metric_id.upper())
    a = api.assess_default(ds, p, quarter=quarter, trust_type=trust_type.value, mode=mode.value)
    t = api.metric_ranking(a, p, m.score_id, trust_type.value)
    if top:
        t = t.head(top)
    echo(
        render(
            t, fmt.value, title=f"{m.id} {m.name}, {trust_type.value}, {a.quarter}", caption=m.help
        )
    )


@app.command()
def explain(
    query: Annotated[str, typer.Argument(help="Trust code or part of its name.")],
    metric_id: Annotated[str, typer.Argument(help="OF0013 or OF1013.")],
    quarter: QuarterOpt = None,
    mode: ModeOpt = Mode.reproduce,
    data: DataOpt = None,
    store: StoreOpt = None,
    pack: PackOpt = "nof-2025-26",
) -> None:
    """The arithmetic behind one metric score, in one sentence.

    Example: nhs-league explain RBS OF0013
    """

    from nhs_league import api
    from nhs_league.engine.pipeline import assess

    p, ds = context(pack, data, store)
    code, q = api.trust_quarter(ds, query, quarter)
    a = assess(ds, p, quarter=q, mode=mode.value)
    echo(api.explain(a, p, code, metric_id.upper()) + "\n")


@app.command()
def verify(
    data: DataOpt = None,
    quarter: QuarterOpt = None,
    mode: ModeOpt = Mode.reproduce,
    fmt: Annotated[Fmt, typer.Option("--format", help="table or json.")] = Fmt.table,
    check: Annotated[
        bool, typer.Option("--check", help="Exit with status 1 if any mismatch is unexplained.")
    ] = False,
    store: StoreOpt = None,
    pack: PackOpt = "nof-2025-26",
) -> None:
    """Recompute and compare every published cell: matched, total, largest difference, reasons.

    Example: nhs-league verify --mode strict --format json
    """
    import polars as pl

    from nhs_league import api
    from nhs_league.engine.verify import verify as run_verify
    from nhs_league.output import to_json

    p, ds = context(pack, data, store)
    quarters = [api.resolve_quarter(ds, quarter)] if quarter else None
    report = run_verify(ds, p, mode=mode.value, quarters=quarters)
    if fmt is Fmt.json:
        echo(to_json(report.as_dict()))
    else:
        _print_verify(report)
    unexplained = report.mismatches.filter(pl.col("reason") == "unexplained").height
    if check and unexplained:
        sys.stderr.write(f"verify: {unexplained} unexplained mismatches\n")
        raise typer.Exit(1)


MAX_LISTED = 30  # mismatches listed one by one in the table output; --format json has them all


def _print_verify(report: Any) -> None:
    import polars as pl

    from nhs_league.output import render

    q = pl.DataFrame([{"quantity": k, **v.as_dict()} for k, v in report.quantities.items()])
    m = pl.DataFrame([{"metric": k, **v.as_dict()} for k, v in sorted(report.metrics.items())])
    echo(render(q, "table", title=f"verify ({report.mode}): {', '.join(report.quarters)}"))
    echo(render(m, "table", title="metric scores (pools complete in the loaded files)"))
    mm = report.mismatches
    if mm.height:
        why = mm.group_by("quantity", "reason").len("cells").sort("quantity", "reason")
        echo(render(why, "table", title=f"why {mm.height} cells differ"))
    if 0 < mm.height <= MAX_LISTED:
        cols = ["quarter", "trust_code", "quantity", "metric_id", "computed", "published"]
        echo(render(mm.select(*cols), "table", title="the cells"))
    elif mm.height:
        echo(f"{mm.height} cells differ; --format json lists every one\n")
    for note in report.notes:
        echo(f"note: {note}\n")


@app.command()
def export(
    fmt: Annotated[ExportFmt, typer.Option("--format", help="File format.")],
    out: Annotated[Path, typer.Option("--out", help="Output file (json, xlsx) or folder.")],
    quarter: QuarterOpt = None,
    mode: ModeOpt = Mode.reproduce,
    replicates: ReplicatesOpt = 10_000,
    seed: SeedOpt = DEFAULT_SEED,
    data: DataOpt = None,
    store: StoreOpt = None,
    pack: PackOpt = "nof-2025-26",
) -> None:
    """Export league tables (with likely ranges), metric scores with provenance, and a data
    dictionary, for one quarter (default: the latest loaded).

    Example: nhs-league export --format xlsx --out nof-q1.xlsx
    """
    from nhs_league import api
    from nhs_league.export import export as run_export

    p, ds = context(pack, data, store)
    a = api.assess_default(ds, p, quarter=quarter, mode=mode.value)
    likely = ranges(a, p, replicates, seed) if replicates else None
    written = run_export(a, p, fmt.value, out, likely)
    for w in written:
        echo(f"wrote {w}\n")
    others = [q for q in ds.quarters if q != a.quarter]
    echo(
        f"quarter {a.quarter} ({', '.join(a.loaded_types)} trusts)"
        + (f"; also loaded: {', '.join(others)} (use --quarter)" if others else "")
        + "\n"
    )
