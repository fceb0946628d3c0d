# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_rollout's actions that change the pod template in place: set_image and restart."""

from __future__ import annotations

import copy
import datetime

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import rollout_plan as ro
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_base import TaskFailed


def _now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _with_images(obj, changes):
    """A copy of ``obj`` whose pod template has the changed images (what the patch will produce)."""
    result = copy.deepcopy(obj)
    spec = ro.pod_template(result).get("spec") or {}
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            if container.get("name") in changes:
                container["image"] = changes[container["name"]]["after"]
    return result


class ImageRestartActions:
    """Mixin for RolloutBase: set_image and restart, both a template patch followed by a judged wait."""

    def _change_template(self, obj, body, patch_type, after_preview, summarize=None):
        """Patch (unless check mode), diff (of ``summarize(obj)``, images and replicas by default), then wait and judge."""
        summarize = summarize or (lambda item: ro.summary(self.kind, item))
        self._entry["changed"] = True
        self._record_diff(summarize(obj), summarize(after_preview))
        if self.check_mode:
            self._set_status(after_preview)
            return
        patched = self._patch(body, patch_type)
        self._set_status(patched)
        if self.params["wait"]:
            self._wait_and_judge(template_changed=True)
        else:
            self._entry["revision"] = None

    def do_set_image(self, obj, revs):
        changes = ro.plan_images(self.kind, obj, self.params["images"])
        if not changes:
            self._set_status(obj)
            if self.params["wait"] and not self.check_mode:
                self._wait_and_judge(template_changed=False)
            return
        self._change_template(obj, ro.image_patch(obj, changes, self.params.get("change_cause")), "strategic",
                              _with_images(obj, changes))

    def do_restart(self, obj, revs):
        if (obj.get("spec") or {}).get("paused"):
            raise TaskFailed(f"{self._ref} is paused; resume it (action=resume) before restarting it.")
        now = _now_rfc3339()
        preview = copy.deepcopy(obj)
        template_meta = preview["spec"]["template"].setdefault("metadata", {})
        template_meta.setdefault("annotations", {})[ro.RESTARTED_AT] = now
        self._change_template(obj, ro.restart_patch(now, self.params.get("change_cause")), "strategic", preview)
        if (obj.get("spec") or {}).get("updateStrategy", {}).get("type") == "OnDelete":
            self.warnings.append(f"{self._ref} uses updateStrategy OnDelete: pods restart only when they are deleted.")
