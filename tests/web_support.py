"""Helpers for the browser tests (tests/test_web_browser.py): a real uvicorn server in a thread,
Debian's Chromium through Playwright, a watcher for console errors, CSP violations and requests
that leave the machine, and axe-core.

Not a test module: pytest collects nothing here.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Response,
)

HOST = "127.0.0.1"

# Playwright's own browser download does not work here: Debian's Chromium, with these flags.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# WCAG 2.x A and AA; the tests fail on violations of these impacts.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_FAIL_IMPACTS = frozenset({"serious", "critical"})

# Recorded by an init script (runs before the page's own scripts, outside its CSP).
_CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline'));
});
"""


def launch_chromium(p: Playwright) -> Browser:
    exe = shutil.which("chromium")
    if exe is None:
        raise RuntimeError("Chromium is not installed: apt-get install -y chromium")
    return p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1 (a free port) in a thread; yield its base URL.

    The socket is bound here and handed to uvicorn, so no other process can take the port
    between choosing and serving it.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, host=HOST, port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the web server did not start (see the log above)")
        time.sleep(0.02)
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@dataclass
class Watch:
    """What a browser context saw: everything here should stay empty."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    failed_responses: list[str] = field(default_factory=list)

    def attach(self, context: BrowserContext) -> None:
        context.on("page", self.attach_page)
        context.on("request", self._request)
        context.on("response", self._response)
        context.on("requestfailed", self._failed)

    def attach_page(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))

    def _console(self, msg: ConsoleMessage) -> None:
        # A failed load is reported once, by _response or _failed (or, for the page itself, by
        # the test that navigated), not again as the browser's console line about it.
        if msg.text.startswith("Failed to load resource"):
            return
        if msg.type == "error" or "Content Security Policy" in msg.text:
            self.console_errors.append(f"{msg.type}: {msg.text} ({msg.location.get('url')})")

    def _failed(self, request: Request) -> None:
        if urlsplit(request.url).hostname == HOST:
            self.failed_responses.append(f"{request.failure} {request.url}")

    def _request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if parts.hostname != HOST:
            self.external_requests.append(request.url)

    def _response(self, response: Response) -> None:
        if response.status >= 400 and not response.request.is_navigation_request():
            self.failed_responses.append(f"{response.status} {response.url}")

    def problems(self, page: Page | None = None) -> list[str]:
        """Everything that went wrong, including CSP violations the page recorded."""
        out = [f"console {m}" for m in self.console_errors]
        out += [f"page error: {m}" for m in self.page_errors]
        out += [f"request left {HOST}: {u}" for u in self.external_requests]
        out += [f"sub-resource failed: {r}" for r in self.failed_responses]
        if page is not None and not page.is_closed():
            try:
                csp = page.evaluate("window.__cspViolations || []")
            except Exception:  # JavaScript disabled: the browser reports CSP in the console
                csp = []
            out += [f"CSP violation: {v}" for v in csp]
        return out


def new_context(browser: Browser, *, javascript: bool = True, **kwargs: Any) -> BrowserContext:
    context = browser.new_context(java_script_enabled=javascript, **kwargs)
    context.add_init_script(_CSP_LISTENER)
    return context


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.x A/AA violations on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
    results = Axe().run(page, options=options)
    return list(results.response["violations"])


def describe_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} [{v['helpUrl']}]")
        for node in v["nodes"][:8]:
            target = " ".join(str(t) for t in node["target"])
            lines.append(f"    {target}: {node['html'][:160]}")
        if len(v["nodes"]) > 8:
            lines.append(f"    ... and {len(v['nodes']) - 8} more nodes")
    return "\n".join(lines)


def serious(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v.get("impact") in AXE_FAIL_IMPACTS]


def screenshot(page: Page, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
