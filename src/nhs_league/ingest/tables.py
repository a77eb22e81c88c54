"""The canonical tables every reader produces, and the record of one file read.

See docs/architecture.md: observations hold inputs (values, score-only metrics), flags the two
inputs NHS England sets (financial deficit, Recovery Support), published what NHS England
published, kept apart from what we compute.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import polars as pl

Schema = dict[str, type[pl.DataType]]  # column -> Polars type, in order

TRUSTS_SCHEMA: Schema = {
    "quarter": pl.String,
    "trust_code": pl.String,
    "trust_name": pl.String,
    "trust_type": pl.String,
    "subtype": pl.String,
    "region": pl.String,
}
OBS_SCHEMA: Schema = {
    "quarter": pl.String,
    "trust_code": pl.String,
    "trust_type": pl.String,
    "metric_id": pl.String,
    "units": pl.String,
    "value": pl.Float64,
    "rank": pl.Float64,
    "reporting_date": pl.String,
    "line": pl.Int64,
}
FLAGS_SCHEMA: Schema = {
    "quarter": pl.String,
    "trust_code": pl.String,
    "financial_deficit": pl.Boolean,
    "intensive_support": pl.Boolean,
}
PUBLISHED_SCHEMA: Schema = {
    "quarter": pl.String,
    "trust_code": pl.String,
    "trust_type": pl.String,
    "metric_id": pl.String,
    "units": pl.String,
    "value": pl.Float64,
    "rank": pl.Float64,
}

# Quantities of the league-table layout that have no Metric_ID of their own.
LIKELY_SCORE_LOW = "likely_score_low"
LIKELY_SCORE_HIGH = "likely_score_high"
LIKELY_RANK_LOW = "likely_rank_low"
LIKELY_RANK_HIGH = "likely_rank_high"


@dataclass(frozen=True)
class Publication:
    """One file, read: its canonical tables and where it came from."""

    path: str
    name: str
    sha256: str
    layout: str
    trusts: pl.DataFrame
    observations: pl.DataFrame
    flags: pl.DataFrame
    published: pl.DataFrame

    @property
    def coverage(self) -> pl.DataFrame:
        """The (quarter, trust_type) pairs this file covers."""
        return self.trusts.select("quarter", "trust_type").unique().sort("quarter", "trust_type")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
