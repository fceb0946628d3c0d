# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The part of k8s_rollout's runner every action shares: selecting the objects, one result entry per
object, status and diff recording, waiting for the rollout and turning its outcome into one sentence.

The actions themselves are mixins (rollout_image_restart, rollout_undo_history, rollout_scale_hpa,
rollout_pause_resume) combined with this class and the automatic rollback in rollout_runner.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import pods as k8s_pods
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import rollout_plan as ro
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import KubeError, object_ref
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.wait import RolloutWaiter, owned_revisions

# The actions whose failed wait may be rolled back automatically (auto_rollback); k8s_resources' is "resources".
ROLLBACK_ACTIONS = ("status", "set_image", "restart", "resources")


def failure_sentence(ref, outcome, wait_timeout):
    """One sentence for a rollout wait that did not complete (RolloutWaiter.wait's outcome)."""
    kind_word = outcome["outcome"]
    pods = outcome["failing_pods"] or outcome["unhealthy_pods"]
    detail = k8s_pods.summarize(pods) if pods else ""
    if kind_word == "failed" and outcome["reason"] == ro.PROGRESS_DEADLINE:
        text = f"{ref} rollout failed: it {outcome['message']}"
        return text + (f"; {detail}." if detail else ".")
    if kind_word == "failed":
        return f"{ref} rollout failed: {outcome['message']}."
    if kind_word == "timeout":
        text = f"{ref} did not finish rolling out within {wait_timeout}s: {outcome['message']}"
        if detail:
            text += f"; {detail}"
        if outcome.get("api_error"):
            text += f"; last API error: {outcome['api_error'].rstrip('.')}"
        return text + "."
    if kind_word == "paused":
        return f"{ref} is paused, so its rollout cannot finish; resume it (action=resume) first."
    return f"{ref} was deleted while waiting for its rollout."


class TaskFailed(Exception):
    """The task fails with this sentence after the per-object results gathered so far."""


