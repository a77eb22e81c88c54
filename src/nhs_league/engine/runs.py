"""Runs of equal values in sorted arrays: the building block of competition ranks (1, 2, 2, 4)."""

from __future__ import annotations

import numpy as np


def as_previous(x: np.ndarray) -> np.ndarray:
    """Whether each element equals the one before it (so continues its run)."""
    out = np.zeros(x.size, dtype=bool)
    out[1:] = x[1:] == x[:-1]
    return out


def run_start(same: np.ndarray) -> np.ndarray:
    """For each element of runs marked by ``same`` (see :func:`as_previous`), the index of its
    run's first element."""
    out: np.ndarray = np.maximum.accumulate(np.where(same, 0, np.arange(same.size)))
    return out
