# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_config_change's I/O: read the ConfigMap and the workloads, patch, roll out one by one, undo on failure.

The decisions (key and env changes, consumers, checksums, patches) are pure functions of
config_plan.py; the waits are rollout_base's RolloutWaiter with its fail-fast diagnostics.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import config_plan as plan
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import pods as k8s_pods
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import rollout_plan as ro
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import (
    K8S_COMMON_ARGS, K8S_RANGES, KubeError, connect, object_ref)
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_base import TaskFailed, failure_sentence
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.wait import RolloutWaiter

OPTIONS = {
    "namespace": {"type": "str", "required": True},
    "configmap": {"type": "str"},
    "data": {"type": "dict"},
    "kind": {"type": "str", "default": "Deployment", "choices": list(ro.KINDS)},
    "name": {"type": "str"},
    "env": {"type": "dict"},
    "containers": {"type": "list", "elements": "str"},
    "sensitive": {"type": "list", "elements": "str", "default": []},
    "rollout": {"type": "bool", "default": True},
    "wait_timeout": {"type": "int", "default": 600},
    "fail_fast_reasons": {"type": "list", "elements": "str", "default": list(k8s_pods.DEFAULT_FAIL_FAST_REASONS)},
    "rollback": {"type": "bool", "default": True},
}
# Values shorter than this are masked in the results but not scrubbed from the whole output
# (RunbookModule's rule: masking "4" everywhere garbles every number and hides no secret).
MIN_SCRUBBED = 4


def sensitive_values(params):
    """The values asked for under a name listed in ``sensitive`` (RunbookModule's extra_secrets; raw input too)."""
    names = params.get("sensitive")
    names = {name for name in names if isinstance(name, str)} if isinstance(names, list) else set()
    found = []
    for option in ("data", "env"):
        given = params.get(option)
        if isinstance(given, dict):
            found += [str(value) for name, value in given.items()
                      if name in names and isinstance(value, (str, int, float)) and not isinstance(value, bool)]
    return found


def module_args():
    """Keyword arguments of RunbookModule for k8s_config_change."""
    return {"argument_spec": merge_argspecs(K8S_COMMON_ARGS, **OPTIONS), "supports_check_mode": True,
            "extra_secrets": sensitive_values,
            "required_one_of": [["configmap", "env"]],
            "required_by": {"data": "configmap", "env": "name", "containers": "env"},
            "ranges": dict(K8S_RANGES, wait_timeout=(1, 86400))}


