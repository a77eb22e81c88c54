"""Shared fixtures: NHS England's real files, bundled with the package."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import settings

from nhs_league.dataset import Dataset
from nhs_league.ingest.nhse_nof import read_file
from nhs_league.methods.pack import Pack, load_pack

# In CI the property tests draw the same examples every run, so a run's result never depends on
# luck; locally they explore afresh each time (and print a seed to replay any failure).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

_DATA = Path(str(resources.files("nhs_league").joinpath("data", "nhse")))
ACUTE_Q1 = _DATA / "q1-2025-26" / "nhs-oversight-framework-acute-trust-data.csv"
MHC_Q4 = _DATA / "q4-2025-26" / "nhs-oversight-framework-mental-health-and-community-trust-data.csv"
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def pack() -> Pack:
    return load_pack()


@pytest.fixture(scope="session")
def acute(pack: Pack) -> Dataset:
    return Dataset.from_publications([read_file(ACUTE_Q1, pack)])


@pytest.fixture(scope="session")
def mhc(pack: Pack) -> Dataset:
    return Dataset.from_publications([read_file(MHC_Q4, pack)])


@pytest.fixture(scope="session")
def both(pack: Pack) -> Dataset:
    return Dataset.from_publications([read_file(ACUTE_Q1, pack), read_file(MHC_Q4, pack)])


@pytest.fixture
def store_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh store location; NHS_LEAGUE_STORE points at it for CLI calls."""
    path = tmp_path / "store.duckdb"
    monkeypatch.setenv("NHS_LEAGUE_STORE", str(path))
    return path
