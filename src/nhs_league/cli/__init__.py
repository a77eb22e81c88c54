"""The ``nhs-league`` command line: thin commands over the library.

The commands live in :mod:`nhs_league.cli.core` (load, table, trust, metric, explain, verify,
export) and :mod:`nhs_league.cli.analysis` (whatif, improve, movement, compare-methods); importing
them registers them on :data:`nhs_league.cli.app.app`.
"""

from nhs_league.cli import analysis, core
from nhs_league.cli.app import app, main

__all__ = ["analysis", "app", "core", "main"]
