"""The library's front door: what the CLI (and later the web app) call.

Everything here is pure over a :class:`Dataset` and an :class:`Assessment`, except
:func:`open_dataset`, which reads files or the store.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from nhs_league.dataset import Dataset, quarter_key
from nhs_league.engine import scoring as sc
from nhs_league.engine.explain import explain_row
from nhs_league.engine.pipeline import Assessment, assess, latest_quarter
from nhs_league.errors import AmbiguousTrust, NoData, UnknownTrust
from nhs_league.ingest.nhse_nof import read_file
from nhs_league.ingest.ods import Icb, organisations
from nhs_league.methods.pack import Pack, load_pack

LEAGUE_COLUMNS = [
    "rank",
    "trust_code",
    "trust_name",
    "region",
    "icb_code",
    "icb_name",
    "trust_type",
    "subtype",
    "segment",
    "average_score",
    "unadjusted_segment",
    "financial_deficit",
    "final_segment",
    "n_items",
    "league_size",
    "quarter",
]


def open_dataset(
    pack: Pack, *, data: Sequence[str | Path] = (), store: str | Path | None = None
) -> Dataset:
    """Read ``data`` files directly, or else the store (seeded on first use)."""
    if data:
        return Dataset.from_publications(read_file(f, pack) for f in data)
    from nhs_league.store import Store, default_store_path

    with Store(store or default_store_path(), pack) as st:
        return st.dataset()


def resolve_quarter(data: Dataset, quarter: str | None, trust_type: str | None = None) -> str:
    """A loaded quarter from "Q1 2025/26", "Q1" or None (the latest for ``trust_type``)."""
    if quarter is None:
        return latest_quarter(data, trust_type)
    quarters = data.quarters
    q = " ".join(quarter.split()).upper().replace("-", "/")
    exact = [x for x in quarters if x.upper() == q]
    if exact:
        return exact[0]
    short = [x for x in quarters if x.split(" ")[0] == q]
    if len(short) >= 1:
        return sorted(short, key=quarter_key)[-1]
    raise NoData(f"quarter {quarter!r} is not loaded; loaded quarters: {', '.join(quarters)}")


def _match_label(values: list[str], wanted: str, what: str, aliases: dict[str, str]) -> str:
    w = aliases.get(wanted.strip(), wanted.strip()).lower()
    for v in values:
        if v.lower() == w:
            return v
    raise NoData(f"no {what} {wanted!r} in this table; allowed: {', '.join(sorted(values))}")


def league_table(
    a: Assessment,
    pack: Pack,
    trust_type: str,
    *,
    region: str | None = None,
    subtype: str | None = None,
    icb: str | None = None,
    top: int | None = None,
) -> pl.DataFrame:
    """One trust type's league table, filtered; ranks stay national (of the whole type).

    ``icb`` is an ICB's ODS code (QE1), ONS code (E54000048) or (part of) its name; trusts
    that ODS data cannot place in an ICB have ``icb_code`` null (see :func:`org_matches`).
    """
    t = a.of_type(trust_type)
    if t.height == 0:
        raise NoData(f"no {trust_type} trusts loaded for {a.quarter}")
    t = with_icbs(t)
    if icb:
        code = _match_icb([(c, n) for c, n in icbs_of(t)], icb)
        t = t.filter(pl.col("icb_code") == code)
    if region:
        name = _match_label(t["region"].unique().to_list(), region, "region", pack.region_aliases)
        t = t.filter(pl.col("region") == name)
    if subtype:
        name = _match_label(t["subtype"].unique().to_list(), subtype, "subtype", {})
        t = t.filter(pl.col("subtype") == name)
    t = t.with_columns(
        pl.col("league_rank").alias("rank"),
        pl.col("adjusted_segment").alias("segment"),
        pl.col("financial_deficit").fill_null(False),
    )
    if top:
        t = t.head(top)
    return t.select(LEAGUE_COLUMNS)


@cache
def _icb_of(code: str) -> Icb | None:
    """The ICB ODS data places trust ``code`` in (the bundled files never change: kept)."""
    return organisations().match(code).icb


def with_icbs(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (with ``trust_code``) plus ``icb_code`` and ``icb_name`` from ODS data."""
    codes = frame["trust_code"].unique().to_list()
    icb = {c: _icb_of(c) for c in codes}
    lookup = pl.DataFrame(
        {
            "trust_code": codes,
            "icb_code": [i.code if i else None for i in icb.values()],
            "icb_name": [i.name if i else None for i in icb.values()],
        },
        schema={"trust_code": pl.String, "icb_code": pl.String, "icb_name": pl.String},
    )
    drop = [c for c in ("icb_code", "icb_name") if c in frame.columns]
    return frame.drop(drop).join(lookup, on="trust_code", how="left", maintain_order="left")


