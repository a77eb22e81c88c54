"""The ``nhs-league`` command line: thin commands over the library.

The commands live in :mod:`nhs_league.cli.core` (load, table, trust, metric, explain, verify,
export), :mod:`nhs_league.cli.analysis` (whatif, improve, movement, compare-methods),
:mod:`nhs_league.cli.data` (fetch, changes), :mod:`nhs_league.cli.report` (report),
:mod:`nhs_league.cli.web` (serve) and :mod:`nhs_league.cli.orgs` (orgs); importing them
registers them on :data:`nhs_league.cli.app.app`.
"""

from nhs_league.cli import analysis, core, data, orgs, report, web
from nhs_league.cli.app import app, main

__all__ = ["analysis", "app", "core", "data", "main", "orgs", "report", "web"]
