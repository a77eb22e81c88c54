"""Request parameters shared by the pages and the JSON API, and the bounds on every input.

Every user-supplied string has a length limit and every choice is an enum, so a hostile or
mistyped request is a 4xx with a clear message before it reaches the library.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import Path, Query

from nhs_league.methods.pack import load_pack
from nhs_league.names import TrustType

MAX_QUERY_BYTES = 2048  # the whole query string; a what-if with 40 changes needs about 600
MAX_PATH_BYTES = 512
MAX_TEXT = 100  # a search, a trust name or a region: the longest trust name is ~90 characters
MAX_COMPARE = 4
MAX_CHANGES = 40

# OpenAPI examples (they also steer schemathesis to real metrics): taken from the default pack,
# since metric ids live in the pack, never in Python code.
_EXAMPLE = next(m for m in load_pack().metrics if m.has_value and "acute" in m.trust_types)
EXAMPLE_VALUE_ID, EXAMPLE_SCORE_ID = _EXAMPLE.id, _EXAMPLE.score_id


TrustTypeParam = TrustType


class SortKey(StrEnum):
    rank = "rank"
    trust = "trust"
    code = "code"
    segment = "segment"
    average = "average"
    likely_rank = "likely-rank"
    change = "change"


class Order(StrEnum):
    asc = "asc"
    desc = "desc"


class YesNo(StrEnum):
    yes = "yes"
    no = "no"


TrustTypePath = Annotated[
    TrustTypeParam,
    Path(description="Trust type: acute, mental-health-community or ambulance."),
]
QuarterQuery = Annotated[
    str | None,
    Query(
        max_length=20,
        description='Quarter, e.g. "Q1 2025/26" or "Q1" (default: the latest loaded).',
        examples=["Q1 2025/26", "Q4"],
    ),
]
CodePath = Annotated[
    str,
    Path(
        max_length=MAX_TEXT,
        description="NHS England organisation code, e.g. RBS.",
        examples=["RBS", "RX4"],
    ),
]
MetricPath = Annotated[
    str,
    Path(
        max_length=MAX_TEXT,
        description="A metric's value id (OF0013) or score id (OF1013).",
        examples=[EXAMPLE_VALUE_ID, EXAMPLE_SCORE_ID],
    ),
]
TextQuery = Annotated[str | None, Query(max_length=MAX_TEXT)]
