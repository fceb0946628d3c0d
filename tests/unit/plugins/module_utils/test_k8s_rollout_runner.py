"""k8s_rollout's runner: the action table covers exactly the actions the module accepts."""

from __future__ import annotations

from types import SimpleNamespace

from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_args import ACTIONS, argument_spec
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_runner import Rollout


def module(action):
    params = {"kind": "Deployment", "namespace": "shop", "action": action}
    return SimpleNamespace(params=params, check_mode=False, _diff=False)


def test_every_action_has_one_handler():
    rollout = Rollout(module("status"), api=None)
    assert sorted(rollout.actions) == sorted(ACTIONS)
    assert argument_spec()["action"]["choices"] == ACTIONS
    assert rollout.actions["set_image"] == rollout.do_set_image


def test_no_objects_no_change():
    assert Rollout(module("status"), api=None).result() == {"changed": False, "rollouts": [], "rolled_back": False}
