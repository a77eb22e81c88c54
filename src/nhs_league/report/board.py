"""A two-page board report on one trust, as one typed object: page 1 the summary (segment, rank
of N, average with its likely range, segment probabilities, domains, improvement needed,
history), page 2 every metric with its value, score and one-line explanation."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import polars as pl

from nhs_league import api
from nhs_league.dataset import Dataset, quarter_key
from nhs_league.engine.explain import fmt_value, segment_label
from nhs_league.engine.pipeline import Assessment, assess
from nhs_league.methods.pack import Pack
from nhs_league.report import words as w
from nhs_league.report.change import change_sentence, changes_since
from nhs_league.report.model import RangesMeta
from nhs_league.report.regional import sources, trust_sentence


@dataclass(frozen=True)
class MetricLine:
    metric_id: str
    name: str
    value: str
    score: float
    in_average: bool
    explanation: str


@dataclass(frozen=True)
class Domain:
    name: str
    score: float | None
    metrics: tuple[MetricLine, ...]


@dataclass(frozen=True)
class Quarter:
    """The trust in one loaded quarter."""

    quarter: str
    rank: int
    tied: bool
    league_size: int
    segment_label: str
    average: float


@dataclass(frozen=True)
class BoardReport:
    title: str
    code: str
    name: str
    quarter: str
    mode: str
    about: str  # type, subtype, region and ICB in one line
    sentence: str
    facts: tuple[tuple[str, str], ...]  # the key figures, label and value
    domains: tuple[Domain, ...]
    improvement: str
    steps: tuple[str, ...]
    history: tuple[Quarter, ...]
    history_note: str
    replicates: int
    seed: int
    sources: tuple[str, ...]
    slug: str


def _tied(a: Assessment, trust_type: str, rank: int) -> bool:
    return Counter(a.of_type(trust_type)["league_rank"].to_list())[rank] > 1


def _segment_label(row: dict[str, Any]) -> str:
    return segment_label(row["adjusted_segment"], row["unadjusted_segment"], row["final_segment"])


def _history(data: Dataset, pack: Pack, a: Assessment, code: str, trust_type: str) -> list[Quarter]:
    """The trust in every loaded quarter of its type up to ``a``'s, oldest first."""
    out = []
    loaded = data.trusts.filter(
        (pl.col("trust_type") == trust_type) & (pl.col("trust_code") == code)
    )["quarter"]
    for q in sorted(set(loaded.to_list()), key=quarter_key):
        if quarter_key(q) > quarter_key(a.quarter):
            continue
        qa = a if q == a.quarter else assess(data, pack, quarter=q, mode=a.mode)
        rows = qa.table.filter(pl.col("trust_code") == code)
        if rows.height == 0:
            continue
        row = rows.row(0, named=True)
        out.append(
            Quarter(
                quarter=q,
                rank=row["league_rank"],
                tied=_tied(qa, trust_type, row["league_rank"]),
                league_size=row["league_size"],
                segment_label=_segment_label(row),
                average=row["average_score"],
            )
        )
    return out


def _history_note(history: list[Quarter], quarter: str, noun: str) -> str:
    if len(history) > 1:
        return f"Every loaded quarter of {noun} trusts up to {quarter}."
    return (
        f"Only {quarter} is loaded for {noun} trusts, so there is no history yet "
        f"({w.previous_quarter(quarter)} is not loaded)."
    )


