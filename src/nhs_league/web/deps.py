"""Dependencies shared by the page routes and the API routes: the app's state, and the
parameters of each page, declared once so the HTML and JSON twins accept exactly the same.

They are ``async`` because they do no I/O and almost no work: FastAPI runs a plain ``def``
dependency in the thread pool, and three thread hops cost more than the league page itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from pydantic import BaseModel, StringConstraints
from starlette.responses import Response

from nhs_league.web.models import LeagueFilters
from nhs_league.web.pages import league
from nhs_league.web.params import (
    EXAMPLE_VALUE_ID,
    MAX_CHANGES,
    MAX_TEXT,
    Order,
    SortKey,
    TrustTypeParam,
)
from nhs_league.web.render import Renderer
from nhs_league.web.state import WebState


async def get_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


async def get_renderer(request: Request) -> Renderer:
    renderer: Renderer = request.app.state.renderer
    return renderer


State = Annotated[WebState, Depends(get_state)]
Pages = Annotated[Renderer, Depends(get_renderer)]


async def league_filters(
    region: Annotated[
        str | None, Query(max_length=MAX_TEXT, description="Region name or slug (north-west).")
    ] = None,
    subtype: Annotated[
        str | None, Query(max_length=MAX_TEXT, description='e.g. "Acute - Teaching".')
    ] = None,
    segment: Annotated[int | None, Query(ge=1, le=4, description="Segment 1 to 4.")] = None,
    icb: Annotated[str | None, Query(max_length=MAX_TEXT, description="ICB code or name.")] = None,
    q: Annotated[
        str | None, Query(max_length=MAX_TEXT, description="Search: part of a name, or a code.")
    ] = None,
    sort: Annotated[SortKey, Query(description="Sort by this column.")] = SortKey.rank,
    order: Annotated[Order, Query(description="asc or desc.")] = Order.asc,
) -> LeagueFilters:
    return league.filters(region, subtype, segment, icb, q, sort, order)


Filters = Annotated[LeagueFilters, Depends(league_filters)]
TypeQuery = Annotated[
    TrustTypeParam | None, Query(description="Trust type (default: the first loaded).")
]
CodesQuery = Annotated[
    list[Annotated[str, StringConstraints(max_length=MAX_TEXT)]],
    Query(
        default_factory=list,
        description="1 to 4 trust codes (or names matching one trust), repeated.",
        examples=[["RBS", "REN"]],
    ),
]
SetQuery = Annotated[
    list[Annotated[str, StringConstraints(max_length=40)]],
    Query(
        default_factory=list,
        alias="set",
        description=f"METRIC=VALUE, e.g. OF0013=80 (repeatable, at most {MAX_CHANGES}).",
        examples=[[f"{EXAMPLE_VALUE_ID}=80"]],
    ),
]
RegionPath = Annotated[
    str,
    Path(
        max_length=MAX_TEXT,
        description="Region name or slug, e.g. north-west.",
        examples=["north-west", "London"],
    ),
]


def json_response(model: BaseModel) -> Response:
    return Response(model.model_dump_json(), media_type="application/json")


def cached(request: Request, state: WebState, make: Callable[[], Response]) -> Response:
    """``make()``'s response, kept by path and query string: the same address always gets the
    same bytes while the app runs. Only successful responses are kept."""
    key = (request.url.path, request.url.query)
    hit = state.responses.get(key)
    if hit is not None:
        return Response(hit[1], media_type=hit[0])
    response = make()
    if response.status_code == 200 and response.media_type:
        state.responses.put(key, (response.media_type, bytes(response.body)))
    return response
