"""Score every metric of a pack for one quarter: pools, completeness and fallbacks (spec §2, §6).

The quarter's observations are read into NumPy arrays once, sorted by metric and trust code
(:class:`Rows`), with each trust as an integer: its place among the sorted trust codes. Each
metric is scored on its own rows (a :class:`Part` per pool), and the score frame is built once,
from all the parts, at the end (:func:`_assemble`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import polars as pl

from nhs_league.engine import scoring as sc
from nhs_league.engine.frames import coded, equals, index_of, nullable, places, take
from nhs_league.methods.pack import Metric, Pack

STRICT = "strict"
REPRODUCE = "reproduce"
MODES = (STRICT, REPRODUCE)


def pool_complete(metric: Metric, loaded: set[str]) -> bool:
    """Whether every trust type that reports ``metric`` is loaded (within-type pools always are)."""
    if metric.pool in ("within-type", "none"):
        return True
    return set(metric.trust_types) <= loaded


def row_id(metric: Metric) -> str:
    """The Metric_ID of the observation rows ``metric`` is scored from: its value's, or (a score
    published without a value) its score's."""
    return metric.id if metric.has_value else metric.score_id


@dataclass(frozen=True)
class Rows:
    """The observations of one quarter that the pack reads, sorted by metric and trust code, with
    their columns as parallel arrays; ``spans`` gives each metric's rows as (start, stop)."""

    frame: pl.DataFrame  # the quarter's observations, as given
    source: np.ndarray  # each row's row number in ``frame``
    codes: list[str]  # the quarter's trust codes, sorted
    trust: np.ndarray  # each row's trust: its place in ``codes``
    trust_type: np.ndarray  # integer codes: equal types, equal codes
    value: np.ndarray  # NaN where null (ingest keeps only finite numbers)
    rank: np.ndarray  # NaN where null
    spans: dict[str, tuple[int, int]]

    @classmethod
    def of(cls, obs: pl.DataFrame, trusts: pl.DataFrame, metric_ids: Iterable[str]) -> Rows:
        """``obs`` and ``trusts``: one quarter's observations and trusts
        (:data:`~nhs_league.ingest.nhse_nof.OBS_SCHEMA`, ``TRUSTS_SCHEMA``); the rows of
        ``metric_ids`` are kept."""
        ids = sorted(set(metric_ids))
        metric = places(obs["metric_id"], ids)
        codes, trust = coded(obs["trust_code"], trusts["trust_code"].to_list())
        _, trust_type = coded(obs["trust_type"], trusts["trust_type"].to_list())
        kept = np.flatnonzero(metric >= 0)
        # by metric, then trust code (the order of the codes' places)
        source = kept[np.argsort(metric[kept] * len(codes) + trust[kept], kind="stable")]
        bounds = np.searchsorted(metric[source], np.arange(len(ids) + 1)).tolist()
        return cls(
            frame=obs,
            source=source,
            codes=codes,
            trust=trust[source],
            trust_type=trust_type[source],
            value=obs["value"].to_numpy().astype(float)[source],
            rank=obs["rank"].to_numpy().astype(float)[source],
            spans=dict(zip(ids, pairwise(bounds), strict=True)),
        )

    def has_units(self, units: str) -> np.ndarray:
        """Whether each row's units are ``units``."""
        out: np.ndarray = equals(self.frame["units"], units)[self.source]
        return out

    def of_metric(self, metric_id: str) -> np.ndarray:
        """Row numbers of one metric, in trust code order (empty if it has none)."""
        start, stop = self.spans.get(metric_id, (0, 0))
        return np.arange(start, stop)


def published_scores(
    published: pl.DataFrame, metric_ids: list[str], codes: list[str]
) -> dict[str, np.ndarray]:
    """NHS England's published values of ``metric_ids`` for the trusts ``codes``: metric id ->
    one value per trust, in the order of ``codes`` (NaN where none)."""
    metric = places(published["metric_id"], metric_ids)
    wanted = metric >= 0
    rows = pl.Series(wanted)
    trust = index_of(published["trust_code"].filter(rows).to_list(), codes)
    value = published["value"].filter(rows).to_numpy().astype(float)
    found = trust >= 0
    out = np.full((len(metric_ids), len(codes)), np.nan)
    out[metric[wanted][found], trust[found]] = value[found]
    return dict(zip(metric_ids, out, strict=True))


