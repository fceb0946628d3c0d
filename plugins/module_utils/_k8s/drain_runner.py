# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_drain_plan_info's I/O: read the nodes, the pods bound to them and the PDBs; plan with drain_plan.py."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import drain_plan
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import K8S_COMMON_ARGS, K8S_RANGES, KubeError, connect
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.predeploy_runner import RUNNING_PODS

OPTIONS = {
    "node": {"type": "str", "required": True},
    "force": {"type": "bool", "default": False},
    "delete_emptydir_data": {"type": "bool", "default": False},
}


def module_args():
    """Keyword arguments of RunbookModule for k8s_drain_plan_info."""
    return {"argument_spec": merge_argspecs(K8S_COMMON_ARGS, **OPTIONS), "supports_check_mode": True,
            "ranges": dict(K8S_RANGES)}


class DrainPlanError(Exception):
    """Bad input (a node that does not exist); one sentence."""


def plan(api, params):
    """The drain plan of ``params['node']`` from the cluster's nodes, pods and PodDisruptionBudgets."""
    name = params["node"]
    if not name or "/" in name:
        raise DrainPlanError(f"{name!r} is not a node name.")
    nodes = api.list("Node")["items"]
    if name not in {(node.get("metadata") or {}).get("name") for node in nodes}:
        raise DrainPlanError(f"Node {name!r} does not exist on the cluster at {api.host}.")
    pods = api.list("Pod", field_selector=RUNNING_PODS)["items"]
    namespaces = sorted({(pod.get("metadata") or {}).get("namespace") for pod in pods
                         if (pod.get("spec") or {}).get("nodeName") == name})
    pdbs = [pdb for namespace in namespaces for pdb in api.list("PodDisruptionBudget", namespace)["items"]]
    result = drain_plan.plan_drain(name, nodes, pods, pdbs, params["force"], params["delete_emptydir_data"])
    return dict(result, changed=False)


def run_module(module):
    """Plan the drain and exit with the plan (an _info module: a node without room does not fail the task)."""
    api = connect(module)
    try:
        result = plan(api, module.params)
    except DrainPlanError as exc:
        module.fail_json(msg=str(exc))
    except KubeError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)
