"""Security headers on every response, bounded request lines, and no traceback ever shown.

A pure ASGI middleware (not Starlette's ``BaseHTTPMiddleware``, which costs a task per request):
it adds the headers to every response, static files and errors included; answers HEAD as GET
without the body (FastAPI routes declare GET only); answers an over-long query string or path
with 414 before any route runs; drops empty query parameters (``segment=``), because a plain
HTML form sends every field, and a dropdown left on "All" means "not given", not "invalid"; and
turns an unexpected exception into the error envelope (500), logged with its traceback on the
server only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nhs_league.web.errors import WebError
from nhs_league.web.params import MAX_PATH_BYTES, MAX_QUERY_BYTES

log = logging.getLogger("nhs_league.web")

# No inline script or style anywhere: charts render through vega-embed with the expression
# interpreter (no eval) and without its default <style> element (static/site.css styles them).
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}

ErrorRenderer = Callable[[str, WebError], Response]


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, on_error: ErrorRenderer) -> None:
        self.app = app
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}

        async def send_secured(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        path: str = scope["path"]
        if len(scope.get("query_string", b"")) > MAX_QUERY_BYTES or len(path) > MAX_PATH_BYTES:
            error = WebError(
                414,
                "uri_too_long",
                f"The address is too long: at most {MAX_QUERY_BYTES} bytes of query string "
                f"and {MAX_PATH_BYTES} of path.",
            )
            await self.on_error(path, error)(scope, receive, send_secured)
            return
        query = scope.get("query_string", b"")
        if query:
            scope = {**scope, "query_string": without_blanks(query)}
        try:
            await self.app(scope, receive, send_secured)
        except Exception:
            log.exception("unexpected error serving %s", path)
            if started:
                raise
            error = WebError(500, "internal_error", "Something went wrong on the server.")
            await self.on_error(path, error)(scope, receive, send_secured)


def without_blanks(query: bytes) -> bytes:
    """The query string without empty parameters: ``a=&b=2&&c`` gives ``b=2``."""
    parts = [p for p in query.split(b"&") if b"=" in p and not p.endswith(b"=")]
    return b"&".join(parts)
