"""Fetch NHS England's NOF publications from its publication page.

Three steps, and the store is touched only by the last:

1. :func:`plan`: read the publication page and find every NOF trust data and league-table CSV
   link (:func:`find_links`: trust type, kind, version and quarter of each);
2. :func:`download`: download each (timeouts, retries with exponential backoff on a server error
   or a failed connection, never on a 4xx) and check it: HTTP status, the bytes received against
   ``Content-Length``, not an HTML page, the full validating reader, a line break at the end,
   and the rows every NHS England file has for every trust (:mod:`nhs_league.completeness`);
3. :func:`load`: add every checked file to the store in one transaction.

Any failure raises :class:`~nhs_league.errors.FetchError` naming the URL, before anything is
loaded: a fetch loads all of the selected files or none.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from nhs_league import __version__
from nhs_league.completeness import check_complete
from nhs_league.dataset import quarter_key, version_of
from nhs_league.errors import FetchError, InputError, ValueFormatError
from nhs_league.ingest.nhse_nof import Publication, read_bytes
from nhs_league.methods.pack import Pack
from nhs_league.store import LoadResult, Provenance, Store

DEFAULT_PAGE = (
    "https://www.england.nhs.uk/publication/"
    "nhs-oversight-framework-nhs-trust-performance-league-tables-process-and-results/"
)
# Trust types as NHS England's file names spell them (the first match wins: "non-acute" before
# "acute").
_TYPE_IN_NAME = (
    ("non-acute", "mental-health-community"),
    ("mental-health-and-community", "mental-health-community"),
    ("mental-health-community", "mental-health-community"),
    ("ambulance", "ambulance"),
    ("acute", "acute"),
)
_QUARTER_PATTERNS = (  # (pattern, group of the quarter, of the first year, of the second)
    (re.compile(r"(?<![a-z0-9])q([1-4])[\s,_-]*(\d{4})\s*[/\-–_]\s*(\d{2}(?:\d{2})?)", re.I), 1),
    (
        re.compile(r"\bquarter\s*([1-4])[\s,]*(?:of\s*)?(\d{4})\s*(?:[/\-–]|to)\s*(\d{2,4})", re.I),
        1,
    ),
    (re.compile(r"\b(\d{4})\s*[/\-–]\s*(\d{2}(?:\d{2})?)[\s,]*(?:q|quarter\s*)([1-4])\b", re.I), 3),
)
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")

Progress = Callable[[str, int, int | None], None]  # (url, bytes received, bytes announced)


@dataclass(frozen=True)
class Options:
    """How to download: ``timeout`` in seconds (connect, and each read), ``retries`` after the
    first attempt, and ``backoff``: the wait before the first retry, doubled before each next."""

    timeout: float = 60.0
    retries: int = 3
    backoff: float = 1.0

    def __post_init__(self) -> None:
        for name, value, low in (
            ("timeout", self.timeout, 0.01),
            ("retries", self.retries, 0),
            ("backoff", self.backoff, 0.0),
        ):
            if not value >= low:  # also rejects NaN
                raise ValueFormatError(
                    "fetch options", f"{name} out of range", found=value, expected=f">= {low}"
                )


@dataclass(frozen=True)
class Link:
    """A NOF CSV link on the publication page, classified."""

    url: str
    text: str
    trust_type: str  # acute, mental-health-community or ambulance
    kind: str  # "data" (trust data file) or "league" (league table)
    version: int  # 2 for a "-v2" file
    quarter: str | None  # from the link text, the file name or the headings above it

    @property
    def filename(self) -> str:
        return unquote(urlsplit(self.url).path.rsplit("/", 1)[-1])

    @property
    def name(self) -> str:
        """The name the store records: ``q3-2025-26/<file name>``, like the bundled files."""
        if self.quarter is None:
            return self.filename
        return self.quarter.lower().replace(" ", "-").replace("/", "-") + "/" + self.filename


@dataclass(frozen=True)
class Fetched:
    """A downloaded and checked file: its link, its rows, when it came and how big it was."""

    link: Link
    publication: Publication
    fetched_at: datetime
    size: int


# --- the page ------------------------------------------------------------------------------------


def parse_quarter(text: str) -> str | None:
    """ "Q3 2025/26" from "Quarter 3 2025/26", "Q3 2025-26", "q3-2025-26", "2025/26 Q3"."""
    for pattern, q_group in _QUARTER_PATTERNS:
        for m in pattern.finditer(text):
            years = [g for i, g in enumerate(m.groups(), 1) if i != q_group]
            first, second = int(years[0]), int(years[1][-2:])
            if second == (first + 1) % 100:
                return f"Q{m.group(q_group)} {first}/{second:02d}"
    return None


class _Anchors(HTMLParser):
    """Every ``<a href>`` with its text and the headings above it (innermost last)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: dict[int, str] = {}
        self.found: list[tuple[str, str, list[str]]] = []
        self._heading: tuple[int, list[str]] | None = None
        self._link: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HEADINGS:
            self._heading = (int(tag[1]), [])
        elif tag == "a":
            href = dict(attrs).get("href")
            self._link = (href, []) if href else None

    def handle_endtag(self, tag: str) -> None:
        if tag in _HEADINGS and self._heading is not None:
            level, parts = self._heading
            self.headings = {k: v for k, v in self.headings.items() if k < level}
            self.headings[level] = " ".join("".join(parts).split())
            self._heading = None
        elif tag == "a" and self._link is not None:
            href, parts = self._link
            context = [self.headings[k] for k in sorted(self.headings)]
            self.found.append((href, " ".join("".join(parts).split()), context))
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading[1].append(data)
        if self._link is not None:
            self._link[1].append(data)


