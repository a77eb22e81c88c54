"""Running Polars queries."""

from __future__ import annotations

from typing import TypeVar

import polars as pl

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)  # a step that works on either


def collect(query: pl.LazyFrame) -> pl.DataFrame:
    """Run ``query`` as Polars runs an eager operation: on the in-memory engine, with expression
    simplification as its only optimisation (so the same kernels and the same sums), but as one
    query rather than one per step. On frames of a few thousand rows the fixed cost of each step,
    and of optimising a plan, is most of the time."""
    flags = pl.QueryOptFlags.none()
    flags.simplify_expression = True
    return query.collect(engine="in-memory", optimizations=flags)
