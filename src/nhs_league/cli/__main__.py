"""``python -m nhs_league.cli``: the same as the ``nhs-league`` command."""

from nhs_league.cli import main

main()
