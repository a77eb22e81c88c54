"""``serve``: the web dashboard and JSON API (issue 4)."""

from __future__ import annotations

from typing import Annotated

import typer

from nhs_league.cli.app import app
from nhs_league.cli.options import PackOpt, StoreOpt, echo


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    store: StoreOpt = None,
    pack: PackOpt = "nof-2025-26",
) -> None:
    """Serve the dashboard (league tables, trusts, metrics, compare, what-if, regions, method)
    and the JSON API under /api/v1/ (OpenAPI document at /api/v1/openapi.json).

    The store is read once, read-only, at start (a store that does not exist yet is first
    created and seeded from the bundled NHS England files); every quarter's results are
    computed before the first request. The server never writes.

    Example: nhs-league serve --port 8000, then open http://127.0.0.1:8000/league/acute
    """
    import uvicorn

    from nhs_league.methods.pack import load_pack
    from nhs_league.web.app import create_app

    web = create_app(store, pack=load_pack(pack))
    web.state.web.warm()
    echo(f"nhs-league: serving on http://{host}:{port}/ (Ctrl+C to stop)\n")
    # No access log: writing a line per request costs more than serving a league page.
    uvicorn.run(web, host=host, port=port, log_level="info", access_log=False, server_header=False)
