"""The JSON API, ``/api/v1/``: each route returns the context its page renders.

``async`` routes are the memoised, millisecond ones (see :mod:`nhs_league.web.routes_pages`).

Only these routes are in the OpenAPI document (``/api/v1/openapi.json``); every error they
document is the one envelope of :mod:`nhs_league.web.errors`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.responses import Response

from nhs_league.web.deps import (
    CodesQuery,
    Filters,
    RegionPath,
    SetQuery,
    State,
    TypeQuery,
    cached,
    json_response,
)
from nhs_league.web.errors import API_ERRORS
from nhs_league.web.models import HomeContext, LeagueContext, RegionContext
from nhs_league.web.models_detail import (
    CompareContext,
    MetricContext,
    TrustContext,
    WhatIfContext,
)
from nhs_league.web.pages import compare, home, league, method, metric, trust, whatif
from nhs_league.web.pages import region as region_page
from nhs_league.web.pages.whatif import split_set
from nhs_league.web.params import CodePath, MetricPath, QuarterQuery, TrustTypePath, YesNo

PREFIX = "/api/v1"
router = APIRouter(prefix=PREFIX, responses=API_ERRORS, tags=["NHS Oversight Framework"])


class TrustEntry(BaseModel):
    trust_code: str
    trust_name: str
    trust_type: str
    quarters: list[str]


@router.get(
    "/home",
    response_model=HomeContext,
    summary="National segment counts and the distribution of averages",
)
async def api_home(
    request: Request, s: State, quarter: QuarterQuery = None, trust_type: TypeQuery = None
) -> Response:
    t = trust_type.value if trust_type else None
    return cached(request, s, lambda: json_response(home.build(s, quarter, t)))


@router.get(
    "/league/{trust_type}",
    response_model=LeagueContext,
    summary="A league table, filtered, searched and sorted",
)
async def api_league(
    request: Request, s: State, trust_type: TrustTypePath, f: Filters, quarter: QuarterQuery = None
) -> Response:
    t = trust_type.value
    return cached(request, s, lambda: json_response(league.build(s, t, quarter, f)))


@router.get("/trusts", summary="Every loaded trust, with the quarters it is in")
def api_trusts(s: State) -> list[TrustEntry]:
    return [
        TrustEntry(
            trust_code=code,
            trust_name=name,
            trust_type=s.types[code],
            quarters=s.trust_quarters[code],
        )
        for code, name in sorted(s.names.items())
    ]


@router.get("/trusts/{code}", summary="One trust: segment, rank, metrics, peers, history")
def api_trust(s: State, code: CodePath, quarter: QuarterQuery = None) -> TrustContext:
    return trust.build(s, code, quarter)


@router.get("/metrics/{metric_id}", summary="Every trust of a type ranked on one metric")
def api_metric(
    s: State, metric_id: MetricPath, trust_type: TypeQuery = None, quarter: QuarterQuery = None
) -> MetricContext:
    return metric.build(s, metric_id, trust_type.value if trust_type else None, quarter)


@router.get("/compare", summary="Up to four trusts side by side")
def api_compare(s: State, codes: CodesQuery, quarter: QuarterQuery = None) -> CompareContext:
    return compare.build(s, codes, quarter)


@router.get("/whatif/{code}", summary="Recompute with changed values or deficit flag")
def api_whatif(
    s: State,
    code: CodePath,
    changes: SetQuery,
    deficit: YesNo | None = None,
    quarter: QuarterQuery = None,
) -> WhatIfContext:
    return whatif.build(s, code, quarter, split_set(changes), deficit.value if deficit else None)


@router.get("/regions/{region}", summary="A region's best and worst trusts of each type")
def api_region(s: State, region: RegionPath, quarter: QuarterQuery = None) -> RegionContext:
    return region_page.build(s, region, quarter)


@router.get("/method", summary="The method pack: metrics, families, segmentation, ranking")
def api_method(s: State) -> method.MethodContext:
    return method.build(s)
