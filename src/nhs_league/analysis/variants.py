"""Method variants for researchers: the same data under other rules (docs/analysis.md).

A variant is a changed copy of the pack or of the dataset, never a code path of its own:

* ``no-override``: the financial override is switched off;
* ``within-type-pools``: every ranked metric is scored within trust type only;
* ``thresholds=2.0,2.5,3.0``: fixed cut-points, as the 2026/27 method will use;
* ``exclude-specialist``: specialist trusts are taken out before scoring (pools, cut-points).
"""

from __future__ import annotations

import math
from dataclasses import replace

import polars as pl

from nhs_league.dataset import Dataset
from nhs_league.engine.pipeline import Assessment, assess
from nhs_league.errors import MethodError
from nhs_league.methods.pack import Pack, with_metrics

VARIANTS = ("no-override", "within-type-pools", "thresholds=A,B,C", "exclude-specialist")
SPECIALIST = "specialist"


def apply_variant(pack: Pack, data: Dataset, variant: str) -> tuple[Pack, Dataset]:
    """The pack and dataset that ``variant`` describes."""
    name, _, arg = variant.partition("=")
    if name == "no-override" and not arg:
        return replace(pack, override_best_segment=1), data
    if name == "within-type-pools" and not arg:
        metrics = tuple(
            replace(m, pool="within-type") if m.pool == "national" else m for m in pack.metrics
        )
        return with_metrics(pack, metrics), data
    if name == "thresholds":
        try:
            cuts = tuple(float(x) for x in arg.split(","))
        except ValueError:
            cuts = ()
        finite = all(math.isfinite(c) for c in cuts)
        if len(cuts) != 3 or not finite or not cuts[0] < cuts[1] < cuts[2]:
            raise MethodError(
                "--variant",
                variant,
                "needs three finite, strictly ascending cut-points",
                "e.g. thresholds=2.0,2.5,3.0",
            )
        seg = replace(
            pack.segmentation,
            method="fixed-thresholds",
            reproduce_method="fixed-thresholds",
            thresholds=cuts,
        )
        return replace(pack, segmentation=seg), data
    if name == "exclude-specialist" and not arg:
        return pack, exclude_subtype(data, SPECIALIST)
    raise MethodError("--variant", variant, "unknown variant", ", ".join(VARIANTS))


def exclude_subtype(data: Dataset, word: str) -> Dataset:
    """``data`` without the trusts whose subtype contains ``word`` (case-insensitive)."""
    drop = data.trusts.filter(pl.col("subtype").str.to_lowercase().str.contains(word.lower()))
    keys = drop.select("quarter", "trust_code")
    on = ["quarter", "trust_code"]
    return replace(
        data,
        trusts=data.trusts.join(keys, on=on, how="anti"),
        observations=data.observations.join(keys, on=on, how="anti"),
        flags=data.flags.join(keys, on=on, how="anti"),
        published=data.published.join(keys, on=on, how="anti"),
    )


def assess_variants(
    data: Dataset, pack: Pack, variants: list[str], *, quarter: str, mode: str = "reproduce"
) -> Assessment:
    for v in variants:
        pack, data = apply_variant(pack, data, v)
    return assess(data, pack, quarter=quarter, mode=mode)


def compare_methods(
    data: Dataset,
    pack: Pack,
    variants: list[str],
    *,
    quarter: str,
    trust_type: str,
    mode: str = "reproduce",
) -> pl.DataFrame:
    """Baseline against the variant(s), side by side, for one trust type: who moves, how far."""
    base = assess(data, pack, quarter=quarter, mode=mode).of_type(trust_type)
    var = assess_variants(data, pack, variants, quarter=quarter, mode=mode).of_type(trust_type)
    cols = ["average_score", "adjusted_segment", "league_rank"]
    b = base.select("trust_code", "trust_name", *[pl.col(c).alias(f"{c}_baseline") for c in cols])
    v = var.select("trust_code", *[pl.col(c).alias(f"{c}_variant") for c in cols])
    return (
        b.join(v, on="trust_code", how="left")
        .with_columns(
            (pl.col("league_rank_baseline") - pl.col("league_rank_variant")).alias("places_up"),
            (pl.col("adjusted_segment_baseline") - pl.col("adjusted_segment_variant")).alias(
                "segments_up"
            ),
        )
        .sort("league_rank_variant", "trust_code", nulls_last=True)
    )
