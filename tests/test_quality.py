"""Project hygiene that tests enforce: lint, types, the README's commands, help text."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_ruff_clean() -> None:
    r = _run("ruff", "check", "src", "tests", "bench")
    assert r.returncode == 0, r.stdout
    r = _run("ruff", "format", "--check", "src", "tests", "bench")
    assert r.returncode == 0, r.stdout


def test_mypy_strict_on_the_package() -> None:
    r = _run("mypy")
    assert r.returncode == 0, r.stdout


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    blocks = re.findall(r"```sh\n(.*?)\n```", readme, flags=re.S)
    assert len(blocks) >= 2, "the README opens with two commands"
    ci = (ROOT / ".ci" / "run").read_text("utf-8").strip().splitlines()[-1]
    assert blocks[1].strip() == ci
    assert 'nhs-league table --type acute --region "North West"' in blocks[0]


def test_readme_keeps_the_licence_attribution() -> None:
    text = (ROOT / "README.md").read_text("utf-8")
    assert (
        "Contains public sector information licensed under the Open Government Licence v3.0."
        in text
    )


def test_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NHS_LEAGUE_STORE", str(tmp_path / "store.duckdb"))
    readme = (ROOT / "README.md").read_text("utf-8")
    code = re.findall(r"```python\n(.*?)\n```", readme, flags=re.S)[0]
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["a"].quarter == "Q1 2025/26"  # type: ignore[attr-defined]


def test_readme_first_command_works_in_a_fresh_venv(tmp_path: Path) -> None:
    """The README's first command, as a newcomer runs it: a plain (not editable) install with
    the runtime dependencies only, no test extras, then the North West table."""
    readme = (ROOT / "README.md").read_text("utf-8")
    first = re.findall(r"```sh\n(.*?)\n```", readme, flags=re.S)[0].strip()
    assert first.startswith("python3 -m venv .venv && .venv/bin/pip install -q . && ")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert pip.returncode == 0, pip.stderr
    command = first.split(" && ")[-1].replace(".venv/bin/", "")
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path / "home")}
    r = subprocess.run(
        command + " --format csv",
        shell=True,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1 + 23
    assert any(line.startswith("16,RBS,Alder Hey") for line in lines)
    assert (tmp_path / "home" / ".local" / "share" / "nhs-league" / "store.duckdb").exists()


def test_top_level_api_and_lazy_imports() -> None:
    import nhs_league as nl

    for name in nl.__all__:
        assert getattr(nl, name) is not None, name
    r = subprocess.run(
        [sys.executable, "-c", "import sys, nhs_league.cli; print('polars' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert r.stdout.strip() == "False"  # --help does not pay for the data stack


def test_every_command_is_in_the_readme() -> None:
    from nhs_league.cli import app

    readme = (ROOT / "README.md").read_text("utf-8")
    names = [c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands]
    assert len(names) >= 11
    for name in names:
        assert f"nhs-league {name.replace('_', '-')}" in readme, name


@pytest.mark.parametrize(
    ("header", "args"),
    [
        (
            "Acute trusts, Q1 2025/26, North West",
            ["table", "--type", "acute", "--region", "North West"],
        ),
        (
            "Movement Q3 2025/26 → Q4 2025/26",
            ["movement", "--from", "Q3", "--to", "Q4", "--type", "mental-health-community"],
        ),
    ],
)
def test_readme_output_is_what_the_commands_print(
    header: str, args: list[str], tmp_path: Path
) -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    block = next(
        b for b in re.findall(r"```text\n(.*?)\n```", readme, flags=re.S) if b.startswith(header)
    )
    r = subprocess.run(
        [sys.executable, "-m", "nhs_league.cli", *args, "--store", str(tmp_path / "s.duckdb")],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    printed = {line.rstrip() for line in r.stdout.splitlines()}
    rows = [line for line in block.splitlines() if line.startswith("│")]
    assert rows
    for line in rows:
        assert line in printed, line
