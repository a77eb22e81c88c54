"""Step 2: items, average metric score and domain scores (spec section 3)."""

from __future__ import annotations

import numpy as np
import polars as pl

from nhs_league.engine.frames import collect
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


def _item_table(pack: Pack, quarter: str) -> pl.DataFrame:
    """One row per metric scored as (part of) an item: its item (its group's id, or its own score
    id), the item's domain, and whether the quarter's precision rule rounds its score first."""
    group_of = {member: g.id for g in pack.groups for member in g.members}
    domain_of = {
        **{m.score_id: m.domain for m in pack.metrics},
        **{g.id: g.domain for g in pack.groups},
    }
    rounding = pack.rounding_for(quarter)
    if any(d != 2 for d in rounding.values()):  # pragma: no cover - guarded by pack
        raise ValueError("only 2-dp precision rules are supported")
    metric_ids = list(dict.fromkeys(m.score_id for m in pack.metrics if m.item))
    item_ids = [group_of.get(i, i) for i in metric_ids]
    return pl.DataFrame(
        {
            "metric_id": metric_ids,
            "item_id": item_ids,
            "domain": [domain_of[i] for i in item_ids],
            "rounded": [i in rounding for i in metric_ids],
        },
        schema={
            "metric_id": pl.String,
            "item_id": pl.String,
            "domain": pl.String,
            "rounded": pl.Boolean,
        },
    )


def items(pack: Pack, scores: pl.DataFrame, quarter: str) -> pl.DataFrame:
    """The items each trust's average is taken over.

    Finance counts once (its band scores are not items); the infection scores are averaged into
    one item first; every other score is one item. The Q1 2025/26 precision quirk rounds some
    scores before they enter (spec section 3).
    """
    score = pl.col("score")
    return collect(
        scores.lazy()
        .select("quarter", "trust_code", "metric_id", "score")
        .join(_item_table(pack, quarter).lazy(), on="metric_id", maintain_order="left")
        .filter(score.is_not_null())
        .with_columns(
            # every rule in the 2025/26 pack is 2 dp
            pl.when(pl.col("rounded")).then(round_expr(score, 2)).otherwise(score).alias("score")
        )
        .group_by("quarter", "trust_code", "item_id", maintain_order=True)
        .agg(pl.col("domain").first(), score.mean(), pl.len().alias("members"))
        .select(list(ITEM_SCHEMA))
        .cast(ITEM_SCHEMA)  # type: ignore[arg-type]
    )


def averages(pack: Pack, item_frame: pl.DataFrame) -> pl.DataFrame:
    """Per trust: unrounded average, its published (2 dp) form, item count and domain scores."""
    digits = pack.published_digits
    score = pl.col("score")
    domains = {f"domain_{d.key}": d.key for d in pack.domains}
    return collect(
        item_frame.lazy()
        .group_by("quarter", "trust_code")
        .agg(
            score.mean().alias("average_raw"),
            pl.len().cast(pl.Int64).alias("n_items"),
            *[score.filter(pl.col("domain") == key).mean().alias(c) for c, key in domains.items()],
        )
        .select(
            "quarter",
            "trust_code",
            "average_raw",
            "n_items",
            round_expr(pl.col("average_raw"), digits).alias("average_score"),
            *[round_expr(pl.col(c), digits) for c in domains],
        )
    )
