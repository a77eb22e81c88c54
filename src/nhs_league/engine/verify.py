"""Compare what we compute with every cell NHS England published, and say why any differ."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from nhs_league.dataset import Dataset
from nhs_league.engine import aggregate
from nhs_league.engine.frames import collect
from nhs_league.engine.pipeline import Assessment, assess
from nhs_league.engine.scoring import PARTIAL_POOL
from nhs_league.methods.pack import Pack

# Tolerances, named in one place. A published metric score is rounded to 2 dp, so an exact
# reproduction lies within half a unit of the last place; aggregates are compared as printed.
SCORE_TOLERANCE = 0.005
EXACT = 1e-6
_EPS = 1e-9

QUANTITIES = (
    "metric_scores",
    "average_score",
    "domain_scores",
    "unadjusted_segment",
    "adjusted_segment",
    "final_segment",
    "league_rank",
)

MISMATCH_SCHEMA = {
    "quarter": pl.String,
    "trust_code": pl.String,
    "quantity": pl.String,
    "metric_id": pl.String,
    "computed": pl.Float64,
    "published": pl.Float64,
    "diff": pl.Float64,
    "reason": pl.String,
}


@dataclass
class Tally:
    matched: int = 0
    total: int = 0
    max_diff: float = 0.0

    def add(self, matched: int, total: int, max_diff: float) -> None:
        self.matched += matched
        self.total += total
        self.max_diff = max(self.max_diff, max_diff)

    def as_dict(self) -> dict[str, Any]:
        return {"matched": self.matched, "total": self.total, "max_diff": round(self.max_diff, 6)}


@dataclass
class VerifyReport:
    mode: str
    quarters: list[str] = field(default_factory=list)
    quantities: dict[str, Tally] = field(default_factory=dict)
    metrics: dict[str, Tally] = field(default_factory=dict)
    mismatches: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=MISMATCH_SCHEMA))
    fallbacks: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "quarters": self.quarters,
            "quantities": {k: v.as_dict() for k, v in self.quantities.items()},
            "metrics": {k: v.as_dict() for k, v in sorted(self.metrics.items())},
            "fallbacks": dict(sorted(self.fallbacks.items())),
            "mismatches": self.mismatches.to_dicts(),
            "notes": self.notes,
        }


def _max(top: object) -> float:
    return float(top) if isinstance(top, (int, float)) else 0.0


def _tally(frame: pl.DataFrame, ok: pl.Expr) -> tuple[int, int, float]:
    """(matched, total, largest difference) of the compared cells in ``frame``."""
    matched, top = frame.select(ok.sum().alias("matched"), pl.col("diff").max()).row(0)
    return int(matched), frame.height, _max(top)


def _pub(
    published: dict[str, pl.DataFrame], metric_id: str, *, rank: bool = False
) -> pl.LazyFrame | None:
    """The published values (or ranks) of one metric, from ``published`` split by metric; None
    if it has none."""
    col = "rank" if rank else "value"
    rows = published.get(metric_id)
    if rows is None or rows[col].null_count() == rows.height:
        return None
    return rows.lazy().select("trust_code", pl.col(col).alias("published")).drop_nulls("published")


def _cross_type_tie(scores: pl.DataFrame) -> pl.DataFrame:
    """Trust/metric pairs whose value equals a value of another trust type in the same pool."""
    v = scores.filter(pl.col("value").is_not_null()).select(
        "trust_code", "metric_id", "value", "trust_type"
    )
    pairs = v.join(v, on=["metric_id", "value"], suffix="_o").filter(
        pl.col("trust_type") != pl.col("trust_type_o")
    )
    return pairs.select("trust_code", "metric_id").unique()


def _compare_scores(
    a: Assessment, published: pl.DataFrame, report: VerifyReport
) -> list[pl.DataFrame]:
    scored = a.metric_scores.filter(pl.col("pool_complete") & (pl.col("family") != "input"))
    pub = published.select("trust_code", "metric_id", pl.col("value").alias("published"))
    j = scored.join(pub, on=["trust_code", "metric_id"], how="inner").with_columns(
        (pl.col("score") - pl.col("published")).abs().alias("diff")
    )
    ok = pl.col("diff") <= SCORE_TOLERANCE + _EPS
    report.quantities.setdefault("metric_scores", Tally()).add(*_tally(j, ok))
    per_metric = j.group_by("metric_id").agg(
        ok.sum().alias("matched"), pl.len(), pl.col("diff").max()
    )
    for mid, matched, total, top in per_metric.iter_rows():
        report.metrics.setdefault(str(mid), Tally()).add(int(matched), total, _max(top))
    skipped = a.metric_scores.filter(~pl.col("pool_complete")).group_by("metric_id").len()
    for mid, n in skipped.iter_rows():
        report.fallbacks[str(mid)] = report.fallbacks.get(str(mid), 0) + n
    bad = j.filter(~ok)
    if bad.height == 0:
        return []
    ties = _cross_type_tie(a.metric_scores).with_columns(pl.lit(True).alias("_tie"))
    bad = bad.join(ties, on=["trust_code", "metric_id"], how="left").with_columns(
        pl.when(pl.col("_tie"))
        .then(
            pl.lit(
                "cross-type tie: another trust type reports the same rounded value, and "
                "the files cannot order unrounded values across types (spec §2)"
            )
        )
        .otherwise(pl.lit("unexplained"))
        .alias("reason")
    )
    return [
        bad.select(
            pl.lit(a.quarter).alias("quarter"),
            "trust_code",
            pl.lit("metric_scores").alias("quantity"),
            "metric_id",
            pl.col("score").alias("computed"),
            "published",
            "diff",
            "reason",
        )
    ]


def _domain_reason(a: Assessment, pack: Pack, score_mismatch: pl.DataFrame) -> pl.DataFrame:
    """For each (trust, domain): why a domain score could differ."""
    items = a.items
    rounded = items.with_columns(aggregate.round_expr(pl.col("score"), 2).alias("score"))
    dom = rounded.group_by("trust_code", "domain").agg(pl.col("score").mean().alias("alt"))
    dom = dom.with_columns(aggregate.round_expr(pl.col("alt"), pack.published_digits))
    domain_of = {m.score_id: m.domain for m in pack.metrics}
    hit = (
        score_mismatch.with_columns(
            pl.col("metric_id").replace_strict(domain_of, default=None).alias("domain")
        )
        .group_by("trust_code", "domain")
        .agg(pl.col("metric_id").first().alias("hit"))
    )
    return dom.join(hit, on=["trust_code", "domain"], how="left")


PARTIAL_REASON = (
    "rests on scores ranked among the loaded trusts only: a pool needs a trust type that is not "
    "loaded (strict mode; docs/modes.md)"
)


def _partial(a: Assessment, pack: Pack, domain: str | None = None) -> list[str]:
    """Trusts with an item score ranked in an incomplete pool (in ``domain``, if given)."""
    items = {m.score_id for m in pack.metrics if m.item and (domain is None or m.domain == domain)}
    items |= {x for g in pack.groups if domain is None or g.domain == domain for x in g.members}
    s = a.metric_scores.filter(
        (pl.col("basis") == PARTIAL_POOL) & pl.col("metric_id").is_in(sorted(items))
    )
    return sorted(set(s["trust_code"].to_list()))


def _reason(
    quantity: str,
    a: Assessment,
    pack: Pack,
    wrong: dict[str, set[str]],
    score_mismatch: pl.DataFrame,
) -> pl.Expr:
    """Why a summary quantity differs: the first cause found upstream of it, else unexplained."""
    code = pl.col("trust_code")
    first_hit = dict(
        score_mismatch.group_by("trust_code").agg(pl.col("metric_id").first()).iter_rows()
    )
    chain: list[tuple[pl.Expr, pl.Expr]] = []
    if quantity == "average_score":
        chain.append(
            (
                code.is_in(list(first_hit)),
                pl.format(
                    "follows from the metric score mismatch on {}",
                    code.replace_strict(first_hit, default=None, return_dtype=pl.String),
                ),
            )
        )
        chain.append((code.is_in(_partial(a, pack)), pl.lit(PARTIAL_REASON)))
    elif quantity == "unadjusted_segment":
        chain.append(
            (
                code.is_in(sorted(wrong.get("average_score", ()))),
                pl.lit("follows from the average score"),
            )
        )
        missing = sorted(set(pack.trust_types) - set(a.loaded_types))
        if a.cut_points.method == "national-quartiles" and missing:
            chain.append(
                (
                    pl.lit(True),
                    pl.lit(
                        "the cut-points are quartiles of the loaded trusts only "
                        f"({', '.join(missing)} not loaded), not of all trusts in England"
                    ),
                )
            )
    elif quantity in ("adjusted_segment", "final_segment"):
        upstream = wrong.get("unadjusted_segment", set()) | wrong.get("adjusted_segment", set())
        chain.append((code.is_in(sorted(upstream)), pl.lit("follows from the segment before it")))
    elif quantity == "league_rank":
        own = wrong.get("average_score", set()) | wrong.get("adjusted_segment", set())
        chain.append((code.is_in(sorted(own)), pl.lit("follows from its own average or segment")))
        types = a.table.filter(code.is_in(sorted(own)))["trust_type"].unique().to_list()
        others = a.table.filter(pl.col("trust_type").is_in(types))["trust_code"].to_list()
        chain.append(
            (
                code.is_in(others),
                pl.lit("follows from other trusts' averages or segments in its table"),
            )
        )
    expr: pl.Expr = pl.lit("unexplained")
    for cond, value in reversed(chain):  # the first cause in the chain wins
        expr = pl.when(cond).then(value).otherwise(expr)
    return expr.alias("reason")


def _compare_table(
    a: Assessment,
    pack: Pack,
    published: pl.DataFrame,
    report: VerifyReport,
    score_mismatch: pl.DataFrame,
) -> list[pl.DataFrame]:
    s = pack.summary
    wanted = [*s.values(), *(d.score_id for d in pack.domains)]
    pub = {
        str(mid): rows
        for (mid,), rows in published.filter(pl.col("metric_id").is_in(wanted))
        .partition_by("metric_id", as_dict=True)
        .items()
    }
    checks: list[tuple[str, str, str, pl.LazyFrame | None, str | None]] = [
        ("average_score", "average_score", s["average_score"], _pub(pub, s["average_score"]), None),
        (
            "unadjusted_segment",
            "unadjusted_segment",
            s["unadjusted_segment"],
            _pub(pub, s["unadjusted_segment"]),
            None,
        ),
        (
            "adjusted_segment",
            "adjusted_segment",
            s["adjusted_segment"],
            _pub(pub, s["adjusted_segment"]),
            None,
        ),
        ("final_segment", "final_segment", s["final_segment"], _pub(pub, s["final_segment"]), None),
        (
            "league_rank",
            "league_rank",
            s["adjusted_segment"],
            _pub(pub, s["adjusted_segment"], rank=True),
            None,
        ),
    ]
    for d in pack.domains:
        checks.append(
            ("domain_scores", f"domain_{d.key}", d.score_id, _pub(pub, d.score_id), d.key)
        )
    out = []
    wrong: dict[str, set[str]] = {}  # trusts whose earlier quantity differs
    reasons: pl.DataFrame | None = None  # worked out when a domain score first differs
    for quantity, column, mid, pub_rows, domain in checks:
        if pub_rows is None:
            continue
        j = collect(
            a.table.lazy()
            .select("trust_code", pl.col(column).cast(pl.Float64).alias("computed"))
            .join(pub_rows, on="trust_code", how="inner")
            .with_columns(
                (pl.col("computed") - pl.col("published")).abs().fill_null(99.0).alias("diff")
            )
        )
        ok = pl.col("diff") <= EXACT
        report.quantities.setdefault(quantity, Tally()).add(*_tally(j, ok))
        bad = j.filter(~ok)
        if bad.height == 0:
            continue
        if domain is not None:
            if reasons is None:
                reasons = _domain_reason(a, pack, score_mismatch)
            r = reasons.filter(pl.col("domain") == domain).select("trust_code", "alt", "hit")
            bad = bad.join(r, on="trust_code", how="left").with_columns(
                pl.when(pl.col("hit").is_not_null())
                .then(pl.format("follows from the metric score mismatch on {}", pl.col("hit")))
                .when((pl.col("alt") - pl.col("published")).abs() <= EXACT)
                .then(
                    pl.lit(
                        "matches when its items enter rounded to 2 dp: the precision these "
                        "inputs entered with cannot be pinned down from the files (spec §6)"
                    )
                )
                .when(pl.col("trust_code").is_in(_partial(a, pack, domain)))
                .then(pl.lit(PARTIAL_REASON))
                .otherwise(pl.lit("unexplained"))
                .alias("reason")
            )
        else:
            bad = bad.with_columns(_reason(quantity, a, pack, wrong, score_mismatch))
        wrong[quantity] = set(bad["trust_code"].to_list())
        out.append(
            bad.select(
                pl.lit(a.quarter).alias("quarter"),
                "trust_code",
                pl.lit(quantity).alias("quantity"),
                pl.lit(mid).alias("metric_id"),
                "computed",
                "published",
                "diff",
                "reason",
            )
        )
    return out


def verify(
    data: Dataset, pack: Pack, *, mode: str = "reproduce", quarters: list[str] | None = None
) -> VerifyReport:
    """Recompute every loaded quarter (or ``quarters``) and compare every published cell."""
    report = VerifyReport(mode=mode)
    report.quarters = quarters or data.quarters
    frames: list[pl.DataFrame] = []
    for q in report.quarters:
        a = assess(data, pack, quarter=q, mode=mode)
        published = data.published.filter(pl.col("quarter") == q)
        score_bad = _compare_scores(a, published, report)
        frames += score_bad
        sm = pl.concat(score_bad) if score_bad else pl.DataFrame(schema=MISMATCH_SCHEMA)
        frames += _compare_table(a, pack, published, report, sm)
        report.notes += [f"{q}: {n}" for n in a.notes]
        report.notes.append(
            f"{q}: cut-points {', '.join(f'{c:.4g}' for c in a.cut_points.values)}"
            f" ({a.cut_points.note})"
        )
    if frames:
        report.mismatches = pl.concat(frames).cast(MISMATCH_SCHEMA)  # type: ignore[arg-type]
    report.quantities = {k: report.quantities[k] for k in QUANTITIES if k in report.quantities}
    return report