class RolloutBase:
    """Runs the action on each selected object and gathers the per-object results.

    Subclasses set ``self.actions``, the table from action name to the bound method that handles one object.
    ``params`` replaces the module's parameters (a module that acts on several workloads passes each its own).
    """

    def __init__(self, module, api, params=None):
        self.module = module
        self.api = api
        self.params = module.params if params is None else params
        self.kind = self.params["kind"]
        self.namespace = self.params["namespace"]
        self.action = self.params["action"]
        self.check_mode = module.check_mode
        self.entries = []
        self.diffs = []
        self.warnings = []
        self._ref = None
        self._entry = None
        self._obj_before = None
        # A ProgressDeadlineExceeded condition from before our patch, which the wait must not take for ours.
        self._stale_progress = None
        self.actions = {}

    # -------------------------------------------------------------------------- selection

    def targets(self):
        if self.params.get("name"):
            obj = self.api.find(self.kind, self.namespace, self.params["name"])
            if obj is None:
                raise TaskFailed(f"{object_ref(self.kind, self.namespace, self.params['name'])} does not exist.")
            return [obj]
        selector = ",".join(self.params["label_selectors"])
        items = self.api.list(self.kind, self.namespace, label_selector=selector)["items"]
        if not items:
            raise TaskFailed(f"No {self.kind} in namespace {self.namespace} matches {selector}.")
        return sorted(items, key=lambda item: item["metadata"]["name"])

    def run(self):
        for obj in self.targets():
            self.handle(obj)
        return self.result()

    def result(self):
        result = {"changed": any(entry["changed"] for entry in self.entries), "rollouts": self.entries,
                  "rolled_back": any(entry["rolled_back"] for entry in self.entries)}
        if self.module._diff and self.diffs:
            result["diff"] = self.diffs if len(self.diffs) > 1 else self.diffs[0]
        return result

    # -------------------------------------------------------------------------- per object

    def handle(self, obj):
        ref = ro.object_ref(self.kind, obj)
        try:
            self._handle(ref, obj)
        except ro.RolloutError as exc:
            raise TaskFailed(str(exc)) from None
        except KubeError as exc:
            raise TaskFailed(f"{ref}: {exc}" if exc.status else str(exc)) from None

    def _handle(self, ref, obj):
        revs = owned_revisions(self.api, self.kind, obj)
        revision = ro.current_revision(self.kind, obj, revs)
        if revision is None:
            revision = ro.pointer_revision(self.kind, obj, revs)
        entry = {
            "kind": self.kind, "name": obj["metadata"]["name"], "namespace": self.namespace, "action": self.action,
            "changed": False, "revision": revision, "revision_before": revision,
            "images": ro.images(ro.pod_template(obj)), "images_before": ro.images(ro.pod_template(obj)),
            "replicas": {}, "status": {}, "wait": {"waited": False, "outcome": "skipped", "reason": None,
                                                   "message": "", "elapsed": 0.0},
            "failing_pods": [], "unhealthy_pods": [], "deleted_pods": [], "rolled_back": False,
        }
        self.entries.append(entry)
        self._ref, self._entry, self._obj_before = ref, entry, obj
        self.actions[self.action](obj, revs)

    def _set_status(self, obj):
        status = ro.rollout_status(self.kind, obj)
        self._entry["replicas"] = status.pop("replicas")
        self._entry["status"] = status
        self._entry["images"] = ro.images(ro.pod_template(obj))

    def _snapshot_pods(self, obj):
        selector = ro.label_selector((obj.get("spec") or {}).get("selector"))
        pods = self.api.list("Pod", self.namespace, label_selector=selector)["items"]
        self._entry["unhealthy_pods"] = [k8s_pods.public_row(row) for row in k8s_pods.unhealthy(pods)]

    def _record_diff(self, before, after):
        if before != after:
            self.diffs.append(ro.diff_entry(self._ref, before, after))

    def _final_revision(self, obj):
        if self.kind == "Deployment" and ro.rollout_status(self.kind, obj)["observed"]:
            # The controller writes the revision annotation before it reports the spec observed:
            # no need to list ReplicaSets (one round trip less between completion and return).
            revision = ro.pointer_revision(self.kind, obj, [])
            if revision is not None:
                return revision
        revs = owned_revisions(self.api, self.kind, obj)
        revision = ro.current_revision(self.kind, obj, revs)
        return revision if revision is not None else ro.pointer_revision(self.kind, obj, revs)

    def _patch(self, body, patch_type):
        self._stale_progress = ro.timed_out_condition(self._obj_before)
        metadata = self._obj_before["metadata"]
        return self.api.patch(self.kind, self.namespace, metadata["name"], body, patch_type=patch_type)

    # -------------------------------------------------------------------------- waiting

    def _wait(self, accept=None):
        waiter = RolloutWaiter(self.api, self.kind, self.namespace, self._entry["name"],
                               self.params["fail_fast_reasons"], accept=accept, stale_progress=self._stale_progress)
        return waiter.wait(self.params["wait_timeout"])

    def _record_wait(self, outcome):
        self._entry["wait"] = {"waited": True, "outcome": outcome["outcome"], "reason": outcome["reason"],
                               "message": outcome["message"], "elapsed": outcome["elapsed"]}
        self._entry["failing_pods"] = outcome["failing_pods"]
        self._entry["unhealthy_pods"] = outcome["unhealthy_pods"]
        self._set_status(outcome["workload"])

    def _wait_and_judge(self, template_changed, accept=None):
        """Wait, record, and on failure roll back (if asked) and raise TaskFailed."""
        outcome = self._wait(accept)
        self._record_wait(outcome)
        obj = outcome["workload"]
        self._entry["revision"] = self._final_revision(obj)
        if outcome["outcome"] == "complete":
            return
        if outcome["outcome"] == "paused" and self.action != "status":
            self.warnings.append(f"{self._ref} is paused: the change is recorded and rolls out when it is resumed.")
            return
        failure = self._failure_sentence(outcome)
        if (self.params["auto_rollback"] and self.action in ROLLBACK_ACTIONS and not self.check_mode
                and outcome["outcome"] in ("failed", "timeout")):
            self._auto_rollback(outcome, failure, template_changed)
            return
        if self.params["auto_rollback"] and self.check_mode and self.action in ROLLBACK_ACTIONS:
            failure = failure.rstrip(".") + " (check mode: not rolled back)."
        raise TaskFailed(failure)

    def _failure_sentence(self, outcome):
        return failure_sentence(self._ref, outcome, self.params["wait_timeout"])
