"""Which trusts a regional report covers: an NHS England region, or an ICB's area."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from nhs_league import api
from nhs_league.engine.pipeline import Assessment
from nhs_league.errors import NoData
from nhs_league.methods.pack import Pack

REGION, ICB = "region", "ICB"


@dataclass(frozen=True)
class Area:
    """A region ("North West") or an ICB (code QE1 and its name), as the table spells it."""

    kind: str
    name: str
    code: str = ""

    @property
    def phrase(self) -> str:
        """How a sentence names it: "the North West", "London", "the area of NHS ... (QE1)"."""
        if self.kind == ICB:
            return f"the area of {self.name} ({self.code})"
        return self.name if self.name == "London" else f"the {self.name}"

    @property
    def slug_part(self) -> str:
        return self.code if self.kind == ICB else self.name


@dataclass(frozen=True)
class Where:
    """What the user asked for: ``region`` or ``icb`` (a code or a name), exactly one."""

    region: str | None = None
    icb: str | None = None

    def resolve(self, a: Assessment, pack: Pack, trust_type: str) -> tuple[Area, pl.DataFrame]:
        """The area as the table names it, and its league rows (ranks stay national)."""
        if self.icb is not None:
            table = _icb_table(a, pack, trust_type, self.icb)
            code, name = table["icb_code"][0], table["icb_name"][0]
            return Area(ICB, name, code), table
        table = api.league_table(a, pack, trust_type, region=self.region)
        return Area(REGION, table["region"][0]), table


def _icb_table(a: Assessment, pack: Pack, trust_type: str, icb: str) -> pl.DataFrame:
    table = api.league_table(a, pack, trust_type, icb=icb)
    if table.height == 0:
        raise NoData(f"no {trust_type} trusts in ICB {icb!r} in {a.quarter}")
    return table
