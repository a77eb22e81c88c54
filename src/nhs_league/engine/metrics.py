"""Score every metric of a pack for one quarter: pools, completeness and fallbacks (spec §2, §6).

The quarter's observations are sorted by metric and trust code once and read into NumPy arrays
(:class:`Rows`). Each metric is scored on its own rows (a :class:`Part` per pool), and the score
frame is built once, from all the parts, at the end (:func:`_assemble`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from nhs_league.engine import scoring as sc
from nhs_league.methods.pack import Metric, Pack

STRICT = "strict"
REPRODUCE = "reproduce"
MODES = (STRICT, REPRODUCE)


def pool_complete(metric: Metric, loaded: set[str]) -> bool:
    """Whether every trust type that reports ``metric`` is loaded (within-type pools always are)."""
    if metric.pool in ("within-type", "none"):
        return True
    return set(metric.trust_types) <= loaded


@dataclass(frozen=True)
class Rows:
    """The observations of one quarter, sorted by metric and trust code, with their columns as
    parallel arrays; ``spans`` gives each metric's rows as (start, stop)."""

    frame: pl.DataFrame  # the sorted rows themselves
    trust_code: np.ndarray
    trust_type: np.ndarray  # integer codes: equal types, equal codes
    units: np.ndarray
    value: np.ndarray  # NaN where null
    rank: np.ndarray  # NaN where null
    spans: dict[str, tuple[int, int]]

    @classmethod
    def of(cls, obs: pl.DataFrame) -> Rows:
        """``obs``: one quarter's observations (:data:`~nhs_league.ingest.nhse_nof.OBS_SCHEMA`)."""
        rows = obs.sort("metric_id", "trust_code", maintain_order=True)
        runs = rows["metric_id"].rle().struct.unnest()  # runs of one metric id: len, value
        stops = np.cumsum(runs["len"].to_numpy()).tolist()
        starts = [0, *stops][:-1]
        return cls(
            frame=rows,
            trust_code=rows["trust_code"].to_numpy(),
            trust_type=rows["trust_type"].cast(pl.Categorical).to_physical().to_numpy(),
            units=rows["units"].to_numpy(),
            value=rows["value"].to_numpy().astype(float),
            rank=rows["rank"].to_numpy().astype(float),
            spans=dict(zip(runs["value"].to_list(), zip(starts, stops, strict=True), strict=True)),
        )

    def of_metric(self, metric_id: str) -> np.ndarray:
        """Row numbers of one metric, in trust code order (empty if it has none)."""
        start, stop = self.spans.get(metric_id, (0, 0))
        return np.arange(start, stop)


def published_values(
    published: pl.DataFrame, metric_ids: list[str]
) -> dict[str, dict[str, float | None]]:
    """NHS England's published values of ``metric_ids``: metric id -> trust code -> value."""
    rows = published.filter(pl.col("metric_id").is_in(metric_ids))
    out: dict[str, dict[str, float | None]] = {m: {} for m in metric_ids}
    for metric_id, code, value in zip(
        rows["metric_id"].to_list(),
        rows["trust_code"].to_list(),
        rows["value"].to_list(),
        strict=True,
    ):
        out[metric_id][code] = value
    return out


@dataclass(frozen=True)
class Part:
    """Scores of one metric for one pool: the rows scored (row numbers in :class:`Rows`) and, for
    each, what was computed."""

    metric: Metric
    at: np.ndarray
    scored: sc.Scored
    basis: np.ndarray  # object array of str
    note: np.ndarray  # object array of str or None
    complete: bool
    observed: bool = True  # False for a matrix score: its rows are an input's, without a rank


def _computed(metric: Metric, at: np.ndarray, scored: sc.Scored, basis: str = sc.COMPUTED) -> Part:
    """A part of a complete pool: every score has the same basis and no note."""
    return Part(
        metric,
        at,
        scored,
        basis=np.full(at.size, basis, dtype=object),
        note=np.full(at.size, None, dtype=object),
        complete=True,
    )


def _unranked(score: np.ndarray) -> sc.Scored:
    n = score.size
    return sc.Scored(score, np.zeros(n), np.zeros(n), np.full(n, None, dtype=object))


def _ranked(metric: Metric, obs: Rows, at: np.ndarray) -> sc.Scored:
    is_count = (
        obs.units[at] == metric.count_units if metric.count_units else np.zeros(at.size, dtype=bool)
    )
    return sc.score_ranked(metric, obs.value[at], obs.trust_type[at], obs.rank[at], is_count)


def estimate_changed(
    metric: Metric, key: np.ndarray, ref: np.ndarray, ref_score: np.ndarray, n: int
) -> np.ndarray:
    """Scores for changed values in an incomplete pool, placed among the loaded trusts' exact
    grid scores: equal to a loaded trust's value, its score; otherwise the place of the next
    worse loaded trust, as if every unloaded trust in between were better (pessimistic); worse
    than all loaded trusts, the bottom of the grid."""
    lo, span = sc.grid_of(metric)
    out = np.empty(key.size)
    for i, k in enumerate(key):
        same = ref_score[ref == k]
        worse = ref_score[ref > k]
        if same.size:
            out[i] = same.min()
        elif worse.size:
            out[i] = worse.min()
        else:
            out[i] = lo + span
        out[i] = sc.snap(np.array([out[i]]), lo, span, n)[0]
    return out


