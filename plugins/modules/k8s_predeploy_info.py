#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_predeploy_info
short_description: Pre-deployment checks of a Deployment, StatefulSet or DaemonSet before it rolls out
version_added: 0.1.0
description:
  - The ENT runbook's C(pre-deployment-check.sh) as data. Before an update, tells whether the workload may roll
    out now, check by check, each with a sentence and the numbers it judged.
  - V(healthy) - every desired replica is available and no pod of the workload is failing (not Ready,
    C(CrashLoopBackOff), ...).
  - V(no_rollout) - the controller has seen the latest spec and no rollout is in progress; a paused rollout or one
    past its progress deadline counts as in progress.
  - V(hpa) - no HorizontalPodAutoscaler of the workload is at its C(maxReplicas); at the maximum there is no headroom
    for load while pods are replaced.
  - V(capacity) - the surge pods of the update fit on the schedulable nodes. The surge comes from the update strategy
    (C(maxSurge), rounded up as the controller does; a DaemonSet needs room for one more pod on each of its nodes). A
    node's room is its allocatable cpu, memory and pod count minus what the pods bound to it request (the larger of the
    containers' sum and the largest init container, plus overhead), as the scheduler counts it. Cordoned and not Ready
    nodes, nodes with a C(NoSchedule) or C(NoExecute) taint the pods do not tolerate and nodes that do not match their
    C(nodeSelector) are left out; affinity rules are not evaluated.
  - V(pdb) - every PodDisruptionBudget that selects the pods allows at least as many disruptions as the update takes
    pods down at once (C(maxUnavailable) rounded down; V(0) for a surge-only update, which passes).
  - Failed checks do not fail the task; RV(passed) and RV(failed_checks) tell, and RV(message) names them in one
    sentence. A missing workload fails the task.
author:
  - sre.runbooks maintainers (@sre-runbooks)
extends_documentation_fragment:
  - sre.runbooks.k8s
  - sre.runbooks.attributes
  - sre.runbooks.attributes.actiongroup_k8s
  - sre.runbooks.attributes.info_module
options:
  namespace:
    description:
      - Namespace of the workload.
    type: str
    required: true
  kind:
    description:
      - Kind of the workload.
    type: str
    default: Deployment
    choices: [Deployment, StatefulSet, DaemonSet]
  name:
    description:
      - Name of the workload.
    type: str
    required: true
  checks:
    description:
      - The checks to run. V(capacity) reads the nodes and every pod bound to them, which needs C(list) on nodes and
        pods cluster-wide; without it the check fails, naming the permission.
    type: list
    elements: str
    choices: [healthy, no_rollout, hpa, capacity, pdb]
    default: [healthy, no_rollout, hpa, capacity, pdb]
  images:
    description:
      - The images the update will set (container name to image, as M(sre.runbooks.k8s_rollout) takes them).
        RV(would_change) then tells whether the update changes anything, so a caller can skip the checks' verdict
        for an update that is already live.
      - A container name the pod template does not have fails the task.
    type: dict
seealso:
  - module: sre.runbooks.k8s_rollout
  - module: sre.runbooks.k8s_health_info
  - name: Argo Rollouts analysis
    description: The post-deployment half of D6 is the bake analysis of M(sre.runbooks.slo_check) (O(sre.runbooks.slo_check#module:analysis)).
    link: https://argo-rollouts.readthedocs.io/en/stable/features/analysis/
"""

EXAMPLES = r"""
- name: Pre-deployment checks of the anomaly detection API
  sre.runbooks.k8s_predeploy_info:
    namespace: production
    name: anomaly-detection-api
    images:
      api: registry.example.com/anomaly-detection-api:1.2.3
  register: pre

- name: Stop before anything changes when a check fails
  ansible.builtin.fail:
    msg: "{{ pre.message }}"
  when:
    - pre.would_change
    - not pre.passed

- name: Only health and rollout state (no cluster-wide read of nodes)
  sre.runbooks.k8s_predeploy_info:
    namespace: production
    name: anomaly-detection-api
    checks: [healthy, no_rollout, hpa, pdb]
"""

RETURN = r"""
passed:
  description: Whether every check asked for passed.
  returned: success
  type: bool
failed_checks:
  description: Names of the checks that failed, in the order of O(checks)' choices.
  returned: success
  type: list
  elements: str
  sample: [hpa, capacity]
message:
  description: One sentence naming the workload and every failed check with its reason, or saying all passed.
  returned: success
  type: str
  sample: "Deployment production/api: hpa: HorizontalPodAutoscaler api is at its maximum (10 of maxReplicas 10): no headroom for load during the update."
checks:
  description:
    - One entry per check with C(name), C(passed) and C(message), plus what it judged.
    - V(healthy) has C(replicas) and C(unhealthy_pods); V(hpa) has C(hpas) (each with C(name), C(min_replicas),
      C(max_replicas), C(current_replicas), C(desired_replicas), C(at_max)); V(capacity) has C(surge_pods),
      C(pod_requests) (C(cpu) in cores, C(memory) in bytes, C(pods)), C(room_for) (how many such pods fit) and
      C(nodes) (each with C(allocatable), C(requested), C(free) and C(unschedulable), the reason new pods cannot go
      there or null); V(pdb) has C(takes_down) and C(pdbs) (each with C(disruptions_allowed), C(current_healthy),
      C(desired_healthy), C(observed), C(allows)).
  returned: success
  type: list
  elements: dict
update_budget:
  description: The update strategy resolved against the replicas - C(strategy), C(replicas), C(surge) (pods added
    above the desired count at once) and C(unavailable) (pods taken below it at once).
  returned: success
  type: dict
  sample: {strategy: RollingUpdate, replicas: 4, surge: 1, unavailable: 1}
would_change:
  description: With O(images), whether the update would change the pod template; null without.
  returned: success
  type: bool
image_changes:
  description: With O(images), the containers whose image would change, each with C(before) and C(after).
  returned: success
  type: dict
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.predeploy_runner import module_args, run_module


def main():
    module = RunbookModule(**module_args())
    module.run(lambda: run_module(module), "k8s_predeploy_info")


if __name__ == "__main__":
    main()
