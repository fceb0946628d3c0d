"""Fixtures of the SLO tests: a private Prometheus loaded with generated history, and the sandbox.

The Prometheus here is not the session's shared one: backfilled history must not mix with what
other tests write, and the server starts on data that is already complete (promtool writes the
blocks first), so no restart is needed. It reuses the harness's start_prometheus().
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.harness.services import ServiceError, _stop_pid, start_prometheus
from tests.integration.slo.history import History, openmetrics
from tests.platform_sandbox.fixtures import platform_sandbox  # noqa: F401 - re-exported fixture

__all__ = ["platform_sandbox"]


@pytest.fixture(scope="module")
def prometheus_history(tmp_path_factory):
    """{"url", "end", "history"}: Prometheus with 31 days of generated V2 traffic ending at ``end``."""
    run_dir = Path(tmp_path_factory.mktemp("slo-prometheus"))
    end = int(time.time()) // 60 * 60 - 120
    source = run_dir / "history.om"
    source.write_text(openmetrics(end))
    data = run_dir / "prometheus" / "data"
    data.mkdir(parents=True)
    result = subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", str(source), str(data)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.fail(f"promtool backfill failed: {result.stderr.strip() or result.stdout.strip()}")
    try:
        prom = start_prometheus(run_dir)
    except ServiceError as exc:
        pytest.fail(f"prometheus could not start: {exc}")
    try:
        yield {"url": prom["url"], "end": end, "history": History(end)}
    finally:
        _stop_pid(prom["pid"])