def icbs_of(frame: pl.DataFrame) -> list[tuple[str, str]]:
    """(code, name) of the ICBs in a frame that has ``icb_code`` and ``icb_name``, by name."""
    pairs = frame.select("icb_code", "icb_name").drop_nulls().unique().sort("icb_name")
    return [(c, n) for c, n in pairs.iter_rows()]


def icbs(a: Assessment, trust_type: str) -> list[tuple[str, str]]:
    """(code, name) of the ICBs that have trusts of ``trust_type`` in this assessment."""
    return icbs_of(with_icbs(a.of_type(trust_type)))


def _match_icb(known: list[tuple[str, str]], wanted: str) -> str:
    w = " ".join(wanted.split()).lower()
    ons = {i.code: i.ons_code.lower() for i in organisations().icbs.values()}
    exact = [c for c, n in known if w in (c.lower(), n.lower(), ons.get(c))]
    if len(exact) == 1:
        return exact[0]
    part = [c for c, n in known if w in n.lower()]
    if len(part) == 1:
        return part[0]
    if len(part) > 1:
        names = "; ".join(f"{c} {n}" for c, n in known if c in part[:4])
        more = f" and {len(part) - 4} more" if len(part) > 4 else ""
        raise NoData(f"ICB {wanted!r} matches {len(part)} ICBs: {names}{more}; give its code")
    allowed = ", ".join(
        f"{c} ({n.removeprefix('NHS ').removesuffix(' Integrated Care Board')})" for c, n in known
    )
    raise NoData(f"no ICB {wanted!r} among the trusts of this table; allowed: {allowed}")


def org_matches(data: Dataset) -> pl.DataFrame:
    """Every loaded trust matched to ODS organisation data (region, ICB), or why not."""
    return organisations().match_frame(data.trusts)


def find_trust(data: Dataset, query: str, quarter: str | None = None) -> str:
    """A trust code from a code or a partial, case-insensitive name ("alder hey")."""
    trusts = data.trusts if quarter is None else data.trusts.filter(pl.col("quarter") == quarter)
    names = dict(trusts.select("trust_code", "trust_name").unique("trust_code").iter_rows())
    q = query.strip()
    for code in names:
        if code.upper() == q.upper():
            return str(code)
    hits = sorted(code for code, name in names.items() if q.lower() in name.lower())
    if len(hits) == 1:
        return str(hits[0])
    if hits:
        raise AmbiguousTrust(query, [f"{names[c]} ({c})" for c in hits])
    close = difflib.get_close_matches(
        q.lower(), [n.lower() for n in names.values()], n=3, cutoff=0.5
    )
    by_lower = {n.lower(): (n, c) for c, n in names.items()}
    raise UnknownTrust(query, [f"{by_lower[c][0]} ({by_lower[c][1]})" for c in close])


def trust_quarter(data: Dataset, query: str, quarter: str | None) -> tuple[str, str]:
    """(trust code, quarter) for a code or name, defaulting to the latest quarter of its type."""
    code = find_trust(data, query)
    ttype = data.trusts.filter(pl.col("trust_code") == code)["trust_type"][0]
    return code, resolve_quarter(data, quarter, ttype)


def _matrix_inputs(a: Assessment, pack: Pack, code: str, metric_id: str) -> dict[str, Any]:
    m = pack.metric(metric_id)
    if m.family != "matrix":
        return {}
    s = a.metric_scores.filter(pl.col("trust_code") == code)
    got = dict(s.select("metric_id", "score").iter_rows())
    return {"input_a": _int(got.get(m.inputs[0])), "input_b": _int(got.get(m.inputs[1]))}


def _int(x: float | None) -> int | str:
    return "?" if x is None else int(x)


def explain(a: Assessment, pack: Pack, code: str, metric_id: str) -> str:
    m = pack.metric(metric_id)
    rows = a.metric_scores.filter(
        (pl.col("trust_code") == code) & (pl.col("metric_id") == m.score_id)
    )
    if rows.height == 0:
        raise NoData(f"{code} has no {m.score_id} ({m.name}) score in {a.quarter}")
    row = rows.row(0, named=True) | _matrix_inputs(a, pack, code, m.score_id)
    return explain_row(m, row)


