# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The k8s_lock module's I/O: read the Lease, then create, take over, renew or delete it.

Decisions are lease_plan's. Every write carries the resourceVersion it was decided on (or is a
create), so two runs deciding at the same moment cannot both win: the loser's write fails with
409 and it reports that the lock was taken meanwhile.
"""

from __future__ import annotations

import datetime

from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import lease_plan as plan
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import K8S_COMMON_ARGS, K8S_RANGES, KubeError, connect

OPTIONS = {
    "name": {"type": "str", "required": True},
    "namespace": {"type": "str", "required": True},
    "holder": {"type": "str", "required": True},
    "state": {"type": "str", "default": "held", "choices": list(plan.STATES)},
    "duration": {"type": "int", "default": 3600},
    "renew": {"type": "bool", "default": False},
    "force": {"type": "bool", "default": False},
    "purpose": {"type": "str"},
}


def module_args():
    """Keyword arguments of AnsibleModule for k8s_lock."""
    return {"argument_spec": merge_argspecs(K8S_COMMON_ARGS, **OPTIONS), "supports_check_mode": True,
            "ranges": dict(K8S_RANGES, duration=(1, 7 * 24 * 3600))}


def _check_input(module):
    params = module.params
    for option in ("name", "namespace", "holder"):
        if not params[option].strip():
            module.fail_json(msg=f"The option {option} must not be empty.")
    if len(params["holder"]) > 253:
        module.fail_json(msg="The holder identity must be at most 253 characters long.")


def _write(api, action, params, facts, now):
    name, namespace = params["name"], params["namespace"]
    if action == "create":
        body = plan.lease_body(name, namespace, params["holder"], params["duration"], now, purpose=params["purpose"])
        return api.create("Lease", namespace, body)
    if action == "delete":
        api.delete("Lease", namespace, name, resource_version=facts["resource_version"])
        return None
    transitions = facts["transitions"] + (1 if action == "take_over" else 0)
    body = plan.lease_body(name, namespace, params["holder"], params["duration"], now, transitions=transitions,
                           purpose=params["purpose"], resource_version=facts["resource_version"])
    if action == "renew":  # the same holder keeps its acquireTime
        body["spec"]["acquireTime"] = facts["acquired_at"]
    return api.patch("Lease", namespace, name, body, patch_type="merge")


def _lost_race(module, api, params, target):
    """Another run wrote the Lease between our read and our write: name it, as a refusal would."""
    try:
        facts = plan.describe(api.find("Lease", params["namespace"], params["name"]))
    except KubeError:
        facts = None
    now = datetime.datetime.now(datetime.timezone.utc)
    if facts and facts["holder"] and facts["holder"] != params["holder"] and not plan.expired(facts, now):
        module.fail_json(msg=plan.refusal(facts, now), lease=facts)
    module.fail_json(msg=f"The lock {target} was changed by another run while this one wrote it; nothing was "
                         "written, run again.", lease=facts)


def run_module(module):
    _check_input(module)
    params = module.params
    api = connect(module)
    now = datetime.datetime.now(datetime.timezone.utc)
    target = f"{params['namespace']}/{params['name']}"
    try:
        lease = api.find("Lease", params["namespace"], params["name"])
        action, facts = plan.decide(lease, params["holder"], params["state"], now, force=params["force"],
                                    renew=params["renew"])
    except plan.LeaseRefused as exc:
        module.fail_json(msg=str(exc), lease=plan.describe(lease))
    except KubeError as exc:
        module.fail_json(msg=f"The lock {target} could not be read: {exc}")
    changed = action not in ("keep", "none")
    result = {"changed": changed, "outcome": action, "previous_holder": facts["holder"] if facts else None,
              "diff": {"before": {"holder": facts["holder"] if facts else None},
                       "after": {"holder": None if params["state"] == "released" else params["holder"]}}}
    written = lease
    if changed and not module.check_mode:
        try:
            written = _write(api, action, params, facts, now)
        except KubeError as exc:
            if exc.status == 409:
                _lost_race(module, api, params, target)
            if exc.not_found and action == "delete":
                written = None
            else:
                module.fail_json(msg=f"The lock {target} could not be written: {exc}")
    elif changed:
        written = None if action == "delete" else plan.lease_body(
            params["name"], params["namespace"], params["holder"], params["duration"], now)
    result["lease"] = plan.describe(written)
    module.exit_json(**result)
