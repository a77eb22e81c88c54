"""The HTML pages: each builds the same context as its ``/api/v1/`` twin and renders it.

Every page works without JavaScript: filters and sorting are query parameters of plain GET
forms and links, and every chart has its data in a table beside it.

The home and league pages are ``async``: their results are memoised (``WebState.warm``), so they
take a few milliseconds of CPU, less than a hop to the thread pool and back. Pages that can
compute for longer (what-if, compare, a first improvement path) stay plain functions and run
in the thread pool, so they never hold up the event loop.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from markupsafe import Markup
from starlette.responses import HTMLResponse, RedirectResponse, Response

from nhs_league.web import charts, downloads
from nhs_league.web.deps import (
    CodesQuery,
    Filters,
    Pages,
    RegionPath,
    SetQuery,
    State,
    TypeQuery,
    cached,
)
from nhs_league.web.errors import WebError
from nhs_league.web.models import LeagueContext
from nhs_league.web.pages import compare, home, league, method, metric, trust, whatif
from nhs_league.web.pages import region as region_page
from nhs_league.web.pages.league_base import league_base
from nhs_league.web.pages.whatif import split_set
from nhs_league.web.params import (
    CodePath,
    MetricPath,
    QuarterQuery,
    TrustTypeParam,
    TrustTypePath,
    YesNo,
)
from nhs_league.web.render import Renderer, url
from nhs_league.web.state import WebState

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def home_page(
    request: Request, s: State, r: Pages, quarter: QuarterQuery = None, trust_type: TypeQuery = None
) -> Response:
    def make() -> Response:
        ctx = home.build(s, quarter, trust_type.value if trust_type else None)
        return r.page(
            "home.html",
            ctx,
            title="NHS trust league tables",
            path=request.url.path,
            charts={"distribution": charts.distribution(ctx.distribution)},
            api=url("/api/v1/home", quarter=quarter, trust_type=trust_type),
        )

    return cached(request, s, make)


@router.get("/league")
async def league_choice(
    trust_type: Annotated[TrustTypeParam, Query()] = TrustTypeParam.acute,
    quarter: QuarterQuery = None,
    region: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """The home page's form: on to the chosen type's league table (a form cannot set a path)."""
    return RedirectResponse(
        url(f"/league/{trust_type.value}", quarter=quarter, region=region), status_code=303
    )


def _query(request: Request) -> str:
    return f"?{request.url.query}" if request.url.query else ""


@router.get("/league/{trust_type}.csv")
async def league_csv(
    s: State, trust_type: TrustTypePath, f: Filters, quarter: QuarterQuery = None
) -> Response:
    ctx = league.build(s, trust_type.value, quarter, f)
    return Response(
        downloads.to_csv(ctx),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{downloads.filename(ctx, "csv")}"'},
    )


@router.get("/league/{trust_type}.xlsx")
def league_xlsx(
    s: State, trust_type: TrustTypePath, f: Filters, quarter: QuarterQuery = None
) -> Response:
    ctx = league.build(s, trust_type.value, quarter, f)
    name = downloads.filename(ctx, "xlsx")
    return Response(
        downloads.to_xlsx(ctx),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


@router.get("/league/{trust_type}", response_class=HTMLResponse)
async def league_page(
    request: Request,
    s: State,
    r: Pages,
    trust_type: TrustTypePath,
    f: Filters,
    quarter: QuarterQuery = None,
) -> Response:
    def make() -> Response:
        ctx = league.build(s, trust_type.value, quarter, f)
        return r.page(
            "league.html",
            ctx,
            title=f"{ctx.label} trusts, {ctx.quarter}",
            path=request.url.path,
            api=f"/api/v1/league/{ctx.trust_type}{_query(request)}",
            rows_html=league_rows(s, r, ctx),
        )

    return cached(request, s, make)


def league_rows(s: WebState, r: Renderer, ctx: LeagueContext) -> dict[str, Markup]:
    """The markup of each row of the league table (``league_row.html``) by trust code.

    Rendering the rows was most of the page's cost, yet a row's markup depends only on the
    row, its quarter and whether the region column shows (not while a region is chosen), so
    each is rendered once per (quarter, type, region column), for every trust of the type,
    and kept; a page takes the rows it shows."""
    show_region = not ctx.filters.region

    def render() -> dict[str, Markup]:
        row = r.macro("league_row.html", "league_row")
        base = league_base(s, ctx.quarter, ctx.trust_type)
        return {
            x.trust_code: row(x, ctx.quarter, ctx.previous_quarter, ctx.has_icb, show_region)
            for x in base.rows
        }

    rows: dict[str, Markup] = s.derived.get(
        ("league-rows", ctx.quarter, ctx.trust_type, show_region), render
    )
    return rows


@router.get("/trust/{code}", response_class=HTMLResponse)
def trust_page(
    request: Request, s: State, r: Pages, code: CodePath, quarter: QuarterQuery = None
) -> Response:
    ctx = trust.build(s, code, quarter)
    return r.page(
        "trust.html",
        ctx,
        title=ctx.trust.trust_name,
        path=request.url.path,
        charts={"peers": charts.peers(ctx), "history": charts.history(ctx)},
        api=url(f"/api/v1/trusts/{ctx.trust.trust_code}", quarter=quarter),
    )


@router.get("/metric/{metric_id}", response_class=HTMLResponse)
def metric_page(
    request: Request,
    s: State,
    r: Pages,
    metric_id: MetricPath,
    trust_type: TypeQuery = None,
    quarter: QuarterQuery = None,
) -> Response:
    ctx = metric.build(s, metric_id, trust_type.value if trust_type else None, quarter)
    return r.page(
        "metric.html",
        ctx,
        title=f"{ctx.metric.metric_id} {ctx.metric.name}",
        path=request.url.path,
        charts={"metric": charts.metric(ctx)},
        api=url(
            f"/api/v1/metrics/{ctx.metric.metric_id}", trust_type=ctx.trust_type, quarter=quarter
        ),
    )


@router.get("/compare", response_class=HTMLResponse)
def compare_page(
    request: Request, s: State, r: Pages, codes: CodesQuery, quarter: QuarterQuery = None
) -> Response:
    given = compare.wanted(codes)
    ctx = compare.build(s, given, quarter) if given else None
    return r.page(
        "compare.html",
        ctx,
        title="Compare trusts",
        path=request.url.path,
        charts={"compare": charts.compare(ctx) if ctx else None},
        given=given,
        trusts=sorted(s.names.items(), key=lambda kv: kv[1]),
        api=url("/api/v1/compare", codes=given, quarter=quarter) if ctx else None,
    )


@router.get("/whatif/{code}", response_class=HTMLResponse)
def whatif_page(
    request: Request,
    s: State,
    r: Pages,
    code: CodePath,
    changes: SetQuery,
    deficit: YesNo | None = None,
    quarter: QuarterQuery = None,
) -> Response:
    """The form posts by GET (it never writes): one field per value, named by its metric id."""
    named = [(k, v) for k, v in request.query_params.multi_items() if s.pack.has_metric(k.upper())]
    pairs: list[tuple[str, str | None]] = [*named, *split_set(changes)]
    flag = deficit.value if deficit else None
    try:
        ctx, errors, status = whatif.build(s, code, quarter, pairs, flag), [], 200
    except WebError as exc:
        if exc.body.code != "invalid_whatif":
            raise
        ctx = whatif.build(s, code, quarter, [], None).model_copy(update={"deficit": flag})
        errors, status = exc.body.fields, 422
    return r.page(
        "whatif.html",
        ctx,
        title=f"What if: {ctx.trust_name}",
        path=request.url.path,
        status=status,
        errors=errors,
        submitted={k.upper(): v for k, v in named},
        api=url(
            f"/api/v1/whatif/{ctx.trust_code}",
            quarter=quarter,
            deficit=flag,
            set=[f"{i.metric_id}={i.value:g}" for i in ctx.inputs if i.changed],
        ),
    )


@router.get("/region/{region}", response_class=HTMLResponse)
def region_page_route(
    request: Request, s: State, r: Pages, region: RegionPath, quarter: QuarterQuery = None
) -> Response:
    ctx = region_page.build(s, region, quarter)
    return r.page(
        "region.html",
        ctx,
        title=f"Trusts in {region_page.place(ctx.region)}",
        path=request.url.path,
        api=url(f"/api/v1/regions/{ctx.slug}", quarter=quarter),
        place=region_page.place(ctx.region),
    )


@router.get("/method", response_class=HTMLResponse)
def method_page(request: Request, s: State, r: Pages) -> Response:
    ctx = method.build(s)
    return r.page(
        "method.html", ctx, title="The method", path=request.url.path, api="/api/v1/method"
    )
