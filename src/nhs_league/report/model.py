"""The typed pieces a regional report is made of: one :class:`Row` per trust, the notes of the
box on what the tables do not show, and the likely ranges they rest on."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from nhs_league.engine.explain import segment_label
from nhs_league.report.change import Change


@dataclass(frozen=True)
class Row:
    """One trust of the report, with every number the report states about it."""

    code: str
    name: str
    rank: int
    tied: bool
    league_size: int
    average: float
    segment: int
    unadjusted_segment: int
    deficit: bool
    final_segment: int
    n_items: int
    rank_low: int
    rank_high: int
    score_low: float
    score_high: float
    change: Change | None
    sentence: str

    @property
    def capped(self) -> bool:
        """The financial override moved this trust's segment (shown as "3*")."""
        return self.segment != self.unadjusted_segment

    @property
    def segment_label(self) -> str:
        """ "1", "3*" (capped by the financial override), "4, final 5" (Recovery Support)."""
        return segment_label(self.segment, self.unadjusted_segment, self.final_segment)


@dataclass(frozen=True)
class Note:
    """A paragraph of the box on what the tables do not show."""

    heading: str
    text: str


@dataclass(frozen=True)
class RangesMeta:
    """The likely ranges of the whole assessment (``analysis.uncertainty.likely_ranges``) and
    how they were drawn."""

    frame: pl.DataFrame
    replicates: int
    seed: int
