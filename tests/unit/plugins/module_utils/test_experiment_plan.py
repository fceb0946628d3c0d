"""The experiment modules' pure decisions and option checks, and the promoter's action table."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._platform.experiment_plan import (
    differences,
    needs_run,
    status_after,
)
from ansible_collections.sre.runbooks.plugins.module_utils._platform.gates import decide, evaluate, normalize_gates
from ansible_collections.sre.runbooks.plugins.module_utils._platform.promote_args import (
    OptionError,
    check_option_combinations,
)
from ansible_collections.sre.runbooks.plugins.module_utils._platform.promote_runner import OUTCOMES, Promoter

EXPERIMENT = {"description": None, "primary_model": "gpt-4", "secondary_model": None, "prompt_template": "p",
              "routing_strategy": None, "tags": ["a"]}


@pytest.mark.parametrize("params, found", [
    ({}, []),
    ({"primary_model": "gpt-4", "routing_strategy": "primary", "tags": []}, []),
    ({"prompt_template": "q", "routing_strategy": "ensemble", "tags": ["b"]}, ["prompt_template", "routing_strategy", "tags"]),
])
def test_differences_ignore_options_left_unset(params, found):
    assert differences(EXPERIMENT, params) == found


@pytest.mark.parametrize("state, status, rerun, expected", [
    ("present", "created", False, False),
    ("completed", "created", False, True),
    ("completed", "failed", False, True),
    ("completed", "completed", False, False),
    ("completed", "completed", True, True),
    ("completed", "running", True, False),
    ("completed", "promoted", True, False),
])
def test_needs_run(state, status, rerun, expected):
    assert needs_run(state, status, rerun) is expected


@pytest.mark.parametrize("experiment, planned, wait, status", [
    (None, False, True, "created"),
    ({"status": "completed"}, False, True, "completed"),
    (None, True, True, "completed"),
    ({"status": "created"}, True, False, "running"),
])
def test_status_after(experiment, planned, wait, status):
    assert status_after(experiment, planned, wait) == status


@pytest.mark.parametrize("params, message", [
    ({"min_samples": -1, "state": "promoted", "force": False}, "min_samples cannot be negative."),
    ({"min_samples": 0, "state": "quarantined", "force": True}, "force applies to promotions"),
])
def test_option_combinations(params, message):
    with pytest.raises(OptionError, match=message):
        check_option_combinations(params)
    check_option_combinations(dict(params, min_samples=0, force=False))


class _Module:
    params = {}
    check_mode = True


def _every_plan():
    gates = normalize_gates([{"metric": "accuracy", "min": 0.9}])
    # pass, fail and inconclusive (too few samples)
    evaluations = [evaluate(gates, {"accuracy": accuracy, "sample_count": n}, min_samples=10)
                   for accuracy, n in ((0.95, 100), (0.5, 100), (0.95, 0))]
    for status in ("created", "running", "completed", "promoted", "quarantined"):
        for state in ("promoted", "quarantined"):
            for force in (False, True):
                for on_fail in ("quarantine", "fail", "none"):
                    for on_inconclusive in ("fail", "none", "quarantine"):
                        for evaluation in evaluations:
                            yield decide(status, evaluation, state, force, on_fail, on_inconclusive)


def test_every_decision_has_an_action_and_a_message():
    actions = Promoter(_Module(), client=None).actions
    plans = list(_every_plan())
    assert {plan["action"] for plan in plans} == set(actions)
    assert {plan["decision"] for plan in plans} == set(OUTCOMES)
