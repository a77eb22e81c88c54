"""What-if: a scenario is a changed copy of the observations (and flags), recomputed in full.

Everything is recomputed against the full pools, so other trusts' scores, segments and ranks can
move too. In ``reproduce`` mode the cut-points are those implied by NHS England's published
segments, so they stay put; in ``strict`` mode they are the quartiles of the new averages.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from nhs_league.dataset import Dataset
from nhs_league.engine.pipeline import Assessment, assess
from nhs_league.errors import InputError, NoData, ValueFormatError
from nhs_league.methods.pack import Pack

MAX_ABS_VALUE = 1e6  # what-if values are bounded: no real metric is anywhere near this


@dataclass(frozen=True)
class Change:
    trust_code: str
    metric_id: str  # a value id (OF0013) or, for a score-only metric, its score id (OF1046)
    value: float


@dataclass(frozen=True)
class Scenario:
    changes: tuple[Change, ...] = ()
    deficit: tuple[tuple[str, bool], ...] = ()  # (trust, in financial deficit?)

    @property
    def trusts(self) -> list[str]:
        return sorted({c.trust_code for c in self.changes} | {t for t, _ in self.deficit})


@dataclass(frozen=True)
class WhatIf:
    scenario: Scenario
    before: Assessment
    after: Assessment
    trust_rows: pl.DataFrame = field(repr=False)  # before/after per scenario trust
    metric_rows: pl.DataFrame = field(repr=False)  # before/after metric scores of those trusts
    others: pl.DataFrame = field(repr=False)  # other trusts whose segment or rank changed


def parse_set(text: str, trust_code: str, pack: Pack) -> Change:
    """``OF0013=80`` → Change. Raises a clear error for anything else."""
    if "=" not in text:
        raise ValueFormatError(
            "--set", "expected METRIC=VALUE", found=text, expected="e.g. OF0013=80"
        )
    mid, _, raw = text.partition("=")
    metric = pack.metric(mid.strip().upper())
    return Change(
        trust_code,
        _value_id(metric.id, metric.score_id, metric.has_value),
        _number(raw, "--set", None, mid),
    )


def _value_id(value_id: str, score_id: str, has_value: bool) -> str:
    return value_id if has_value else score_id


def _number(raw: str, file: str, line: int | None, column: str) -> float:
    try:
        v = float(raw)
    except ValueError:
        raise ValueFormatError(
            file,
            "not a number",
            line=line,
            column=column,
            found=raw,
            expected="a number such as 78.5",
        ) from None
    if not math.isfinite(v) or abs(v) > MAX_ABS_VALUE:
        raise ValueFormatError(
            file,
            "out of range",
            line=line,
            column=column,
            found=raw,
            expected=f"a finite number within ±{MAX_ABS_VALUE:g}",
        )
    return v


def read_scenario_file(path: str | Path, pack: Pack) -> Scenario:
    """A CSV with columns trust_code, metric_id, value: one change per row."""
    p = Path(path)
    try:
        text = p.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(p), f"cannot read the scenario file ({exc})") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [h.strip() for h in rows[0]] != ["trust_code", "metric_id", "value"]:
        raise InputError(
            str(p),
            "unexpected header",
            line=1,
            found=",".join(rows[0]) if rows else "",
            expected="trust_code,metric_id,value",
        )
    changes = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 3:
            raise InputError(
                str(p),
                "wrong number of cells",
                line=n,
                found=len(row),
                expected="3 cells: trust_code,metric_id,value",
            )
        code, mid, raw = (cell.strip() for cell in row)
        if not pack.has_metric(mid.upper()):
            raise InputError(
                str(p),
                "unknown metric",
                line=n,
                column="metric_id",
                found=mid,
                expected="a metric of the method pack, e.g. OF0013",
            )
        m = pack.metric(mid.upper())
        changes.append(
            Change(
                code.upper(),
                _value_id(m.id, m.score_id, m.has_value),
                _number(raw, str(p), n, "value"),
            )
        )
    return Scenario(changes=tuple(changes))


def apply(data: Dataset, pack: Pack, quarter: str, scenario: Scenario) -> Dataset:
    """A changed copy of ``data``: changed values lose the file's tie-break rank.

    Only values a trust reports can change (its own units: a count for a trust with no
    infection threshold); adding a metric would change what its average is taken over.
    """
    obs = data.observations
    trusts = data.trusts.filter(pl.col("quarter") == quarter)
    types = dict(trusts.select("trust_code", "trust_type").iter_rows())
    for c in scenario.changes:
        if c.trust_code not in types:
            raise NoData(f"{c.trust_code} is not in the loaded data for {quarter}")
        m = pack.metric(c.metric_id)
        ttype = types[c.trust_code]
        if ttype not in m.trust_types:
            raise NoData(f"{m.id} does not apply to {ttype} trusts")
        if m.family == "input" and not (pack.score_min <= c.value <= pack.score_max):
            raise NoData(
                f"{m.score_id} is a score: give a value from {pack.score_min:g} "
                f"to {pack.score_max:g}"
            )
        hit = (
            (pl.col("quarter") == quarter)
            & (pl.col("trust_code") == c.trust_code)
            & (pl.col("metric_id") == c.metric_id)
        )
        if obs.filter(hit).height == 0:
            raise NoData(
                f"{c.trust_code} reports no {c.metric_id} ({m.name}) in {quarter}; a what-if "
                "changes only values a trust reports"
            )
        obs = obs.with_columns(
            pl.when(hit).then(pl.lit(c.value)).otherwise(pl.col("value")).alias("value"),
            pl.when(hit).then(None).otherwise(pl.col("rank")).alias("rank"),
        )
    flags = data.flags
    for code, deficit in scenario.deficit:
        hit = (pl.col("quarter") == quarter) & (pl.col("trust_code") == code)
        if flags.filter(hit).height == 0:
            raise NoData(f"{code} has no flags in {quarter}")
        flags = flags.with_columns(
            pl.when(hit)
            .then(pl.lit(deficit))
            .otherwise(pl.col("financial_deficit"))
            .alias("financial_deficit")
        )
    return replace(data, observations=obs, flags=flags)


_TRUST_COLS = [
    "average_score",
    "unadjusted_segment",
    "adjusted_segment",
    "final_segment",
    "league_rank",
    "financial_deficit",
]


def _before_after(
    before: pl.DataFrame, after: pl.DataFrame, keys: list[str], cols: list[str]
) -> pl.DataFrame:
    b = before.select(*keys, *[pl.col(c).alias(f"{c}_before") for c in cols])
    a = after.select(*keys, *[pl.col(c).alias(f"{c}_after") for c in cols])
    return b.join(a, on=keys, how="full", coalesce=True)


def run(
    data: Dataset,
    pack: Pack,
    scenario: Scenario,
    *,
    quarter: str,
    mode: str = "reproduce",
    before: Assessment | None = None,
) -> WhatIf:
    """Recompute ``quarter`` with ``scenario`` applied, and compare with the unchanged result."""
    before = before or assess(data, pack, quarter=quarter, mode=mode)
    changed = frozenset((c.trust_code, c.metric_id) for c in scenario.changes)
    after = assess(
        apply(data, pack, quarter, scenario), pack, quarter=quarter, mode=mode, changed=changed
    )
    codes = scenario.trusts
    names = before.table.select("trust_code", "trust_name", "trust_type")
    trust_rows = names.filter(pl.col("trust_code").is_in(codes)).join(
        _before_after(before.table, after.table, ["trust_code"], _TRUST_COLS), on="trust_code"
    )
    ms = ["score", "value", "basis"]
    metric_rows = _before_after(
        before.metric_scores.filter(pl.col("trust_code").is_in(codes)),
        after.metric_scores.filter(pl.col("trust_code").is_in(codes)),
        ["trust_code", "metric_id"],
        ms,
    ).sort("trust_code", "metric_id")
    both = _before_after(before.table, after.table, ["trust_code"], _TRUST_COLS)
    others = (
        names.join(both, on="trust_code")
        .filter(
            ~pl.col("trust_code").is_in(codes)
            & (
                (pl.col("adjusted_segment_before") != pl.col("adjusted_segment_after"))
                | (pl.col("league_rank_before") != pl.col("league_rank_after"))
            )
        )
        .sort("trust_type", "league_rank_after")
    )
    return WhatIf(scenario, before, after, trust_rows, metric_rows, others)