def published_pair(published: pl.DataFrame, a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
    """The published values of metrics ``a`` and ``b`` of each trust that has both."""
    of_a, of_b = _by_code(published, a), _by_code(published, b)
    codes = [c for c, v in of_a.items() if v is not None and of_b.get(c) is not None]
    return (
        np.array([of_a[c] for c in codes], dtype=float),
        np.array([of_b[c] for c in codes], dtype=float),
    )


def _by_code(published: pl.DataFrame, metric_id: str) -> dict[str, float | None]:
    """NHS England's published ``metric_id``: trust code -> value."""
    rows = published["metric_id"] == metric_id
    codes, values = published["trust_code"].filter(rows), published["value"].filter(rows)
    return dict(zip(codes.to_list(), values.to_list(), strict=True))


Outcome = tuple[str, str | None]  # how a score was obtained: its basis and a note


@dataclass(frozen=True)
class Part:
    """Scores of one metric for one pool: the rows scored (row numbers in :class:`Rows`), what
    was computed for each, and how (each row's outcome: its place in ``outcomes``)."""

    metric: Metric
    at: np.ndarray
    scored: sc.Scored
    outcomes: list[Outcome]
    outcome: np.ndarray
    complete: bool
    observed: bool = True  # False for a matrix score: its rows are an input's, without a rank


def _computed(metric: Metric, at: np.ndarray, scored: sc.Scored, basis: str = sc.COMPUTED) -> Part:
    """A part of a complete pool: every score has the same basis and no note."""
    return Part(metric, at, scored, [(basis, None)], np.zeros(at.size, dtype=np.int64), True)


def _unranked(score: np.ndarray) -> sc.Scored:
    n = score.size
    return sc.Scored(score, np.zeros(n), np.zeros(n), np.full(n, None, dtype=object))


def _ranked(metric: Metric, obs: Rows, at: np.ndarray) -> sc.Scored:
    is_count = (
        obs.has_units(metric.count_units)[at]
        if metric.count_units
        else np.zeros(at.size, dtype=bool)
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
) -> tuple[list[Outcome], np.ndarray]:
    """Reproduce mode, incomplete pool: replace the pool-dependent scores by NHS England's
    (``pub``: each row's published score, NaN where none).

    Values changed by a scenario (``changed``) cannot take NHS England's score; they are placed
    among the loaded trusts' recovered grid scores (:func:`estimate_changed`).
    """
    needs = scored.pool_size > 0  # the trusts whose score depends on the ranked group
    have = needs & ~np.isnan(pub)
    outcomes: list[Outcome] = [
        (sc.COMPUTED, None),  # pool-free: met the target, or below the standard
        (sc.PARTIAL_POOL, f"pool incomplete ({missing} not loaded) and no published score"),
    ]
    outcome = needs.astype(np.int64)
    lo, span = sc.grid_of(metric)
    n = sc.grid_size(pub[have], lo, span, at_least=int(needs.sum()))
    if n is not None:
        scored.score[have] = sc.snap(pub[have], lo, span, n)
        scored.pool_size[have] = n
        outcome[have] = len(outcomes)
        outcomes.append(
            (
                sc.PUBLISHED,
                f"pool incomplete ({missing} not loaded): NHS England's score on the grid of {n} "
                "trusts",
            )
        )
        moved = needs & changed
        if moved.any():
            key = -value if metric.higher_is_better else value
            ref = have & ~changed
            scored.score[moved] = estimate_changed(
                metric, key[moved], key[ref], scored.score[ref], n
            )
            scored.pool_size[moved] = n
            outcome[moved] = len(outcomes)
            outcomes.append(
                (
                    sc.ESTIMATED,
                    f"pool incomplete ({missing} not loaded): changed value placed among the "
                    f"loaded trusts on the grid of {n}, unloaded trusts assumed better",
                )
            )
            have = have & ~changed
    else:
        scored.score[have] = pub[have]
        outcome[have] = len(outcomes)
        outcomes.append(
            (
                sc.PUBLISHED_RAW,
                f"pool incomplete ({missing} not loaded): NHS England's score as published",
            )
        )
    scored.position[have | (needs & changed)] = 0
    return outcomes, outcome


def _matrix(metric: Metric, obs: Rows, a: list[Part], b: list[Part]) -> Part:
    """Family E: one score for each trust with both inputs, in the order of the first input."""
    a_at = np.concatenate([p.at for p in a])
    a_score = np.concatenate([p.scored.score for p in a])
    b_at = np.concatenate([p.at for p in b])
    b_score = np.concatenate([p.scored.score for p in b])
    b_of = np.full(len(obs.codes), -1)  # each trust's row in b, -1 if none
    b_of[obs.trust[b_at]] = np.arange(b_at.size)
    ib = b_of[obs.trust[a_at]]
    ia = np.flatnonzero(ib >= 0)
    scored = _unranked(sc.matrix_score(metric, a_score[ia], b_score[ib[ia]]))
    outcome = np.zeros(ia.size, dtype=np.int64)
    return Part(metric, a_at[ia], scored, [(sc.COMPUTED, None)], outcome, True, observed=False)


def _within_type(metric: Metric, obs: Rows, at: np.ndarray) -> list[Part]:
    """One pool per trust type, in the order the types first appear (by trust code)."""
    types = obs.trust_type[at]
    parts = []
    for t in dict.fromkeys(types.tolist()):
        pool = at[types == t]
        parts.append(_computed(metric, pool, _ranked(metric, obs, pool)))
    return parts


def _changed(
    metric: Metric, obs: Rows, at: np.ndarray, changed: frozenset[tuple[str, str]]
) -> np.ndarray:
    """Which of the rows ``at`` hold a value of ``metric`` that a scenario changed."""
    codes = {code for code, metric_id in changed if metric_id == metric.id}
    if not codes:
        return np.zeros(at.size, dtype=bool)
    return np.array([obs.codes[t] in codes for t in obs.trust[at].tolist()], dtype=bool)


def score_metric(
    metric: Metric,
    obs: Rows,
    published: dict[str, np.ndarray],
    loaded: set[str],
    mode: str,
    done: dict[str, list[Part]],
    changed: frozenset[tuple[str, str]] = frozenset(),
) -> list[Part] | None:
    """Scores of one metric for one quarter, or None when no loaded trust reports it.

    ``done`` holds the metrics scored so far (by score id), ``published`` NHS England's scores
    a fallback may take (reproduce mode; see :func:`published_scores`) and ``changed`` the
    (trust, metric) values a scenario changed (see ``_fallback``).
    """
    if metric.family == "matrix":
        a, b = (done.get(i) for i in metric.inputs)
        if a is None or b is None:
            return None
        return [_matrix(metric, obs, a, b)]
    at = obs.of_metric(row_id(metric))
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
    outcomes: list[Outcome]
    if mode == REPRODUCE:
        found = published.get(metric.score_id)
        pub = found[obs.trust[at]] if found is not None else np.full(at.size, np.nan)
        mask = _changed(metric, obs, at, changed)
        outcomes, outcome = _fallback(metric, obs.value[at], scored, pub, missing, mask)
    else:
        note = f"pool incomplete: {missing} not loaded; ranked among loaded trusts only"
        outcomes = [(sc.COMPUTED, None), (sc.PARTIAL_POOL, note)]
        outcome = (scored.pool_size > 0).astype(np.int64)
    return [Part(metric, at, scored, outcomes, outcome, complete=False)]


def _kinds(parts: list[Part]) -> tuple[pl.DataFrame, np.ndarray]:
    """The labels of each kind of score row (a part's metric and an outcome of it), one row per
    kind, and each score row's kind."""
    kinds = [(p, basis, note) for p in parts for basis, note in p.outcomes]
    first = np.cumsum([0, *(len(p.outcomes) for p in parts)])  # each part's first kind
    kind = np.concatenate([first[i] + p.outcome for i, p in enumerate(parts)])
    frame = pl.DataFrame(
        [
            pl.Series("metric_id", [p.metric.score_id for p, _, _ in kinds], dtype=pl.String),
            pl.Series(
                "value_id",
                [p.metric.id if p.metric.has_value else None for p, _, _ in kinds],
                dtype=pl.String,
            ),
            pl.Series("family", [p.metric.family for p, _, _ in kinds], dtype=pl.String),
            pl.Series("pool_complete", [p.complete for p, _, _ in kinds], dtype=pl.Boolean),
            pl.Series("basis", [basis for _, basis, _ in kinds], dtype=pl.String),
            pl.Series("note", [note for _, _, note in kinds], dtype=pl.String),
        ]
    )
    return frame, kind


def _assemble(obs: Rows, parts: list[Part]) -> pl.DataFrame:
    """The score frame (:data:`~nhs_league.engine.scoring.SCORE_SCHEMA`) of all parts, in order.

    Three blocks side by side: the observed columns of each row (gathered from ``obs``), the
    labels of its kind (gathered from one row per kind, see :func:`_kinds`) and the computed
    arrays.
    """
    at = np.concatenate([p.at for p in parts])
    observed = take(obs.frame, obs.source[at], ("quarter", "trust_code", "trust_type", "units"))
    kinds, kind = _kinds(parts)
    labelled = take(kinds, kind)
    part = np.repeat(np.arange(len(parts)), [p.at.size for p in parts])
    has_value = np.array([p.metric.has_value for p in parts], dtype=bool)[part]
    has_rank = np.array([p.observed for p in parts], dtype=bool)[part]
    value, rank = obs.value[at], obs.rank[at]
    pool_size = np.concatenate([p.scored.pool_size for p in parts]).astype(np.int64)
    position = np.concatenate([p.scored.position for p in parts]).astype(np.int64)
    target_met = np.concatenate([p.scored.target_met for p in parts]).tolist()
    return pl.DataFrame(
        [
            observed["quarter"],
            observed["trust_code"],
            observed["trust_type"],
            labelled["metric_id"],
            labelled["value_id"],
            nullable("value", value, has_value & ~np.isnan(value), pl.Float64),
            observed["units"].scatter(np.flatnonzero(~has_value), "score"),
            pl.Series("score", np.concatenate([p.scored.score for p in parts]), dtype=pl.Float64),
            labelled["family"],
            nullable("pool_size", pool_size, pool_size != 0, pl.Int64),
            nullable("position", position, position != 0, pl.Int64),
            pl.Series("target_met", target_met, dtype=pl.Boolean),
            labelled["pool_complete"],
            labelled["basis"],
            labelled["note"],
            nullable("file_rank", rank, has_rank & ~np.isnan(rank), pl.Float64),
        ]
    )


@dataclass(frozen=True)
class Scores:
    """Every metric score of one quarter: the frame, and its rows' keys as arrays for the steps
    that follow (items and averages)."""

    frame: pl.DataFrame  # :data:`~nhs_league.engine.scoring.SCORE_SCHEMA`
    parts: list[Part]
    codes: list[str]  # the quarter's trust codes, sorted
    trust: np.ndarray  # each row's trust: its place in ``codes``
    metric_ids: list[str]  # score ids
    metric: np.ndarray  # each row's metric: its place in ``metric_ids``
    score: np.ndarray


def score_quarter(
    pack: Pack,
    obs: pl.DataFrame,
    trusts: pl.DataFrame,
    published: pl.DataFrame,
    loaded: set[str],
    mode: str,
    changed: frozenset[tuple[str, str]] = frozenset(),
) -> Scores:
    """Every metric score of one quarter (``obs``, ``trusts`` and ``published`` hold that quarter
    only)."""
    rows = Rows.of(obs, trusts, [row_id(m) for m in pack.metrics if m.family != "matrix"])
    fallback_ids = [
        m.score_id
        for m in pack.metrics
        if mode == REPRODUCE and m.has_value and not pool_complete(m, loaded)
    ]
    pub = published_scores(published, fallback_ids, rows.codes) if fallback_ids else {}
    done: dict[str, list[Part]] = {}
    for metric in pack.metrics:
        parts = score_metric(metric, rows, pub, loaded, mode, done, changed)
        if parts is not None:
            done[metric.score_id] = parts
    every = [p for parts in done.values() for p in parts]
    metric_ids = list(done)
    return Scores(
        frame=_assemble(rows, every) if every else pl.DataFrame(schema=sc.SCORE_SCHEMA),
        parts=every,
        codes=rows.codes,
        trust=rows.trust[_joined([p.at for p in every], np.int64)],
        metric_ids=metric_ids,
        metric=_joined(
            [np.full(p.at.size, metric_ids.index(p.metric.score_id)) for p in every], np.int64
        ),
        score=_joined([p.scored.score for p in every], np.float64),
    )


def _joined(arrays: list[np.ndarray], dtype: type) -> np.ndarray:
    """The arrays end to end (empty if there are none)."""
    return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype)


def fallback_notes(scores: Scores) -> list[str]:
    """One note per metric and basis of the scores that are not computed from a complete pool:
    how many, and the first one's note."""
    found: dict[tuple[str, str], tuple[int, str | None]] = {}
    for p in scores.parts:
        counts = np.bincount(p.outcome, minlength=len(p.outcomes)).tolist()
        for (basis, note), count in zip(p.outcomes, counts, strict=True):
            if count and basis not in (sc.COMPUTED, sc.INPUT):
                before, first = found.get((p.metric.score_id, basis), (0, note))
                found[p.metric.score_id, basis] = (before + count, first)
    return [
        f"{metric_id}: {count} scores {basis} ({note})"
        for (metric_id, basis), (count, note) in sorted(found.items())
    ]
