"""The typed context of each page: the JSON API returns it, the Jinja template renders it.

One object per page means the HTML and the JSON can never disagree, and FastAPI derives the
OpenAPI schema from the same classes. Numbers are the engine's, unrounded where the engine keeps
them unrounded (metric scores); templates format them for reading.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class Choice(BaseModel):
    value: str
    label: str


class SegmentCount(BaseModel):
    segment: int
    trusts: int


class LikelyRange(BaseModel):
    """A 95% likely range from the bootstrap of the trust's own items (docs/analysis.md)."""

    score_low: float | None
    score_high: float | None
    rank_low: int | None
    rank_high: int | None
    p_segment: list[float] = Field(description="Chance of segment 1, 2, 3 and 4.")


class TypeSummary(BaseModel):
    """National segment counts of one trust type in one quarter."""

    trust_type: str
    label: str
    quarter: str
    trusts: int
    segments: list[SegmentCount]
    capped_by_override: int = Field(description="Trusts whose segment the override capped.")
    recovery_support: int = Field(description="Trusts in final segment 5.")
    cut_points: list[float]


class Bin(BaseModel):
    low: float
    high: float
    trusts: int


class Distribution(BaseModel):
    """Average scores of one trust type, in bins of 0.1, with the quarter's cut-points."""

    trust_type: str
    label: str
    quarter: str
    cut_points: list[float]
    bins: list[Bin]


class HomeContext(BaseModel):
    quarters: list[str]
    quarter: str | None = Field(description="The quarter asked for; None: each type's latest.")
    trust_types: list[Choice]
    trust_type: str
    regions: list[Choice]
    summaries: list[TypeSummary]
    distribution: Distribution


class LeagueRow(BaseModel):
    rank: int = Field(description="League rank of all trusts of the type in England.")
    trust_code: str
    trust_name: str
    region: str
    icb_code: str | None = None
    icb_name: str | None = None
    subtype: str
    segment: int = Field(description="Segment after the financial override (1 best to 4).")
    unadjusted_segment: int
    segment_label: str = Field(description='The segment, with "*" where the override capped it.')
    override_applied: bool
    financial_deficit: bool
    final_segment: int
    average_score: float
    n_items: int
    score_low: float | None
    score_high: float | None
    rank_low: int | None
    rank_high: int | None
    previous_average: float | None
    previous_rank: int | None
    average_change: float | None = Field(description="Average now minus last quarter's.")
    rank_change: int | None = Field(description="Places moved up since last quarter (+ is up).")


class LeagueFilters(BaseModel):
    region: str | None = None
    subtype: str | None = None
    segment: int | None = None
    icb: str | None = None
    q: str | None = None
    sort: str = "rank"
    order: str = "asc"


class LeagueContext(BaseModel):
    trust_type: str
    label: str
    quarter: str
    quarters: list[str]
    previous_quarter: str | None = Field(description="Set when last quarter is loaded.")
    mode: str
    league_size: int
    shown: int
    filters: LeagueFilters
    regions: list[str]
    subtypes: list[str]
    icbs: list[Choice]
    has_icb: bool
    cut_points: list[float]
    replicates: int
    seed: int
    rows: list[LeagueRow]


class RegionTrust(BaseModel):
    rank: int
    trust_code: str
    trust_name: str
    segment: int
    segment_label: str
    average_score: float


class RegionSection(BaseModel):
    trust_type: str
    label: str
    quarter: str
    league_size: int
    in_region: int
    sentences: list[str]
    best: list[RegionTrust]
    worst: list[RegionTrust]


class RegionContext(BaseModel):
    region: str
    slug: str
    sections: list[RegionSection]
