"""What the web app keeps in memory: the dataset, the pack, and results computed once.

Why: every page reads the same few assessments. An assessment costs ~10 ms and the likely ranges
~0.4 s for 195 trusts, so computing them per request would miss the league page's budget
(p95 under 50 ms). Each is computed once, lazily, by the first request that needs it, under a
per-key lock (other keys are not blocked), and kept for the life of the process: the dataset
never changes while the server runs. Keys are validated before they reach a memo, so hostile
requests cannot make it grow.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

import polars as pl

from nhs_league import api
from nhs_league.analysis.uncertainty import DEFAULT_REPLICATES, DEFAULT_SEED, likely_ranges
from nhs_league.dataset import Dataset, quarter_key
from nhs_league.engine.pipeline import Assessment, assess
from nhs_league.errors import NoData
from nhs_league.methods.pack import Pack

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

RESPONSES_KEPT = 500
QUARTERS_KEPT = 256  # spellings of quarters asked for ("Q1", "q1 2025-26", ...) and what they are
MODE = "reproduce"  # the pages show NHS England's method as published (the CLI's default)


class Memo(Generic[K, V]):
    """A thread-safe, compute-once cache: concurrent callers of one key wait for one result."""

    def __init__(self, compute: Callable[[K], V]) -> None:
        self._compute = compute
        self._values: dict[K, V] = {}
        self._locks: dict[K, threading.Lock] = {}
        self._guard = threading.Lock()

    def __call__(self, key: K) -> V:
        return self.get(key, lambda: self._compute(key))

    def get(self, key: K, compute: Callable[[], V]) -> V:
        """The value of ``key``, computed by ``compute`` the first time it is asked for."""
        try:
            return self._values[key]
        except KeyError:
            pass
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._values:
                self._values[key] = compute()
            return self._values[key]


class Recent(Generic[K, V]):
    """A bounded, thread-safe cache of the most recently used ``size`` entries.

    For whole responses of the busiest pages: the data never change while the app runs, so the
    same address always gets the same bytes. Bounded, so arbitrary query strings only churn it.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)


def _no_default(key: Hashable) -> Any:
    raise KeyError(key)


def previous_quarter(quarter: str) -> str:
    """The calendar quarter before ``quarter``: Q1 2025/26 → Q4 2024/25."""
    year, q = quarter_key(quarter)
    if q == 1:
        year, q = year - 1, 5
    return f"Q{q - 1} {year}/{(year + 1) % 100:02d}"