def classify(url: str, text: str, headings: Sequence[str] = ()) -> Link | None:
    """The link as a NOF file, or ``None`` if it is not a NOF trust data or league-table CSV."""
    filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1]).lower()
    if not filename.endswith(".csv") or not ("oversight" in filename or "nof" in filename):
        return None
    trust_type = next((t for key, t in _TYPE_IN_NAME if key in filename), None)
    kind = "league" if "league" in filename else "data" if "data" in filename else None
    if trust_type is None or kind is None:
        return None
    quarter = parse_quarter(text) or parse_quarter(filename)
    for heading in reversed(headings):
        quarter = quarter or parse_quarter(heading)
    return Link(url, text, trust_type, kind, version_of(filename), quarter)


def find_links(html: str, base_url: str) -> list[Link]:
    """The NOF CSV links of a publication page, in page order, each once."""
    parser = _Anchors()
    parser.feed(html)
    parser.close()
    links: dict[str, Link] = {}
    for href, text, headings in parser.found:
        url = urljoin(base_url, href.strip())
        link = classify(url, text, headings)
        if link is not None and url not in links:
            links[url] = link
    return list(links.values())


def select(links: Sequence[Link], quarter: str | None) -> list[Link]:
    """The links of ``quarter``; all of them if None. "Q3" means the latest Q3 on the page, as
    "Q3" means the latest loaded Q3 everywhere else (``api.resolve_quarter``)."""
    if quarter is None:
        return list(links)
    wanted = " ".join(quarter.split()).upper().replace("-", "/")
    if not re.fullmatch(r"Q[1-4]( \d{4}/\d{2})?", wanted):
        raise FetchError(
            "--quarter", "not a quarter", found=quarter, expected='a quarter such as "Q3 2025/26"'
        )
    if len(wanted) == 2:
        years = [q for q in (link.quarter for link in links) if q and q[:2] == wanted]
        wanted = max(years, key=quarter_key) if years else wanted
    return [link for link in links if link.quarter == wanted]


# --- HTTP ----------------------------------------------------------------------------------------


@contextmanager
def session(options: Options) -> Iterator[httpx.Client]:
    """An HTTP client with the timeouts of ``options``, following redirects."""
    headers = {"User-Agent": f"nhs-league/{__version__} (NHS Oversight Framework league tables)"}
    with httpx.Client(
        timeout=httpx.Timeout(options.timeout), follow_redirects=True, headers=headers
    ) as client:
        yield client


class _CutShort(Exception):
    def __init__(self, received: int, announced: int | None) -> None:
        of = f" of the {announced:,} announced (Content-Length)" if announced is not None else ""
        super().__init__(f"the download was cut short: {received:,} bytes received{of}")


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


def _attempt(
    client: httpx.Client, url: str, progress: Progress | None
) -> tuple[int, str, bytes, str]:
    """One GET: status, reason, body (of a 200) and content type."""
    with client.stream("GET", url) as response:
        content_type = response.headers.get("content-type", "")
        if response.status_code != 200:
            return response.status_code, response.reason_phrase, b"", content_type
        announced = _content_length(response)
        chunks = []
        try:
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                if progress is not None:
                    progress(url, response.num_bytes_downloaded, announced)
        except httpx.RemoteProtocolError as exc:
            raise _CutShort(response.num_bytes_downloaded, announced) from exc
        if announced is not None and response.num_bytes_downloaded != announced:
            raise _CutShort(response.num_bytes_downloaded, announced)
        return 200, response.reason_phrase, b"".join(chunks), content_type


