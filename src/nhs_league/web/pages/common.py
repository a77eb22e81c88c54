"""Helpers the page builders share: finding trusts and regions, labels, likely ranges."""

from __future__ import annotations

import difflib
import re
from typing import Any

import polars as pl

from nhs_league import api
from nhs_league.errors import AmbiguousTrust, UnknownTrust
from nhs_league.web.errors import WebError
from nhs_league.web.models import LikelyRange
from nhs_league.web.state import WebState

MAX_SUGGESTIONS = 8


def slug(text: str) -> str:
    """A URL slug: "North East and Yorkshire" → "north-east-and-yorkshire"."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def trust_label(state: WebState, code: str) -> str:
    return f"{state.names[code]} ({code})"


def trust_suggestions(state: WebState, query: str) -> list[str]:
    """Trusts a mistyped code or name probably meant: the library's name search, then codes
    that are close (difflib), without repeats."""
    out: list[str] = []
    try:
        out.append(trust_label(state, api.find_trust(state.data, query)))
    except AmbiguousTrust as exc:
        out += exc.matches
    except UnknownTrust as exc:
        out += exc.suggestions
    close = difflib.get_close_matches(query.strip().upper(), list(state.names), n=3, cutoff=0.6)
    out += [trust_label(state, c) for c in close]
    return list(dict.fromkeys(out))[:MAX_SUGGESTIONS]


def find_code(state: WebState, query: str) -> str:
    """The trust code ``query`` names exactly (any case); else 404 with close matches."""
    code = query.strip().upper()
    if code in state.names:
        return code
    raise UnknownTrust(query, trust_suggestions(state, query))


def resolve_trust(state: WebState, query: str) -> str:
    """A trust code from a code or a name that matches one trust (as on the command line)."""
    code = query.strip().upper()
    if code in state.names:
        return code
    try:
        return api.find_trust(state.data, query)
    except UnknownTrust:
        raise UnknownTrust(query, trust_suggestions(state, query)) from None


def match_region(state: WebState, wanted: str, *, status: int = 404) -> str:
    """A region of the data from its name, a spelling of the method pack's aliases, or a slug
    (north-west); otherwise a ``status`` error listing close matches."""
    aliases = {slug(k): v for k, v in state.pack.region_aliases.items()}
    w = slug(wanted)
    w = slug(aliases.get(w, wanted))
    for region in state.regions:
        if slug(region) == w:
            return region
    names = {slug(r): r for r in state.regions}
    close = difflib.get_close_matches(w, list(names), n=3, cutoff=0.5)
    raise WebError(
        status,
        "unknown_region",
        f"no region {wanted!r}; regions: {', '.join(state.regions)}",
        suggestions=[names[c] for c in close],
    )


def type_label(state: WebState, trust_type: str) -> str:
    return state.pack.trust_type_labels.get(trust_type, trust_type)


def likely(ranges: pl.DataFrame, code: str) -> LikelyRange:
    rows = ranges.filter(pl.col("trust_code") == code)
    if rows.height == 0:
        return LikelyRange(
            score_low=None, score_high=None, rank_low=None, rank_high=None, p_segment=[]
        )
    r: dict[str, Any] = rows.row(0, named=True)
    return LikelyRange(
        score_low=r["score_low"],
        score_high=r["score_high"],
        rank_low=r["rank_low"],
        rank_high=r["rank_high"],
        p_segment=[r[f"p_segment_{k}"] for k in (1, 2, 3, 4)],
    )
