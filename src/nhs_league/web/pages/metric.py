"""One metric: every trust of a type ranked on it (NHS England's individual metric ranking)."""

from __future__ import annotations

import difflib

from nhs_league import api
from nhs_league.errors import NoData
from nhs_league.methods.pack import Metric
from nhs_league.web.errors import WebError
from nhs_league.web.models import Choice
from nhs_league.web.models_detail import MetricContext, MetricInfo, MetricRankRow
from nhs_league.web.pages.common import type_label
from nhs_league.web.state import WebState


def find_metric(state: WebState, metric_id: str) -> Metric:
    """A metric by value id (OF0013) or score id (OF1013), any case; else 404 with close ids."""
    mid = metric_id.strip().upper()
    if state.pack.has_metric(mid):
        return state.pack.metric(mid)
    ids = [i for m in state.pack.metrics for i in (m.id, m.score_id)]
    names = {m.name.lower(): m.score_id for m in state.pack.metrics}
    close = difflib.get_close_matches(mid, ids, n=3, cutoff=0.6)
    close += [
        names[n] for n in difflib.get_close_matches(metric_id.lower(), list(names), n=3, cutoff=0.5)
    ]
    raise WebError(
        404,
        "unknown_metric",
        f"no metric {metric_id!r} in the method pack {state.pack.id}",
        suggestions=[f"{i} {state.pack.metric(i).name}" for i in dict.fromkeys(close)],
    )


def info(state: WebState, m: Metric) -> MetricInfo:
    return MetricInfo(
        metric_id=m.score_id,
        value_id=m.id,
        name=m.name,
        short=m.short,
        units=m.units,
        domain=state.pack.domain(m.domain).name,
        direction=m.direction,
        family=m.family,
        target=m.target,
        bands=list(m.bands),
        pool=m.pool,
        trust_types=list(m.trust_types),
        in_average=m.item,
        help=m.help,
        source=m.source,
    )


def build(
    state: WebState, metric_id: str, trust_type: str | None, quarter: str | None
) -> MetricContext:
    m = find_metric(state, metric_id)
    loaded = [t for t in m.trust_types if t in state.loaded_types]
    trust_type = trust_type or (loaded[0] if loaded else m.trust_types[0])
    if trust_type not in m.trust_types:
        raise NoData(
            f"{m.score_id} ({m.name}) does not apply to {trust_type} trusts; it applies to "
            + ", ".join(m.trust_types)
        )
    q = state.quarter(trust_type, quarter)
    ranking = api.metric_ranking(state.assessment(q), state.pack, m.score_id, trust_type)
    return MetricContext(
        metric=info(state, m),
        trust_type=trust_type,
        trust_types=[Choice(value=t, label=type_label(state, t)) for t in loaded],
        quarter=q,
        quarters=state.quarters_of(trust_type),
        rows=[MetricRankRow(**r) for r in ranking.iter_rows(named=True)],
    )
