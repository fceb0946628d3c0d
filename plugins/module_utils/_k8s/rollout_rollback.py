# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_rollout's automatic rollback after a failed wait, and the StatefulSet unsticking it and undo need."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import pods as k8s_pods
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import rollout_plan as ro
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import KubeError
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_base import TaskFailed
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.wait import owned_revisions


class AutoRollback:
    """Mixin for RolloutBase: put back the template that was live, wait again, and say how that went."""

    def _auto_rollback(self, outcome, failure, template_changed):
        entry = self._entry
        current = self.api.get(self.kind, self.namespace, entry["name"])
        revs = owned_revisions(self.api, self.kind, current)
        from_revision = ro.current_revision(self.kind, current, revs)
        if template_changed:
            before = self._obj_before
            template = ro.normalize_template(ro.pod_template(before))
            match = [rev for rev in revs if ro.templates_equal(rev["template"], template)]
            target = {"template": template, "change_cause": (before["metadata"].get("annotations") or {}).get(ro.CHANGE_CAUSE),
                      "revision": match[-1]["revision"] if match else entry["revision_before"],
                      "images": ro.images(template), "name": match[-1]["name"] if match else None}
        else:
            try:
                target = ro.choose_undo_target(self.kind, current, revs)
            except ro.RolloutError as exc:
                raise TaskFailed(f"{failure.rstrip('.')}; no automatic rollback: {exc}") from None
        self._stale_progress = ro.timed_out_condition(current)
        self.api.patch(self.kind, self.namespace, entry["name"], ro.undo_patch(current, target), patch_type="json")
        entry["changed"] = True
        entry["rolled_back"] = True
        entry["deleted_pods"] += self._unstick_statefulset()
        first_wait = dict(entry["wait"])
        second = self._wait()
        self._record_wait(second)
        entry["wait"] = first_wait  # the task's own wait failed; the rollback's wait is reported under rollback
        entry["failing_pods"] = outcome["failing_pods"]
        entry["revision"] = self._final_revision(second["workload"])
        entry["rollback"] = {
            "reason": outcome["reason"], "message": outcome["message"], "from_revision": from_revision,
            "to_revision": target.get("revision"), "revision": entry["revision"], "images": target["images"],
            "complete": second["outcome"] == "complete", "elapsed": second["elapsed"],
        }
        target_words = f"revision {target.get('revision')}" if target.get("revision") else "the previous pod template"
        images = ", ".join(f"{name}={image}" for name, image in target["images"].items())
        if second["outcome"] != "complete":
            raise TaskFailed(f"{failure.rstrip('.')}; rolled back to {target_words} ({images}), but that did not "
                             f"complete either: {self._failure_sentence(second)}")
        sentence = f"{failure.rstrip('.')}; rolled back to {target_words} ({images}), which completed."
        if self.params["fail_on_rollback"]:
            raise TaskFailed(sentence)
        self.warnings.append(sentence)

    def _unstick_statefulset(self):
        """Delete not-Ready pods of other revisions so an OrderedReady StatefulSet can roll back (k8s #67250)."""
        if self.kind != "StatefulSet" or self.check_mode:
            return []
        obj = self._await_observed()
        if not ro.rollout_status(self.kind, obj)["observed"]:
            return []  # updateRevision may still name the abandoned revision: deleting now could hit the wrong pods
        spec = obj.get("spec") or {}
        if spec.get("podManagementPolicy") == "Parallel" or (spec.get("updateStrategy") or {}).get("type") == "OnDelete":
            return []
        update_revision = (obj.get("status") or {}).get("updateRevision")
        if not update_revision:
            return []
        selector = ro.label_selector(spec.get("selector"))
        deleted = []
        for pod in self.api.list("Pod", self.namespace, label_selector=selector)["items"]:
            row = k8s_pods.diagnose(pod)
            if row["labels"].get(ro.REVISION_HASH) == update_revision or row["ready"]:
                continue
            try:
                self.api.delete("Pod", self.namespace, row["name"], uid=pod["metadata"].get("uid"))
            except KubeError as exc:
                if not exc.not_found:
                    raise
            deleted.append(row["name"])
        return deleted

    def _await_observed(self):
        """The StatefulSet once its controller has seen the latest spec (so updateRevision is the new one)."""
        name = self._entry["name"]
        deadline = min(30, max(1, self.params["wait_timeout"]))
        obj = self.api.get(self.kind, self.namespace, name)
        if ro.rollout_status(self.kind, obj)["observed"]:
            return obj
        for event in self.api.watch(self.kind, self.namespace, resource_version=obj["metadata"]["resourceVersion"],
                                    field_selector=f"metadata.name={name}", timeout_seconds=deadline):
            if event.get("type") == "MODIFIED":
                obj = event["object"]
                if ro.rollout_status(self.kind, obj)["observed"]:
                    break
        return obj
