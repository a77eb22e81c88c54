"""``python -m nhs_league``: the same as the ``nhs-league`` command."""

from nhs_league.cli import main

main()
