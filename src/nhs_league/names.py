"""Names shared by every interface (command line, web, API), kept light to import.

The trust types are declared by the method pack (``[trust_types.*]``); this enum spells them for
option and parameter parsing, and a test checks that the two agree.
"""

from __future__ import annotations

from enum import StrEnum


class TrustType(StrEnum):
    """Trust types, spelled as on the command line (``--type``) and in the method pack."""

    acute = "acute"
    mental_health_community = "mental-health-community"
    ambulance = "ambulance"
