"""Local servers that speak external services' real wire formats, for tests."""

from __future__ import annotations
