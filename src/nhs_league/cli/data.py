"""``fetch`` and ``changes``: new publications from NHS England and what a correction changed."""

from __future__ import annotations
