"""Fault: the platform API answers 500, or does not answer in time, in the middle of experiment_promote.

The fault is the sandbox's own (``POST /_sandbox/faults``) on the promotion call only, so the module
reads the experiment and its metrics normally and fails at the write. Afterwards the platform's
records are read through its APIs: the experiment is either still ``completed`` with no deployment
and no promotion event, or (when the server finished the request the client gave up on) promoted
exactly once - never in between. With the fault removed, a re-run ends with one promotion.
"""

from __future__ import annotations

import pytest

from tests.integration.faults.common import assert_one_sentence
from tests.integration.module_runner import run_module
from tests.integration.platform.test_experiment_promote import GOOD
from tests.integration.platform.test_experiment_promote import _experiment as completed_experiment
from tests.integration.waiting import wait_until

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.experiment_promote"


def platform_state(sandbox, exp_id):
    """(experiment status, experiment id the V2 deployment serves, number of promotion events)."""
    status = sandbox.get("v1", f"/api/v1/experiments/{exp_id}")["status"]
    active = (sandbox.get("v2", "/api/v1/deployments").get("active") or {}).get("experiment_id")
    events = sandbox.get("v1", f"/api/v1/audit/events?experiment_id={exp_id}&action=experiment.promote")["events"]
    return status, active, len(events)


@pytest.mark.parametrize("fault", ["error_500", "timeout"])
def test_platform_fault_mid_promotion_leaves_no_half_state_and_a_rerun_promotes(platform_sandbox, fault):
    sandbox = platform_sandbox
    exp_id = completed_experiment(sandbox, f"Fault prompt {fault}", **GOOD)
    args = {"experiment_id": exp_id, **sandbox.module_args()}
    promote_path = "/api/v1/evaluation/promote"
    if fault == "error_500":
        sandbox.inject_fault(api="v1", path=promote_path, error_ratio=1.0, error_status=500)
    else:
        sandbox.inject_fault(api="v1", path=promote_path, slow_ratio=1.0, slow_latency_ms=4000)
        args["platform_timeout"] = 1.0

    failed = run_module(MODULE, args, timeout=120)
    msg = assert_one_sentence(failed)
    assert sandbox.v1_url in msg, msg  # names the API it could not use

    if fault == "timeout":  # the server may still finish the request the module gave up on
        wait_until(lambda: platform_state(sandbox, exp_id) in {("completed", None, 0), ("promoted", exp_id, 1)},
                   "the platform to settle after the abandoned request", timeout=15)
    state = platform_state(sandbox, exp_id)
    assert state in {("completed", None, 0), ("promoted", exp_id, 1)}, f"half state after the fault: {state}"

    sandbox.clear_faults()
    again = run_module(MODULE, args, timeout=120)
    assert not again.failed, again.get("msg")
    assert again["decision"] in ("promote", "already_promoted")
    assert platform_state(sandbox, exp_id) == ("promoted", exp_id, 1)
