"""Fixtures of the SLO tests: a private Prometheus loaded with generated history, and the sandbox.

The Prometheus here is not the session's shared one: backfilled history must not mix with what
other tests write, and the server starts on data that is already complete (promtool writes the
blocks first), so no restart is needed: the ``private_prometheus`` fixture of tests/integration/conftest.py.
"""

from __future__ import annotations

import time

import pytest

from tests.integration.slo.history import History, openmetrics
from tests.platform_sandbox.fixtures import platform_sandbox  # noqa: F401 - re-exported fixture

__all__ = ["platform_sandbox"]


@pytest.fixture(scope="module")
def prometheus_history(private_prometheus):
    """{"url", "end", "history"}: Prometheus with 31 days of generated V2 traffic ending at ``end``."""
    end = int(time.time()) // 60 * 60 - 120
    prom = private_prometheus(openmetrics(end))
    return {"url": prom["url"], "end": end, "history": History(end)}
