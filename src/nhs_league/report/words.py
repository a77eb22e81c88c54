"""Plain-English pieces shared by the reports: places, ranges, quarters, file names."""

from __future__ import annotations

import re

from nhs_league.engine.explain import ordinal

STATEMENT = (
    "An independent reproduction of NHS England's NHS Oversight Framework 2025/26 league "
    "tables, recomputed from NHS England's published data by nhs-league; not an official NHS "
    "England product."
)
LICENCE = "Contains public sector information licensed under the Open Government Licence v3.0."


def place(rank: int, tied: bool = False) -> str:
    """ "16th", or "joint 59th" when another trust shares the rank."""
    return f"joint {ordinal(rank)}" if tied else ordinal(rank)


def span(low: float | int, high: float | int) -> str:
    """A range with an en dash: "5–92", "1.71–2.36"."""
    if isinstance(low, float) or isinstance(high, float):
        return f"{low:.2f}–{high:.2f}"
    return f"{low}–{high}"


def type_noun(label: str) -> str:
    """ "acute" from the pack's label "Acute"; "mental health and community" likewise."""
    return label[:1].lower() + label[1:]


def previous_quarter(quarter: str) -> str:
    """The quarter before "Q1 2025/26": "Q4 2024/25"."""
    q, year = quarter.split(" ")
    n, start = int(q[1:]), int(year[:4])
    if n > 1:
        return f"Q{n - 1} {year}"
    return f"Q4 {start - 1}/{str(start)[2:]}"


def slug(*parts: str) -> str:
    """A file name stem: slug("North West", "acute", "Q1 2025/26") is
    "north-west-acute-q1-2025-26"."""
    text = "-".join(parts).lower().replace("'", "")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def listing(names: list[str]) -> str:
    """ "A", "A and B", "A, B and C"; with semicolons when a name holds "and" or a comma:
    "Mersey and West Lancashire; Bolton; and Tameside and Glossop"."""
    if len(names) <= 1:
        return "".join(names)
    if any(" and " in n or "," in n for n in names):
        return "; ".join(names[:-1]) + "; and " + names[-1]
    return ", ".join(names[:-1]) + " and " + names[-1]


def count(n: int, singular: str, plural: str | None = None) -> str:
    """ "1 trust", "3 trusts"."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def percent(p: float) -> str:
    """A probability as a whole percentage: 0.6234 is "62%"."""
    return f"{p:.0%}"


def short_name(name: str) -> str:
    """A trust's name without "NHS Foundation Trust" and the like: "Bolton"."""
    for suffix in (" NHS Foundation Trust", " NHS Trust", " Foundation Trust"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name
