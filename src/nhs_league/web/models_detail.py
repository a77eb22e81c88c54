"""Page contexts of one trust, one metric, a comparison, a what-if and the method.

See :mod:`nhs_league.web.models` for why each page has one typed context.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from nhs_league.web.models import Choice, LikelyRange


class DomainScore(BaseModel):
    name: str
    score: float | None


class MetricScore(BaseModel):
    metric_id: str
    value_id: str | None
    name: str
    domain: str
    value: float | None
    units: str | None
    score: float | None
    in_average: bool
    basis: str
    explanation: str


class PeerRow(BaseModel):
    rank: int
    trust_code: str
    trust_name: str
    segment_label: str
    average_score: float
    is_this_trust: bool


class HistoryRow(BaseModel):
    quarter: str
    segment: int
    segment_label: str
    league_rank: int
    league_size: int
    average_score: float


class ImprovementChange(BaseModel):
    metric_id: str
    value_from: float
    value_to: float
    score_from: float
    score_to: float


class Improvement(BaseModel):
    target_segment: int | None
    needed_average: float | None
    gap: float | None
    blocked_by_override: bool
    reachable: bool
    summary: str
    steps: list[str]
    changes: list[ImprovementChange]


class TrustSummary(BaseModel):
    """The headline facts of one trust in one quarter."""

    trust_code: str
    trust_name: str
    trust_type: str
    type_label: str
    subtype: str
    region: str
    quarter: str
    segment: int
    unadjusted_segment: int
    final_segment: int
    segment_label: str
    segment_note: str = Field(description="Why the segment is what it is, in words.")
    league_rank: int
    league_size: int
    average_score: float
    n_items: int
    financial_deficit: bool
    intensive_support: bool | None
    likely: LikelyRange
    domains: list[DomainScore]


class TrustContext(BaseModel):
    trust: TrustSummary
    quarters: list[str]
    mode: str
    cut_points: list[float]
    metrics: list[MetricScore]
    peer_group: str
    peers: list[PeerRow]
    history: list[HistoryRow]
    improvement: Improvement


class MetricInfo(BaseModel):
    metric_id: str
    value_id: str
    name: str
    short: str
    units: str
    domain: str
    direction: str | None
    family: str
    target: float | None
    bands: list[float]
    pool: str
    trust_types: list[str]
    in_average: bool
    help: str
    source: str


class MetricRankRow(BaseModel):
    imr_rank: int
    trust_code: str
    trust_name: str
    region: str | None
    value: float | None
    units: str | None
    score: float | None
    target_met: bool | None
    basis: str


class MetricContext(BaseModel):
    metric: MetricInfo
    trust_type: str
    trust_types: list[Choice]
    quarter: str
    quarters: list[str]
    rows: list[MetricRankRow]


class CompareCell(BaseModel):
    value: float | None
    units: str | None
    score: float | None


class CompareMetric(BaseModel):
    metric_id: str
    name: str
    cells: list[CompareCell | None] = Field(description="One per trust, in order; None: n/a.")


class CompareContext(BaseModel):
    codes: list[str] = Field(description="What was asked for, as given.")
    trusts: list[TrustSummary]
    domains: list[str]
    metrics: list[CompareMetric]


class WhatIfInput(BaseModel):
    """One value of the trust that a what-if may change, with the accepted range."""

    metric_id: str = Field(description="The id a change uses: the value id, or a score id.")
    name: str
    units: str
    current: float
    value: float = Field(description="The value in this scenario (the current one if unchanged).")
    minimum: float
    maximum: float
    changed: bool


class WhatIfTrust(BaseModel):
    trust_code: str
    trust_name: str
    average_before: float
    average_after: float
    segment_before: int
    segment_after: int
    unadjusted_before: int
    unadjusted_after: int
    rank_before: int
    rank_after: int
    deficit_before: bool
    deficit_after: bool


class WhatIfMetric(BaseModel):
    metric_id: str
    name: str
    value_before: float | None
    value_after: float | None
    score_before: float | None
    score_after: float | None


class WhatIfOther(BaseModel):
    trust_code: str
    trust_name: str
    segment_before: int
    segment_after: int
    rank_before: int
    rank_after: int


class WhatIfResult(BaseModel):
    trust: WhatIfTrust
    metrics: list[WhatIfMetric]
    others: list[WhatIfOther]


class WhatIfContext(BaseModel):
    trust_code: str
    trust_name: str
    trust_type: str
    quarter: str
    quarters: list[str]
    mode: str
    inputs: list[WhatIfInput]
    deficit_current: bool
    deficit: str | None = Field(description='"yes", "no" or None (unchanged).')
    max_changes: int
    result: WhatIfResult | None = Field(description="None until something is changed.")
