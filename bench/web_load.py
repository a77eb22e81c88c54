"""Load test of the web app: the real server (`nhs-league serve`, uvicorn, 1 worker) under wrk.

Usage: python bench/web_load.py [--duration 30] [--connections 32] [--route NAME ...] [--out PATH]

Needs `wrk` (Debian: `apt-get install -y wrk`). See bench/README.md for what is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
AIM_ROUTE = "league_north_west"
AIM_P95_MS = 50.0
STATIC = "static"
UNCACHED = "league_north_west_uncached"

# name → (path, what): the static file is the baseline every route is compared with.
ROUTES: dict[str, tuple[str, str]] = {
    "league_north_west": (
        "/league/acute?region=North%20West",
        "league page, acute trusts filtered to North West (23 rows)",
    ),
    UNCACHED: (
        "/league/acute?region=North%20West",
        "the same page, each request with a distinct unused query parameter (&nocache=...), so "
        "the app's response cache (by path and query) never hits: building and rendering it",
    ),
    "league_full": ("/league/acute", "league page, all 134 acute trusts"),
    "api_league": ("/api/v1/league/acute", "JSON API, the acute league table"),
    STATIC: ("/static/vendor/nhsuk-frontend.min.css", "a vendored CSS file, served by the app"),
}

# wrk calls done() once at the end; latency percentiles are in microseconds.
LUA_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %.0f, "duration_us": %.0f, "bytes": %.0f, '
    .. '"connect": %.0f, "read": %.0f, "write": %.0f, "status": %.0f, "timeout": %.0f, '
    .. '"p50_us": %.0f, "p90_us": %.0f, "p95_us": %.0f, "p99_us": %.0f, '
    .. '"max_us": %.0f, "mean_us": %.1f}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean))
end
"""


# Every request a new address: wrk's setup() numbers the threads, each counts its requests.
LUA_UNCACHED = """
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
init = function(args)
  sent = 0
end
request = function()
  sent = sent + 1
  return wrk.format(nil, wrk.path .. "&nocache=" .. tid .. "-" .. sent)
end
"""


@dataclass(frozen=True)
class RouteResult:
    name: str
    url: str
    what: str
    requests: int
    duration_s: float
    requests_per_s: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    non_2xx: int  # wrk counts non-2xx/3xx responses; warm-up checks each route answers 200
    socket_errors: dict[str, int]
    bytes_per_request: float
    ratio_to_static: float | None = None

    @property
    def errors(self) -> int:
        return self.non_2xx + sum(self.socket_errors.values())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def cli() -> list[str]:
    """The installed ``nhs-league`` script beside this Python, else ``python -m nhs_league``."""
    script = Path(sys.executable).with_name("nhs-league")
    return [str(script)] if script.exists() else [sys.executable, "-m", "nhs_league"]


def get(url: str, timeout: float = 60) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return int(r.status), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@contextmanager
def server(workdir: Path) -> Iterator[str]:
    """`nhs-league serve` on a free port against a fresh store in ``workdir``; yields its URL."""
    port = free_port()
    store = workdir / "store.duckdb"
    log_path = workdir / "server.log"
    cmd = [*cli(), "serve", "--host", HOST, "--port", str(port), "--store", str(store)]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"the server exited ({proc.returncode}):\n{log_path.read_text()}")
            try:
                if get(base + "/", timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the server did not answer in 180 s:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def write_scripts(folder: Path) -> None:
    (folder / "done.lua").write_text(LUA_DONE, encoding="utf-8")
    (folder / "uncached.lua").write_text(LUA_UNCACHED + LUA_DONE, encoding="utf-8")


def script_for(name: str, folder: Path) -> Path:
    return folder / ("uncached.lua" if name == UNCACHED else "done.lua")


def warm(base: str, names: list[str], rounds: int = 5) -> None:
    """Every route answers 200 (so wrk's error count means what it says), a few times each."""
    for name in names:
        path = ROUTES[name][0]
        for n in range(rounds):
            status, body = get(base + path + (f"&nocache=warm-{n}" if name == UNCACHED else ""))
            if status != 200:
                raise SystemExit(f"{name}: GET {path} answered {status}: {body[:300]!r}")


def run_wrk(
    url: str, duration: int, connections: int, script: Path
) -> tuple[dict[str, float], str]:
    threads = max(1, min(2, connections))
    cmd = [
        "wrk",
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={duration}s",
        "--timeout=10s",
        "--latency",
        f"--script={script}",
        url,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=duration + 60)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    for line in done.stdout.splitlines():
        if line.startswith("WRK_RESULT "):
            return json.loads(line.removeprefix("WRK_RESULT ")), done.stdout
    raise SystemExit(f"no WRK_RESULT line in wrk's output:\n{done.stdout}")


def measure(base: str, name: str, duration: int, connections: int, scripts: Path) -> RouteResult:
    path, what = ROUTES[name]
    raw, _ = run_wrk(base + path, duration, connections, script_for(name, scripts))
    seconds = raw["duration_us"] / 1e6
    requests = int(raw["requests"])
    return RouteResult(
        name=name,
        url=path,
        what=what,
        requests=requests,
        duration_s=round(seconds, 3),
        requests_per_s=round(requests / seconds, 1),
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p95_ms=raw["p95_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        mean_ms=round(raw["mean_us"] / 1000, 3),
        non_2xx=int(raw["status"]),
        socket_errors={k: int(raw[k]) for k in ("connect", "read", "write", "timeout")},
        bytes_per_request=round(raw["bytes"] / requests, 1) if requests else 0.0,
    )


def with_ratios(results: list[RouteResult]) -> list[RouteResult]:
    """Each route's requests per second over the static file's (when it was measured)."""
    static = next((r.requests_per_s for r in results if r.name == STATIC), None)
    if not static:
        return results
    return [
        RouteResult(**{**asdict(r), "ratio_to_static": round(r.requests_per_s / static, 4)})
        for r in results
    ]


def environment() -> dict[str, Any]:
    def out(cmd: list[str], *, ok: tuple[int, ...] = (0,)) -> str | None:
        try:
            done = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True, check=False)
        except OSError:
            return None
        lines = (done.stdout or done.stderr).strip().splitlines()
        return lines[0] if done.returncode in ok and lines else None

    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": out(["git", "rev-parse", "--short", "HEAD"]),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "wrk": out(["wrk", "--version"], ok=(0, 1)),  # it prints its version, then exits 1
        "server": "nhs-league serve (uvicorn, 1 worker)",
    }


