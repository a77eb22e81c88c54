"""Change since last quarter, from the engine's movement analysis, in plain English."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import polars as pl

from nhs_league.dataset import Dataset
from nhs_league.engine.explain import ordinal
from nhs_league.engine.pipeline import Assessment
from nhs_league.methods.pack import Pack
from nhs_league.report import words as w

# analysis.movement's causes of a segment change, as the end of a sentence
CAUSES = {
    "average crossed a cut-point": "its average crossed a cut-point",
    "cut-points moved": "the cut-points moved",
    "override applied": "the financial override now applies",
    "override removed": "the financial override no longer applies",
}


@dataclass(frozen=True)
class Change:
    """A trust in the previous quarter, and whether its change in average is significant."""

    quarter: str
    rank: int
    average: float
    segment: int
    significant: bool
    cause: str | None


class Moved(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def rank(self) -> int: ...
    @property
    def segment(self) -> int: ...
    @property
    def change(self) -> Change | None: ...


def previous_loaded(data: Dataset, quarter: str, trust_type: str) -> bool:
    t = data.trusts
    return (
        t.filter((pl.col("quarter") == quarter) & (pl.col("trust_type") == trust_type)).height > 0
    )


def changes_since(
    data: Dataset,
    pack: Pack,
    a: Assessment,
    previous: str,
    trust_type: str,
    replicates: int,
    seed: int,
) -> dict[str, Change] | None:
    """Each trust's :class:`Change` from ``previous`` to ``a``'s quarter, or None when
    ``previous`` is not loaded for ``trust_type``."""
    from nhs_league.analysis.movement import movement

    if not previous_loaded(data, previous, trust_type):
        return None
    m = movement(
        data,
        pack,
        previous,
        a.quarter,
        trust_type=trust_type,
        mode=a.mode,
        replicates=replicates,
        seed=seed,
    )
    return {
        r["trust_code"]: Change(
            quarter=previous,
            rank=r["league_rank_from"],
            average=r["average_score_from"],
            segment=r["adjusted_segment_from"],
            significant=bool(r["significant"]),
            cause=r["segment_change_cause"],
        )
        for r in m.iter_rows(named=True)
    }


def _places(c: Change, rank: int) -> str:
    if c.rank == rank:
        return f"it has kept its place ({ordinal(rank)})"
    way = "up" if rank < c.rank else "down"
    return f"it has moved {way} {w.count(abs(c.rank - rank), 'place')} (from {ordinal(c.rank)})"


def _average(c: Change, average: float) -> str:
    if round(average - c.average, 2) == 0:
        return f"its average is unchanged at {average:.2f}"
    verb = "improved" if average < c.average else "worsened"
    sig = "statistically significant" if c.significant else "not statistically significant"
    return f"its average {verb} from {c.average:.2f} to {average:.2f} ({sig})"


def _segment(c: Change, segment: int) -> str:
    if c.segment == segment:
        return f"it stayed in segment {segment}"
    why = [CAUSES[x] for x in (c.cause or "").split("; ") if x in CAUSES]
    because = f" because {w.listing(why)}" if why else ""
    return f"it moved from segment {c.segment} to segment {segment}{because}"


def change_sentence(change: Change | None, r: dict[str, Any], previous: str, loaded: bool) -> str:
    """One sentence on a trust's change since ``previous`` (empty when it is not loaded)."""
    if not loaded:
        return ""
    if change is None:
        return f"It was not in the {previous} table."
    parts = [
        _places(change, r["rank"]),
        _average(change, r["average_score"]),
        _segment(change, r["segment"]),
    ]
    return f"Since {previous} {parts[0]}, {parts[1]}, and {parts[2]}."


def summary_of_changes(rows: Sequence[Moved], previous: str, moved: object) -> str:
    """The report's one-line summary of change since ``previous``."""
    if moved is None:
        return f"Change since last quarter: {previous} is not loaded, so no change is shown."
    have = [r for r in rows if r.change is not None]
    up = [r for r in have if r.change is not None and r.rank < r.change.rank]
    down = [r for r in have if r.change is not None and r.rank > r.change.rank]
    parts = [
        f"{len(up)} moved up",
        f"{len(down)} down",
        f"{len(have) - len(up) - len(down)} kept their place",
    ]
    if len(rows) > len(have):
        parts.append(f"{len(rows) - len(have)} new to the table")
    text = f"Change since {previous}: " + ", ".join(parts) + "."
    if up:
        best = max(up, key=lambda r: _gain(r))
        text += f" Biggest rise: {best.name}, up {w.count(_gain(best), 'place')}."
    if down:
        worst = min(down, key=lambda r: _gain(r))
        text += f" Biggest fall: {worst.name}, down {w.count(-_gain(worst), 'place')}."
    segs = sum(1 for r in have if r.change is not None and r.change.segment != r.segment)
    return text + (f" {w.count(segs, 'trust')}" if segs else " No trust") + " changed segment."


def _gain(r: Moved) -> int:
    return 0 if r.change is None else r.change.rank - r.rank
