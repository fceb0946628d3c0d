# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_resources' runner: set requests and limits on each workload, wait, and roll back a failed rollout.

The waiting, fail-fast diagnostics and automatic rollback are k8s_rollout's (RolloutBase, AutoRollback);
this file adds the resources action and runs it on one workload or on every workload of a capacity plan.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import resources_plan as rp
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import rollout_plan as ro
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import KubeError, connect
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.resources_args import check_options
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_args import OptionError
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_base import RolloutBase, TaskFailed
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_image_restart import ImageRestartActions
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_rollback import AutoRollback


class ResourcesRollout(ImageRestartActions, AutoRollback, RolloutBase):
    """The resources action on the workloads ``params`` selects (kind, namespace, name or label_selectors)."""

    def __init__(self, module, api, params):
        super().__init__(module, api, dict(params, action="resources"))
        self.actions = {"resources": self.do_resources}

    def do_resources(self, obj, revs):
        entry = self._entry
        changes = rp.plan_resources(self.kind, obj, self.params["resources"])
        preview = rp.with_resources(obj, changes)
        entry["resources_before"] = rp.resources_of(obj)
        entry["resources"] = rp.resources_of(preview)
        entry["containers_changed"] = sorted(changes)
        entry["containers_skipped"] = list(self.params.get("skipped") or [])
        if not changes:
            self._set_status(obj)
            if self.params["wait"] and not self.check_mode:
                self._wait_and_judge(template_changed=False)
            return
        body = rp.resources_patch(obj, changes)
        if self.params.get("change_cause"):
            body = ro.annotation_ops(obj, {ro.CHANGE_CAUSE: self.params["change_cause"]}) + body
        if self.check_mode:
            # The API server validates the change (quotas, LimitRanges, admission) without storing it.
            self.api.patch(self.kind, self.namespace, obj["metadata"]["name"], body, patch_type="json", dry_run=True)
        self._change_template(obj, body, "json", preview, summarize=rp.summary)


def _targets(params):
    """One parameter set per workload to change: the options themselves, or one per recommended workload."""
    if params.get("recommendations") is None:
        return [dict(params)], []
    targets, warnings = [], []
    for kind, namespace, name, wanted, skipped in rp.from_recommendations(params["recommendations"]):
        if kind not in ro.KINDS:
            raise OptionError(f"recommendations: {kind} {namespace}/{name} is not a Deployment, StatefulSet or DaemonSet.")
        if not wanted:
            warnings.append(f"{kind} {namespace}/{name} has no recommendation to apply (not enough data); left as it is.")
            continue
        targets.append(dict(params, kind=kind, namespace=namespace, name=name, label_selectors=None,
                            resources=wanted, skipped=skipped))
    return targets, warnings


def run_module(module):
    """Check the options, change every workload in turn, and exit (failing with one sentence and the results so far)."""
    try:
        check_options(module.params)
        targets, warnings = _targets(module.params)
    except (OptionError, ro.RolloutError) as exc:
        module.fail_json(msg=str(exc))
        return
    api = connect(module) if targets else None
    entries, diffs, failure = [], [], None
    for params in targets:
        runner = ResourcesRollout(module, api, params)
        try:
            runner.run()
        except (TaskFailed, KubeError, ro.RolloutError) as exc:  # expected failures: one sentence, results so far
            failure = str(exc)
        entries += runner.entries
        diffs += runner.diffs
        warnings += runner.warnings
        if failure:
            break
    result = {"changed": any(entry["changed"] for entry in entries), "workloads": entries,
              "rolled_back": any(entry["rolled_back"] for entry in entries)}
    if module._diff and diffs:
        result["diff"] = diffs if len(diffs) > 1 else diffs[0]
    for warning in warnings:
        module.warn(warning)
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)
