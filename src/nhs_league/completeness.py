"""Is a file NHS England published whole? Checks that catch a file cut short between two rows.

A file cut inside a row does not read (a short row) or does not end with a line break; a download
cut short does not match its ``Content-Length``. A file cut exactly between two rows, served as
it is, reads: what gives it away is a row missing that every NHS England file has. NHS England's
files end with the summary rows (segments, average score, flags), so a cut removes some of them:

* every trust of every quarter has an average score and an adjusted segment with its league rank
  (``[summary]`` of the method pack), and a known financial deficit flag;
* in a trust data file, each other summary row (unadjusted and final segment) and the Recovery
  Support flag is there for every trust of a quarter or for none, and a quarter with final
  segments has Recovery Support flags (the final segment is 5 for a trust in the programme);
* the league ranks of each quarter and trust type are a standard competition ranking (1, 2, 2,
  4, ...): a missing trust leaves a gap, unless it was the last-ranked.

What no check of one file can see: a cut exactly before a whole block of optional rows (in the
acute Q1 file, just before the final segments, which then look like a quarter published without
them), or, in a league table sorted by rank, before the last-ranked trusts. Every file bundled
with the package passes (tests/test_fetch.py).
"""

from __future__ import annotations

import polars as pl

from nhs_league.errors import FetchError
from nhs_league.ingest.tables import Publication
from nhs_league.methods.pack import Pack

_CUT = "the file may be cut short"


def check_complete(pub: Publication, pack: Pack, url: str) -> None:
    """Raise :class:`FetchError` naming ``url`` if ``pub`` lacks a row a whole file has."""
    trusts = pub.trusts.select("quarter", "trust_code")
    for key in ("average_score", "adjusted_segment"):
        rows = pub.published.filter(pl.col("metric_id") == pack.summary[key])
        _every_trust(trusts, rows, f"{pack.summary[key]} ({key.replace('_', ' ')})", url)
    known = pub.flags.filter(pl.col("financial_deficit").is_not_null())
    deficit_id = pack.summary["financial_deficit_flag"]
    _every_trust(trusts, known, f"{deficit_id} (financial deficit flag)", url)
    if not pub.layout.startswith("league"):
        for key in ("unadjusted_segment", "final_segment"):
            rows = pub.published.filter(pl.col("metric_id") == pack.summary[key])
            _all_or_none(trusts, rows, f"{pack.summary[key]} ({key.replace('_', ' ')})", url)
        support = pub.flags.filter(pl.col("intensive_support").is_not_null())
        support_id = pack.summary["intensive_support_flag"]
        _all_or_none(trusts, support, f"{support_id} (Recovery Support flag)", url)
        # The final segment is the adjusted one, or 5 for a trust in the Recovery Support
        # Programme: a quarter has both or neither.
        final = pub.published.filter(pl.col("metric_id") == pack.summary["final_segment"])
        _all_or_none(trusts, final, f"{support_id} (Recovery Support flag)", url, support)
    segments = pub.published.filter(pl.col("metric_id") == pack.summary["adjusted_segment"])
    _competition_ranks(segments, url)


def _every_trust(trusts: pl.DataFrame, rows: pl.DataFrame, what: str, url: str) -> None:
    missing = trusts.join(rows, on=["quarter", "trust_code"], how="anti")
    if missing.height:
        quarter, code = missing.row(0)
        raise FetchError(
            url,
            f"{code} has no {what} row for {quarter} ({_trusts(missing.height)} without): {_CUT}",
            expected="one for every trust, as in every NHS England file",
        )


def _all_or_none(
    trusts: pl.DataFrame,
    present: pl.DataFrame,
    what: str,
    url: str,
    rows: pl.DataFrame | None = None,
) -> None:
    """Every trust has a ``rows`` row (default: ``present``) in each quarter where some trust has
    a ``present`` row."""
    quarters = present["quarter"].unique().to_list()
    of_quarters = trusts.filter(pl.col("quarter").is_in(quarters))
    _every_trust(of_quarters, present if rows is None else rows, what, url)


def _competition_ranks(rows: pl.DataFrame, url: str) -> None:
    """League ranks 1, 2, 2, 4, ...: each trust's rank is one more than the number of trusts of
    its quarter and type ranked above it."""
    unranked = rows.filter(pl.col("rank").is_null())
    if unranked.height:
        quarter, code = unranked.select("quarter", "trust_code").row(0)
        raise FetchError(url, f"{code} has no league rank for {quarter}", expected="a rank")
    checked = rows.with_columns(
        pl.col("rank").rank("min").over("quarter", "trust_type").alias("_expected")
    ).filter(pl.col("rank") != pl.col("_expected"))
    if checked.height:
        first = checked.sort("quarter", "trust_type", "_expected").row(0, named=True)
        raise FetchError(
            url,
            f"the league ranks of {first['quarter']} {first['trust_type']} trusts have a gap "
            f"(rank {first['rank']:g} where {first['_expected']:g} was due): {_CUT}",
            expected="ranks 1 to N, ties sharing the smaller rank",
        )


def _trusts(n: int) -> str:
    return f"{n} trust" if n == 1 else f"{n} trusts"
