"""Moving between Polars frames and NumPy arrays, and running Polars queries.

The engine computes on NumPy arrays and builds each frame it returns once. On frames of a few
thousand rows the fixed cost of each Polars operation, not the work it does, is most of the
time: these helpers keep the number of operations small.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl


def collect(query: pl.LazyFrame) -> pl.DataFrame:
    """Run ``query`` as Polars runs an eager operation: on the in-memory engine, with expression
    simplification as its only optimisation (so the same kernels and the same sums), but as one
    query rather than one per step."""
    flags = pl.QueryOptFlags.none()
    flags.simplify_expression = True
    return query.collect(engine="in-memory", optimizations=flags)


_FEW = 4  # up to this many categories, :func:`places` compares rather than casts


def places(values: pl.Series, categories: Sequence[str]) -> np.ndarray:
    """Each value's place in ``categories`` (distinct strings); -1 where it is not one of them."""
    if len(categories) <= _FEW:  # a comparison per category costs less than a cast
        out = np.full(values.len(), -1, dtype=np.int64)
        for place, category in enumerate(categories):
            out[equals(values, category)] = place
        return out
    found = values.cast(pl.Enum(categories), strict=False)
    physical = found.to_physical().to_numpy()
    if found.null_count():  # then ``physical`` holds floats, NaN where not a category
        physical = np.where(np.isnan(physical), -1, physical)
    return physical.astype(np.int64)


def coded(values: pl.Series, expected: Sequence[str | None] = ()) -> tuple[list[str], np.ndarray]:
    """The distinct values, sorted, and each value's place among them (-1 for a null).

    ``expected`` holds the values one expects (the quarter's trust codes, say): when every value
    is one of them, they are taken as the distinct values (so some may not occur), which spares
    finding the distinct values.
    """
    categories = sorted({e for e in expected if e is not None})
    found = places(values, categories)
    if (found < 0).any():  # a value not expected (or a null): add the values found
        categories = sorted(set(categories) | set(values.drop_nulls().unique().to_list()))
        found = places(values, categories)
    return categories, found


def equals(values: pl.Series, value: str) -> np.ndarray:
    """Where ``values`` equal ``value`` (a null equals nothing)."""
    same = values == value
    if same.null_count():
        same = same.fill_null(False)
    return same.to_numpy()


def index_of(values: Sequence[str | None], categories: Sequence[str]) -> np.ndarray:
    """:func:`places` for a list: for a few hundred values, a dict costs less than a cast."""
    place = {c: i for i, c in enumerate(categories)}
    return np.array([place.get(v, -1) if v is not None else -1 for v in values], dtype=np.int64)


def bools(column: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """A Boolean column as arrays: where it is true, and where it is known (not null)."""
    as_float = column.cast(pl.Float64).to_numpy()  # a null becomes NaN
    return as_float == 1.0, ~np.isnan(as_float)


def nullable(
    name: str, values: np.ndarray, valid: np.ndarray, dtype: type[pl.DataType]
) -> pl.Series:
    """A column of ``values``, null where not ``valid``."""
    if valid.all():
        return pl.Series(name, values, dtype=dtype)
    if dtype == pl.Float64:  # NaN marks the nulls (``values`` must hold no NaN where valid)
        return pl.Series(name, np.where(valid, values, np.nan), nan_to_null=True)
    return pl.Series(name, values, dtype=dtype).scatter(np.flatnonzero(~valid), None)


_INDEX = np.uint64 if pl.get_index_type() == pl.UInt64 else np.uint32


def take(
    frame: pl.DataFrame, rows: np.ndarray, columns: Sequence[str] | None = None
) -> pl.DataFrame:
    """Rows ``rows`` of ``frame`` (of its ``columns``, by default all): one gather for them all,
    with an index Polars need not convert."""
    index = pl.Series(rows.astype(_INDEX))
    return frame[index] if columns is None else frame[index, list(columns)]


def labels(name: str, names: Sequence[str | None], index: np.ndarray) -> pl.Series:
    """A string column whose row ``i`` is ``names[index[i]]`` (for one column, building it from
    a list costs less than a gather)."""
    return pl.Series(name, np.array(names, dtype=object)[index].tolist(), dtype=pl.String)
