"""One trust: its segment, rank, average with likely range, every metric explained, its peers,
its history across the loaded quarters, and what it would take to move up a segment."""

from __future__ import annotations

from typing import Any

import polars as pl

from nhs_league import api
from nhs_league.engine.explain import segment_label
from nhs_league.web.models_detail import (
    DomainScore,
    HistoryRow,
    Improvement,
    ImprovementChange,
    MetricScore,
    PeerRow,
    TrustContext,
    TrustSummary,
)
from nhs_league.web.pages.common import find_code, likely, type_label
from nhs_league.web.state import MODE, WebState


def build(state: WebState, query: str, quarter: str | None) -> TrustContext:
    code = find_code(state, query)
    trust_type = state.types[code]
    q = state.quarter(trust_type, quarter)
    a = state.assessment(q)
    profile = api.trust_profile(a, state.pack, code)
    return TrustContext(
        trust=summary(state, profile),
        quarters=state.quarters_of(trust_type),
        mode=MODE,
        cut_points=list(a.cut_points.values),
        metrics=[MetricScore(**m) for m in profile["metrics"]],
        peer_group=profile["subtype"],
        peers=_peers(state, q, trust_type, profile["subtype"], code),
        history=_history(state, trust_type, code),
        improvement=_improvement(state.improvement((q, code))),
    )


def summary(state: WebState, p: dict[str, Any]) -> TrustSummary:
    """The headline facts of a trust from its :func:`api.trust_profile`."""
    code, q = p["trust_code"], p["quarter"]
    return TrustSummary(
        trust_code=code,
        trust_name=p["trust_name"],
        trust_type=p["trust_type"],
        type_label=type_label(state, p["trust_type"]),
        subtype=p["subtype"],
        region=p["region"],
        quarter=q,
        segment=p["segment"],
        unadjusted_segment=p["unadjusted_segment"],
        final_segment=p["final_segment"],
        segment_label=segment_label(p["segment"], p["unadjusted_segment"]),
        segment_note=segment_note(state, p),
        league_rank=p["league_rank"],
        league_size=p["league_size"],
        average_score=p["average_score"],
        n_items=p["n_items"],
        financial_deficit=p["financial_deficit"],
        intensive_support=p["intensive_support"],
        likely=likely(state.ranges(q), code),
        domains=[DomainScore(name=k, score=v) for k, v in p["domains"].items()],
    )


def segment_note(state: WebState, p: dict[str, Any]) -> str:
    """Why the segment is what it is, in one or two sentences."""
    seg, unadjusted = p["segment"], p["unadjusted_segment"]
    if seg != unadjusted:
        text = (
            f"Its average of {p['average_score']:.2f} is in segment {unadjusted}, but NHS England "
            f"flags the trust as in financial deficit, so the financial override caps it at "
            f"segment {state.pack.override_best_segment}."
        )
    else:
        text = (
            f"Its average of {p['average_score']:.2f} is in segment {seg} at this quarter's "
            f"cut-points."
        )
    if p["final_segment"] == state.pack.segment5:
        text += (
            f" Final segment {state.pack.segment5}: the trust is in the Recovery Support "
            "Programme (league ranks ignore this)."
        )
    return text


def _peers(
    state: WebState, quarter: str, trust_type: str, subtype: str, code: str
) -> list[PeerRow]:
    t = state.assessment(quarter).of_type(trust_type).filter(pl.col("subtype") == subtype)
    return [
        PeerRow(
            rank=r["league_rank"],
            trust_code=r["trust_code"],
            trust_name=r["trust_name"],
            segment_label=segment_label(r["adjusted_segment"], r["unadjusted_segment"]),
            average_score=r["average_score"],
            is_this_trust=r["trust_code"] == code,
        )
        for r in t.iter_rows(named=True)
    ]


def _history(state: WebState, trust_type: str, code: str) -> list[HistoryRow]:
    out = []
    for q in state.quarters_of(trust_type):
        rows = state.assessment(q).table.filter(pl.col("trust_code") == code)
        if rows.height == 0:
            continue
        r = rows.row(0, named=True)
        out.append(
            HistoryRow(
                quarter=q,
                segment=r["adjusted_segment"],
                segment_label=segment_label(r["adjusted_segment"], r["unadjusted_segment"]),
                league_rank=r["league_rank"],
                league_size=r["league_size"],
                average_score=r["average_score"],
            )
        )
    return out


def _improvement(s: dict[str, Any]) -> Improvement:
    return Improvement(
        target_segment=s["target_segment"],
        needed_average=s["needed_average"],
        gap=s["gap"],
        blocked_by_override=s["blocked_by_override"],
        reachable=s["reachable"],
        summary=s["summary"],
        steps=s["steps"],
        changes=[
            ImprovementChange(
                metric_id=c["metric_id"],
                value_from=c["from"],
                value_to=c["to"],
                score_from=c["score_from"],
                score_to=c["score_to"],
            )
            for c in s["changes"]
        ],
    )