def _fallback(
    metric: Metric,
    value: np.ndarray,
    scored: sc.Scored,
    pub: np.ndarray,
    missing: str,
    changed: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Reproduce mode, incomplete pool: replace the pool-dependent scores by NHS England's
    (``pub``: each row's published score, NaN where none).

    Values changed by a scenario (``changed``) cannot take NHS England's score; they are placed
    among the loaded trusts' recovered grid scores (:func:`estimate_changed`).
    """
    basis = np.full(value.size, sc.PARTIAL_POOL, dtype=object)
    note = np.full(value.size, f"pool incomplete: {missing} not loaded", dtype=object)
    needs = scored.pool_size > 0  # the trusts whose score depends on the ranked group
    have = needs & ~np.isnan(pub)
    lo, span = sc.grid_of(metric)
    n = sc.grid_size(pub[have], lo, span, at_least=int(needs.sum()))
    if n is not None:
        scored.score[have] = sc.snap(pub[have], lo, span, n)
        scored.pool_size[have] = n
        basis[have] = sc.PUBLISHED
        note[have] = (
            f"pool incomplete ({missing} not loaded): NHS England's score on the grid of {n} trusts"
        )
        moved = needs & changed
        if moved.any():
            key = -value if metric.higher_is_better else value
            ref = have & ~changed
            scored.score[moved] = estimate_changed(
                metric, key[moved], key[ref], scored.score[ref], n
            )
            scored.pool_size[moved] = n
            basis[moved] = sc.ESTIMATED
            note[moved] = (
                f"pool incomplete ({missing} not loaded): changed value placed among the loaded "
                f"trusts on the grid of {n}, unloaded trusts assumed better"
            )
            have = have & ~changed
    else:
        scored.score[have] = pub[have]
        basis[have] = sc.PUBLISHED_RAW
        note[have] = f"pool incomplete ({missing} not loaded): NHS England's score as published"
    scored.position[have | (needs & changed)] = 0
    pool_free = ~needs
    basis[pool_free] = sc.COMPUTED
    note[pool_free] = None
    note[needs & ~have & (basis != sc.ESTIMATED)] = (
        f"pool incomplete ({missing} not loaded) and no published score"
    )
    return basis, note


def _matrix(metric: Metric, obs: Rows, a: list[Part], b: list[Part]) -> Part:
    """Family E: one score for each trust with both inputs, in the order of the first input."""
    a_at = np.concatenate([p.at for p in a])
    a_score = np.concatenate([p.scored.score for p in a])
    b_score = np.concatenate([p.scored.score for p in b])
    b_row = {code: i for i, code in enumerate(obs.trust_code[np.concatenate([p.at for p in b])])}
    pairs = [(i, b_row[code]) for i, code in enumerate(obs.trust_code[a_at]) if code in b_row]
    ia = np.array([i for i, _ in pairs], dtype=np.int64)
    ib = np.array([j for _, j in pairs], dtype=np.int64)
    scored = _unranked(sc.matrix_score(metric, a_score[ia], b_score[ib]))
    n = ia.size
    return Part(
        metric,
        a_at[ia],
        scored,
        basis=np.full(n, sc.COMPUTED, dtype=object),
        note=np.full(n, None, dtype=object),
        complete=True,
        observed=False,
    )


def _within_type(metric: Metric, obs: Rows, at: np.ndarray) -> list[Part]:
    """One pool per trust type, in the order the types first appear (by trust code)."""
    types = obs.trust_type[at]
    parts = []
    for t in dict.fromkeys(types.tolist()):
        pool = at[types == t]
        parts.append(_computed(metric, pool, _ranked(metric, obs, pool)))
    return parts


def score_metric(
    metric: Metric,
    obs: Rows,
    published: dict[str, dict[str, float | None]],
    loaded: set[str],
    mode: str,
    done: dict[str, list[Part]],
    changed: frozenset[tuple[str, str]] = frozenset(),
) -> list[Part] | None:
    """Scores of one metric for one quarter, or None when no loaded trust reports it.

    ``done`` holds the metrics scored so far (by score id), ``published`` NHS England's scores
    a fallback may take (reproduce mode; see :func:`published_values`) and ``changed`` the
    (trust, metric) values a scenario changed (see ``_fallback``).
    """
    if metric.family == "matrix":
        a, b = (done.get(i) for i in metric.inputs)
        if a is None or b is None:
            return None
        return [_matrix(metric, obs, a, b)]
    at = obs.of_metric(metric.id if metric.has_value else metric.score_id)
    if at.size == 0:
        return None
    if metric.family == "input":
        return [_computed(metric, at, _unranked(obs.value[at]), sc.INPUT)]
    if metric.family == "bands":
        return [_computed(metric, at, _unranked(sc.band_score(metric, obs.value[at])))]
    if metric.pool == "within-type":
        return _within_type(metric, obs, at)
    scored = _ranked(metric, obs, at)
    if pool_complete(metric, loaded):
        return [_computed(metric, at, scored)]
    missing = ", ".join(sorted(set(metric.trust_types) - loaded))
    n = at.size
    basis: np.ndarray
    note: np.ndarray
    if mode == REPRODUCE:
        codes = obs.trust_code[at]
        found = published.get(metric.score_id, {})
        pub = np.array([found.get(c) for c in codes.tolist()], dtype=float)  # None -> NaN
        mask = np.array([(c, metric.id) in changed for c in codes.tolist()], dtype=bool)
        basis, note = _fallback(metric, obs.value[at], scored, pub, missing, mask)
    else:
        ranked = scored.pool_size > 0
        basis = np.full(n, sc.COMPUTED, dtype=object)
        basis[ranked] = sc.PARTIAL_POOL
        note = np.full(n, None, dtype=object)
        note[ranked] = f"pool incomplete: {missing} not loaded; ranked among loaded trusts only"
    return [Part(metric, at, scored, basis, note, complete=False)]


def _assemble(obs: Rows, parts: list[Part]) -> pl.DataFrame:
    """The score frame (:data:`~nhs_league.engine.scoring.SCORE_SCHEMA`) of all parts, in order.

    Three blocks side by side: the observed columns of each row (gathered from ``obs``), what
    each part's metric says (one row per part, repeated for its rows) and the computed arrays.
    """
    observed = obs.frame.select("quarter", "trust_code", "trust_type", "value", "units", "rank")[
        np.concatenate([p.at for p in parts])
    ]
    per_part = pl.DataFrame(
        {
            "metric_id": [p.metric.score_id for p in parts],
            "value_id": [p.metric.id if p.metric.has_value else None for p in parts],
            "family": [p.metric.family for p in parts],
            "pool_complete": [p.complete for p in parts],
            "has_value": [p.metric.has_value for p in parts],
            "has_rank": [p.observed for p in parts],
        },
        schema={
            "metric_id": pl.String,
            "value_id": pl.String,
            "family": pl.String,
            "pool_complete": pl.Boolean,
            "has_value": pl.Boolean,
            "has_rank": pl.Boolean,
        },
    )[np.repeat(np.arange(len(parts)), [p.at.size for p in parts])]
    computed = pl.DataFrame(
        {
            "score": np.concatenate([p.scored.score for p in parts]).astype(float),
            "pool_size": np.concatenate([p.scored.pool_size for p in parts]).astype(np.int64),
            "position": np.concatenate([p.scored.position for p in parts]).astype(np.int64),
            "target_met": np.concatenate([p.scored.target_met for p in parts]).tolist(),
            "basis": np.concatenate([p.basis for p in parts]).tolist(),
            "note": np.concatenate([p.note for p in parts]).tolist(),
        },
        schema_overrides={"target_met": pl.Boolean, "basis": pl.String, "note": pl.String},
    )
    has_value = pl.col("has_value")
    return pl.concat([observed, per_part, computed], how="horizontal").select(
        "quarter",
        "trust_code",
        "trust_type",
        "metric_id",
        "value_id",
        pl.when(has_value).then(pl.col("value")).alias("value"),
        pl.when(has_value).then(pl.col("units")).otherwise(pl.lit("score")).alias("units"),
        "score",
        "family",
        pl.when(pl.col("pool_size") != 0).then(pl.col("pool_size")).alias("pool_size"),
        pl.when(pl.col("position") != 0).then(pl.col("position")).alias("position"),
        "target_met",
        "pool_complete",
        "basis",
        "note",
        pl.when(pl.col("has_rank")).then(pl.col("rank")).alias("file_rank"),
    )


def score_quarter(
    pack: Pack,
    obs: pl.DataFrame,
    published: pl.DataFrame,
    loaded: set[str],
    mode: str,
    changed: frozenset[tuple[str, str]] = frozenset(),
) -> pl.DataFrame:
    """Every metric score of one quarter (``obs`` and ``published`` hold that quarter only)."""
    rows = Rows.of(obs)
    fallback_ids = [
        m.score_id
        for m in pack.metrics
        if mode == REPRODUCE and m.has_value and not pool_complete(m, loaded)
    ]
    pub = published_values(published, fallback_ids) if fallback_ids else {}
    done: dict[str, list[Part]] = {}
    for metric in pack.metrics:
        parts = score_metric(metric, rows, pub, loaded, mode, done, changed)
        if parts is not None:
            done[metric.score_id] = parts
    if not done:
        return pl.DataFrame(schema=sc.SCORE_SCHEMA)
    return _assemble(rows, [p for parts in done.values() for p in parts])
