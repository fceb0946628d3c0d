# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_rollout's actions over the revision history: undo (to the previous or a given revision) and history."""

from __future__ import annotations

import copy

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import rollout_plan as ro
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_base import TaskFailed


class UndoHistoryActions:
    """Mixin for RolloutBase (with AutoRollback for the StatefulSet unsticking): undo and history."""

    def do_history(self, obj, revs):
        current = ro.current_revision(self.kind, obj, revs)
        if current is None:
            current = ro.pointer_revision(self.kind, obj, revs)
        self._entry["history"] = ro.history(revs, current)
        self._set_status(obj)

    def do_undo(self, obj, revs):
        if (obj.get("spec") or {}).get("paused"):
            raise TaskFailed(f"{self._ref} is paused; resume it (action=resume) before undoing a rollout.")
        target = ro.choose_undo_target(self.kind, obj, revs, self.params.get("to_revision"))
        self._entry["to_revision"] = target["revision"]
        if ro.templates_equal(target["template"], ro.pod_template(obj)):
            self._set_status(obj)
            self.warnings.append(f"{self._ref} already runs the pod template of revision {target['revision']}; nothing to undo.")
            return
        preview = copy.deepcopy(obj)
        preview["spec"]["template"] = copy.deepcopy(target["template"])
        body = ro.undo_patch(obj, target, self.params.get("change_cause"))
        self._entry["changed"] = True
        before = ro.summary(self.kind, obj, self._entry["revision_before"])
        after = ro.summary(self.kind, preview, target["revision"])
        self._record_diff(before, after)
        if self.check_mode:
            self._set_status(preview)
            return
        patched = self._patch(body, "json")
        self._set_status(patched)
        self._entry["deleted_pods"] += self._unstick_statefulset()
        if self.params["wait"]:
            self._wait_and_judge(template_changed=True)
        else:
            self._entry["revision"] = self._final_revision(patched)
