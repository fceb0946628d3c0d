#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_resources
short_description: Set container requests and limits, wait for the rollout, and roll back when it fails
version_added: 0.1.0
description:
  - The runbooks' resources patch (PIPE, ENT; runbook-coverage S5), C(kubectl set resources) made safe. It sets
    CPU and memory (or any other resource's) requests and limits per container of a Deployment, StatefulSet or
    DaemonSet, waits for the rollout as M(sre.runbooks.k8s_rollout) does (watch API, fail-fast on
    C(CrashLoopBackOff), C(ImagePullBackOff), C(ProgressDeadlineExceeded) with per-pod reasons), and when the new
    pods fail, puts the previous pod template (and so the previous resources) back and waits for that too.
  - Quantities compare by value (C(0.25) equals C(250m)), so setting what is already set changes nothing and does
    not roll the pods. Other resources of a container (C(ephemeral-storage), GPUs) are kept.
  - A request above its limit is refused before anything is sent. In check mode the API server validates the
    change with a dry run (quotas, LimitRanges, admission) without storing it.
  - O(recommendations) takes the RV(sre.runbooks.capacity_plan_info#module:workloads) of a capacity plan and applies
    every recommendation in it; a container without one is left as it is.
author:
  - sre.runbooks maintainers (@sre-runbooks)
extends_documentation_fragment:
  - sre.runbooks.k8s
  - sre.runbooks.attributes
  - sre.runbooks.attributes.actiongroup_k8s
attributes:
  check_mode:
    support: full
    details:
      - Nothing is stored and nothing is waited for; the change is validated by a server-side dry run and the result
        reports what would change.
  diff_mode:
    support: full
    details:
      - Shows every container's requests and limits before and after.
  idempotent:
    support: full
options:
  namespace:
    description: Namespace of the workload. Required with O(resources).
    type: str
  kind:
    description: Kind of the workload, with O(resources).
    type: str
    default: Deployment
    choices: [Deployment, StatefulSet, DaemonSet]
  name:
    description:
      - Name of the workload. With O(resources), exactly one of O(name) and O(label_selectors) is required.
    type: str
  label_selectors:
    description:
      - Change every workload of O(kind) in O(namespace) whose labels match all of these selectors, such as V(app=web).
    type: list
    elements: str
  resources:
    description:
      - "Container name to C(requests) and C(limits), each a mapping of resource name to quantity, such as
        C({app: {requests: {cpu: 250m, memory: 256Mi}, limits: {memory: 256Mi}}}). C(*) stands for every container not
        named."
      - A quantity of V(null) removes that request or limit; a resource left out is kept as it is.
      - Mutually exclusive with O(recommendations).
    type: dict
  recommendations:
    description:
      - The RV(sre.runbooks.capacity_plan_info#module:workloads) of a capacity plan (or some of them). Each workload's
        containers get their C(recommended) requests and limits; a C(limits.cpu) of null removes the CPU limit, as the
        plan recommends none by default.
      - Mutually exclusive with O(resources), O(name) and O(label_selectors).
    type: list
    elements: raw
  change_cause:
    description: Recorded as the C(kubernetes.io/change-cause) annotation, which C(rollout history) shows.
    type: str
  wait:
    description: Wait for the rollout to complete.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the rollout (and again for a rollback's).
    type: int
    default: 600
  fail_fast_reasons:
    description: Container waiting reasons of a new pod that end the wait at once as failed.
    type: list
    elements: str
    default: [ProgressDeadlineExceeded, CrashLoopBackOff, ImagePullBackOff, ErrImagePull, CreateContainerConfigError, InvalidImageName]
  auto_rollback:
    description:
      - When the rollout fails or times out, put back the pod template that was live before (with its resources) and
        wait for that rollout.
    type: bool
    default: true
  fail_on_rollback:
    description:
      - Fail the task after an automatic rollback (the default), so the play stops; V(false) reports it with
        RV(rolled_back=true) and a warning.
    type: bool
    default: true
notes:
  - Workloads are changed one after the other; the first failure stops the task, with the results so far.
  - A workload under a HorizontalPodAutoscaler that scales on CPU or memory utilisation scales differently with other
    requests, since utilisation is measured against them.
seealso:
  - module: sre.runbooks.capacity_plan_info
  - module: sre.runbooks.k8s_rollout
"""

EXAMPLES = r"""
---
- name: Give the API container 500m CPU and 512Mi of memory, no CPU limit (S5)
  sre.runbooks.k8s_resources:
    namespace: platform-v2-stable
    name: platform-v2-api
    resources:
      api:
        requests: {cpu: 500m, memory: 512Mi}
        limits: {cpu: null, memory: 512Mi}
    change_cause: right-sized after the March capacity review

- name: Plan from two weeks of history
  sre.runbooks.capacity_plan_info:
    namespaces: [ai-pipeline]
  register: plan

- name: Apply the plan's recommendations to every workload that has them
  sre.runbooks.k8s_resources:
    recommendations: "{{ plan.workloads }}"
  register: applied
"""

RETURN = r"""
workloads:
  description: One entry per workload, in the order they were changed.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: Kind of the workload.
      type: str
    namespace:
      description: Namespace.
      type: str
    name:
      description: Name.
      type: str
    changed:
      description: Whether the requests or limits changed (or would, in check mode).
      type: bool
    resources_before:
      description: Container name to C(requests) and C(limits) before the task.
      type: dict
    resources:
      description: Container name to C(requests) and C(limits) after the task (before a rollback).
      type: dict
    containers_changed:
      description: The containers whose resources changed.
      type: list
      elements: str
    containers_skipped:
      description: With O(recommendations), the containers that had no recommendation.
      type: list
      elements: str
    revision_before:
      description: Rollout revision before the task.
      type: int
    revision:
      description: Rollout revision after the task.
      type: int
    replicas:
      description: Desired, current, updated, ready and available replicas at the end.
      type: dict
    wait:
      description: C(waited), C(outcome) (C(complete), C(failed), C(timeout), C(skipped)), C(reason), C(message), C(elapsed).
      type: dict
    failing_pods:
      description: Pods of the new revision that failed the rollout, with C(name), C(reason), C(container), C(message).
      type: list
      elements: dict
    rolled_back:
      description: Whether the previous pod template was put back.
      type: bool
    rollback:
      description: With a rollback, C(reason), C(message), C(from_revision), C(to_revision), C(revision), C(complete), C(elapsed).
      type: dict
      returned: after an automatic rollback
changed:
  description: Whether any workload changed.
  returned: always
  type: bool
rolled_back:
  description: Whether any workload was rolled back.
  returned: always
  type: bool
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.resources_args import (
    MUTUALLY_EXCLUSIVE,
    RANGES,
    REQUIRED_ONE_OF,
    argument_spec,
)
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.resources_runner import run_module


def main():
    module = RunbookModule(argument_spec=argument_spec(), supports_check_mode=True, ranges=RANGES,
                           mutually_exclusive=MUTUALLY_EXCLUSIVE, required_one_of=REQUIRED_ONE_OF)
    module.run(lambda: run_module(module), "k8s_resources")


if __name__ == "__main__":
    main()
