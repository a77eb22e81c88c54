"""Jinja rendering: autoescaped templates, number formats, and JSON data blocks that cannot break
out of their ``<script>`` element."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import quote_plus, urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from pydantic import BaseModel
from starlette.responses import HTMLResponse

from nhs_league.engine.explain import fmt_value, ordinal

SITE_NAME = "NHS trust league tables: an independent reproduction"
OGL_URL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
NAV = [
    ("/league/acute", "Acute trusts"),
    ("/league/mental-health-community", "Mental health and community"),
    ("/compare", "Compare"),
    ("/method", "Method"),
]


def json_block(obj: Any) -> Markup:
    """JSON for a ``<script type="application/json">`` element: ``<``, ``>`` and ``&`` are
    escaped as JSON unicode escapes, so no string (a trust named ``</script>...``) can close the
    element or open a comment; the JSON parses to the same value."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)  # safe: escaped above, and the element is data, never HTML


def num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def signed(value: float | None, digits: int = 2) -> str:
    """+0.05 / −0.05 (a true minus sign) / 0.00; "—" when missing."""
    if value is None:
        return "—"
    text = f"{abs(value):.{digits}f}"
    if round(value, digits) == 0:
        return text
    return ("+" if value > 0 else "−") + text


def pct(p: float | None) -> str:
    if p is None:
        return "—"
    if 0 < p < 0.005:
        return "<1%"
    return f"{p:.0%}"


_TRUST_AT_END = re.compile(r"\(([A-Z0-9]{3,5})\)$")
_METRIC_AT_START = re.compile(r"^(OF[0-9]{4}) ")


def suggestion_href(text: str) -> str | None:
    """A link for a suggestion: "Name (RBS)" → /trust/RBS, "OF1013 Name" → /metric/OF1013."""
    if m := _TRUST_AT_END.search(text):
        return f"/trust/{m.group(1)}"
    if m := _METRIC_AT_START.match(text):
        return f"/metric/{m.group(1)}"
    return None


def short_icb(name: str | None) -> str:
    """ "NHS Greater Manchester Integrated Care Board" → "Greater Manchester"."""
    if not name:
        return ""
    return name.removeprefix("NHS ").removesuffix(" Integrated Care Board")


def options(items: list[Any], label: Callable[[str], str] | None = None) -> list[tuple[str, str]]:
    """(value, label) pairs for a select, from strings or choices; ``label`` shortens labels."""
    pairs = [(i, i) if isinstance(i, str) else (i.value, i.label) for i in items]
    return [(v, label(t)) for v, t in pairs] if label else pairs


def merge(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


# urlencode's quote_plus, remembered: a league page builds a dozen links from the same few
# names and values (~4 µs a link otherwise); bounded, so arbitrary values only churn it.
_quote = lru_cache(maxsize=4096)(quote_plus)


def url(path: str, **params: Any) -> str:
    """``path`` with the non-empty ``params`` as a query string."""
    pairs = [(k, v) for k, v in params.items() if v not in (None, "", [])]
    flat = [(k, x) for k, v in pairs for x in (v if isinstance(v, list) else [v])]
    return f"{path}?{urlencode(flat, quote_via=_quote)}" if flat else path


def make_env() -> Environment:
    env = Environment(
        loader=PackageLoader("nhs_league.web", "templates"),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=num,
        signed=signed,
        pct=pct,
        ordinal=ordinal,
        json_block=json_block,
        value=fmt_value,
        options=options,
        short_icb=short_icb,
        suggestion_href=suggestion_href,
    )
    env.globals.update(
        url=url, merge=merge, short_icb=short_icb, site_name=SITE_NAME, ogl_url=OGL_URL, nav=NAV
    )
    return env


class Renderer:
    """Renders a page template with its context object (``ctx``) and chart specs."""

    def __init__(self) -> None:
        self.env = make_env()

    def macro(self, template: str, name: str) -> Callable[..., Markup]:
        """A macro of ``template``, to call from Python (it returns its markup)."""
        macro: Callable[..., Markup] = getattr(self.env.get_template(template).module, name)
        return macro

    def page(
        self,
        template: str,
        ctx: BaseModel | None,
        *,
        title: str,
        path: str,
        status: int = 200,
        charts: dict[str, dict[str, Any] | None] | None = None,
        api: str | None = None,
        **extra: Any,
    ) -> HTMLResponse:
        shown = {k: v for k, v in (charts or {}).items() if v is not None}
        html = self.env.get_template(template).render(
            ctx=ctx, title=title, path=path, charts=shown, api=api, **extra
        )
        return HTMLResponse(html, status_code=status)
