"""A region's best and worst trusts of each type, written as a newspaper would.

"The best acute trust in the North West is The Christie NHS Foundation Trust, 3rd of 134
nationally with an average of 1.51 (segment 1)." Ranks are national: a region's table is the
national league table filtered, exactly as ``nhs-league table --region`` prints it.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from nhs_league import api
from nhs_league.engine.explain import ordinal, segment_label
from nhs_league.errors import NoData
from nhs_league.web.models import RegionContext, RegionSection, RegionTrust
from nhs_league.web.pages.common import match_region, slug, type_label
from nhs_league.web.state import WebState

SHOWN = 3  # best and worst trusts listed per type
_NO_ARTICLE = {"London"}  # "in London", but "in the North West"


def place(region: str) -> str:
    return region if region in _NO_ARTICLE else f"the {region}"


def build(state: WebState, wanted: str, quarter: str | None) -> RegionContext:
    region = match_region(state, wanted)
    sections = []
    for t in state.loaded_types:
        try:
            q = state.quarter(t, quarter)
            table = api.league_table(state.assessment(q), state.pack, t, region=region)
        except NoData:  # no trusts of this type in the region, or in that quarter
            continue
        sections.append(_section(state, t, q, region, table))
    if not sections:
        raise NoData(f"no trusts in {region} are loaded for {quarter or 'any quarter'}")
    return RegionContext(region=region, slug=slug(region), sections=sections)


def _trust(r: dict[str, Any]) -> RegionTrust:
    return RegionTrust(
        rank=r["rank"],
        trust_code=r["trust_code"],
        trust_name=r["trust_name"],
        segment=r["segment"],
        segment_label=segment_label(r["segment"], r["unadjusted_segment"]),
        average_score=r["average_score"],
    )


def _section(
    state: WebState, trust_type: str, quarter: str, region: str, table: pl.DataFrame
) -> RegionSection:
    size = int(table["league_size"][0])
    rows = [_trust(r) for r in table.iter_rows(named=True)]
    kind = type_label(state, trust_type).lower()
    return RegionSection(
        trust_type=trust_type,
        label=type_label(state, trust_type),
        quarter=quarter,
        league_size=size,
        in_region=len(rows),
        sentences=sentences(rows, kind, region, size),
        best=rows[:SHOWN],
        worst=list(reversed(rows[-SHOWN:])) if len(rows) > SHOWN else [],
    )


def sentences(rows: list[RegionTrust], kind: str, region: str, size: int) -> list[str]:
    """The best and the worst, with joint places where averages and segments tie."""
    where = place(region)
    if len(rows) == 1:
        return [f"The only {kind} trust in {where} is {_facts(rows, size)}."]
    best = [r for r in rows if r.rank == rows[0].rank]
    worst = [r for r in rows if r.rank == rows[-1].rank]
    out = [_sentence("best", best, kind, where, size)]
    if worst[0].rank != best[0].rank:
        out.append(_sentence("worst", worst, kind, where, size))
    counts = ", ".join(f"{sum(r.segment == k for r in rows)} in segment {k}" for k in (1, 2, 3, 4))
    out.append(f"{len(rows)} of the {size} {kind} trusts in England are in {where}: {counts}.")
    return out


def _sentence(which: str, tied: list[RegionTrust], kind: str, where: str, size: int) -> str:
    if len(tied) == 1:
        return f"The {which} {kind} trust in {where} is {_facts(tied, size)}."
    return f"The {which} {kind} trusts in {where} are {_facts(tied, size)}."


def _facts(tied: list[RegionTrust], size: int) -> str:
    r = tied[0]
    names = _and([t.trust_name for t in tied])
    joint = "joint " if len(tied) > 1 else ""
    each = " each" if len(tied) > 1 else ""
    capped = ", capped by the financial override" if r.segment_label.endswith("*") else ""
    return (
        f"{names}, {joint}{ordinal(r.rank)} of {size} nationally with an average of "
        f"{r.average_score:.2f}{each} (segment {r.segment}{capped})"
    )


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
