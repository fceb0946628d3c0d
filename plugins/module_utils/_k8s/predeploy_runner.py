# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_predeploy_info's I/O: read the workload, its pods, HPAs, PDBs, the nodes and their pods; judge with predeploy.py."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import predeploy
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import rollout_plan as ro
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import (
    K8S_COMMON_ARGS, K8S_RANGES, KubeError, connect, object_ref)

OPTIONS = {
    "namespace": {"type": "str", "required": True},
    "kind": {"type": "str", "default": "Deployment", "choices": list(ro.KINDS)},
    "name": {"type": "str", "required": True},
    "checks": {"type": "list", "elements": "str", "choices": list(predeploy.CHECKS), "default": list(predeploy.CHECKS)},
    "images": {"type": "dict"},
}
# Pods that hold node resources: the scheduler counts every pod bound to a node until it ends.
RUNNING_PODS = "status.phase!=Succeeded,status.phase!=Failed"


def module_args():
    """Keyword arguments of RunbookModule for k8s_predeploy_info."""
    return {"argument_spec": merge_argspecs(K8S_COMMON_ARGS, **OPTIONS), "supports_check_mode": True,
            "ranges": dict(K8S_RANGES)}


class PreDeployError(Exception):
    """Bad input or an object that cannot be judged; one sentence."""


class PreDeploy:
    """Reads what the checks need, once each, and runs the checks asked for in the order of predeploy.CHECKS."""

    def __init__(self, api, params):
        self.api = api
        self.params = params
        self.kind = params["kind"]
        self.namespace = params["namespace"]
        self.name = params["name"]
        self.ref = object_ref(self.kind, self.namespace, self.name)
        self.checks = {"healthy": self._healthy, "no_rollout": self._no_rollout, "hpa": self._hpa,
                       "capacity": self._capacity, "pdb": self._pdb}
        self.obj = None
        self.budget = None
        self._own_pods = None

    def run(self):
        self.obj = self.api.find(self.kind, self.namespace, self.name)
        if self.obj is None:
            raise PreDeployError(f"{self.ref} does not exist.")
        changes = ro.plan_images(self.kind, self.obj, self.params["images"]) if self.params["images"] else {}
        try:
            self.budget = predeploy.update_budget(self.kind, self.obj)
        except ValueError as exc:
            raise PreDeployError(f"{self.ref}: its update strategy cannot be read ({exc}).") from None
        results = [self.checks[name]() for name in predeploy.CHECKS if name in self.params["checks"]]
        passed, failed, message = predeploy.summary(results)
        return {"changed": False, "passed": passed, "failed_checks": failed,
                "message": f"{self.ref}: {message[0].lower()}{message[1:]}", "checks": results,
                "update_budget": self.budget, "would_change": bool(changes) if self.params["images"] else None,
                "image_changes": changes}

    def own_pods(self):
        if self._own_pods is None:
            selector = ro.label_selector((self.obj.get("spec") or {}).get("selector"))
            self._own_pods = self.api.list("Pod", self.namespace, label_selector=selector)["items"]
        return self._own_pods

    def _healthy(self):
        return predeploy.check_healthy(self.kind, self.obj, self.own_pods())

    def _no_rollout(self):
        return predeploy.check_no_rollout(self.kind, self.obj)

    def _hpa(self):
        hpas = self.api.list("HorizontalPodAutoscaler", self.namespace)["items"]
        return predeploy.check_hpa(self.kind, self.name, hpas, self.budget["replicas"])

    def _capacity(self):
        try:
            nodes = self.api.list("Node")["items"]
            pods = self.api.list("Pod", field_selector=RUNNING_PODS)["items"]
        except KubeError as exc:
            if exc.status != 403:
                raise
            return {"name": "capacity", "passed": False, "room_for": None, "nodes": [],
                    "message": f"the nodes and their pods cannot be read ({str(exc).rstrip('.')}); grant list on "
                               "nodes and pods cluster-wide, or leave capacity out of checks"}
        own = self.own_pods() if self.kind == "DaemonSet" else ()
        return predeploy.check_capacity(self.kind, self.obj, self.budget, nodes, pods, own)

    def _pdb(self):
        pdbs = self.api.list("PodDisruptionBudget", self.namespace)["items"]
        return predeploy.check_pdb(self.obj, self.budget, pdbs)


def run_module(module):
    """Run the checks and exit with their results (an _info module: failed checks do not fail the task)."""
    runner = PreDeploy(connect(module), module.params)
    try:
        result = runner.run()
    except (PreDeployError, ro.RolloutError) as exc:
        module.fail_json(msg=str(exc))
    except KubeError as exc:
        module.fail_json(msg=f"{runner.ref}: {exc}" if exc.status else str(exc))
    module.exit_json(**result)
