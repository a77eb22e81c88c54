"""Improvement needed to move up a segment, and the cheapest path there (docs/analysis.md).

For a trust in adjusted segment S > 1:

* **needed average**: the highest 2-dp average that the quarter's cut-points place in segment
  S − 1 (cut-points held fixed);
* **gap**: the trust's 2-dp average minus the needed average, in points;
* **blocked**: the financial override caps a trust in deficit at segment 3, so a deficit trust
  in segment 3 cannot move up through its metrics;
* **cheapest path**: the fewest metric changes that reach the needed average with everything
  else held, each stated in the metric's own units. Metrics are taken in order of the largest
  possible gain (each moved to the best value any trust reports, or its target); all but the
  last are moved to that best value, and the last only as far as needed. Positions are recomputed
  against the pool (rank-based scoring), so a value "just better" than another trust's is the
  real threshold. Score-only metrics, set by NHS England, are not changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from nhs_league.analysis.scenario import Change, Scenario
from nhs_league.engine import aggregate
from nhs_league.engine import scoring as sc
from nhs_league.engine.explain import fmt_value
from nhs_league.engine.metrics import estimate_changed
from nhs_league.engine.pipeline import Assessment
from nhs_league.engine.segments import highest_average as needed_average
from nhs_league.methods.pack import Metric, Pack

STEP = 0.01  # values are published to 2 dp; a path moves values in these steps


@dataclass(frozen=True)
class Step:
    metric_id: str
    name: str
    units: str
    value_from: float
    value_to: float
    score_from: float
    score_to: float
    estimated: bool = False  # the pool is incomplete: the new score is placed pessimistically

    def sentence(self, pack: Pack) -> str:
        m = pack.metric(self.metric_id)
        note = "; estimated, the pool is incomplete in the loaded files" if self.estimated else ""
        return (
            f"{m.short} from {fmt_value(self.value_from, self.units)} to "
            f"{fmt_value(self.value_to, self.units)} (score {self.score_from:.2f} → "
            f"{self.score_to:.2f}{note})"
        )


@dataclass(frozen=True)
class Improvement:
    trust_code: str
    segment: int
    target_segment: int | None
    average: float
    needed_average: float | None
    gap: float | None
    blocked_by_override: bool
    steps: tuple[Step, ...]
    reachable: bool
    average_after: float | None

    def scenario(self) -> Scenario:
        return Scenario(tuple(Change(self.trust_code, s.metric_id, s.value_to) for s in self.steps))


class _Trust:
    """One trust's scores, with a fast re-scoring of its own value on one metric."""

    def __init__(self, a: Assessment, pack: Pack, code: str) -> None:
        self.a, self.pack, self.code = a, pack, code
        self.scores = a.metric_scores
        self.own = self.scores.filter(pl.col("trust_code") == code)
        self.ttype = a.table.filter(pl.col("trust_code") == code)["trust_type"][0]

    def candidates(self) -> list[Metric]:
        ids = set(self.own.filter(pl.col("value").is_not_null())["metric_id"].to_list())
        return [
            m
            for m in self.pack.metrics
            if m.score_id in ids and m.has_value and not self._is_count(m)
        ]

    def _is_count(self, m: Metric) -> bool:
        row = self.own.filter(pl.col("metric_id") == m.score_id)
        return bool(m.count_units) and row["units"][0] == m.count_units

    def estimated(self, m: Metric) -> bool:
        """Whether this trust's score on ``m`` rests on NHS England's published grid (an
        incomplete pool), so that a changed value can only be placed by estimate."""
        row = self.own.filter(pl.col("metric_id") == m.score_id)
        return row["basis"][0] in (sc.PUBLISHED, sc.PUBLISHED_RAW, sc.ESTIMATED)

    def value(self, m: Metric) -> float:
        return float(self.own.filter(pl.col("metric_id") == m.score_id)["value"][0])

    def pool(self, m: Metric) -> pl.DataFrame:
        p = self.scores.filter(pl.col("metric_id") == m.score_id)
        if m.pool == "within-type":
            p = p.filter(pl.col("trust_type") == self.ttype)
        if m.count_units:
            p = p.filter(pl.col("units") != m.count_units)
        return p

    def score_with(self, m: Metric, value: float) -> float:
        """This trust's score on ``m`` if its value were ``value``, the others held."""
        if m.family == "bands":
            return float(sc.band_score(m, np.array([value]))[0])
        p = self.pool(m)
        me = (p["trust_code"] == self.code).to_numpy()
        vals = p["value"].to_numpy().astype(float).copy()
        vals[me] = value
        ranks = p["file_rank"].fill_null(np.nan).to_numpy().astype(float).copy()
        ranks[me] = np.nan
        estimated = p["basis"].is_in([sc.PUBLISHED, sc.PUBLISHED_RAW, sc.ESTIMATED]).to_numpy()
        if estimated[me].any():  # incomplete pool: place among the recovered grid scores
            key = -vals if m.higher_is_better else vals
            ref = ~me & estimated
            n = int(p.filter(pl.col("trust_code") == self.code)["pool_size"][0] or 2)
            met = sc.score_ranked(
                m, vals[me], p["trust_type"].to_numpy()[me], ranks[me], np.zeros(1, dtype=bool)
            )
            if met.pool_size[0] == 0:  # pool-free: met the target, or below the standard
                return float(met.score[0])
            scores = p["score"].to_numpy().astype(float)
            return float(estimate_changed(m, key[me], key[ref], scores[ref], n)[0])
        out = sc.score_ranked(
            m, vals, p["trust_type"].to_numpy(), ranks, np.zeros(vals.size, dtype=bool)
        )
        return float(out.score[me][0])

    def average_with(self, new_scores: dict[str, float]) -> float:
        """The trust's unrounded average with some metric scores replaced."""
        own = self.own.with_columns(
            pl.col("metric_id")
            .replace_strict(new_scores, default=pl.col("score"), return_dtype=pl.Float64)
            .alias("score")
        )
        for m in self.pack.metrics:  # combined scores whose inputs moved (finance matrix)
            if m.family == "matrix" and any(i in new_scores for i in m.inputs):
                got = dict(own.select("metric_id", "score").iter_rows())
                s = sc.matrix_score(m, np.array([got[m.inputs[0]]]), np.array([got[m.inputs[1]]]))
                own = own.with_columns(
                    pl.when(pl.col("metric_id") == m.score_id)
                    .then(pl.lit(float(s[0])))
                    .otherwise(pl.col("score"))
                    .alias("score")
                )
        items = aggregate.items(self.pack, own, self.a.quarter)
        return float(items["score"].mean())  # type: ignore[arg-type]

    def best_value(self, m: Metric) -> float:
        """The most favourable value: the best any trust reports, or the target if better."""
        vals = self.pool(m)["value"].drop_nulls().to_numpy().astype(float)
        if m.family == "bands":
            return (
                max(m.bands[0], self.value(m))
                if m.higher_is_better
                else min(m.bands[0], self.value(m))
            )
        best = vals.max() if m.higher_is_better else vals.min()
        if m.family in ("target", "standard") and m.target is not None:
            best = max(best, m.target) if m.higher_is_better else min(best, m.target)
        return float(best)

    def thresholds(self, m: Metric, best: float) -> list[float]:
        """Values between the current and the best at which the score can change, nearest first."""
        cur = self.value(m)
        pts = set(self.pool(m)["value"].drop_nulls().to_list())
        if m.target is not None:
            pts.add(m.target)
        if m.family == "bands":
            inner = STEP if m.inner_edge == "worse" else 0.0
            sign = 1.0 if m.higher_is_better else -1.0
            pts = {m.bands[0], m.bands[1] + sign * inner, m.bands[2] + sign * inner}
        pts.add(best)
        if m.higher_is_better:
            return sorted(v for v in pts if cur < v <= best)
        return sorted((v for v in pts if best <= v < cur), reverse=True)


