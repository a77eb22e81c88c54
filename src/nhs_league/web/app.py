"""The app factory: ``create_app(store)`` or ``create_app(data=dataset)``.

The dataset is loaded once, here, and kept in memory; the store is opened read-only and closed
again at once, so the server never holds it (another process can ``nhs-league load`` meanwhile;
a restart picks the new data up). Nothing the app serves writes anywhere.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.staticfiles import StaticFiles

from nhs_league import __version__
from nhs_league.dataset import Dataset
from nhs_league.errors import NhsLeagueError
from nhs_league.methods.pack import Pack, load_pack
from nhs_league.web import routes_api, routes_pages
from nhs_league.web.errors import ErrorEnvelope, WebError, to_web_error
from nhs_league.web.render import Renderer
from nhs_league.web.security import ErrorRenderer, SecurityMiddleware
from nhs_league.web.state import WebState

_TITLES = {
    404: "Page not found",
    405: "Method not allowed",
    414: "Address too long",
    422: "There is a problem with the request",
    500: "Sorry, there is a problem with the service",
}


def load_store(path: Path, pack: Pack) -> Dataset:
    """The store's dataset, read-only. A store that does not exist yet is created and seeded
    from the bundled files once (read-write), then reopened read-only."""
    from nhs_league.store import Store

    if not path.exists():
        Store(path, pack).close()
    with Store(path, pack, read_only=True) as st:
        return st.dataset()


def error_renderer(renderer: Renderer) -> ErrorRenderer:
    def render(path: str, err: WebError) -> Response:
        if path.startswith(routes_api.PREFIX):
            body = ErrorEnvelope(error=err.body).model_dump()
            return JSONResponse(body, status_code=err.status)
        title = _TITLES.get(err.status, "There is a problem")
        return renderer.page(
            "error.html", err.body, title=title, path=path, status=err.status, heading=title
        )

    return render


def create_app(
    store: Path | None = None, *, data: Dataset | None = None, pack: Pack | None = None
) -> FastAPI:
    """The dashboard and JSON API over ``data``, or else over the store at ``store`` (default:
    the CLI's default store)."""
    pack = pack or load_pack()
    if data is None:
        from nhs_league.store import default_store_path

        data = load_store(Path(store or default_store_path()), pack)
    app = FastAPI(
        title="nhs-league JSON API",
        version=__version__,
        description="NHS Oversight Framework 2025/26 league tables, recomputed from NHS "
        "England's published files by an independent reproduction (not an official NHS "
        "England product). Contains public sector information licensed under the Open "
        "Government Licence v3.0.",
        openapi_url=f"{routes_api.PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    renderer = Renderer()
    app.state.web = WebState(data, pack)
    app.state.renderer = renderer
    on_error = error_renderer(renderer)

    def handle(request: Request, exc: Exception) -> Response:
        return on_error(request.url.path, to_web_error(exc))

    for kind in (WebError, NhsLeagueError, RequestValidationError, StarletteHTTPException):
        app.add_exception_handler(kind, handle)
    app.add_middleware(SecurityMiddleware, on_error=on_error)
    static = Path(str(resources.files("nhs_league.web").joinpath("static")))
    app.mount("/static", StaticFiles(directory=static), name="static")
    app.include_router(routes_api.router)
    app.include_router(routes_pages.router)
    return app
