# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The k8s_isolate module's I/O: read the object, patch it (JSON merge patch) or create/delete the policy."""

from __future__ import annotations

import json

from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import isolate_plan as plan
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import (
    K8S_COMMON_ARGS, K8S_RANGES, KubeError, connect, object_ref)

OPTIONS = {
    "namespace": {"type": "str", "required": True},
    "name": {"type": "str", "required": True},
    "mode": {"type": "str", "required": True, "choices": list(plan.MODES)},
    "kind": {"type": "str", "default": "Deployment", "choices": ["Deployment", "StatefulSet"]},
    "labels": {"type": "dict"},
    "state": {"type": "str", "default": "isolated", "choices": list(plan.STATES)},
    "confirm": {"type": "str", "default": ""},
    "reason": {"type": "str", "default": ""},
}


def module_args():
    return {"argument_spec": merge_argspecs(K8S_COMMON_ARGS, **OPTIONS), "supports_check_mode": True,
            "ranges": dict(K8S_RANGES)}


def _target_kind(params):
    return "Service" if params["mode"] == "service" else params["kind"]


def _network(module, api, params):
    name, ns = params["name"], params["namespace"]
    existing = api.find("NetworkPolicy", ns, plan.policy_name(name))
    if params["state"] == "restored":
        if existing is None:
            return False, None, None
        if not module.check_mode:
            api.delete("NetworkPolicy", ns, plan.policy_name(name))
        return True, existing, None
    if existing is not None:
        return False, existing, existing
    labels = params["labels"]
    if not labels:
        workload = api.find(params["kind"], ns, name)
        if workload is None:
            module.fail_json(msg=f"{object_ref(params['kind'], ns, name)} does not exist.")
        labels = ((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    policy = plan.deny_all_policy(name, ns, labels, params["reason"])
    if not module.check_mode:
        api.create("NetworkPolicy", ns, policy)
    return True, None, policy


def _patched(module, api, params):
    kind, name, ns = _target_kind(params), params["name"], params["namespace"]
    obj = api.find(kind, ns, name)
    if obj is None:
        module.fail_json(msg=f"{object_ref(kind, ns, name)} does not exist.")
    build = plan.service_patch if params["mode"] == "service" else plan.scale_patch
    patch, _record = build(obj, params["state"])
    if patch is None:
        return False, obj, obj
    if params["state"] == "isolated" and params["reason"]:
        record = json.loads(patch["metadata"]["annotations"][plan.ANNOTATION])
        record["reason"] = params["reason"]
        patch["metadata"]["annotations"][plan.ANNOTATION] = json.dumps(record, sort_keys=True)
    after = api.patch(kind, ns, name, patch, patch_type="merge", dry_run=module.check_mode)
    return True, obj, after


def _view(obj, mode):
    if obj is None:
        return None
    spec = obj.get("spec") or {}
    if mode == "service":
        return {"type": spec.get("type"), "ports": spec.get("ports")}
    if mode == "scale":
        return {"replicas": spec.get("replicas")}
    return {"policy": obj["metadata"]["name"], "podSelector": spec.get("podSelector")}


def run_module(module):
    params = module.params
    expected = plan.confirmation(params["namespace"], params["name"])
    if params["confirm"] != expected:
        module.fail_json(msg=f"Isolation changes {expected}: confirm it with confirm={expected} "
                             f"(isolate_confirm in isolate.yml); nothing was changed.")
    api = connect(module)
    try:
        if params["mode"] == "network":
            changed, before, after = _network(module, api, params)
        else:
            changed, before, after = _patched(module, api, params)
    except plan.IsolateError as exc:
        module.fail_json(msg=str(exc))
    except KubeError as exc:
        module.fail_json(msg=f"The isolation of {expected} failed: {exc}")
    module.exit_json(changed=changed, mode=params["mode"], state=params["state"],
                     object=object_ref("NetworkPolicy" if params["mode"] == "network" else _target_kind(params),
                                       params["namespace"],
                                       plan.policy_name(params["name"]) if params["mode"] == "network" else params["name"]),
                     diff={"before": _view(before, params["mode"]), "after": _view(after, params["mode"])})
