"""Step 2: items, average metric score and domain scores (spec section 3).

Computed on arrays (:func:`group_items`, :func:`trust_averages`); :func:`items` and
:func:`averages` do the same for frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from nhs_league.engine.frames import coded, index_of, labels, nullable, places, take
from nhs_league.methods.pack import Pack

ITEM_SCHEMA = {
    "quarter": pl.String,
    "trust_code": pl.String,
    "item_id": pl.String,
    "domain": pl.String,
    "score": pl.Float64,
    "members": pl.Int64,
}


def round_half_up(x: float, digits: int) -> float:
    """Scalar twin of :func:`round_expr`."""
    scale = 10.0**digits
    return round(float(np.sign(x) * np.floor(abs(x) * scale + 0.5 + 1e-9) / scale), digits)


def round_expr(expr: pl.Expr, digits: int) -> pl.Expr:
    """Round halves away from zero, as NHS England's published figures are (2.345 -> 2.35).

    The tiny offset absorbs binary noise such as 2.3449999999 for a true 2.345.
    """
    scale = 10.0**digits
    # the final round() only cleans binary noise (139 / 100 printed as 1.3900000000000001)
    return (expr.sign() * ((expr.abs() * scale + 0.5 + 1e-9).floor() / scale)).round(digits)


def to_units(x: np.ndarray, digits: int) -> np.ndarray:
    """``x`` rounded half away from zero, in units of the last place (2.345 -> 235.0)."""
    out: np.ndarray = np.copysign(np.floor(np.abs(x) * 10.0**digits + 0.5 + 1e-9), x)
    return out


def round_array(x: np.ndarray, digits: int) -> np.ndarray:
    """Array twin of :func:`round_expr`, to the bit."""
    out: np.ndarray = np.round(to_units(x, digits) / 10.0**digits, digits)
    return out


def mean_by(group: np.ndarray, x: np.ndarray, groups: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean of ``x`` in each of ``groups`` groups (NaN where empty), summed in row order, and
    each group's size."""
    size = np.bincount(group, minlength=groups)
    total = np.bincount(group, weights=x, minlength=groups)
    return np.divide(total, size, out=np.full(groups, np.nan), where=size > 0), size


def _first_seen(key: np.ndarray, keys: int) -> tuple[np.ndarray, np.ndarray]:
    """Number the distinct keys (each in ``range(keys)``) in the order they first appear: each
    row's number, and each number's first row."""
    row = np.arange(key.size)
    first = np.full(keys, key.size)  # each key's first row
    np.minimum.at(first, key, row)
    is_first = first[key] == row
    number = np.cumsum(is_first) - 1
    return number[first[key]], np.flatnonzero(is_first)


@dataclass(frozen=True)
class ItemPlan:
    """What each score counts as in one quarter: its item (its group's id, or its own score id),
    and whether the quarter's precision rule rounds the score first."""

    ids: list[str]  # the items
    domains: list[str]  # each item's domain
    domain: np.ndarray  # each item's domain: its place among the pack's domains (-1: none)
    item_of: dict[str, int]  # score id -> its item: a place in ``ids``
    rounded: frozenset[str]  # score ids rounded to 2 dp before they enter

    @classmethod
    def of(cls, pack: Pack, quarter: str) -> ItemPlan:
        group_of = {member: g.id for g in pack.groups for member in g.members}
        domain_of = {
            **{m.score_id: m.domain for m in pack.metrics},
            **{g.id: g.domain for g in pack.groups},
        }
        rounding = pack.rounding_for(quarter)
        if any(d != 2 for d in rounding.values()):  # pragma: no cover - guarded by pack
            raise ValueError("only 2-dp precision rules are supported")
        metric_ids = list(dict.fromkeys(m.score_id for m in pack.metrics if m.item))
        ids = list(dict.fromkeys(group_of.get(i, i) for i in metric_ids))
        domains = [domain_of[i] for i in ids]
        return cls(
            ids=ids,
            domains=domains,
            domain=index_of(domains, [d.key for d in pack.domains]),
            item_of={i: ids.index(group_of.get(i, i)) for i in metric_ids},
            rounded=frozenset(rounding),
        )


@dataclass(frozen=True)
class Items:
    """Each trust's items, in the order they first appear among the scores (parallel arrays)."""

    trust: np.ndarray  # a place in the trust codes
    item: np.ndarray  # a place in ``ItemPlan.ids``
    score: np.ndarray  # the mean of its members' scores
    members: np.ndarray


