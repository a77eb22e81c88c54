"""Up to four trusts side by side: headline facts, domain scores, and every metric."""

from __future__ import annotations

import polars as pl

from nhs_league import api
from nhs_league.web.errors import WebError
from nhs_league.web.models_detail import CompareCell, CompareContext, CompareMetric
from nhs_league.web.pages.common import resolve_trust
from nhs_league.web.pages.trust import summary
from nhs_league.web.params import MAX_COMPARE
from nhs_league.web.state import WebState


def wanted(codes: list[str]) -> list[str]:
    """The non-empty entries (an empty form field is not a trust), at most four."""
    given = [c.strip() for c in codes if c.strip()]
    if len(given) > MAX_COMPARE:
        raise WebError(
            422,
            "too_many_trusts",
            f"compare takes at most {MAX_COMPARE} trusts at a time; {len(given)} were given "
            f"({', '.join(given)})",
        )
    return given


def build(state: WebState, codes: list[str], quarter: str | None) -> CompareContext:
    given = wanted(codes)
    if not given:
        raise WebError(422, "no_trusts", "give 1 to 4 trusts to compare, e.g. ?codes=RBS&codes=REN")
    resolved = list(dict.fromkeys(resolve_trust(state, c) for c in given))
    profiles = []
    for code in resolved:
        q = state.quarter(state.types[code], quarter)
        profiles.append(api.trust_profile(state.assessment(q), state.pack, code))
    return CompareContext(
        codes=given,
        trusts=[summary(state, p) for p in profiles],
        domains=[d.name for d in state.pack.domains],
        metrics=_metrics(state, resolved, [p["quarter"] for p in profiles]),
    )


def _metrics(state: WebState, codes: list[str], quarters: list[str]) -> list[CompareMetric]:
    cells: dict[str, dict[str, CompareCell]] = {}
    for code, q in zip(codes, quarters, strict=True):
        scores = state.assessment(q).metric_scores.filter(pl.col("trust_code") == code)
        for r in scores.iter_rows(named=True):
            cells.setdefault(r["metric_id"], {})[code] = CompareCell(
                value=r["value"], units=r["units"], score=r["score"]
            )
    return [
        CompareMetric(
            metric_id=m.score_id,
            name=m.name,
            cells=[cells[m.score_id].get(c) for c in codes],
        )
        for m in state.pack.metrics
        if m.score_id in cells
    ]
