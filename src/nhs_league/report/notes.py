"""The box on what the league tables do not show: likely ranges, the financial override, the
Recovery Support Programme, where the segments begin, and published scores used."""

from __future__ import annotations

import polars as pl

from nhs_league.engine.pipeline import Assessment
from nhs_league.engine.segments import highest_average
from nhs_league.methods.pack import Pack
from nhs_league.report import words as w
from nhs_league.report.model import Note, RangesMeta, Row


def _ranges(rows: list[Row], replicates: int, seed: int) -> Note:
    narrow = min(rows, key=lambda r: (r.rank_high - r.rank_low, r.rank))
    wide = max(rows, key=lambda r: (r.rank_high - r.rank_low, -r.rank))
    fewest, most = min(r.n_items for r in rows), max(r.n_items for r in rows)
    items = f"{fewest}" if fewest == most else f"{fewest} to {most}"
    return Note(
        "Likely ranges",
        f"A rank rests on an average of {items} metric scores, so it is less certain than it "
        f"looks. Resampling each trust's own scores ({replicates:,} bootstrap replicates, seed "
        f"{seed}) gives a likely rank that holds 95% of the resampled places. "
        + _extremes(narrow, wide)
        + " Trusts whose likely ranges overlap could well be in the other order.",
    )


def _extremes(narrow: Row, wide: Row) -> str:
    def of(r: Row) -> str:
        return f"{w.span(r.rank_low, r.rank_high)} ({w.short_name(r.name)})"

    if narrow is wide:
        return f"Here it is {of(narrow)}."
    return f"The narrowest here is {of(narrow)}, the widest {of(wide)}."


def _override(rows: list[Row], pack: Pack) -> Note:
    cap = pack.override_best_segment
    rule = f"A trust flagged in financial deficit can be no better than segment {cap}."
    n, flagged = len(rows), sum(r.deficit for r in rows)
    if flagged == 0:
        none = f"None of the {n} trusts here is" if n > 1 else "The trust here is not"
        return Note("The financial override", f"{rule} {none} flagged.")
    who = f"Here {flagged} of the {n} trusts"
    if flagged == n:
        who = f"All {n} trusts here" if n > 1 else "The trust here"
    text = f"{rule} {who} {'is' if flagged == 1 else 'are'} flagged"
    capped = [r for r in rows if r.capped]
    if not capped:
        return Note("The financial override", text + "; the cap changed none of their segments.")
    groups = []
    for s in sorted({r.unadjusted_segment for r in capped}):
        names = [w.short_name(r.name) for r in capped if r.unadjusted_segment == s]
        whose = "its" if len(names) == 1 else "their"
        groups.append(f"{w.listing(names)} (segment {s} on {whose} average alone)")
    text += (
        f"; the cap changed the segment of {len(capped)}, marked {cap}*: {'; '.join(groups)}. "
        "Their league rank follows the capped segment."
    )
    return Note("The financial override", text)


def _support(rows: list[Row], pack: Pack, segments: int) -> Note | None:
    rsp = [w.short_name(r.name) for r in rows if r.final_segment != r.segment]
    if not rsp:
        return None
    return Note(
        "Recovery Support Programme",
        f"{w.listing(rsp)} {'is' if len(rsp) == 1 else 'are'} in NHS England's Recovery Support "
        f"Programme: final segment {pack.segment5} whatever the scores. The league rank uses "
        f"segments 1 to {segments}.",
    )


def _cut_points(a: Assessment, pack: Pack, noun: str, size: int) -> Note:
    last = len(a.cut_points.values) + 1
    tops = [highest_average(pack, a.cut_points.values, k) for k in range(1, last)]
    bands = [f"segment 1 is an average of {tops[0]:.2f} or better"]
    bands += [f"segment {k} up to {top:.2f}" for k, top in enumerate(tops[1:], start=2)]
    return Note(
        "Where the segments begin",
        f"The cut-points come from the averages of all {size} {noun} trusts in England: "
        f"{', '.join(bands)}, segment {last} above. Trusts either side of a cut-point "
        "can be almost equal.",
    )


def legend(pack: Pack, segments: int) -> str:
    """How to read the table's Segment column."""
    return (
        f"Segment: 1 (best) to {segments}; * capped at {pack.override_best_segment} by the "
        f"financial override; final {pack.segment5}: in the Recovery Support Programme."
    )


def _fallbacks(a: Assessment, rows: list[Row]) -> Note | None:
    used = a.fallbacks.filter(pl.col("trust_code").is_in([r.code for r in rows])).height
    if not used:
        return None
    whose = "these trusts" if len(rows) > 1 else "this trust"
    return Note(
        "Published scores used",
        "Some metrics are scored against trusts of types not loaded here; for "
        f"{w.count(used, 'metric score')} of {whose} the report takes NHS England's published "
        f"score ({a.mode} mode).",
    )


def notes(a: Assessment, pack: Pack, rows: list[Row], likely: RangesMeta, noun: str) -> list[Note]:
    """The box's paragraphs, those that apply to ``rows``."""
    found = [
        _ranges(rows, likely.replicates, likely.seed),
        _override(rows, pack),
        _support(rows, pack, len(a.cut_points.values) + 1),
        _cut_points(a, pack, noun, rows[0].league_size),
        _fallbacks(a, rows),
    ]
    return [n for n in found if n is not None]
