"""Fixtures of the fault tests: the platform sandbox, and the assertions every fault shares."""

from __future__ import annotations

from tests.platform_sandbox.fixtures import platform_sandbox  # noqa: F401 - re-exported fixture

__all__ = ["platform_sandbox"]
