"""Benchmark: the verify command end to end, and where its time goes in process.

Usage: python bench/run.py [--runs 7] [--out bench/results/latest.json]

See bench/README.md for what each figure measures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from nhs_league.analysis import scenario
from nhs_league.analysis.scenario import Change, Scenario
from nhs_league.analysis.uncertainty import likely_ranges
from nhs_league.dataset import Dataset
from nhs_league.engine.pipeline import assess
from nhs_league.engine.verify import verify
from nhs_league.ingest.nhse_nof import read_file
from nhs_league.methods.pack import Pack, load_pack

QUARTER = "Q1 2025/26"
ACUTE_Q1 = ("q1-2025-26", "nhs-oversight-framework-acute-trust-data.csv")
MHC_Q4 = ("q4-2025-26", "nhs-oversight-framework-mental-health-and-community-trust-data.csv")
REPLICATES = 10_000  # likely_ranges bootstrap replicates
WHATIF = Scenario((Change("RCX", "OF0013", 78.0),))  # one trust, one metric
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Timing:
    name: str
    what: str
    runs: int
    median_s: float
    min_s: float

    @classmethod
    def of(cls, name: str, what: str, seconds: list[float]) -> Timing:
        return cls(name, what, len(seconds), statistics.median(seconds), min(seconds))


@contextmanager
def data_files() -> Iterator[list[Path]]:
    """The two bundled NHS England files, as real paths for as long as they are needed."""
    root = resources.files("nhs_league") / "data" / "nhse"
    with ExitStack() as stack:
        yield [stack.enter_context(resources.as_file(root / d / f)) for d, f in (ACUTE_Q1, MHC_Q4)]


def cli() -> list[str]:
    """The installed ``nhs-league`` script beside this Python, else ``python -m``."""
    script = Path(sys.executable).with_name("nhs-league")
    found = str(script) if script.exists() else shutil.which("nhs-league")
    return [found] if found else [sys.executable, "-m", "nhs_league.cli"]


def time_subprocess(cmd: list[str], runs: int) -> list[float]:
    """Wall-clock seconds of ``runs`` runs of ``cmd`` (after one untimed warm-up run)."""
    out: list[float] = []
    for i in range(runs + 1):
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
        if i:
            out.append(elapsed)
    return out


def time_call(fn: Callable[[], object], runs: int) -> list[float]:
    """Seconds of ``runs`` calls of ``fn`` (after one untimed warm-up call)."""
    fn()
    out: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def end_to_end(files: list[Path], runs: int) -> list[Timing]:
    base = cli()
    data = [arg for f in files for arg in ("--data", str(f))]
    cmd = [*base, "verify", "--mode", "reproduce", *data, "--quarter", QUARTER]
    shown = shlex.join(["nhs-league", *cmd[len(base) :]]).replace(f"{files[0].parent}/", "")
    for f in files:
        shown = shown.replace(str(f), f.name)
    imports = "import nhs_league.api, nhs_league.engine.verify, nhs_league.output"
    return [
        Timing.of(
            "cli_startup",
            "nhs-league --help (interpreter start and CLI module only)",
            time_subprocess([*base, "--help"], runs),
        ),
        Timing.of(
            "imports",
            f"python -c {imports!r}: the library verify runs on (polars, numpy)",
            time_subprocess([sys.executable, "-c", imports], runs),
        ),
        Timing.of("cli_verify", shown, time_subprocess(cmd, runs)),
    ]


def in_process(files: list[Path], pack: Pack, runs: int) -> list[Timing]:
    pubs = [read_file(f, pack) for f in files]
    ds = Dataset.from_publications(pubs)
    # Untimed: the assessment that likely_ranges and the what-if start from.
    before = assess(ds, pack, quarter=QUARTER, mode="reproduce")
    n_trusts = before.table.height
    change = WHATIF.changes[0]
    steps: list[tuple[str, str, Callable[[], object]]] = [
        (
            "polars_parse",
            "pl.read_csv(path, infer_schema=False) of both files",
            lambda: [pl.read_csv(f, infer_schema=False) for f in files],
        ),
        (
            "read",
            "nhs_league.ingest.nhse_nof.read_file of both files",
            lambda: [read_file(f, pack) for f in files],
        ),
        (
            "dataset",
            "Dataset.from_publications of the two read files",
            lambda: Dataset.from_publications(pubs),
        ),
        (
            "pipeline",
            f"assess(quarter={QUARTER!r}, mode='reproduce'), both files loaded",
            lambda: assess(ds, pack, quarter=QUARTER, mode="reproduce"),
        ),
        (
            "verify",
            f"engine.verify.verify(quarters=[{QUARTER!r}]), both files loaded",
            lambda: verify(ds, pack, mode="reproduce", quarters=[QUARTER]),
        ),
        (
            "likely_ranges",
            f"analysis.uncertainty.likely_ranges(replicates={REPLICATES:_}), all {n_trusts} "
            f"trusts of {QUARTER} (assessment precomputed)",
            lambda: likely_ranges(before, pack, replicates=REPLICATES),
        ),
        (
            "whatif",
            f"analysis.scenario.run: {change.trust_code} {change.metric_id}={change.value:g} "
            f"in {QUARTER}, before=<precomputed assessment>",
            lambda: scenario.run(ds, pack, WHATIF, quarter=QUARTER, before=before),
        ),
    ]
    return [Timing.of(name, what, time_call(fn, runs)) for name, what, fn in steps]


def ratios(timings: dict[str, Timing]) -> dict[str, float]:
    parse = timings["polars_parse"].median_s
    return {
        "pipeline / polars_parse": timings["pipeline"].median_s / parse,
        "read / polars_parse": timings["read"].median_s / parse,
    }


def environment() -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=HERE,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": commit,
        "python": platform.python_version(),
        "polars": pl.__version__,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "polars_max_threads": os.environ.get("POLARS_MAX_THREADS"),
    }


def report(timings: list[Timing], ratio: dict[str, float], files: list[Path]) -> str:
    width = max(len(t.name) for t in timings)
    lines = [f"{'step':<{width}}  {'median s':>9}  {'min s':>9}  runs  what"]
    for t in timings:
        lines.append(
            f"{t.name:<{width}}  {t.median_s:>9.4f}  {t.min_s:>9.4f}  {t.runs:>4}  {t.what}"
        )
    lines.append("")
    lines += [f"{k:<24} {v:6.2f}x" for k, v in ratio.items()]
    lines.append("")
    lines += [f"data: {f.name} ({f.stat().st_size / 1e6:.2f} MB)" for f in files]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per step (default 7)")
    parser.add_argument(
        "--out",
        type=Path,
        default=HERE / "results" / "latest.json",
        help="where to write the JSON results (default bench/results/latest.json)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    pack = load_pack()
    with data_files() as files:
        timings = end_to_end(files, args.runs) + in_process(files, pack, args.runs)
        by_name = {t.name: t for t in timings}
        ratio = ratios(by_name)
        result = {
            "environment": environment(),
            "quarter": QUARTER,
            "files": [f.name for f in files],
            "timings": {t.name: asdict(t) for t in timings},
            "ratios": ratio,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(report(timings, ratio, files))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