def _ratio(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.3f}"


def report(results: list[RouteResult], duration: int, connections: int) -> str:
    w = max(len(r.name) for r in results)
    lines = [
        f"{duration} s per route, {connections} connections, server and wrk on the same machine",
        "",
        f"{'route':<{w}} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'errors':>7} {'÷ static':>9}  url",
    ]
    for r in results:
        lines.append(
            f"{r.name:<{w}} {r.requests_per_s:>8.1f} {r.p50_ms:>8.2f} {r.p95_ms:>8.2f} "
            f"{r.p99_ms:>8.2f} {r.errors:>7} {_ratio(r.ratio_to_static):>9}  {r.url}"
        )
    aim = next((r for r in results if r.name == AIM_ROUTE), None)
    if aim is not None:
        verdict = "met" if aim.p95_ms < AIM_P95_MS else "MISSED"
        lines += ["", f"aim: {AIM_ROUTE} p95 < {AIM_P95_MS:g} ms: {verdict} ({aim.p95_ms:.2f} ms)"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=30, help="seconds per route (default 30)")
    parser.add_argument(
        "--connections", type=int, default=32, help="concurrent connections (default 32)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=HERE / "results" / "web_load.json",
        help="where to write the JSON results (default bench/results/web_load.json)",
    )
    parser.add_argument(
        "--route",
        action="append",
        choices=list(ROUTES),
        help="measure only this route (repeatable; default: all). Ratios need `static` too.",
    )
    args = parser.parse_args(argv)
    names = [n for n in ROUTES if n in (args.route or ROUTES)]
    if not 1 <= args.duration <= 600:
        parser.error("--duration must be from 1 to 600 seconds")
    if not 1 <= args.connections <= 1024:
        parser.error("--connections must be from 1 to 1024")
    if shutil.which("wrk") is None:
        print(
            "wrk is not installed; on Debian: apt-get install -y wrk (then run this again)",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="nhs-league-load-") as tmp:
        workdir = Path(tmp)
        write_scripts(workdir)
        with server(workdir) as base:
            warm(base, names)
            for name in names:  # a short untimed pass: connections, caches, allocator
                run_wrk(base + ROUTES[name][0], 2, args.connections, script_for(name, workdir))
            results = [
                measure(base, name, args.duration, args.connections, workdir) for name in names
            ]
    results = with_ratios(results)
    aim = next((r for r in results if r.name == AIM_ROUTE), None)
    out = {
        "environment": environment(),
        "settings": {"duration_s": args.duration, "connections": args.connections},
        "aim": {
            "route": AIM_ROUTE,
            "p95_ms_below": AIM_P95_MS,
            "met": None if aim is None else aim.p95_ms < AIM_P95_MS,
        },
        "routes": {r.name: asdict(r) | {"errors": r.errors} for r in results},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(report(results, args.duration, args.connections))
    print(f"\nwrote {args.out}")
    errors = sum(r.errors for r in results)
    if errors:
        print(
            f"{errors} errors (non-2xx responses or socket errors): see the table", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
