"""Organisation data: which NHS England region and integrated care board (ICB) each trust is in.

Two bundled files, verbatim (see ``data/ods/README.md``):

* ODS ``etr`` (NHS trusts): no header, 27 columns; column 1 the organisation code, 2 its name,
  3 the NHS England region code (Y56 ... Y63), 4 the ICB code, 11 the open date and 12 the close
  date (``YYYYMMDD``).
* The ONS lookup of sub-ICB locations, ICBs and NHS England regions (July 2022), for the names.

Trusts merge and change code (North London NHS Foundation Trust, ``G6V2S``, took over from
``RRP`` on 1 November 2024). ODS's ``etr`` file does not name successors, so a successor is
inferred: the one trust of the same ICB that opened the day after the old one closed. A loaded
trust is matched by its own code first, then through that chain, and every trust that cannot be
matched is listed with the reason.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources

import polars as pl

from nhs_league.errors import SchemaError, ValueFormatError

ETR_COLUMNS = 27
ONS_COLUMNS = ("ICB22CDH", "ICB22CD", "ICB22NM", "NHSER22CDH", "NHSER22NM")
# NHS England region codes (ODS column 3); names as in the ONS lookup.
REGIONS = {
    "Y56": "London",
    "Y58": "South West",
    "Y59": "South East",
    "Y60": "Midlands",
    "Y61": "East of England",
    "Y62": "North West",
    "Y63": "North East and Yorkshire",
}
# The NOF files call the East of England region "East" (and, in Q1, North East and Yorkshire
# "North East", which the reader already maps through the pack's region aliases).
_SAME_REGION = {"east": "east of england"}

MATCHED = "matched"
SUCCESSOR = "matched through successor"
UNMATCHED = "unmatched"

MATCH_SCHEMA = {
    "trust_code": pl.String,
    "trust_name": pl.String,
    "region": pl.String,
    "status": pl.String,
    "ods_code": pl.String,
    "ods_name": pl.String,
    "ods_region": pl.String,
    "icb_code": pl.String,
    "icb_name": pl.String,
    "note": pl.String,
}


@dataclass(frozen=True)
class Icb:
    code: str  # ODS code, e.g. QE1
    ons_code: str  # e.g. E54000048
    name: str
    region_code: str
    region: str


@dataclass(frozen=True)
class Org:
    code: str
    name: str
    region_code: str
    icb_code: str
    opened: date | None
    closed: date | None

    @property
    def region(self) -> str | None:
        return REGIONS.get(self.region_code)


@dataclass(frozen=True)
class Match:
    status: str
    org: Org | None
    icb: Icb | None
    note: str


@dataclass(frozen=True)
class Organisations:
    """ODS organisations, ICB names and inferred successors (old code -> new code)."""

    orgs: dict[str, Org]
    icbs: dict[str, Icb]
    successors: dict[str, str]

    def match(self, code: str, region: str | None = None) -> Match:
        """Match one trust code: directly, or through its successor chain; with the reason."""
        org = self.orgs.get(code)
        if org is None:
            return Match(UNMATCHED, None, None, _absent_reason(code))
        status, note = MATCHED, ""
        if org.closed is not None:
            chain = self._chain(code)
            if len(chain) == 1:
                why = f"closed in ODS on {org.closed.isoformat()} and no successor is known"
                return Match(UNMATCHED, org, None, why)
            org = self.orgs[chain[-1]]
            status, note = SUCCESSOR, f"{' -> '.join(chain)} (ODS open and close dates)"
        icb = self.icbs.get(org.icb_code)
        if icb is None:
            why = f"ODS gives no English ICB (region {org.region_code or 'blank'!r})"
            return Match(UNMATCHED, org, None, why)
        if region and not same_region(region, icb.region):
            note = _join(note, f"region differs: the NOF file says {region}, ODS {icb.region}")
        return Match(status, org, icb, note)

    def _chain(self, code: str) -> list[str]:
        chain = [code]
        while chain[-1] in self.successors and len(chain) < 10:
            chain.append(self.successors[chain[-1]])
        return chain

    def match_frame(self, trusts: pl.DataFrame) -> pl.DataFrame:
        """One row per distinct trust in ``trusts`` (quarter, trust_code, trust_name, region),
        with the name and region of its latest quarter."""
        rows = []
        # A trust's latest name and region ("Q1 2025/26": year at 3-6, quarter at 1).
        latest = trusts.sort(
            pl.col("quarter").str.slice(3, 4).cast(pl.Int64),
            pl.col("quarter").str.slice(1, 1).cast(pl.Int64),
            maintain_order=True,
        )
        seen = latest.select("trust_code", "trust_name", "region").unique("trust_code", keep="last")
        for code, name, region in seen.sort("trust_code").iter_rows():
            m = self.match(code, region)
            rows.append(
                {
                    "trust_code": code,
                    "trust_name": name,
                    "region": region,
                    "status": m.status,
                    "ods_code": m.org.code if m.org else None,
                    "ods_name": m.org.name if m.org else None,
                    "ods_region": m.icb.region if m.icb else None,
                    "icb_code": m.icb.code if m.icb else None,
                    "icb_name": m.icb.name if m.icb else None,
                    "note": m.note or None,
                }
            )
        return pl.DataFrame(rows, schema=MATCH_SCHEMA)


def same_region(nof: str, ods: str) -> bool:
    a, b = nof.strip().lower(), ods.strip().lower()
    return _SAME_REGION.get(a, a) == _SAME_REGION.get(b, b)


def _absent_reason(code: str) -> str:
    if code.startswith("T"):
        return (
            "not in the ODS etr file of NHS trusts: T codes are care trusts, listed in ODS's "
            "ect file, which is not bundled"
        )
    return "not in the ODS etr file of NHS trusts"


def _join(a: str, b: str) -> str:
    return f"{a}; {b}" if a else b


def _date(text: str, file: str, line: int, column: str) -> date | None:
    if not text:
        return None
    try:
        if len(text) == 8 and text.isdigit():
            return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        pass
    raise ValueFormatError(
        file, "not a date", line=line, column=column, found=text, expected="YYYYMMDD"
    )


def read_etr(text: str, file: str = "etr.csv") -> dict[str, Org]:
    """Parse the ODS ``etr`` file; every row must have 27 columns and a code."""
    orgs: dict[str, Org] = {}
    for line, row in enumerate(csv.reader(io.StringIO(text.lstrip("\ufeff"))), start=1):
        if len(row) != ETR_COLUMNS:
            raise SchemaError(
                file, "wrong number of columns", line=line, found=len(row), expected="27"
            )
        if not row[0].strip():
            raise ValueFormatError(
                file, "empty organisation code", line=line, column="1", expected="a code"
            )
        opened = _date(row[10], file, line, "11")
        closed = _date(row[11], file, line, "12")
        code = row[0].strip()
        orgs[code] = Org(code, row[1].strip(), row[2].strip(), row[3].strip(), opened, closed)
    return orgs


def read_ons(text: str, file: str = "ons lookup") -> dict[str, Icb]:
    """ICBs by ODS code, from the ONS sub-ICB -> ICB -> region lookup."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = reader.fieldnames or []
    icb_cols = [c for c in header if c.startswith("ICB") and c[3:5].isdigit()]
    year = icb_cols[0][3:5] if icb_cols else "22"
    wanted = [c.replace("22", year) for c in ONS_COLUMNS]
    missing = [c for c in wanted if c not in header]
    if missing:
        raise SchemaError(
            file, "missing columns", line=1, found=", ".join(missing), expected=", ".join(wanted)
        )
    icbs: dict[str, Icb] = {}
    for row in reader:
        code, ons, name, rcode, region = (row[c].strip() for c in wanted)
        icbs[code] = Icb(code, ons, name, rcode, region)
    return icbs


