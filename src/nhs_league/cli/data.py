"""``fetch`` and ``changes``: new publications from NHS England and what a correction changed.

Thin, like :mod:`nhs_league.cli.core`: parse, call :mod:`nhs_league.fetch` or
:mod:`nhs_league.changes`, print. A fetch downloads and checks every file before it opens the
store, so a failed fetch leaves the store exactly as it was.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from nhs_league.cli.app import app
from nhs_league.cli.options import Fmt, FmtOpt, Mode, ModeOpt, PackOpt, StoreOpt, TypeOpt, echo


@app.command()
def fetch(
    quarter: Annotated[
        str | None,
        typer.Option(
            "--quarter",
            help='Only the files the page lists under this quarter ("Q3 2025/26"; '
            "Q3: the latest Q3).",
        ),
    ] = None,
    source_url: Annotated[
        str | None,
        typer.Option(
            "--source-url",
            help="The publication page to read (default: NHS England's \"NHS Oversight "
            'Framework – NHS trust performance league tables: process and results").',
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the files that would be fetched; load none.")
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=0.01, help="Seconds to wait to connect and for each read.")
    ] = 60.0,
    retries: Annotated[
        int, typer.Option(min=0, max=10, help="Retries after a server error or a failed download.")
    ] = 3,
    backoff: Annotated[
        float, typer.Option(min=0.0, help="Seconds before the first retry, doubled each time.")
    ] = 1.0,
    store: StoreOpt = None,
    pack: PackOpt = "nof-2025-26",
) -> None:
    """Download NHS England's NOF CSV files from its publication page, check them and load them.

    All or nothing: a download that fails (an HTTP error, a timeout, a file cut short, an HTML
    page instead of a CSV file, a file that does not read) loads nothing. A corrected file
    ("-v2") supersedes the first issue; the store keeps both (see nhs-league changes).

    Example: nhs-league fetch --quarter "Q3 2025/26"
    """
    from nhs_league import fetch as fe
    from nhs_league.methods.pack import load_pack
    from nhs_league.store import Store, default_store_path

    p = load_pack(pack)
    options = fe.Options(timeout=timeout, retries=retries, backoff=backoff)
    with fe.session(options) as client:
        links = fe.plan(client, source_url or fe.DEFAULT_PAGE, quarter=quarter, options=options)
        if dry_run:
            _print_links(links)
            return
        with _progress() as progress:
            fetched = fe.download(client, links, p, options=options, progress=progress)
    with Store(store or default_store_path(), p) as st:
        results = fe.load(st, fetched)
    for f, r in zip(fetched, results, strict=True):
        covers = "; ".join(f"{q} {t}" for q, t in r.coverage)
        verb = f"loaded {r.rows} rows" if r.loaded else "already loaded (same content)"
        echo(f"{r.name}: {verb} [{covers}] sha256 {r.sha256[:12]} from {f.link.url}\n")


def _print_links(links: list[Any]) -> None:
    import polars as pl

    from nhs_league.output import render

    frame = pl.DataFrame(
        {
            "quarter": [link.quarter for link in links],
            "trust_type": [link.trust_type for link in links],
            "kind": [link.kind for link in links],
            "version": [link.version for link in links],
            "url": [link.url for link in links],
        },
        schema={
            "quarter": pl.String,
            "trust_type": pl.String,
            "kind": pl.String,
            "version": pl.Int64,
            "url": pl.String,
        },
    )
    echo(render(frame, "table", title=f"{len(links)} files would be fetched (dry run)"))


@contextmanager
def _progress() -> Iterator[Any]:
    """A download progress callback: a bar per file on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )

    tasks: dict[str, Any] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:

        def update(url: str, done: int, total: int | None) -> None:
            if url not in tasks:
                tasks[url] = bar.add_task(url.rsplit("/", 1)[-1], total=total)
            bar.update(tasks[url], completed=done, total=total)

        yield update


@app.command()
def changes(
    quarter: Annotated[str, typer.Option("--quarter", help='e.g. "Q3 2025/26" or Q3.')],
    trust_type: Annotated[
        TypeOpt | None, typer.Option("--type", help="Only corrections of this trust type.")
    ] = None,
    fmt: FmtOpt = Fmt.table,
    positions: Annotated[
        bool,
        typer.Option(
            "--positions",
            help="Only the league positions that moved (csv and md show the cells otherwise).",
        ),
    ] = False,
    mode: ModeOpt = Mode.reproduce,
    store: StoreOpt = None,
    pack: PackOpt = "nof-2025-26",
) -> None:
    """What each loaded correction changed in a quarter: every cell, and every league position
    (average, segment, rank) that moved because of it.

    Example: nhs-league changes --quarter "Q3 2025/26"
    """
    from nhs_league import api
    from nhs_league.changes import corrections
    from nhs_league.methods.pack import load_pack
    from nhs_league.output import to_json
    from nhs_league.store import Store, dataset_of, default_store_path

    p = load_pack(pack)
    with Store(store or default_store_path(), p) as st:
        files = st.stored_files()
    q = api.resolve_quarter(dataset_of(files), quarter)
    kind = trust_type.value if trust_type else None
    found = corrections(files, p, q, trust_type=kind, mode=mode.value)
    if fmt is Fmt.json:
        echo(to_json({"quarter": q, "corrections": [c.as_dict() for c in found]}))
    elif not found:
        echo(f"no corrections loaded for {q}" + (f" ({kind} trusts)" if kind else "") + "\n")
    elif fmt is Fmt.table:
        _print_corrections(found, positions)
    else:
        _print_frame(found, fmt.value, positions)


def _describe(c: Any) -> str:
    def ref(f: Any) -> str:
        url = f" from {f.provenance.source_url}" if f.provenance.source_url else ""
        return f"{f.publication.name} (sha256 {f.publication.sha256[:12]}{url})"

    return f"{c.quarter}, {', '.join(c.release.trust_types)}: {ref(c.new)} supersedes {ref(c.old)}"


def _print_corrections(found: list[Any], positions: bool) -> None:
    from nhs_league.output import render

    for c in found:
        echo(_describe(c) + "\n")
        if not positions:
            title = f"Cells changed ({c.cells.height})"
            cells = c.cells.drop("quarter")
            echo(render(cells, "table", title=title) if c.cells.height else f"{title}\n")
        title = f"League positions that moved ({c.moves.height})"
        echo(render(c.moves, "table", title=title) if c.moves.height else f"{title}\n")


def _print_frame(found: list[Any], fmt: str, positions: bool) -> None:
    import polars as pl

    from nhs_league.output import render

    frames = [
        (c.moves if positions else c.cells).with_columns(
            pl.lit(c.new.publication.name).alias("file"),
            pl.lit(c.old.publication.name).alias("supersedes"),
        )
        for c in found
    ]
    echo(render(pl.concat(frames), fmt))
