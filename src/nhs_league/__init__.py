"""nhs-league: an open, exact, explainable reproduction of NHS England's NHS Oversight Framework
league tables.

The Python API in one place (imported lazily, so the command line starts fast)::

    import nhs_league as nl

    pack = nl.load_pack()                       # the 2025/26 method pack
    data = nl.open_dataset(pack)                # the store, or data=[files]
    a = nl.assess(data, pack, quarter="Q1 2025/26")
    nl.league_table(a, pack, "acute", region="North West")
    nl.verify(data, pack).as_dict()
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.2.0"

_EXPORTS = {
    "assess": "nhs_league.engine.pipeline",
    "Assessment": "nhs_league.engine.pipeline",
    "verify": "nhs_league.engine.verify",
    "load_pack": "nhs_league.methods.pack",
    "Dataset": "nhs_league.dataset",
    "read_file": "nhs_league.ingest.nhse_nof",
    "open_dataset": "nhs_league.api",
    "league_table": "nhs_league.api",
    "trust_profile": "nhs_league.api",
    "explain": "nhs_league.api",
    "likely_ranges": "nhs_league.analysis.uncertainty",
    "improvement": "nhs_league.analysis.improvement",
    "movement": "nhs_league.analysis.movement",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'nhs_league' has no attribute {name!r}")