def infer_successors(orgs: Iterable[Org]) -> dict[str, str]:
    """Old code -> new code where exactly one trust of the same ICB opened the day after the
    old one closed (how ODS records a merger that creates a new organisation)."""
    by_open: dict[tuple[date, str], list[str]] = {}
    all_orgs = list(orgs)
    for o in all_orgs:
        if o.opened is not None:
            by_open.setdefault((o.opened, o.icb_code), []).append(o.code)
    out: dict[str, str] = {}
    for o in all_orgs:
        if o.closed is None or not o.icb_code:
            continue
        cands = by_open.get((o.closed + timedelta(days=1), o.icb_code), [])
        if len(cands) == 1 and cands[0] != o.code:
            out[o.code] = cands[0]
    return out


def _bundled(name: str) -> str:
    return resources.files("nhs_league").joinpath("data", "ods", name).read_text("utf-8-sig")


@cache
def organisations() -> Organisations:
    """The bundled ODS and ONS files, read once."""
    orgs = read_etr(_bundled("etr.csv"), "data/ods/etr.csv")
    icbs = read_ons(
        _bundled("ons_sicbl_icb_nhser_jul2022_lookup.csv"),
        "data/ods/ons_sicbl_icb_nhser_jul2022_lookup.csv",
    )
    return Organisations(orgs, icbs, infer_successors(orgs.values()))
