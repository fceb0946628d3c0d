#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_drain_plan_info
short_description: Plan a node drain - which pods leave, whether the other nodes have room, which PDBs forbid it
version_added: 0.1.0
description:
  - The pre-check of the AIC runbook's node maintenance (coverage row M3) before M(kubernetes.core.k8s_drain) cordons
    and drains a node.
  - The pods a drain evicts are the ones M(kubernetes.core.k8s_drain) and C(kubectl drain) evict - every pod bound
    to the node and not finished, except mirror pods and DaemonSet pods. Pods no controller would recreate and pods
    with C(emptyDir) volumes are RV(refused) unless O(force) or O(delete_emptydir_data) allows them, as the drain
    itself would refuse them.
  - Each evicted pod is placed, by its requests (the larger of its containers' sum and its largest init container,
    plus overhead, as the scheduler counts them), on one of the other nodes that is Ready, not cordoned, tolerated
    (C(NoSchedule) and C(NoExecute) taints), matches its C(nodeSelector) and required node affinity, and still has
    room for its CPU, memory and a pod slot after the pods placed before it - the node with the most free CPU
    first. RV(can_drain) is false when a pod finds no such node or a pod is refused; RV(message) says which.
  - PodDisruptionBudgets that allow fewer disruptions now than the drain makes among their pods are listed in
    RV(pdb_blocked); the Eviction API refuses those evictions.
  - A node that does not exist fails the task in one sentence. A node without room does not fail the task.
author:
  - sre.runbooks maintainers (@sre-runbooks)
extends_documentation_fragment:
  - sre.runbooks.k8s
  - sre.runbooks.attributes
  - sre.runbooks.attributes.actiongroup_k8s
  - sre.runbooks.attributes.info_module
options:
  node:
    description: Name of the node to drain.
    type: str
    required: true
  force:
    description: Plan to evict pods that no controller would recreate (as O(kubernetes.core.k8s_drain#module:delete_options.force)).
    type: bool
    default: false
  delete_emptydir_data:
    description: Plan to evict pods with C(emptyDir) volumes, losing that data (as the drain's option of that name).
    type: bool
    default: false
notes:
  - Reads every node, every pod bound to a node and the PodDisruptionBudgets of the namespaces of the node's pods,
    which needs C(list) on nodes and pods cluster-wide.
seealso:
  - module: kubernetes.core.k8s_drain
  - module: sre.runbooks.k8s_predeploy_info
"""

EXAMPLES = r"""
- name: Pre-check the drain
  sre.runbooks.k8s_drain_plan_info:
    node: worker-3
  register: plan

- name: Stop when the other nodes have no room
  ansible.builtin.fail:
    msg: "{{ plan.message }}"
  when: not plan.can_drain

- name: Cordon and drain (Eviction API, PodDisruptionBudgets respected)
  kubernetes.core.k8s_drain:
    name: worker-3
    state: drain
    delete_options:
      ignore_daemonsets: true
      wait_timeout: 300
"""

RETURN = r"""
node:
  description: The node.
  returned: success
  type: str
cordoned:
  description: Whether the node is already cordoned (C(spec.unschedulable)).
  returned: success
  type: bool
can_drain:
  description: Whether every pod to evict has room elsewhere and no pod would be refused.
  returned: success
  type: bool
message:
  description: One sentence - how many pods leave and where there is room, or why the node cannot be drained.
  returned: success
  type: str
  sample: >-
    Node worker-3 cannot be drained: no room for 2 of its 5 pod(s) on the other schedulable Ready nodes
    (worker-1, worker-2): prod/api-7d9-x2k, prod/api-7d9-z8q.
evict:
  description: The pods a drain evicts, each with C(namespace), C(name), C(requests) (C(cpu) in cores, C(memory) in
    bytes, C(pods)) and C(target_node), where it fits, or null.
  returned: success
  type: list
  elements: dict
skipped:
  description: Pods on the node a drain leaves alone (DaemonSet, mirror, already terminating), each with a C(reason).
  returned: success
  type: list
  elements: dict
refused:
  description: Pods a drain would refuse to evict without O(force) or O(delete_emptydir_data), each with a C(reason).
  returned: success
  type: list
  elements: dict
unplaced:
  description: The pods (C(namespace/name)) for which no other node has room.
  returned: success
  type: list
  elements: str
schedulable_nodes:
  description: The other nodes that are Ready and not cordoned.
  returned: success
  type: list
  elements: str
pdb_blocked:
  description: PodDisruptionBudgets that allow fewer disruptions than the drain makes among their pods, each with
    C(namespace), C(name), C(disruptions_allowed) and C(pods).
  returned: success
  type: list
  elements: dict
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.drain_runner import module_args, run_module


def main():
    module = RunbookModule(**module_args())
    module.run(lambda: run_module(module), "k8s_drain_plan_info")


if __name__ == "__main__":
    main()