def improvement(a: Assessment, pack: Pack, code: str) -> Improvement:
    """What ``code`` needs to move up one segment (see the module docstring)."""
    row = a.table.filter(pl.col("trust_code") == code).row(0, named=True)
    seg, avg = int(row["adjusted_segment"]), float(row["average_score"])
    deficit = bool(row["financial_deficit"])
    if seg <= 1:
        return Improvement(code, seg, None, avg, None, None, False, (), True, None)
    target = seg - 1
    blocked = deficit and target < pack.override_best_segment
    need = needed_average(pack, a.cut_points.values, target)
    gap = round(avg - need, 2)
    if blocked:
        return Improvement(code, seg, target, avg, need, gap, True, (), False, None)
    t = _Trust(a, pack, code)
    digits = pack.published_digits

    def reaches(x: float) -> bool:
        return aggregate.round_half_up(x, digits) <= need + 1e-9

    options = []
    for m in t.candidates():
        best = t.best_value(m)
        score = t.score_with(m, best)
        now = float(t.own.filter(pl.col("metric_id") == m.score_id)["score"][0])
        if score < now - 1e-12:
            options.append((t.average_with({m.score_id: score}), m, best, score, now))
    options.sort(key=lambda o: (o[0], o[1].score_id))
    chosen: dict[str, float] = {}
    steps: list[Step] = []
    for _, m, best, score, now in options:
        trial = {**chosen, m.score_id: score}
        if not reaches(t.average_with(trial)):
            chosen[m.score_id] = score
            steps.append(Step(m.id, m.name, m.units, t.value(m), best, now, score, t.estimated(m)))
            continue
        for v in t.thresholds(m, best):  # the nearest value that is enough
            s = t.score_with(m, v)
            if reaches(t.average_with({**chosen, m.score_id: s})):
                chosen[m.score_id] = s
                steps.append(Step(m.id, m.name, m.units, t.value(m), v, now, s, t.estimated(m)))
                break
        after = t.average_with(chosen)
        return Improvement(
            code, seg, target, avg, need, gap, False, tuple(steps), True, round(after, 4)
        )
    return Improvement(code, seg, target, avg, need, gap, False, tuple(steps), False, None)


def improvement_table(a: Assessment, pack: Pack, trust_type: str | None = None) -> pl.DataFrame:
    """Needed average, gap and override for every trust not in segment 1 (no paths: fast)."""
    t = a.table if trust_type is None else a.table.filter(pl.col("trust_type") == trust_type)
    rows = []
    for r in t.filter(pl.col("adjusted_segment") > 1).iter_rows(named=True):
        target = int(r["adjusted_segment"]) - 1
        need = needed_average(pack, a.cut_points.values, target)
        rows.append(
            {
                "trust_code": r["trust_code"],
                "trust_name": r["trust_name"],
                "segment": r["adjusted_segment"],
                "target_segment": target,
                "average_score": r["average_score"],
                "needed_average": need,
                "gap": round(float(r["average_score"]) - need, 2),
                "blocked_by_override": bool(r["financial_deficit"])
                and target < pack.override_best_segment,
            }
        )
    return pl.DataFrame(rows)