class ConfigChange:
    """One config change: plan, report, then (not in check mode) patch and roll out, undoing on failure."""

    def __init__(self, module, api):
        self.module = module
        self.api = api
        self.params = module.params
        self.namespace = self.params["namespace"]
        self.check_mode = module.check_mode
        self.sensitive = set(self.params["sensitive"] or [])
        self.result = {"changed": False, "configmap": None, "env": None, "consumers": [], "rollouts": [],
                       "rolled_back": False, "rollback": None}
        self.diffs = []
        self._data_changes = []
        self._configmap = None

    # ------------------------------------------------------------------ planning

    def run(self):
        targets = self._plan()
        self.result["changed"] = bool(self._data_changes or targets)
        if self.check_mode:
            self.result["rollouts"] = [self._rollout_entry(target, "would_roll") for target in targets]
            return self.result
        if self._data_changes:
            self._patch_data()
        done = []
        for target in targets:
            entry = self._rollout_entry(target, "patched")
            self.result["rollouts"].append(entry)
            try:
                self.api.patch(target["kind"], self.namespace, target["name"], target["patch"], patch_type="json")
            except KubeError as exc:
                self._fail(f"{target['ref']} could not be patched: {str(exc).rstrip('.')}", done)
            done.append(target)
            failure = self._roll(target, entry)
            if failure:
                if not self.params["rollback"]:
                    raise TaskFailed(f"{failure.rstrip('.')}; rollback=false, so the new config stays.")
                self._fail(failure, done)
        return self.result

    def _patch_data(self):
        metadata = self._configmap["metadata"]
        ref = object_ref("ConfigMap", self.namespace, metadata["name"])
        try:
            self.api.patch("ConfigMap", self.namespace, metadata["name"],
                           plan.data_patch(self._data_changes, metadata.get("resourceVersion")), patch_type="merge")
        except KubeError as exc:
            if exc.status == 409:
                raise TaskFailed(f"{ref} was changed by someone else while the task ran; nothing was changed, "
                                 "run it again.") from None
            raise TaskFailed(f"{ref} could not be changed: {str(exc).rstrip('.')}.") from None

    def _plan(self):
        p = self.params
        targets = {}
        if p["configmap"]:
            self._plan_configmap(targets)
        if p["env"] is not None:
            self._plan_env(targets)
        ordered = [targets[key] for key in sorted(targets)]
        for target in ordered:
            target["patch"] = plan.template_patch(target["obj"], target.get("annotation"), target.get("checksum"),
                                                  target.get("env"))
            target["undo"] = plan.template_patch(target["obj"], target.get("annotation"), target.get("checksum_before"),
                                                 target.get("env_before"))
        return ordered

    def _plan_configmap(self, targets):
        name = self.params["configmap"]
        cm = self.api.find("ConfigMap", self.namespace, name)
        if cm is None:
            raise TaskFailed(f"{object_ref('ConfigMap', self.namespace, name)} does not exist.")
        self._configmap = cm
        before = cm.get("data") or {}
        self._data_changes = plan.plan_data(before, self.params["data"] or {})
        self._scrub(self._data_changes, "key")
        after = plan.data_after(before, self._data_changes)
        annotation = plan.checksum_annotation(name)
        new_sum = plan.checksum(after, cm.get("binaryData"))
        workloads = [(kind, obj) for kind in ro.KINDS for obj in self.api.list(kind, self.namespace)["items"]]
        consumers = plan.consumers(workloads, name, annotation, new_sum, self.params["rollout"])
        by_name = {(kind, obj["metadata"]["name"]): obj for kind, obj in workloads}
        for consumer in consumers:
            if consumer["rolls"]:
                key = (consumer["kind"], consumer["name"])
                targets[key] = {"kind": consumer["kind"], "name": consumer["name"], "obj": by_name[key],
                                "ref": object_ref(consumer["kind"], self.namespace, consumer["name"]),
                                "why": ["configmap"], "annotation": annotation, "checksum": new_sum,
                                "checksum_before": consumer["checksum_before"]}
        public = plan.public_changes(self._data_changes, self.sensitive, "key")
        self.result["configmap"] = {"name": name, "namespace": self.namespace, "changes": public,
                                    "checksum_before": plan.checksum(before, cm.get("binaryData")),
                                    "checksum": new_sum, "annotation": annotation}
        self.result["consumers"] = consumers
        if public:
            self.diffs.append(ro.diff_entry(object_ref("ConfigMap", self.namespace, name),
                                            {c["key"]: c["before"] for c in public},
                                            {c["key"]: c["after"] for c in public}))
        for consumer in consumers:
            if consumer["rolls"]:
                self.diffs.append(ro.diff_entry(object_ref(consumer["kind"], self.namespace, consumer["name"]),
                                                {"annotations": {annotation: consumer["checksum_before"]}},
                                                {"annotations": {annotation: new_sum}}))

    def _plan_env(self, targets):
        kind, name = self.params["kind"], self.params["name"]
        key = (kind, name)
        obj = targets[key]["obj"] if key in targets else self.api.find(kind, self.namespace, name)
        ref = object_ref(kind, self.namespace, name)
        if obj is None:
            raise TaskFailed(f"{ref} does not exist.")
        template = ro.pod_template(obj)
        try:
            changes = plan.plan_env(template, self.params["env"], self.params["containers"])
        except plan.ConfigError as exc:
            raise TaskFailed(f"{ref}: {exc}") from None
        self._scrub(changes, "name")
        public = plan.public_changes(changes, self.sensitive, "name")
        self.result["env"] = {"kind": kind, "name": name, "namespace": self.namespace, "changes": public}
        if not changes:
            return
        lists = plan.env_lists(template, changes)
        target = targets.setdefault(key, {"kind": kind, "name": name, "obj": obj, "ref": ref, "why": []})
        target["why"].append("env")
        target["env"] = lists
        target["env_before"] = plan.env_before(template, lists)
        self.diffs.append(ro.diff_entry(f"{ref} env", {f"{c['container']}/{c['name']}": c["before"] for c in public},
                                        {f"{c['container']}/{c['name']}": c["after"] for c in public}))

    def _scrub(self, changes, name_key):
        """Sensitive values (before and after) never leave the module, not even in its invocation."""
        for change in changes:
            if change[name_key] in self.sensitive:
                for value in (change["before"], change["after"]):
                    if value is not None and len(value) >= MIN_SCRUBBED:
                        self.module.no_log_values.add(value)

    # ------------------------------------------------------------------ rolling out

    @staticmethod
    def _rollout_entry(target, state):
        return {"kind": target["kind"], "name": target["name"], "because": target["why"], "state": state,
                "checksum_before": target.get("checksum_before"), "checksum": target.get("checksum"),
                "wait": None, "failing_pods": [], "unhealthy_pods": []}

    def _wait(self, target):
        waiter = RolloutWaiter(self.api, target["kind"], self.namespace, target["name"],
                               self.params["fail_fast_reasons"])
        return waiter.wait(self.params["wait_timeout"])

    def _roll(self, target, entry):
        """Wait for the target's rollout and check its pods; the failure sentence, or None when healthy."""
        outcome = self._wait(target)
        entry["wait"] = {"outcome": outcome["outcome"], "reason": outcome["reason"], "message": outcome["message"],
                         "elapsed": outcome["elapsed"]}
        entry["failing_pods"] = outcome["failing_pods"]
        entry["unhealthy_pods"] = outcome["unhealthy_pods"]
        if outcome["outcome"] != "complete":
            entry["state"] = "failed"
            return failure_sentence(target["ref"], outcome, self.params["wait_timeout"])
        if outcome["unhealthy_pods"]:
            entry["state"] = "unhealthy"
            return (f"{target['ref']} rolled out but its pods are not healthy: "
                    f"{k8s_pods.summarize(outcome['unhealthy_pods'])}.")
        entry["state"] = "rolled_out"
        return None

    def _fail(self, failure, done):
        """Put the previous data and pod templates back, wait for them, and raise TaskFailed saying so."""
        try:
            self._undo(failure, done)
        except KubeError as exc:
            raise TaskFailed(f"{failure.rstrip('.')}; putting the previous config back failed too: "
                             f"{str(exc).rstrip('.')}.") from None

    def _undo(self, failure, done):
        restored = []
        if self._data_changes:
            name = self._configmap["metadata"]["name"]
            self.api.patch("ConfigMap", self.namespace, name, plan.data_patch(self._data_changes, None, undo=True),
                           patch_type="merge")
            restored.append(f"the previous data of {object_ref('ConfigMap', self.namespace, name)} was put back")
        back = []
        for target in done:
            if target["undo"]:
                self.api.patch(target["kind"], self.namespace, target["name"], target["undo"], patch_type="json")
        for target in done:
            outcome = self._wait(target)
            back.append({"kind": target["kind"], "name": target["name"], "outcome": outcome["outcome"],
                         "message": outcome["message"], "elapsed": outcome["elapsed"],
                         "unhealthy_pods": outcome["unhealthy_pods"]})
        self.result["rolled_back"] = True
        self.result["rollback"] = {"data_restored": bool(self._data_changes), "rollouts": back}
        complete = [b for b in back if b["outcome"] == "complete"]
        if back:
            names = ", ".join(object_ref(b["kind"], self.namespace, b["name"]) for b in back)
            verdict = "completed" if len(complete) == len(back) else (
                f"{len(back) - len(complete)} of them did not complete: "
                + "; ".join(f"{b['kind']} {b['name']} {b['outcome']} ({b['message']})" for b in back if b not in complete))
            restored.append(f"{names} rolled back to the previous pod template, which {verdict}")
        raise TaskFailed(f"{failure.rstrip('.')}; " + ("; ".join(restored) or "nothing had changed") + ".")


def run_module(module):
    """Plan and apply the change, and end the task: exit_json, or fail_json with one sentence and the results."""
    try:
        change = ConfigChange(module, connect(module))
    except KubeError as exc:
        module.fail_json(msg=str(exc))
    failure = None
    try:
        result = change.run()
    except plan.ConfigError as exc:
        module.fail_json(msg=str(exc))
    except (TaskFailed, KubeError, ro.RolloutError) as exc:
        failure = str(exc)
        result = change.result
    if module._diff and change.diffs:  # pylint: disable=protected-access
        result["diff"] = change.diffs if len(change.diffs) > 1 else change.diffs[0]
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)
