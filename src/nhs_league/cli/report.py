"""``report``: regional (or ICB) and trust board reports, as Markdown or self-contained HTML.

Thin, like :mod:`nhs_league.cli.core`: parse, call :mod:`nhs_league.report`, write.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from nhs_league.cli.app import app
from nhs_league.cli.options import (
    DEFAULT_SEED,
    DataOpt,
    Mode,
    ModeOpt,
    PackOpt,
    QuarterOpt,
    SeedOpt,
    StoreOpt,
    TypeOpt,
    context,
    echo,
    ranges,
)
from nhs_league.errors import NhsLeagueError


class ReportFmt(StrEnum):
    md = "md"
    html = "html"


def _usage(problem: str, found: str, expected: str) -> NhsLeagueError:
    from nhs_league.errors import ValueFormatError

    return ValueFormatError("report", problem, found=found, expected=expected)


def _check_choice(region: str | None, icb: str | None, trust: str | None) -> None:
    given = [f"--{n}" for n, v in (("region", region), ("icb", icb), ("trust", trust)) if v]
    if len(given) != 1:
        raise _usage(
            "say what to report on",
            ", ".join(given) or "none",
            'exactly one of --region "North West", --icb QE1 or --trust RBS',
        )


def _check_output(output: Path | None, fmt: ReportFmt) -> None:
    if output is not None and output.suffix.lower() in (".svg", ".png"):
        raise _usage("the output file is the report, not its chart", str(output), f"FILE.{fmt}")


@app.command()
def report(
    region: Annotated[
        str | None, typer.Option(help='NHS England region, e.g. "North West".')
    ] = None,
    icb: Annotated[
        str | None, typer.Option(help="Integrated care board: code (QE1) or part of its name.")
    ] = None,
    trust: Annotated[
        str | None, typer.Option(help="A two-page board report on one trust: code or name.")
    ] = None,
    trust_type: Annotated[
        TypeOpt | None,
        typer.Option("--type", help="Trust type (region/ICB reports; default acute)."),
    ] = None,
    quarter: QuarterOpt = None,
    fmt: Annotated[ReportFmt, typer.Option("--format", help="md or html.")] = ReportFmt.md,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            help="Write here (a Markdown report's chart goes beside it as .svg and .png); "
            "default: print the report.",
        ),
    ] = None,
    mode: ModeOpt = Mode.reproduce,
    seed: SeedOpt = DEFAULT_SEED,
    replicates: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="Bootstrap replicates for the likely ranges.")
    ] = 10_000,
    data: DataOpt = None,
    store: StoreOpt = None,
    pack: PackOpt = "nof-2025-26",
) -> None:
    """A report on a region's (or an ICB's) trusts, or a two-page board report on one trust.

    Example: nhs-league report --region "North West" --type acute --format html --output nw.html
    """
    _check_choice(region, icb, trust)
    _check_output(output, fmt)
    p, ds = context(pack, data, store)
    opts = {"quarter": quarter, "mode": mode.value, "replicates": replicates, "seed": seed}
    if trust:
        written = _board(p, ds, trust, trust_type, fmt.value, output, opts)
    else:
        ttype = (trust_type or TypeOpt.acute).value
        written = _regional(p, ds, region, icb, ttype, fmt.value, output, opts)
    _print(written)


def _likely(a: Any, p: Any, opts: dict[str, Any]) -> Any:
    from nhs_league.report.model import RangesMeta

    frame = ranges(a, p, opts["replicates"], opts["seed"])
    return RangesMeta(frame, opts["replicates"], opts["seed"])


def _regional(p: Any, ds: Any, region: str | None, icb: str | None, ttype: str, fmt: str,
              output: Path | None, opts: dict[str, Any]) -> Any:  # fmt: skip
    from nhs_league import api
    from nhs_league.report import output as out
    from nhs_league.report import regional
    from nhs_league.report.areas import Where

    a = api.assess_default(ds, p, quarter=opts["quarter"], trust_type=ttype, mode=opts["mode"])
    rep = regional.build(ds, a, p, ttype, Where(region=region, icb=icb), _likely(a, p, opts))
    return out.regional(rep, fmt, output)


def _board(p: Any, ds: Any, query: str, ttype: TypeOpt | None, fmt: str, output: Path | None,
           opts: dict[str, Any]) -> Any:  # fmt: skip
    from nhs_league import api
    from nhs_league.engine.pipeline import assess
    from nhs_league.report import board
    from nhs_league.report import output as out

    code, q = api.trust_quarter(ds, query, opts["quarter"])
    a = assess(ds, p, quarter=q, mode=opts["mode"])
    own = a.table.filter(a.table["trust_code"] == code)["trust_type"].to_list()
    if ttype is not None and own and own[0] != ttype.value:
        raise _usage("--type does not match the trust", ttype.value, f"{own[0]} (or no --type)")
    return out.board(board.build(ds, a, p, code, _likely(a, p, opts)), fmt, output)


def _print(written: Any) -> None:
    if written.text is not None:
        echo(written.text)
    for f in written.files:
        echo(f"wrote {f}\n")
    for note in written.notes:
        sys.stderr.write(f"note: {note}\n")
