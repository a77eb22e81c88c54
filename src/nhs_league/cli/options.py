"""Options and helpers shared by the commands: parse, call the library, print."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from nhs_league.names import TrustType


class Mode(StrEnum):
    reproduce = "reproduce"
    strict = "strict"


class Fmt(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    md = "md"


TypeOpt = TrustType


class ExportFmt(StrEnum):
    csv = "csv"
    json = "json"
    parquet = "parquet"
    xlsx = "xlsx"


StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store",
        envvar="NHS_LEAGUE_STORE",
        help="DuckDB store file (default: in your user data directory).",
    ),
]
DataOpt = Annotated[
    list[Path] | None,
    typer.Option("--data", help="Work on these NHS England files directly, not the store."),
]
QuarterOpt = Annotated[
    str | None, typer.Option("--quarter", help='e.g. "Q1 2025/26" or Q1 (default: latest).')
]
ModeOpt = Annotated[
    Mode,
    typer.Option(
        "--mode",
        help="reproduce: match NHS England where a pool is incomplete; "
        "strict: everything from values.",
    ),
]
FmtOpt = Annotated[Fmt, typer.Option("--format", help="Output format.")]
PackOpt = Annotated[str, typer.Option("--pack", help="Method pack name or TOML file.")]
ReplicatesOpt = Annotated[
    int,
    typer.Option(
        "--replicates",
        min=0,
        max=1_000_000,
        help="Bootstrap replicates for the likely ranges (0: no ranges).",
    ),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed for the likely ranges.")]
VariantOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--variant",
        help="Method variant: no-override, within-type-pools, "
        "thresholds=2.0,2.5,3.0, exclude-specialist (repeatable).",
    ),
]
# The same as nhs_league.analysis.uncertainty.DEFAULT_SEED (a test checks), without importing
# NumPy just to print --help.
DEFAULT_SEED = 20250926


def echo(obj: Any) -> None:
    if isinstance(obj, str):
        sys.stdout.write(obj)
    else:
        from rich.console import Console

        Console(width=200 if not sys.stdout.isatty() else None).print(obj)


def ranges(a: Any, pack: Any, replicates: int, seed: int) -> Any:
    """Likely ranges, with a progress bar on stderr once a run has taken a second."""
    import time

    from nhs_league.analysis.uncertainty import likely_ranges

    started = time.perf_counter()
    state: dict[str, Any] = {}

    def progress(done: int, total: int) -> None:
        if "bar" not in state and time.perf_counter() - started > 1.0 and done < total:
            from rich.console import Console
            from rich.progress import Progress

            state["bar"] = Progress(console=Console(stderr=True), transient=True)
            state["bar"].start()
            state["task"] = state["bar"].add_task("likely ranges", total=total)
        if "bar" in state:
            state["bar"].update(state["task"], completed=done)

    try:
        return likely_ranges(a, pack, replicates=replicates, seed=seed, progress=progress)
    finally:
        if "bar" in state:
            state["bar"].stop()


def track(items: list[Any], label: str = "working") -> Any:
    """Iterate ``items`` with a progress bar on stderr when there are enough to take a while."""
    if len(items) < 20 or not sys.stderr.isatty():
        return items
    from rich.progress import track as rich_track

    return rich_track(items, description=label, transient=True, console=_stderr())


def _stderr() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def assess_for(
    ds: Any,
    p: Any,
    quarter: str | None,
    trust_type: str | None,
    mode: str,
    variants: list[str] | None,
) -> Any:
    from nhs_league import api

    if not variants:
        return api.assess_default(ds, p, quarter=quarter, trust_type=trust_type, mode=mode)
    from nhs_league.analysis.variants import assess_variants

    q = api.resolve_quarter(ds, quarter, trust_type)
    return assess_variants(ds, p, variants, quarter=q, mode=mode)


def context(pack_name: str, data: list[Path] | None, store: Path | None) -> tuple[Any, Any]:
    from nhs_league.api import open_dataset
    from nhs_league.methods.pack import load_pack

    pack = load_pack(pack_name)
    return pack, open_dataset(pack, data=data or (), store=store)
