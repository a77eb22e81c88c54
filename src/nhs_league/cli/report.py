"""``report``: regional and trust reports (issue 5)."""

from __future__ import annotations
