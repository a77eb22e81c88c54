"""The README's screenshots: the real server (`nhs-league serve`) and Debian's Chromium.

Usage: python scripts/screenshots.py [--out docs/img]

Writes league.png (the acute league page filtered to North West, from its table) and trust.png
(the top of the trust page for Alder Hey, RBS), each 1280×900 pixels. Needs `chromium`
(Debian: apt-get install -y chromium) and Playwright (installed with the test extras).
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the Chromium launch is the tests'
from tests.web_support import launch_chromium  # noqa: E402

HOST = "127.0.0.1"
VIEWPORT = {"width": 1280, "height": 900}
MARGIN = 24  # pixels above the anchor
# file name → (path, CSS selector at the top of the picture, or None for the top of the page).
# The league page's filters fill the first screen; its picture starts at the table.
SHOTS: dict[str, tuple[str, str | None]] = {
    "league.png": ("/league/acute?region=North%20West", ".app-downloads"),
    "trust.png": ("/trust/RBS", None),
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def cli() -> list[str]:
    script = Path(sys.executable).with_name("nhs-league")
    return [str(script)] if script.exists() else [sys.executable, "-m", "nhs_league"]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return int(r.status) == 200
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def server(workdir: Path) -> Iterator[str]:
    """`nhs-league serve` on a free port against a fresh store in ``workdir``; yields its URL."""
    port = free_port()
    log_path = workdir / "server.log"
    cmd = [*cli(), "serve", "--host", HOST, "--port", str(port)]
    cmd += ["--store", str(workdir / "store.duckdb")]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 180
        while not answers(base + "/"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def take(base: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    written = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
            for name, (path, anchor) in SHOTS.items():
                response = page.goto(base + path, wait_until="networkidle")
                if response is None or response.status != 200:
                    status = response.status if response else "no response"
                    raise SystemExit(f"GET {path} answered {status}")
                page.wait_for_function("document.fonts.status === 'loaded'")
                top = 0.0
                if anchor:
                    box = page.locator(anchor).first.bounding_box()
                    if box is None:
                        raise SystemExit(f"{path}: nothing matches {anchor!r}")
                    top = max(0.0, box["y"] - MARGIN)
                clip = {"x": 0, "y": top, "width": VIEWPORT["width"], "height": VIEWPORT["height"]}
                target = out / name
                page.screenshot(path=str(target), clip=clip, full_page=True)
                written.append(target)
        finally:
            browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "docs" / "img", help="folder (default docs/img)"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nhs-league-shots-") as tmp, server(Path(tmp)) as base:
        for path in take(base, args.out):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
