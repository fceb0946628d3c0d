"""slo_check's analysis (a bake period) against a real Prometheus whose series turns bad during the bake.

The counters are backfilled ahead into the future (tests/integration/slo/bake_history.py):
``deploy="turns-bad"`` starts failing half of its requests at ``turn_at``, a few seconds after
the module starts measuring, so early measurements succeed and later ones fail, as in a real
bake. The verdicts are checked against each measurement's own timestamp, not a fixed count.
"""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from tests.harness.procs import free_port
from tests.integration.module_batch import run_module_batch
from tests.integration.slo.bake_history import gate, openmetrics

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.slo_check"


@pytest.fixture(scope="module")
def prometheus(private_prometheus):
    now = int(time.time())
    turn_at = now + 10
    prom = private_prometheus(openmetrics(now - 600, now + 600, turn_at))
    return {"url": prom["url"], "turn_at": turn_at}


def epoch(stamp):
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def test_a_breach_during_the_bake_fails_it_and_no_data_or_no_server_end_it(prometheus):
    url = prometheus["url"]
    turning, quiet, down = run_module_batch(MODULE, [
        {"args": dict(gate("turns-bad", url), analysis={"interval": "1s", "count": 30, "failure_limit": 1})},
        {"args": dict(gate("none", url), fail_on="never", analysis={"interval": "1s", "count": 3})},
        {"args": dict(gate("good", f"http://127.0.0.1:{free_port()}"), prometheus_timeout=2,
                      analysis={"interval": "1s", "count": 3, "consecutive_error_limit": 1})},
    ])

    run = turning["analysis"]
    assert turning.failed and run["phase"] == "Failed", turning.output
    assert turning["msg"].startswith("SLO analysis Failed: 2 of ")
    measurements = run["measurements"]
    # Ended at the second failure (failure_limit 1), long before count.
    assert [m["phase"] for m in measurements].count("Failed") == 2 and measurements[-1]["phase"] == "Failed"
    assert len(measurements) < 30 and run["counts"]["failed"] == 2
    for m in measurements:
        at = epoch(m["at"])
        if at <= prometheus["turn_at"] - 1:
            assert m["phase"] == "Successful", m
        if at >= prometheus["turn_at"] + 2:
            assert m["phase"] == "Failed", m
    assert run["elapsed"] >= len(measurements) - 1  # one measurement a second, not all at once

    assert not quiet.failed and quiet["analysis"]["phase"] == "Inconclusive", quiet.output
    assert quiet["analysis"]["message"] == "1 of 1 measurements were inconclusive, more than inconclusive_limit 0"
    assert "no data in the last 30s" in quiet["msg"] and quiet["passed"] is False

    assert down.failed and down["analysis"]["phase"] == "Error", down.output
    assert [m["phase"] for m in down["analysis"]["measurements"]] == ["Error", "Error"]
    assert "connection refused" in down["msg"]
