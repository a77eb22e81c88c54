"""The method page, generated from the method pack's objects so it cannot drift from the
method the engine runs: metrics, scoring families, targets, bands, the finance matrix, items,
precision, segmentation, the override, segment 5 and the ranking rule."""

from __future__ import annotations

from pydantic import BaseModel

from nhs_league.methods.pack import FAMILIES, Pack
from nhs_league.web.models import Choice
from nhs_league.web.models_detail import MetricInfo
from nhs_league.web.pages.metric import info
from nhs_league.web.state import WebState

# How each scoring family turns a value into a score (spec section 2). A test checks that every
# family the pack loader accepts has a description here.
FAMILY_HELP = {
    "continuous": "Ranked against every trust in the pool: the best scores 1.00, the worst 4.00, "
    "the others spread evenly by position (1 + 3 × (position − 1) / (pool − 1)).",
    "target": "Trusts that meet the target score 1.00; the others are ranked among themselves "
    "from 2.00 to 4.00.",
    "standard": "Trusts below the standard score 4.00; the others are ranked among themselves "
    "from 1.00 to 3.00.",
    "bands": "Four fixed bands of the value score 1, 2, 3 or 4; no pool.",
    "matrix": "Two band scores looked up in a 4 × 4 matrix give one combined score.",
    "input": "A score NHS England sets itself and publishes without a value; used as published.",
}


class FamilyInfo(BaseModel):
    family: str
    description: str
    metrics: list[str]


class GroupInfo(BaseModel):
    id: str
    name: str
    members: list[str]
    domain: str
    help: str


class MatrixInfo(BaseModel):
    metric_id: str
    name: str
    rows_metric: str
    columns_metric: str
    cells: list[list[int]]
    help: str


class PrecisionInfo(BaseModel):
    quarters: list[str]
    score_ids: list[str]
    digits: int
    help: str


class Rule(BaseModel):
    name: str
    setting: str
    help: str


class MethodContext(BaseModel):
    pack_id: str
    name: str
    version: str
    source: str
    score_min: float
    score_max: float
    trust_types: list[Choice]
    domains: list[Choice]
    metrics: list[MetricInfo]
    families: list[FamilyInfo]
    groups: list[GroupInfo]
    matrices: list[MatrixInfo]
    precision: list[PrecisionInfo]
    rules: list[Rule]
    region_aliases: dict[str, str]


def build(state: WebState) -> MethodContext:
    p = state.pack
    return MethodContext(
        pack_id=p.id,
        name=p.name,
        version=p.version,
        source=p.source,
        score_min=p.score_min,
        score_max=p.score_max,
        trust_types=[Choice(value=k, label=v) for k, v in p.trust_type_labels.items()],
        domains=[Choice(value=d.key, label=d.name) for d in p.domains],
        metrics=[info(state, m) for m in p.metrics],
        families=[
            FamilyInfo(
                family=f,
                description=FAMILY_HELP[f],
                metrics=[m.score_id for m in p.metrics if m.family == f],
            )
            for f in FAMILIES
        ],
        groups=[
            GroupInfo(
                id=g.id,
                name=g.name,
                members=list(g.members),
                domain=p.domain(g.domain).name,
                help=g.help,
            )
            for g in p.groups
        ],
        matrices=_matrices(p),
        precision=[
            PrecisionInfo(
                quarters=list(r.quarters), score_ids=list(r.score_ids), digits=r.digits, help=r.help
            )
            for r in p.precision
        ],
        rules=_rules(p),
        region_aliases=dict(p.region_aliases),
    )


def _matrices(p: Pack) -> list[MatrixInfo]:
    return [
        MatrixInfo(
            metric_id=m.score_id,
            name=m.name,
            rows_metric=f"{m.inputs[0]} {p.metric(m.inputs[0]).name}",
            columns_metric=f"{m.inputs[1]} {p.metric(m.inputs[1]).name}",
            cells=[list(row) for row in m.matrix],
            help=m.help,
        )
        for m in p.metrics
        if m.family == "matrix"
    ]


def _rules(p: Pack) -> list[Rule]:
    s = p.segmentation
    thresholds = ", ".join(f"{t:g}" for t in s.thresholds) or "none"
    return [
        Rule(
            name="Segmentation",
            setting=f"strict: {s.method}; reproduce: {s.reproduce_method}; percentiles "
            f"{s.percentile_method}; averages to {s.average_digits} dp; an average on a "
            f"cut-point takes the {s.on_cut_point} segment; fixed thresholds: {thresholds}",
            help=s.help,
        ),
        Rule(
            name="Financial override",
            setting=f"best segment {p.override_best_segment} while in financial deficit",
            help=p.override_help,
        ),
        Rule(name="Segment 5", setting=f"final segment {p.segment5}", help=p.segment5_help),
        Rule(
            name="Ranking",
            setting=f"adjusted segment, then average to {p.ranking_digits} dp",
            help=p.ranking_help,
        ),
        Rule(
            name="Published precision",
            setting=f"scores and averages to {p.published_digits} dp",
            help="Scores, averages and domain scores are published to this many decimal places.",
        ),
    ]