def get(
    client: httpx.Client, url: str, options: Options, progress: Progress | None = None
) -> tuple[bytes, str]:
    """The body and content type of ``url``. Retries after a 5xx, a timeout, a failed or broken
    connection or a body cut short, waiting ``backoff``, then twice as long, and so on; a 4xx
    fails at once."""
    attempts = options.retries + 1
    problem = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(options.backoff * 2 ** (attempt - 1))
        try:
            status, reason, body, content_type = _attempt(client, url, progress)
        except httpx.TimeoutException as exc:
            problem = f"no response within the {options.timeout:g} s timeout ({type(exc).__name__})"
        except _CutShort as exc:
            problem = str(exc)
        except httpx.TransportError as exc:
            problem = f"the connection failed ({type(exc).__name__}: {' '.join(str(exc).split())})"
        else:
            if status == 200:
                return body, content_type
            problem = f"HTTP {status} {reason}".rstrip()
            if status < 500:
                raise FetchError(url, problem, expected="HTTP 200 OK")
    tries = f"{attempts} attempts" if attempts > 1 else "1 attempt"
    raise FetchError(url, f"{problem}, after {tries}", expected="HTTP 200 OK and the whole file")


# --- checks --------------------------------------------------------------------------------------


def _looks_like_html(body: bytes, content_type: str) -> bool:
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:512].lower()
    sniffed = head.startswith((b"<!doctype", b"<html", b"<head", b"<body", b"<?xml"))
    return sniffed or "html" in content_type.lower()


def check_download(link: Link, body: bytes, content_type: str, pack: Pack) -> Publication:
    """The file read, once every check passed; :class:`FetchError` naming the URL otherwise."""
    url = link.url
    if _looks_like_html(body, content_type):
        start = body.lstrip()[:40].decode("utf-8", "replace")
        raise FetchError(
            url,
            f"an HTML page, not a CSV file (Content-Type {content_type or 'not given'!r})",
            found=start,
            expected="a CSV file",
        )
    try:
        pub = read_bytes(body, url, pack, path=url)
    except InputError as exc:
        raise FetchError(
            url,
            exc.problem,
            line=exc.line,
            column=exc.column,
            found=exc.found,
            expected=exc.expected,
        ) from exc
    if not body.endswith(b"\n"):
        raise FetchError(
            url,
            "the file does not end with a line break: cut short?",
            line=body.count(b"\n") + 1,
            found=body[-40:].decode("utf-8", "replace"),
            expected="a last line ending with a line break, as in every NHS England file",
        )
    check_complete(pub, pack, url)
    _check_label(link, pub)
    return replace(pub, name=link.name)


def _check_label(link: Link, pub: Publication) -> None:
    """The file holds the trust type its name says and the quarter the page lists it under."""
    types = sorted(set(pub.trusts["trust_type"].to_list()))
    if link.trust_type not in types:
        raise FetchError(
            link.url,
            f"the file name says {link.trust_type} trusts but the file holds {', '.join(types)}",
            expected=f"{link.trust_type} trusts",
        )
    quarters = set(pub.trusts["quarter"].to_list())
    if link.quarter is not None and link.quarter not in quarters:
        raise FetchError(
            link.url,
            f"the page lists the file under {link.quarter} but it does not hold that quarter",
            found=", ".join(sorted(quarters)),
            expected=link.quarter,
        )


# --- the steps -----------------------------------------------------------------------------------


def plan(
    client: httpx.Client,
    page_url: str = DEFAULT_PAGE,
    *,
    quarter: str | None = None,
    options: Options | None = None,
) -> list[Link]:
    """The NOF CSV links on the publication page (those of ``quarter`` only, if given)."""
    if urlsplit(page_url).scheme not in ("http", "https"):
        raise FetchError(page_url, "not a web address", expected="an http:// or https:// URL")
    body, _ = get(client, page_url, options or Options())
    links = find_links(body.decode("utf-8", "replace"), page_url)
    if not links:
        raise FetchError(
            page_url,
            "no NHS Oversight Framework CSV links on the page",
            expected="links to NOF trust data or league-table CSV files",
        )
    chosen = select(links, quarter)
    if not chosen:
        listed = sorted({link.quarter or "no quarter" for link in links})
        raise FetchError(
            page_url,
            f"no NOF CSV links for {quarter} on the page",
            found=", ".join(listed),
            expected="a quarter the page lists",
        )
    return chosen


def download(
    client: httpx.Client,
    links: Sequence[Link],
    pack: Pack,
    *,
    options: Options | None = None,
    progress: Progress | None = None,
) -> list[Fetched]:
    """Download and check every link, in order; the first failure raises."""
    out = []
    for link in links:
        body, content_type = get(client, link.url, options or Options(), progress)
        pub = check_download(link, body, content_type, pack)
        out.append(Fetched(link, pub, datetime.now(UTC), len(body)))
    return out


def load(store: Store, fetched: Sequence[Fetched]) -> list[LoadResult]:
    """Add every fetched file to the store in one transaction (each a no-op if already in)."""
    return store.add_all([(f.publication, Provenance(f.link.url, f.fetched_at)) for f in fetched])