class WebState:
    """The dataset and pack of one running app, with memoised per-quarter results."""

    def __init__(self, data: Dataset, pack: Pack) -> None:
        self.data = data
        self.pack = pack
        self._all_quarters = data.quarters
        trusts = data.trusts
        self._quarters: dict[str, list[str]] = {
            t: sorted(
                trusts.filter(pl.col("trust_type") == t)["quarter"].unique().to_list(),
                key=quarter_key,
            )
            for t in sorted(set(trusts["trust_type"].to_list()))
        }
        order = {q: i for i, q in enumerate(data.quarters)}
        latest = (
            trusts.with_columns(pl.col("quarter").replace_strict(order).alias("_order"))
            .sort("_order", "trust_code")
            .unique("trust_code", keep="last", maintain_order=True)
        )
        self.names: dict[str, str] = dict(latest.select("trust_code", "trust_name").iter_rows())
        self.types: dict[str, str] = dict(latest.select("trust_code", "trust_type").iter_rows())
        self.trust_quarters: dict[str, list[str]] = {
            code: sorted(qs, key=quarter_key)
            for code, qs in trusts.group_by("trust_code").agg(pl.col("quarter")).iter_rows()
        }
        self.regions: list[str] = sorted(set(trusts["region"].drop_nulls().to_list()))
        spans = data.observations.group_by("metric_id", "units").agg(
            pl.col("value").min().alias("low"), pl.col("value").max().alias("high")
        )
        # The loaded values of each (metric, units): what-if bounds depend on what a value is.
        self.value_spans: dict[tuple[str, str], tuple[float | None, float | None]] = {
            (m, u): (lo, hi) for m, u, lo, hi in spans.iter_rows()
        }
        self.assessment: Memo[str, Assessment] = Memo(self._assess)
        self.ranges: Memo[str, pl.DataFrame] = Memo(self._ranges)
        self.extras: Memo[tuple[str, str], pl.DataFrame] = Memo(self._extras)
        self.improvement: Memo[tuple[str, str], dict[str, Any]] = Memo(self._improvement)
        # What the pages derive per quarter and type (the league table's rows, sort orders and
        # filter choices, its rows' markup): ``derived.get(key, compute)``; keys are built
        # from validated quarters and types only.
        self.derived: Memo[Hashable, Any] = Memo(_no_default)
        # Whole responses (media type, body) of the league and home pages and their JSON twins,
        # by path and query string: at most 50 MB (~500 pages of under 100 kB).
        self.responses: Recent[tuple[str, str], tuple[str, bytes]] = Recent(RESPONSES_KEPT)
        # api.resolve_quarter of (trust type, quarter asked for): it builds a Dataset per call.
        self._resolved: Recent[tuple[str, str], str] = Recent(QUARTERS_KEPT)

    @property
    def loaded_types(self) -> list[str]:
        """Trust types with data, in the method pack's order."""
        return [t for t in self.pack.trust_types if t in self._quarters]

    @property
    def quarters(self) -> list[str]:
        return list(self._all_quarters)

    def quarters_of(self, trust_type: str) -> list[str]:
        return self._quarters.get(trust_type, [])

    def quarter(self, trust_type: str, wanted: str | None) -> str:
        """A loaded quarter of ``trust_type`` ("Q1 2025/26", "Q1" or None: the latest)."""
        quarters = self.quarters_of(trust_type)
        if not quarters:
            raise NoData(f"no {trust_type} trusts are loaded")
        if wanted is None:  # the latest of the type: api.resolve_quarter's answer, known already
            return quarters[-1]
        q = self._resolved.get((trust_type, wanted))
        if q is None:
            q = api.resolve_quarter(self.data, wanted, trust_type)
            self._resolved.put((trust_type, wanted), q)
        if q not in quarters:
            raise NoData(
                f"no {trust_type} trusts are loaded for {q}; loaded: {', '.join(quarters)}"
            )
        return q

    def previous(self, quarter: str, trust_type: str) -> str | None:
        """The quarter before ``quarter`` if it is loaded for ``trust_type``, else None."""
        prev = previous_quarter(quarter)
        return prev if prev in self.quarters_of(trust_type) else None

    def warm(self) -> None:
        """Compute every quarter's assessment, likely ranges and league tables now (the server
        calls this before it takes requests, so no visitor waits for a first computation)."""
        from nhs_league.web.pages.league_base import league_base  # pages build on this module

        for q in self.quarters:
            self.ranges(q)
            for t in self.loaded_types:
                if q in self.quarters_of(t):
                    self.extras((q, t))
                    league_base(self, q, t)

    def _assess(self, quarter: str) -> Assessment:
        return assess(self.data, self.pack, quarter=quarter, mode=MODE)

    def _ranges(self, quarter: str) -> pl.DataFrame:
        return likely_ranges(
            self.assessment(quarter), self.pack, replicates=DEFAULT_REPLICATES, seed=DEFAULT_SEED
        )

    def _extras(self, key: tuple[str, str]) -> pl.DataFrame:
        """Per trust of one type and quarter: likely ranges and the change since the previous
        quarter (null where the trust or the quarter is missing)."""
        quarter, trust_type = key
        out = self.ranges(quarter)
        prev = self.previous(quarter, trust_type)
        cols = [pl.lit(None, pl.Float64).alias("previous_average")]
        cols.append(pl.lit(None, pl.Int64).alias("previous_rank"))
        if prev is None:
            return out.with_columns(*cols)
        before = self.assessment(prev).of_type(trust_type)
        return out.join(
            before.select(
                "trust_code",
                pl.col("average_score").alias("previous_average"),
                pl.col("league_rank").alias("previous_rank"),
            ),
            on="trust_code",
            how="left",
        )

    def _improvement(self, key: tuple[str, str]) -> dict[str, Any]:
        quarter, code = key
        return api.improvement_summary(self.assessment(quarter), self.pack, code)