def _facts(
    prof: dict[str, Any], lr: dict[str, Any], noun: str, pack: Pack
) -> list[tuple[str, str]]:
    last = len(prof["cut_points"]) + 1
    seg = f"{prof['segment']} of {last} (1 is best)"
    if prof["segment"] != prof["unadjusted_segment"]:
        seg = (
            f"{prof['segment']}* of {last} (1 is best): segment {prof['unadjusted_segment']} on "
            f"its average alone, capped at {pack.override_best_segment} by the financial override"
        )
    support = {True: "yes", False: "no", None: "not published"}[prof["intensive_support"]]
    chances = ", ".join(f"{k}: {w.percent(lr[f'p_segment_{k}'])}" for k in range(1, last + 1))
    return [
        ("Segment", seg),
        ("League rank", f"{prof['rank_text']} of {prof['league_size']} {noun} trusts in England"),
        ("Average metric score", f"{prof['average_score']:.2f} over {prof['n_items']} items"),
        ("Likely average", w.span(lr["score_low"], lr["score_high"])),
        ("Likely rank", w.span(lr["rank_low"], lr["rank_high"])),
        ("Chance of each segment", chances),
        ("Financial deficit", "yes" if prof["financial_deficit"] else "no"),
        ("Recovery Support Programme", support),
        ("Final segment", str(prof["final_segment"])),
    ]


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def _how(explanation: str) -> str:
    """An explanation without its "OF0013 scored 2.27: " head, which the table's columns show."""
    head, sep, rest = explanation.partition(": ")
    return rest if sep and " scored " in head else explanation


def _domains(pack: Pack, prof: dict[str, Any]) -> list[Domain]:
    out = []
    for d in pack.domains:
        lines = tuple(
            MetricLine(
                metric_id=m["metric_id"],
                name=pack.metric(m["metric_id"]).short,
                value=fmt_value(m["value"], m["units"]) if m["value"] is not None else "—",
                score=m["score"],
                in_average=bool(m["in_average"]),
                explanation=_how(m["explanation"]),
            )
            for m in prof["metrics"]
            if m["domain"] == d.name
        )
        out.append(Domain(d.name, prof["domains"].get(d.name), lines))
    return out


def _about(prof: dict[str, Any], label: str) -> str:
    parts = [f"{label} trust", prof["subtype"], f"{prof['region']} region"]
    if prof.get("icb_name"):
        parts.append(f"{prof['icb_name']} ({prof['icb_code']})")
    return "; ".join(p for p in parts if p)


def build(data: Dataset, a: Assessment, pack: Pack, code: str, likely: RangesMeta) -> BoardReport:
    """The board report of trust ``code`` in ``a``'s quarter."""
    prof = api.trust_profile(a, pack, code)
    ttype = prof["trust_type"]
    noun = w.type_noun(pack.trust_type_labels[ttype])
    lr = likely.frame.filter(pl.col("trust_code") == code).row(0, named=True)
    tied = _tied(a, ttype, prof["league_rank"])
    prof["rank_text"] = w.place(prof["league_rank"], tied)
    row = {
        **prof,
        **lr,
        "rank": prof["league_rank"],
        "tied": tied,
        "average_score": prof["average_score"],
    }
    prev = w.previous_quarter(a.quarter)
    moved = changes_since(data, pack, a, prev, ttype, likely.replicates, likely.seed)
    change = change_sentence(moved.get(code) if moved else None, row, prev, moved is not None)
    imp = api.improvement_summary(a, pack, code)
    history = _history(data, pack, a, code, ttype)
    return BoardReport(
        title=f"{prof['trust_name']} ({code}): board report, {a.quarter}",
        code=code,
        name=prof["trust_name"],
        quarter=a.quarter,
        mode=a.mode,
        about=_about(prof, pack.trust_type_labels[ttype]),
        sentence=" ".join(s for s in (trust_sentence(row, noun), change) if s),
        facts=tuple(_facts(prof, lr, noun, pack)),
        domains=tuple(_domains(pack, prof)),
        improvement=_sentence_case(imp["summary"].removeprefix("Improvement needed: ")),
        steps=tuple(imp["steps"]),
        history=tuple(history),
        history_note=_history_note(history, a.quarter, noun),
        replicates=likely.replicates,
        seed=likely.seed,
        sources=sources(a),
        slug=w.slug(code, "board", a.quarter),
    )