def trust_profile(a: Assessment, pack: Pack, code: str) -> dict[str, Any]:
    """Everything about one trust in one quarter, as plain data."""
    t = a.table.filter(pl.col("trust_code") == code)
    if t.height == 0:
        raise NoData(f"{code} is not in the loaded data for {a.quarter}")
    row = t.row(0, named=True)
    icb = organisations().match(code).icb
    scores = a.metric_scores.filter(pl.col("trust_code") == code)
    order = {m.score_id: i for i, m in enumerate(pack.metrics)}
    metrics = []
    for r in sorted(scores.iter_rows(named=True), key=lambda r: order[r["metric_id"]]):
        m = pack.metric(r["metric_id"])
        metrics.append(
            {
                "metric_id": m.score_id,
                "value_id": r["value_id"],
                "name": m.name,
                "domain": pack.domain(m.domain).name,
                "value": r["value"],
                "units": r["units"],
                "score": r["score"],
                "in_average": m.item,
                "basis": r["basis"],
                "explanation": explain_row(m, r | _matrix_inputs(a, pack, code, m.score_id)),
            }
        )
    return {
        "quarter": a.quarter,
        "mode": a.mode,
        "trust_code": code,
        "trust_name": row["trust_name"],
        "trust_type": row["trust_type"],
        "subtype": row["subtype"],
        "region": row["region"],
        "icb_code": icb.code if icb else None,
        "icb_name": icb.name if icb else None,
        "segment": row["adjusted_segment"],
        "unadjusted_segment": row["unadjusted_segment"],
        "final_segment": row["final_segment"],
        "league_rank": row["league_rank"],
        "league_size": row["league_size"],
        "average_score": row["average_score"],
        "n_items": row["n_items"],
        "financial_deficit": bool(row["financial_deficit"]),
        "intensive_support": row["intensive_support"],
        "domains": {d.name: row[f"domain_{d.key}"] for d in pack.domains},
        "cut_points": list(a.cut_points.values),
        "metrics": metrics,
    }


def metric_ranking(a: Assessment, pack: Pack, metric_id: str, trust_type: str) -> pl.DataFrame:
    """Individual metric ranking: trusts of one type ordered by the metric's value (best first),
    ties in rounded values split by the file's within-type Rank (spec section 5, IMR)."""
    m = pack.metric(metric_id)
    s = a.metric_scores.filter(
        (pl.col("metric_id") == m.score_id) & (pl.col("trust_type") == trust_type)
    ).join(a.table.select("trust_code", "trust_name", "region"), on="trust_code", how="left")
    if s.height == 0:
        raise NoData(f"no {trust_type} trust has a {m.score_id} score in {a.quarter}")
    if m.has_value:
        v = s["value"].to_numpy().astype(float)
        key = -v if m.higher_is_better else v
        # Count rows (no threshold) are ordered after the rate rows.
        if m.count_units:
            key = np.where((s["units"] == m.count_units).to_numpy(), np.inf, key)
        rank = s["file_rank"].fill_null(np.nan).to_numpy().astype(float)
        imr = sc.positions(key, np.zeros(len(v)), rank)
    else:
        imr = sc.positions(
            s["score"].to_numpy().astype(float), np.zeros(s.height), np.zeros(s.height)
        )
    return (
        s.with_columns(pl.Series("imr_rank", imr, dtype=pl.Int64))
        .sort("imr_rank", "trust_code")
        .select(
            "imr_rank",
            "trust_code",
            "trust_name",
            "region",
            "value",
            "units",
            "score",
            "target_met",
            "basis",
        )
    )


def assess_default(
    data: Dataset,
    pack: Pack | None = None,
    *,
    quarter: str | None = None,
    trust_type: str | None = None,
    mode: str = "reproduce",
) -> Assessment:
    pack = pack or load_pack()
    return assess(data, pack, quarter=resolve_quarter(data, quarter, trust_type), mode=mode)


def improvement_summary(a: Assessment, pack: Pack, code: str) -> dict[str, Any]:
    """What ``code`` needs to move up a segment, as plain data with a one-line summary."""
    from nhs_league.analysis.improvement import improvement

    imp = improvement(a, pack, code)
    steps = [s.sentence(pack) for s in imp.steps]
    if imp.target_segment is None:
        summary = "Improvement needed: none, already in segment 1."
    elif imp.blocked_by_override:
        summary = (
            f"Improvement needed: segment {imp.target_segment} is blocked by the financial "
            f"override while the trust is flagged in deficit (average {imp.average:.2f}, "
            f"segment {imp.target_segment} needs {imp.needed_average:.2f} or better)."
        )
    elif not imp.reachable:
        summary = (
            f"Improvement needed: segment {imp.target_segment} needs an average of "
            f"{imp.needed_average:.2f} or better ({imp.gap:.2f} points); no change of "
            f"this trust's own values alone gets there."
        )
    else:
        summary = (
            f"Improvement needed: segment {imp.target_segment} needs an average of "
            f"{imp.needed_average:.2f} or better ({imp.gap:.2f} points); the fewest "
            f"changes ({len(steps)}), everything else held:"
        )
    return {
        "target_segment": imp.target_segment,
        "needed_average": imp.needed_average,
        "gap": imp.gap,
        "blocked_by_override": imp.blocked_by_override,
        "reachable": imp.reachable,
        "steps": steps,
        "summary": summary,
        "changes": [
            {
                "metric_id": s.metric_id,
                "from": s.value_from,
                "to": s.value_to,
                "score_from": s.score_from,
                "score_to": s.score_to,
            }
            for s in imp.steps
        ],
    }
