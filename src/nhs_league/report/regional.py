"""A regional (or ICB) report as one typed object, computed once from the engine's results and
then rendered as Markdown or HTML by :mod:`nhs_league.report.render`: every trust of the area
with its national rank of N, average, segment, likely ranges and change since last quarter, a
sentence per trust, the best and the worst, a chart, and what the tables do not show.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import polars as pl

from nhs_league.dataset import Dataset
from nhs_league.engine.pipeline import Assessment
from nhs_league.methods.pack import Pack
from nhs_league.report import words as w
from nhs_league.report.areas import Area, Where
from nhs_league.report.change import Change, change_sentence, changes_since, summary_of_changes
from nhs_league.report.model import Note, RangesMeta, Row
from nhs_league.report.notes import legend, notes


@dataclass(frozen=True)
class RegionalReport:
    title: str
    area: Area
    quarter: str
    trust_type: str
    type_noun: str
    league_size: int
    mode: str
    replicates: int
    seed: int
    rows: tuple[Row, ...]
    glance: tuple[str, ...]
    previous_quarter: str
    has_change: bool
    notes: tuple[Note, ...]
    legend: str
    sources: tuple[str, ...]
    slug: str
    chart: dict[str, Any]
    chart_alt: str


def _rows(
    table: pl.DataFrame, likely: pl.DataFrame, type_table: pl.DataFrame
) -> list[dict[str, Any]]:
    """The area's league rows joined to their likely ranges, with whether the rank is shared."""
    shared = Counter(type_table["league_rank"].to_list())
    joined = table.join(likely, on="trust_code", how="left", maintain_order="left")
    rows = []
    for r in joined.iter_rows(named=True):
        rows.append(r | {"tied": shared[r["rank"]] > 1})
    return rows


def trust_sentence(r: dict[str, Any], noun: str) -> str:
    """Where a trust stands, in one or more plain sentences (``r``: a league row with likely
    ranges and ``tied``)."""
    text = (
        f"{r['trust_name']} is {w.place(r['rank'], r['tied'])} of {r['league_size']} {noun} "
        f"trusts in England, in segment {r['segment']} with an average score of "
        f"{r['average_score']:.2f} (likely rank {w.span(r['rank_low'], r['rank_high'])})."
    )
    if r["segment"] != r["unadjusted_segment"]:
        text += (
            f" Its average alone would place it in segment {r['unadjusted_segment']}, but it is "
            f"flagged in financial deficit, so the override caps it at segment {r['segment']}."
        )
    if r["final_segment"] != r["segment"]:
        text += (
            " It is in NHS England's Recovery Support Programme, so its final segment is "
            f"{r['final_segment']}."
        )
    return text


def _row(r: dict[str, Any], noun: str, change: Change | None, extra: str) -> Row:
    return Row(
        code=r["trust_code"],
        name=r["trust_name"],
        rank=r["rank"],
        tied=r["tied"],
        league_size=r["league_size"],
        average=r["average_score"],
        segment=r["segment"],
        unadjusted_segment=r["unadjusted_segment"],
        deficit=bool(r["financial_deficit"]),
        final_segment=r["final_segment"],
        n_items=r["n_items"],
        rank_low=r["rank_low"],
        rank_high=r["rank_high"],
        score_low=r["score_low"],
        score_high=r["score_high"],
        change=change,
        sentence=" ".join(s for s in (trust_sentence(r, noun), extra) if s),
    )


def _glance(rows: list[Row], area: Area, noun: str, change_summary: str) -> list[str]:
    n = len(rows)
    by_segment = Counter(r.segment for r in rows)
    capped = Counter(r.segment for r in rows if r.capped)
    parts = []
    for s in sorted(by_segment):
        part = f"{by_segment[s]} in segment {s}"
        if capped[s]:
            part += f" ({capped[s]} capped by the financial override, marked {s}*)"
        parts.append(part)
    best, worst = rows[0], rows[-1]
    placed = [
        f"Best placed: {'; '.join(_brief(r) for r in rows if r.rank == best.rank)}.",
        f"Lowest placed: {'; '.join(_brief(r) for r in rows if r.rank == worst.rank)}.",
    ]
    if best.rank == worst.rank:  # one trust, or all level
        placed = [f"Placed: {'; '.join(_brief(r) for r in rows)}."]
    return [
        f"{w.count(n, noun + ' trust')} in {area.phrase}, {'each ' if n > 1 else ''}ranked "
        f"among all {rows[0].league_size} {noun} trusts in England (rank 1 is best; a lower "
        "average score is better).",
        "Segments: " + w.listing(parts) + ".",
        *placed,
        change_summary,
    ]


def _brief(r: Row) -> str:
    return (
        f"{r.name}, {w.place(r.rank, r.tied)} of {r.league_size} (segment {r.segment}, "
        f"average {r.average:.2f})"
    )


def build(
    data: Dataset,
    a: Assessment,
    pack: Pack,
    trust_type: str,
    where: Where,
    likely: RangesMeta,
) -> RegionalReport:
    """The report of the trusts of ``trust_type`` in ``a``'s quarter in one region or ICB."""
    from nhs_league.report import charts

    area, table = where.resolve(a, pack, trust_type)
    noun = w.type_noun(pack.trust_type_labels[trust_type])
    raw = _rows(table, likely.frame, a.of_type(trust_type))
    prev = w.previous_quarter(a.quarter)
    moved = changes_since(data, pack, a, prev, trust_type, likely.replicates, likely.seed)
    rows = []
    for r in raw:
        change = moved.get(r["trust_code"]) if moved is not None else None
        extra = change_sentence(change, r, prev, moved is not None)
        rows.append(_row(r, noun, change, extra))
    title = f"{pack.trust_type_labels[trust_type]} trusts in {area.phrase}, {a.quarter}"
    spec, alt_text = charts.region_chart(rows, area.phrase, noun, a.quarter, a.cut_points.values)
    return RegionalReport(
        title=title,
        area=area,
        quarter=a.quarter,
        trust_type=trust_type,
        type_noun=noun,
        league_size=rows[0].league_size,
        mode=a.mode,
        replicates=likely.replicates,
        seed=likely.seed,
        rows=tuple(rows),
        glance=tuple(_glance(rows, area, noun, summary_of_changes(rows, prev, moved))),
        previous_quarter=prev,
        has_change=moved is not None,
        notes=tuple(notes(a, pack, rows, likely, noun)),
        legend=legend(pack, len(a.cut_points.values) + 1),
        sources=sources(a),
        slug=w.slug(area.slug_part, trust_type, a.quarter),
        chart=spec,
        chart_alt=alt_text,
    )


def sources(a: Assessment) -> tuple[str, ...]:
    """The names of the files the quarter's rows come from (a superseded file is not among
    them; no directories: reports are portable)."""
    names = [PurePath(name).name for name, _ in a.files]
    return tuple(dict.fromkeys(names))
