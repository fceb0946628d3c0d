# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_rollout's replica actions: scale (with an optional atomic precondition) and hpa (the autoscaler's bounds)."""

from __future__ import annotations

import copy

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import rollout_plan as ro
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import KubeError
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_base import TaskFailed


class ScaleHpaActions:
    """Mixin for RolloutBase: scale and hpa."""

    def do_scale(self, obj, revs):
        plan = ro.plan_scale(self.kind, obj, self.params["replicas"], self.params.get("current_replicas"))
        self._entry["scale"] = {"before": plan["before"], "after": plan["after"]}
        self._warn_if_autoscaled(obj)
        if not plan["changed"]:
            self._set_status(obj)
            if self.params["wait"] and not self.check_mode:
                self._wait_and_judge(template_changed=False)
            return
        self._entry["changed"] = True
        preview = copy.deepcopy(obj)
        preview["spec"]["replicas"] = plan["after"]
        self._record_diff(ro.summary(self.kind, obj), ro.summary(self.kind, preview))
        if self.check_mode:
            self._set_status(preview)
            return
        try:
            patched = self._patch(ro.scale_patch(plan, precondition=self.params.get("current_replicas") is not None), "json")
        except KubeError as exc:
            if exc.status == 422 and self.params.get("current_replicas") is not None:
                raise TaskFailed(f"{self._ref} no longer has {plan['before']} replicas (current_replicas="
                                 f"{self.params['current_replicas']}): it changed while the task ran; nothing was changed.") from None
            raise
        self._set_status(patched)
        if self.params["wait"]:
            self._wait_and_judge(template_changed=False)

    def _warn_if_autoscaled(self, obj):
        try:
            hpas = self.api.list("HorizontalPodAutoscaler", self.namespace)["items"]
        except KubeError:
            return
        for hpa in hpas:
            if ro.hpa_targets(hpa, self.kind, obj["metadata"]["name"]):
                spec = hpa.get("spec") or {}
                self.warnings.append(
                    f"HorizontalPodAutoscaler {self.namespace}/{hpa['metadata']['name']} manages {self._ref} "
                    f"(min {spec.get('minReplicas') or 1}, max {spec.get('maxReplicas')}) and will override its replicas; "
                    "use action=hpa to move its bounds instead.")

    def _find_hpa(self, obj):
        name = obj["metadata"]["name"]
        if self.params.get("hpa_name"):
            hpa = self.api.find("HorizontalPodAutoscaler", self.namespace, self.params["hpa_name"])
            if hpa is None:
                raise TaskFailed(f"HorizontalPodAutoscaler {self.namespace}/{self.params['hpa_name']} does not exist.")
            if not ro.hpa_targets(hpa, self.kind, name):
                target = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
                raise TaskFailed(f"HorizontalPodAutoscaler {self.namespace}/{self.params['hpa_name']} scales "
                                 f"{target.get('kind')} {target.get('name')}, not {self._ref}.")
            return hpa
        matches = [hpa for hpa in self.api.list("HorizontalPodAutoscaler", self.namespace)["items"]
                   if ro.hpa_targets(hpa, self.kind, name)]
        if not matches:
            raise TaskFailed(f"No HorizontalPodAutoscaler in namespace {self.namespace} scales {self._ref}.")
        if len(matches) > 1:
            names = ", ".join(sorted(hpa["metadata"]["name"] for hpa in matches))
            raise TaskFailed(f"Several HorizontalPodAutoscalers scale {self._ref} ({names}); set hpa_name.")
        return matches[0]

    def do_hpa(self, obj, revs):
        hpa = self._find_hpa(obj)
        plan = ro.plan_hpa(hpa, self.params.get("min_replicas"), self.params.get("max_replicas"))
        self._entry["hpa"] = {key: plan[key] for key in ("name", "before", "after", "current_replicas",
                                                         "desired_replicas", "expected_replicas")}
        self._set_status(obj)
        if plan["changed"]:
            self._entry["changed"] = True
            header = f"HorizontalPodAutoscaler {self.namespace}/{plan['name']}"
            self.diffs.append(ro.diff_entry(header, plan["before"], plan["after"]))
            if not self.check_mode:
                self.api.patch("HorizontalPodAutoscaler", self.namespace, plan["name"], ro.hpa_patch(plan), patch_type="merge")
        if self.params["wait"] and not self.check_mode:
            low, high = plan["after"]["min_replicas"], plan["after"]["max_replicas"]

            def within_bounds(workload):
                replicas = ((workload.get("spec") or {}).get("replicas"))
                replicas = 1 if replicas is None else replicas
                if low <= replicas <= high:
                    return True, ""
                return False, f"waiting for the autoscaler to bring {replicas} replicas within {low}..{high}"

            self._wait_and_judge(template_changed=False, accept=within_bounds)
