"""Fixtures of the playbook tests: the platform sandbox, whose health and SLO endpoints the daily
health check reads."""

from __future__ import annotations

from tests.platform_sandbox.fixtures import platform_sandbox  # noqa: F401 - re-exported fixture

__all__ = ["platform_sandbox"]
