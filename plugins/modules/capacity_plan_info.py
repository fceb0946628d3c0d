#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: capacity_plan_info
short_description: Right-size requests and limits from Prometheus history, plan replicas for more load, price it all
version_added: 0.1.0
description:
  - The PIPE runbook's capacity planning and the EXP runbook's cost review (runbook-coverage S3, S4) as one
    read-only task. For each Deployment, StatefulSet and DaemonSet selected in O(namespaces), it reads the
    container CPU (C(rate(container_cpu_usage_seconds_total[...]))) and memory
    (C(container_memory_working_set_bytes)) history of its pods from Prometheus over O(window), and returns
    recommended requests and limits per container, the replicas needed for more load, and, with O(prices), what
    the workload costs, uses and wastes.
  - The recommendation is Robusta KRR's C(simple) strategy. CPU request is the O(cpu_percentile) (95) of each
    pod's CPU usage, the highest over the pods; there is no CPU limit unless O(cpu_limit_percentile) is set.
    Memory request and limit are the highest working set seen plus O(memory_margin_percent) (15 %). CPU is rounded
    up to whole millicores and memory to whole MiB, and each is at least O(cpu_min_millicores) and
    O(memory_min_mib). A resource with fewer than O(min_points) samples gets no recommendation ("not enough data").
  - Percentiles are computed from C(query_range) samples, interpolating between the two nearest ranks as
    Prometheus' C(quantile_over_time) does, so they equal what that function returns for the same samples.
  - History is matched by pod name (C(<deployment>-<hash>-<suffix>), C(<statefulset>-<ordinal>),
    C(<daemonset>-<suffix>)), so pods of earlier ReplicaSets count too and a plan survives rollouts.
  - Replicas for more load are the HorizontalPodAutoscaler's formula over the history. The total CPU load of the
    workload (the sum over its pods at each step, at O(cpu_percentile)), grown by each of O(growth_percents),
    divided by what one replica may use (its CPU request, per O(replica_basis), times
    O(target_utilization_percent)), rounded up. The container that needs the most replicas decides.
  - With O(prices), each workload gets the cost of what its live pods request (from their specs in the
    Kubernetes API), of what they use on average over the window, the waste (requested minus used) and the saving
    the recommended requests would bring; the result sums them per namespace and in total.
  - The recommendations can be applied with M(sre.runbooks.k8s_resources) (its O(sre.runbooks.k8s_resources#module:recommendations)
    option takes RV(workloads)).
author:
  - sre.runbooks maintainers (@sre-runbooks)
extends_documentation_fragment:
  - sre.runbooks.k8s
  - sre.runbooks.prometheus
  - sre.runbooks.attributes
  - sre.runbooks.attributes.actiongroup_k8s_prometheus
  - sre.runbooks.attributes.info_module
options:
  namespaces:
    description:
      - The namespaces to plan. A namespace that does not exist fails the task.
    type: list
    elements: str
    required: true
  kinds:
    description: The kinds of workload to plan.
    type: list
    elements: str
    choices: [Deployment, StatefulSet, DaemonSet]
    default: [Deployment, StatefulSet, DaemonSet]
  names:
    description:
      - Plan only the workloads with these names (of any of O(kinds)), in the single namespace of O(namespaces).
      - A name that no workload has fails the task.
    type: list
    elements: str
  label_selectors:
    description:
      - Plan only the workloads whose labels match all of these selectors, such as V(app=web) or V(tier in (api,web)).
      - A selector that matches no workload of a namespace fails the task.
    type: list
    elements: str
  window:
    description: How far back the history goes, such as V(14d) (KRR's default) or V(7d).
    type: str
    default: 14d
  step:
    description:
      - The resolution of the history, such as V(75s) (KRR's 1.25 minutes) or V(5m). Memory takes the highest
        working set of each step, so no peak is missed between steps.
    type: str
    default: 75s
  rate_window:
    description:
      - The range of C(rate()) for CPU usage. Defaults to O(step), as KRR does; it must span at least two scrapes,
        so raise it (and O(step)) where cAdvisor is scraped less often than every O(step) / 2.
    type: str
  evaluation_time:
    description:
      - End of the window, as unix seconds or RFC 3339 such as V(2025-01-31T00:00:00Z), instead of now.
    type: str
  cpu_metric:
    description: The CPU usage counter (seconds), with C(namespace), C(pod) and C(container) labels as cAdvisor sets them.
    type: str
    default: container_cpu_usage_seconds_total
  memory_metric:
    description: The memory gauge (bytes), with the same labels.
    type: str
    default: container_memory_working_set_bytes
  selector:
    description: Extra label matchers for both metrics, such as V(job="kubelet",metrics_path="/metrics/cadvisor").
    type: str
    default: ""
  cpu_percentile:
    description: The percentile of CPU usage the CPU request covers (KRR's C(cpu_percentile)).
    type: float
    default: 95
  cpu_limit_percentile:
    description:
      - The percentile of CPU usage the CPU limit is set to (at least the request). Unset means no CPU limit, as KRR
        recommends; M(sre.runbooks.k8s_resources) then removes an existing CPU limit.
    type: float
  memory_margin_percent:
    description: Added to the highest memory working set for the memory request and limit (KRR's C(memory_buffer_percentage)).
    type: float
    default: 15
  cpu_min_millicores:
    description: Smallest CPU request and limit recommended (KRR's C(cpu_min_value)).
    type: int
    default: 10
  memory_min_mib:
    description: Smallest memory request and limit recommended, in MiB (KRR's C(memory_min_value)).
    type: int
    default: 100
  min_points:
    description: Fewest samples (over all pods) a resource needs for a recommendation (KRR's C(points_required)).
    type: int
    default: 100
  target_utilization_percent:
    description: The share of its CPU request a replica may use in the replica plan (the HPA target).
    type: float
    default: 70
  growth_percents:
    description: The load increases to plan replicas for, in percent (the PIPE runbook's 25, 50 and 100).
    type: list
    elements: int
    default: [25, 50, 100]
  replica_basis:
    description:
      - The CPU request per replica the replica plan divides by. V(current) is the request the containers have now
        (the recommended one for a container without a request); V(recommended) is the recommended one.
    type: str
    choices: [current, recommended]
    default: current
  prices:
    description:
      - Prices for the cost report; without them, no cost is computed.
    type: dict
    suboptions:
      cpu_core_hour:
        description: Price of one CPU core for one hour. Required with O(prices).
        type: float
      memory_gb_hour:
        description: Price of one GiB (2^30 bytes) of memory for one hour. Required with O(prices).
        type: float
      currency:
        description: Currency of the prices, for the report.
        type: str
        default: USD
      hours_per_month:
        description: Hours in the monthly figures.
        type: float
        default: 730
  no_data:
    description:
      - What a workload without any CPU or memory sample in the window means. V(fail) fails the task naming it (after
        planning the others, whose results are returned); V(report) returns it with RV(workloads[].status=no_data).
    type: str
    choices: [fail, report]
    default: fail
notes:
  - Needs C(list) on Deployments, StatefulSets, DaemonSets, ReplicaSets, Pods and HorizontalPodAutoscalers in the
    namespaces, and C(get) on the namespaces themselves (without it an unknown namespace simply has no workloads).
  - Per namespace it sends two range queries (more when the window holds over 10,000 steps), for all its workloads at once.
seealso:
  - module: sre.runbooks.k8s_resources
  - name: Robusta KRR, the simple strategy
    description: The recommendation rules this module follows.
    link: https://github.com/robusta-dev/krr#algorithm
"""

EXAMPLES = r"""
---
- name: Recommend requests and limits for the pipeline, and replicas for +25/+50/+100 % load (S3)
  sre.runbooks.capacity_plan_info:
    namespaces: [ai-pipeline]
    prometheus_url: "{{ sre_prometheus_url }}"
  register: plan

- name: Show the recommendations
  ansible.builtin.debug:
    msg: >-
      {{ item.namespace }}/{{ item.name }}: {{ item.containers | map(attribute='recommended') | list }},
      replicas {{ item.replica_plan.plan | map(attribute='replicas') | list }}
  loop: "{{ plan.workloads }}"

- name: Cost of three namespaces at our cloud's prices, over the last 7 days (S4)
  sre.runbooks.capacity_plan_info:
    namespaces: [platform-v2-stable, platform-v1-exp, platform-v3-quarantine]
    window: 7d
    prices:
      cpu_core_hour: 0.0316
      memory_gb_hour: 0.0042
    no_data: report
  register: cost

- name: Apply the recommendations of one Deployment (S5)
  sre.runbooks.k8s_resources:
    recommendations: "{{ plan.workloads | selectattr('name', 'equalto', 'ai-pipeline') }}"
"""

RETURN = r"""
workloads:
  description: One entry per workload planned, in namespace order, then kind, then name.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: C(Deployment), C(StatefulSet) or C(DaemonSet).
      type: str
    namespace:
      description: Namespace.
      type: str
    name:
      description: Name.
      type: str
    status:
      description:
        - C(ok) when every container has both recommendations, C(insufficient_data) when one lacks one,
          C(no_data) when no container has any sample.
      type: str
    message:
      description: Why a recommendation is missing, and a note when an HPA scales on CPU or memory; empty otherwise.
      type: str
    replicas:
      description: spec.replicas (null for a DaemonSet).
      type: int
    live_pods:
      description: Pods of the workload that hold requests now (Pending, Running).
      type: int
    hpa:
      description: C(name), C(min_replicas), C(max_replicas) and C(metrics) of the HPA that scales it, or null.
      type: dict
    containers:
      description:
        - Per container, C(name), C(status), C(message), C(points) (samples of C(cpu) and C(memory)), C(pods) (with
          samples), C(usage) (C(cpu_cores) C(percentile), C(max), C(mean); C(memory_bytes) C(max), C(mean)),
          C(current) (C(requests) and C(limits) as in the spec), C(current_values) (requests in cores and bytes),
          C(recommended) (C(requests) and C(limits) as quantities such as C(235m), C(231Mi); a resource without
          enough data is left out; C(limits.cpu) null means no CPU limit) and C(recommended_values) (the same in
          cores and bytes).
      type: list
      elements: dict
    replica_plan:
      description:
        - C(status) (C(ok) or C(unavailable)), C(message), C(current), C(basis), C(target_utilization_percent),
          C(limiting_container), C(load_cpu_cores) (total CPU load at O(cpu_percentile)), C(cpu_request_cores) (per
          replica), C(usage_per_replica_cpu_cores) and C(utilization_percent) (of the current replicas' requests) and
          C(plan), one entry per growth
          (0 first) with C(growth_percent), C(load_cpu_cores), C(replicas), C(additional) (compared with now) and
          C(exceeds_hpa_max) (null without an HPA).
      type: dict
    requested:
      description: C(cpu_cores), C(memory_bytes) and C(pods) requested by the live pods (from their specs).
      type: dict
    used:
      description: C(cpu_cores) and C(memory_bytes) used on average over the window (sum over the pods at each step).
      type: dict
    recommended:
      description: C(cpu_cores), C(memory_bytes) the live pods would request with the recommendations (current requests where there is none).
      type: dict
    cost:
      description:
        - With O(prices). C(requested), C(used), C(waste) (requested minus used), C(recommended) and C(savings)
          (requested minus recommended), each with C(cpu_cores), C(memory_bytes), C(hourly) and C(monthly) cost;
          C(used), C(waste), C(recommended) and C(savings) are null without history.
      type: dict
namespaces:
  description:
    - With O(prices), the cost per namespace, sorted by name, C(namespace), C(workloads), C(without_history) and
      the sums of C(requested), C(used), C(waste), C(recommended) and C(savings) (as in RV(workloads[].cost)).
  returned: when O(prices) is set
  type: list
  elements: dict
totals:
  description: With O(prices), the same sums over every namespace, and C(currency).
  returned: when O(prices) is set
  type: dict
prices:
  description: The prices used (C(cpu_core_hour), C(memory_gb_hour), C(currency), C(hours_per_month)).
  returned: when O(prices) is set
  type: dict
summary:
  description: Number of workloads, and of workloads per status (C(ok), C(insufficient_data), C(no_data)).
  returned: always
  type: dict
  sample: {workloads: 4, ok: 3, insufficient_data: 1, no_data: 0}
settings:
  description: The recommendation and planning settings used.
  returned: always
  type: dict
evaluated_at:
  description: End of the window, RFC 3339 UTC.
  returned: always
  type: str
  sample: "2025-01-31T00:00:00Z"
window:
  description: The window.
  returned: always
  type: str
step:
  description: The step.
  returned: always
  type: str
rate_window:
  description: The range of C(rate()) for CPU.
  returned: always
  type: str
queries:
  description: Number of Prometheus queries sent.
  returned: always
  type: int
"""

from ansible_collections.sre.runbooks.plugins.module_utils._capacity.plan_args import RANGES, argument_spec
from ansible_collections.sre.runbooks.plugins.module_utils._capacity.plan_runner import run_module
from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._slo.prometheus import (
    PROMETHEUS_MUTUALLY_EXCLUSIVE,
    PROMETHEUS_REQUIRED_TOGETHER,
)


def main():
    module = RunbookModule(argument_spec=argument_spec(), supports_check_mode=True, ranges=RANGES,
                           mutually_exclusive=PROMETHEUS_MUTUALLY_EXCLUSIVE,
                           required_together=PROMETHEUS_REQUIRED_TOGETHER)
    module.run(lambda: run_module(module), "capacity_plan_info")


if __name__ == "__main__":
    main()
