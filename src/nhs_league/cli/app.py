"""The ``nhs-league`` application object and its entry point.

Every expected failure is one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import sys

import typer

from nhs_league.errors import NhsLeagueError

app = typer.Typer(
    name="nhs-league",
    help="Recompute, explain and publish NHS England's NHS Oversight Framework league tables.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def main() -> None:
    """Console entry point: typed errors become one line on stderr and exit status 2."""
    try:
        app()
    except NhsLeagueError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(2)
