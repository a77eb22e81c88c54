"""Score every metric of a pack for one quarter: pools, completeness and fallbacks (spec §2, §6)."""

from __future__ import annotations

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


def _frame(
    metric: Metric,
    rows: pl.DataFrame,
    scored: sc.Scored,
    *,
    complete: bool,
    basis: np.ndarray,
    note: np.ndarray,
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "quarter": rows["quarter"],
            "trust_code": rows["trust_code"],
            "trust_type": rows["trust_type"],
            "metric_id": [metric.score_id] * rows.height,
            "value_id": [metric.id if metric.has_value else None] * rows.height,
            "value": rows["value"] if metric.has_value else [None] * rows.height,
            "units": rows["units"] if metric.has_value else ["score"] * rows.height,
            "score": scored.score,
            "family": [metric.family] * rows.height,
            "pool_size": [int(x) if x else None for x in scored.pool_size],
            "position": [int(x) if x else None for x in scored.position],
            "target_met": list(scored.target_met),
            "pool_complete": [complete] * rows.height,
            "basis": list(basis),
            "note": list(note),
            "file_rank": rows["rank"] if "rank" in rows.columns else [None] * rows.height,
        },
        schema=sc.SCORE_SCHEMA,
    )


def _ranked(metric: Metric, rows: pl.DataFrame) -> sc.Scored:
    value = rows["value"].to_numpy().astype(float)
    group = rows["trust_type"].to_numpy()
    rank = rows["rank"].fill_null(np.nan).to_numpy().astype(float)
    is_count = (
        (rows["units"] == metric.count_units).to_numpy()
        if metric.count_units
        else (np.zeros(rows.height, dtype=bool))
    )
    return sc.score_ranked(metric, value, group, rank, is_count)


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
    rows: pl.DataFrame,
    scored: sc.Scored,
    published: pl.DataFrame,
    missing: str,
    changed: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Reproduce mode, incomplete pool: replace the pool-dependent scores by NHS England's.

    Values changed by a scenario (``changed``) cannot take NHS England's score; they are placed
    among the loaded trusts' recovered grid scores (:func:`estimate_changed`).
    """
    basis = np.full(rows.height, sc.PARTIAL_POOL, dtype=object)
    note = np.full(rows.height, f"pool incomplete: {missing} not loaded", dtype=object)
    needs = scored.pool_size > 0  # the trusts whose score depends on the ranked group
    pub = (
        rows.select("trust_code")
        .join(
            published.filter(pl.col("metric_id") == metric.score_id).select("trust_code", "value"),
            on="trust_code",
            how="left",
        )["value"]
        .to_numpy()
        .astype(float)
    )
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
            value = rows["value"].to_numpy().astype(float)
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


def score_metric(
    metric: Metric,
    obs: pl.DataFrame,
    published: pl.DataFrame,
    loaded: set[str],
    mode: str,
    done: dict[str, pl.DataFrame],
    changed: frozenset[tuple[str, str]] = frozenset(),
) -> pl.DataFrame | None:
    """Scores of one metric for one quarter, or None when no loaded trust reports it.

    ``changed`` names the (trust, metric) values a scenario changed (see ``_fallback``).
    """
    if metric.family == "matrix":
        a, b = (done.get(i) for i in metric.inputs)
        if a is None or b is None:
            return None
        rows = a.select("quarter", "trust_code", "trust_type", pl.col("score").alias("_a")).join(
            b.select("trust_code", pl.col("score").alias("_b")), on="trust_code", how="inner"
        )
        score = sc.matrix_score(metric, rows["_a"].to_numpy(), rows["_b"].to_numpy())
        scored = sc.Scored(
            score,
            np.zeros(rows.height),
            np.zeros(rows.height),
            np.full(rows.height, None, dtype=object),
        )
        return _frame(
            metric,
            rows,
            scored,
            complete=True,
            basis=np.full(rows.height, sc.COMPUTED, dtype=object),
            note=np.full(rows.height, None, dtype=object),
        )
    wanted = metric.id if metric.has_value else metric.score_id
    rows = obs.filter(pl.col("metric_id") == wanted).sort("trust_code")
    if rows.height == 0:
        return None
    none = np.full(rows.height, None, dtype=object)
    if metric.family in ("input", "bands"):
        value = rows["value"].to_numpy().astype(float)
        score = value if metric.family == "input" else sc.band_score(metric, value)
        scored = sc.Scored(score, np.zeros(rows.height), np.zeros(rows.height), none.copy())
        how = sc.INPUT if metric.family == "input" else sc.COMPUTED
        return _frame(
            metric,
            rows,
            scored,
            complete=True,
            basis=np.full(rows.height, how, dtype=object),
            note=none,
        )
    complete = pool_complete(metric, loaded)
    if metric.pool == "within-type":
        parts = []
        for _, sub in rows.group_by("trust_type", maintain_order=True):
            parts.append(
                _frame(
                    metric,
                    sub,
                    _ranked(metric, sub),
                    complete=True,
                    basis=np.full(sub.height, sc.COMPUTED, dtype=object),
                    note=np.full(sub.height, None, dtype=object),
                )
            )
        return pl.concat(parts)
    scored = _ranked(metric, rows)
    basis: np.ndarray
    note: np.ndarray
    if complete:
        basis = np.full(rows.height, sc.COMPUTED, dtype=object)
        return _frame(metric, rows, scored, complete=True, basis=basis, note=none)
    missing = ", ".join(sorted(set(metric.trust_types) - loaded))
    if mode == REPRODUCE:
        mask = np.array([(c, metric.id) in changed for c in rows["trust_code"].to_list()])
        basis, note = _fallback(metric, rows, scored, published, missing, mask)
    else:
        ranked = scored.pool_size > 0
        basis = np.full(rows.height, sc.COMPUTED, dtype=object)
        basis[ranked] = sc.PARTIAL_POOL
        note = none.copy()
        note[ranked] = f"pool incomplete: {missing} not loaded; ranked among loaded trusts only"
    return _frame(metric, rows, scored, complete=False, basis=basis, note=note)


def score_quarter(
    pack: Pack,
    obs: pl.DataFrame,
    published: pl.DataFrame,
    loaded: set[str],
    mode: str,
    changed: frozenset[tuple[str, str]] = frozenset(),
) -> pl.DataFrame:
    """Every metric score of one quarter (``obs`` and ``published`` hold that quarter only)."""
    done: dict[str, pl.DataFrame] = {}
    for metric in pack.metrics:
        frame = score_metric(metric, obs, published, loaded, mode, done, changed)
        if frame is not None:
            done[metric.score_id] = frame
    if not done:
        return pl.DataFrame(schema=sc.SCORE_SCHEMA)
    return pl.concat(list(done.values()))
