"""Step 2: items, average metric score and domain scores (spec section 3)."""

from __future__ import annotations

import numpy as np
import polars as pl

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


def items(pack: Pack, scores: pl.DataFrame, quarter: str) -> pl.DataFrame:
    """The items each trust's average is taken over.

    Finance counts once (its band scores are not items); the infection scores are averaged into
    one item first; every other score is one item. The Q1 2025/26 precision quirk rounds some
    scores before they enter (spec section 3).
    """
    item_ids = [m.score_id for m in pack.metrics if m.item]
    domain_of = {m.score_id: m.domain for m in pack.metrics}
    group_of = {member: g.id for g in pack.groups for member in g.members}
    group_domain = {g.id: g.domain for g in pack.groups}
    rounding = pack.rounding_for(quarter)
    s = scores.filter(pl.col("metric_id").is_in(item_ids) & pl.col("score").is_not_null())
    digits = pl.col("metric_id").replace_strict(rounding, default=None, return_dtype=pl.Int64)
    s = (
        s.with_columns(
            pl.when(digits.is_not_null())
            .then(round_expr(pl.col("score"), 2))  # every rule in the 2025/26 pack is 2 dp
            .otherwise(pl.col("score"))
            .alias("score")
        )
        if rounding
        else s
    )
    if rounding and any(d != 2 for d in rounding.values()):  # pragma: no cover - guarded by pack
        raise ValueError("only 2-dp precision rules are supported")
    s = s.with_columns(
        pl.col("metric_id").replace_strict(group_of, default=pl.col("metric_id")).alias("item_id")
    )
    out = s.group_by("quarter", "trust_code", "item_id", maintain_order=True).agg(
        pl.col("score").mean(), pl.len().cast(pl.Int64).alias("members")
    )
    dom = {**domain_of, **group_domain}
    out = out.with_columns(
        pl.col("item_id").replace_strict(dom, return_dtype=pl.String).alias("domain")
    )
    return out.select(list(ITEM_SCHEMA)).cast(ITEM_SCHEMA)  # type: ignore[arg-type]


def averages(pack: Pack, item_frame: pl.DataFrame) -> pl.DataFrame:
    """Per trust: unrounded average, its published (2 dp) form, item count and domain scores."""
    digits = pack.published_digits
    avg = item_frame.group_by("quarter", "trust_code").agg(
        pl.col("score").mean().alias("average_raw"), pl.len().cast(pl.Int64).alias("n_items")
    )
    dom = item_frame.group_by("quarter", "trust_code", "domain").agg(pl.col("score").mean())
    wide = dom.pivot(on="domain", index=["quarter", "trust_code"], values="score")
    for d in pack.domains:
        if d.key not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(d.key))
    wide = wide.select(
        "quarter",
        "trust_code",
        *[round_expr(pl.col(d.key), digits).alias(f"domain_{d.key}") for d in pack.domains],
    )
    return avg.with_columns(round_expr(pl.col("average_raw"), digits).alias("average_score")).join(
        wide, on=["quarter", "trust_code"], how="left"
    )
