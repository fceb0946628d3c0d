"""Fixtures of the platform tests: the reference platform sandbox (tests/platform_sandbox)."""

from __future__ import annotations

from tests.platform_sandbox.fixtures import platform_sandbox  # noqa: F401 - re-exported fixture

__all__ = ["platform_sandbox"]