def group_items(
    plan: ItemPlan,
    trusts: int,
    trust: np.ndarray,
    metric_ids: Sequence[str],
    metric: np.ndarray,
    score: np.ndarray,
) -> Items:
    """The items of score rows given as arrays: each row's trust (one of ``trusts``), metric (a
    place in ``metric_ids``) and score.

    Finance counts once (its band scores are not items); the infection scores are averaged into
    one item first; every other score is one item. The Q1 2025/26 precision quirk rounds some
    scores before they enter (spec section 3).
    """
    item_of = np.array([plan.item_of.get(m, -1) for m in metric_ids], dtype=np.int64)
    rounded = np.array([m in plan.rounded for m in metric_ids], dtype=bool)
    rows = np.flatnonzero(item_of[metric] >= 0)
    trust, metric = trust[rows], metric[rows]
    item = item_of[metric]
    x = np.where(rounded[metric], round_array(score[rows], 2), score[rows])
    group, first = _first_seen(trust * len(plan.ids) + item, trusts * len(plan.ids))
    mean, size = mean_by(group, x, first.size)
    return Items(trust[first], item[first], mean, size)


def item_frame(quarter: str, codes: Sequence[str], plan: ItemPlan, it: Items) -> pl.DataFrame:
    """The items as a frame (:data:`ITEM_SCHEMA`); ``codes``: the trust codes."""
    of_item = pl.DataFrame(
        [
            pl.Series("quarter", [quarter] * len(plan.ids), dtype=pl.String),
            pl.Series("item_id", plan.ids, dtype=pl.String),
            pl.Series("domain", plan.domains, dtype=pl.String),
        ]
    )
    named = take(of_item, it.item)
    return pl.DataFrame(
        [
            named["quarter"],
            labels("trust_code", codes, it.trust),
            named["item_id"],
            named["domain"],
            pl.Series("score", it.score, dtype=pl.Float64),
            pl.Series("members", it.members, dtype=pl.Int64),
        ]
    )


def items(pack: Pack, scores: pl.DataFrame, quarter: str) -> pl.DataFrame:
    """The items each trust's average is taken over (see :func:`group_items`); ``scores``: one
    quarter's metric scores (at least ``trust_code``, ``metric_id`` and ``score``)."""
    scores = scores.filter(pl.col("score").is_not_null())
    codes, trust = coded(scores["trust_code"])
    metric_ids, metric = coded(scores["metric_id"])
    plan = ItemPlan.of(pack, quarter)
    score = scores["score"].to_numpy().astype(float)
    found = group_items(plan, len(codes), trust, metric_ids, metric, score)
    return item_frame(quarter, codes, plan, found)


@dataclass(frozen=True)
class Averages:
    """Per trust (a place in the trust codes): the unrounded average of its items and their
    number, and per domain of the pack (one column each) the same of the domain's items."""

    raw: np.ndarray
    n_items: np.ndarray
    domain: np.ndarray  # NaN where the domain has no items
    domain_items: np.ndarray


def trust_averages(
    trust: np.ndarray, domain: np.ndarray, score: np.ndarray, trusts: int, domains: int
) -> Averages:
    """The averages of ``trusts`` trusts from their items: each item's trust, domain (-1: none
    of the pack's ``domains``) and score."""
    raw, n_items = mean_by(trust, score, trusts)
    rows = domain >= 0
    cell = trust[rows] * domains + domain[rows]
    mean, size = mean_by(cell, score[rows], trusts * domains)
    return Averages(raw, n_items, mean.reshape(trusts, domains), size.reshape(trusts, domains))


def average_columns(pack: Pack, avgs: Averages, trust: np.ndarray) -> list[pl.Series]:
    """The columns ``average_raw``, ``n_items``, ``average_score`` and ``domain_*`` (at the
    published precision; null where the domain has no items) of the trusts ``trust``."""
    digits = pack.published_digits
    raw, domain, known = avgs.raw[trust], avgs.domain[trust], avgs.domain_items[trust] > 0
    return [
        pl.Series("average_raw", raw, dtype=pl.Float64),
        pl.Series("n_items", avgs.n_items[trust], dtype=pl.Int64),
        pl.Series("average_score", round_array(raw, digits), dtype=pl.Float64),
        *[
            nullable(f"domain_{d.key}", round_array(domain[:, k], digits), known[:, k], pl.Float64)
            for k, d in enumerate(pack.domains)
        ],
    ]


def averages(pack: Pack, item_frame: pl.DataFrame) -> pl.DataFrame:
    """Per trust: unrounded average, its published (2 dp) form, item count and domain scores;
    ``item_frame``: one quarter's items (:func:`items`)."""
    codes, trust = coded(item_frame["trust_code"])
    found = trust_averages(
        trust,
        places(item_frame["domain"], [d.key for d in pack.domains]),
        item_frame["score"].to_numpy().astype(float),
        len(codes),
        len(pack.domains),
    )
    everyone = np.arange(len(codes))
    return pl.DataFrame(
        [
            labels("quarter", item_frame["quarter"].head(1).to_list(), np.zeros_like(everyone)),
            pl.Series("trust_code", codes, dtype=pl.String),
            *average_columns(pack, found, everyone),
        ]
    )
