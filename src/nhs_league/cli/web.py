"""``serve``: the web dashboard and JSON API (issue 4)."""

from __future__ import annotations
