#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_health_info
short_description: Health of pods, workloads, HPAs, events, usage, volumes, nodes and logs of several namespaces, in one call
version_added: 0.1.0
description:
  - The runbooks' morning check (C(kubectl get pods) in every platform namespace, C(kubectl get hpa),
    C(kubectl top pods), C(kubectl get events), C(kubectl get nodes), C(kubectl get pvc),
    C(kubectl logs deployment/<name> | grep -ci error)) as one read-only task that returns data and a list of
    problems with a severity, instead of many M(kubernetes.core.k8s_info) and M(kubernetes.core.k8s_log) calls and
    Jinja to find restarts and reasons.
  - For each namespace in O(namespaces) (or every namespace) it reads pods, Deployments, StatefulSets, DaemonSets
    and HorizontalPodAutoscalers, optionally recent Warning events, metrics-server usage and
    PersistentVolumeClaims, with a few parallel list requests, and classifies them. From four listed namespaces on
    (unless the cluster has more namespaces that were not asked for), each kind is read with one cluster-wide
    request, as C(kubectl get -A) does, leaving the other namespaces out by field selector.
  - Pods get the reason C(kubectl get pods) shows (C(CrashLoopBackOff), C(ImagePullBackOff), C(ErrImagePull),
    C(CreateContainerConfigError), C(OOMKilled), C(Unschedulable) with the scheduler's message, C(NotReady), ...),
    their restarts, node, age and owning workload. Reasons that do not fix themselves are C(critical); a pod still
    starting (C(Pending), C(NotReady)) is a C(warning) only once older than O(thresholds.pending_seconds); more
    restarts than O(thresholds.restarts), or a container that was C(OOMKilled) and runs again, is a C(warning).
  - Workloads get desired, ready, available and updated replicas and their rollout state; a rollout past its
    progress deadline (C(ProgressDeadlineExceeded)) or with no replica available is C(critical), one with fewer
    available replicas than desired a C(warning).
  - HPAs get their bounds, current and desired replicas, an at-max flag, their conditions and metrics; an HPA at
    its maximum, unable to scale or with C(ScalingActive=False) is a C(warning).
  - With V(resources) in O(include), running pods get CPU and memory requests, limits and usage from the
    C(metrics.k8s.io) API; usage above the thresholds, as a percentage of the limit, is a C(warning) or
    C(critical). Without metrics-server the usage is reported as unavailable (RV(metrics)), which is not an error.
  - With V(volumes) in O(include), PersistentVolumeClaims get their phase, capacity and storage class; a claim
    that C(Lost) its volume is C(critical), one still C(Pending) after O(thresholds.pending_seconds) a C(warning).
  - With V(nodes) in O(include), every node (cluster-wide) gets its readiness, its memory, disk and PID pressure
    conditions, whether it is cordoned, and the CPU, memory and pod slots requested by the pods bound to it against
    its allocatable ones (summed as the scheduler does). A node that is not C(Ready) is C(critical); pressure or an
    unavailable network is a C(warning); requests above O(thresholds.node_requests_percent) of allocatable are a
    C(warning), above O(thresholds.node_requests_critical_percent) C(critical). Without permission to list nodes
    the section is reported as unavailable (RV(nodes.available)), which is not an error.
  - With V(logs) in O(include), the recent logs of up to O(logs.max_deployments) Deployments (O(logs.deployments),
    or those found in the namespaces) are read, up to O(logs.max_pods) pods each, every container, all at once,
    and the lines matching O(logs.pattern) are counted per Deployment (RV(logs)). A cluster whose kubelets serve no
    logs makes a row C(unavailable) with the API's reason, which is not an error.
  - A namespace that does not exist is a C(warning).
author:
  - sre.runbooks maintainers (@sre-runbooks)
extends_documentation_fragment:
  - sre.runbooks.k8s
  - sre.runbooks.attributes
  - sre.runbooks.attributes.actiongroup_k8s
  - sre.runbooks.attributes.info_module
options:
  namespaces:
    description:
      - The namespaces to check. Empty means every namespace (one cluster-wide list request per kind, which needs
        cluster-wide C(list) permission).
    type: list
    elements: str
    default: []
  include:
    description:
      - What to read and report per namespace.
      - V(pods) reports pod counts and the unhealthy pods (all pods with O(all_pods=true)).
      - V(workloads) reports Deployments, StatefulSets and DaemonSets.
      - V(hpas) reports HorizontalPodAutoscalers.
      - V(events) reports recent Warning events (context only, never a problem).
      - V(resources) compares usage from metrics-server with the pods' requests and limits.
      - V(volumes) reports PersistentVolumeClaims.
      - V(nodes) reports every node of the cluster (not only those of the namespaces).
      - V(logs) counts error lines in the recent logs of Deployments (see O(logs)).
    type: list
    elements: str
    choices: [pods, workloads, hpas, events, resources, volumes, nodes, logs]
    default: [pods, workloads, hpas]
  thresholds:
    description: When a finding becomes a problem.
    type: dict
    default: {}
    suboptions:
      restarts:
        description: A pod with more container restarts than this is a C(warning).
        type: int
        default: 5
      pending_seconds:
        description:
          - A pod still starting (C(Pending), C(ContainerCreating), C(NotReady)) or terminating is a problem only when
            older than this many seconds. Reasons such as C(CrashLoopBackOff) or C(Unschedulable) count at once.
        type: int
        default: 300
      cpu_percent:
        description: CPU usage above this percentage of the pod's CPU limit is a C(warning).
        type: float
        default: 80
      cpu_critical_percent:
        description: CPU usage above this percentage of the limit is C(critical).
        type: float
        default: 90
      memory_percent:
        description: Memory usage above this percentage of the pod's memory limit is a C(warning).
        type: float
        default: 85
      memory_critical_percent:
        description: Memory usage above this percentage of the limit is C(critical).
        type: float
        default: 95
      node_requests_percent:
        description:
          - With V(nodes), CPU, memory or pod slots requested on a node above this percentage of its allocatable
            ones is a C(warning).
        type: float
        default: 85
      node_requests_critical_percent:
        description: With V(nodes), requests above this percentage of allocatable are C(critical).
        type: float
        default: 95
  all_pods:
    description:
      - Return every pod in RV(namespaces.pods), not only the unhealthy ones and those over the restart threshold.
    type: bool
    default: false
  events_max_age:
    description: With V(events) in O(include), only Warning events seen within this interval, such as V(1h) or V(24h).
    type: str
    default: 1h
  events_limit:
    description: With V(events) in O(include), at most this many events per namespace, newest first.
    type: int
    default: 20
  logs:
    description: With V(logs) in O(include), which logs to read and what counts as an error line.
    type: dict
    default: {}
    suboptions:
      deployments:
        description:
          - The Deployments to read, each with C(namespace) and C(name). Empty reads those found in the namespaces
            (those with a problem first, then by namespace and name); listed ones need not be in O(namespaces).
        type: list
        elements: dict
        default: []
        suboptions:
          namespace:
            description: Namespace of the Deployment.
            type: str
            required: true
          name:
            description: Name of the Deployment.
            type: str
            required: true
      max_deployments:
        description:
          - At most this many Deployments are read. Of those found in the namespaces, the ones with a problem (of
            their own or of one of their pods, with V(pods) or V(workloads) in O(include)) come first.
        type: int
        default: 10
      max_pods:
        description: At most this many pods of each Deployment are read (Running ones first, then by name).
        type: int
        default: 3
      since:
        description: How far back to read, such as V(24h) or V(30m) (C(kubectl logs --since)).
        type: str
        default: 24h
      pattern:
        description: Python regular expression of an error line, matched in any case.
        type: str
        default: error
      previous:
        description:
          - Also read the log of the previous instance of every container that restarted (C(kubectl logs --previous)),
            where a crash-looping container wrote why it died; counted in RV(logs.deployments[].previous_lines).
        type: bool
        default: false
      limit_bytes:
        description: At most this many bytes of each container's log are read (the newest ones).
        type: int
        default: 10485760
notes:
  - Usage percentages are of the pod's limits (sums over its containers); for pods without limits they are
    reported against the requests (C(cpu_request_percent), C(memory_request_percent)) and never raise a problem.
  - Log lines are counted in the module; only the counts and the last three matching lines come back, never the logs.
  - V(nodes) needs cluster-wide C(list) on nodes and pods (a ClusterRole); a namespaced service account gets
    RV(nodes.available=false).
seealso:
  - module: sre.runbooks.k8s_rollout
  - module: kubernetes.core.k8s_info
  - module: kubernetes.core.k8s_log
"""

EXAMPLES = r"""
---
- name: Morning check of the platform namespaces
  sre.runbooks.k8s_health_info:
    namespaces:
      - platform-v2-stable
      - platform-v1-exp
      - platform-v3-quarantine
    include: [pods, workloads, hpas, events]
  register: k8s_health

- name: Fail on critical problems, naming them
  ansible.builtin.assert:
    that: k8s_health.summary.problems.critical == 0
    fail_msg: "{{ k8s_health.problems | selectattr('severity', '==', 'critical')
      | map(attribute='message') | list }}"

- name: Restarts and resource usage across the whole cluster, with the runbook thresholds
  sre.runbooks.k8s_health_info:
    include: [pods, resources]
    thresholds:
      restarts: 3
      cpu_percent: 80
      memory_percent: 85
  register: usage

- name: Show the pods that crash-loop
  ansible.builtin.debug:
    msg: "{{ usage.problems | selectattr('reason', '==', 'CrashLoopBackOff') | map(attribute='name') | list }}"

- name: Nodes, volumes and the last day's error lines of two Deployments (and of their crashed containers)
  sre.runbooks.k8s_health_info:
    namespaces: [ai-pipeline]
    include: [volumes, nodes, logs]
    thresholds:
      node_requests_percent: 80
    logs:
      deployments:
        - {namespace: ai-pipeline, name: feature-extractor}
        - {namespace: production, name: api}
      pattern: "error|exception|traceback"
      previous: true
  register: platform

- name: Name the nodes that are not ready
  ansible.builtin.debug:
    msg: "{{ platform.nodes.nodes | rejectattr('ready') | map(attribute='name') | list }}"
"""

RETURN = r"""
summary:
  description: Totals over all namespaces and the overall status.
  returned: always
  type: dict
  contains:
    status:
      description: The worst problem severity, V(critical), V(warning) or V(ok).
      type: str
      sample: critical
    namespaces:
      description: Number of namespaces checked.
      type: int
    missing_namespaces:
      description: Namespaces of O(namespaces) that do not exist.
      type: list
      elements: str
    pods:
      description: Number of pods.
      type: int
    running:
      description: Pods in phase C(Running).
      type: int
    ready:
      description: Pods whose C(Ready) condition is true.
      type: int
    not_running:
      description: Pods neither C(Running) nor C(Succeeded) (the runbooks' non-running count).
      type: int
    not_ready:
      description: Running pods that are not ready.
      type: int
    unhealthy_pods:
      description: Pods with a problem.
      type: int
    restarts:
      description: Container restarts over all pods.
      type: int
    restarts_over_threshold:
      description: Pods with more restarts than O(thresholds.restarts).
      type: int
    workloads:
      description: Number of Deployments, StatefulSets and DaemonSets.
      type: int
    workloads_unhealthy:
      description: Workloads with a problem.
      type: int
    hpas:
      description: Number of HPAs.
      type: int
    hpas_at_max:
      description: HPAs at their maximum replicas.
      type: int
    hpas_not_scaling:
      description: HPAs whose C(ScalingActive) condition is false.
      type: int
    warning_events:
      description: Recent Warning events reported.
      type: int
    pods_over_resource_threshold:
      description: Pods whose usage is above a resource threshold.
      type: int
    volumes:
      description: Number of PersistentVolumeClaims.
      type: int
    volumes_unhealthy:
      description: Claims with a problem.
      type: int
    nodes:
      description: Number of nodes (0 without V(nodes)).
      type: int
    nodes_not_ready:
      description: Nodes that are not C(Ready).
      type: int
    nodes_with_pressure:
      description: Nodes with a memory, disk or PID pressure condition.
      type: int
    nodes_over_requests_threshold:
      description: Nodes whose requests pass O(thresholds.node_requests_percent) of allocatable.
      type: int
    problems:
      description: Number of problems per severity.
      type: dict
      sample: {critical: 3, warning: 1}
    problems_by_category:
      description: Number of problems per category.
      type: dict
      sample: {namespace: 0, pod: 2, workload: 1, hpa: 1, resources: 0, volume: 0, node: 0}
problems:
  description: Every problem found, critical ones first, then by namespace, category and name.
  returned: always
  type: list
  elements: dict
  contains:
    severity:
      description: V(critical) or V(warning).
      type: str
    category:
      description: V(namespace), V(pod), V(workload), V(hpa), V(resources), V(volume) or V(node).
      type: str
    namespace:
      description: Namespace of the object (null for a node).
      type: str
    kind:
      description: Kind of the object (C(Pod), C(Deployment), C(HorizontalPodAutoscaler), C(Namespace), ...).
      type: str
    name:
      description: Name of the object.
      type: str
    reason:
      description:
        - Why it is a problem, such as C(CrashLoopBackOff), C(ImagePullBackOff), C(Unschedulable), C(OOMKilled),
          C(RestartsOverThreshold), C(NotReady), C(ProgressDeadlineExceeded), C(Unavailable), C(Degraded),
          C(AtMaxReplicas), C(FailedGetResourceMetric), C(HighResourceUsage), C(NamespaceNotFound), C(Lost) and
          C(Pending) (claims), C(MemoryPressure), C(DiskPressure), C(PIDPressure), C(NetworkUnavailable) and
          C(RequestedOverThreshold) (nodes).
      type: str
    message:
      description: Details, such as the container's waiting message or the scheduler's message.
      type: str
    workload:
      description: The owning workload as C(Kind/name) (for an HPA its scale target), or null.
      type: str
  sample:
    - {severity: critical, category: workload, namespace: shop, kind: Deployment, name: web, reason: Unavailable,
       message: "0 of 2 replicas available; 2 pods CrashLoopBackOff: web-7d4b9-abcde (container app; back-off 10s), web-7d4b9-fghij",
       workload: Deployment/web}
    - {severity: critical, category: pod, namespace: shop, kind: Pod, name: web-7d4b9-abcde, reason: CrashLoopBackOff,
       message: back-off 10s restarting failed container, workload: Deployment/web}
namespaces:
  description: Per namespace, what O(include) asked for.
  returned: always
  type: dict
  contains:
    exists:
      description: Whether the namespace exists; null when the namespaces could not be listed.
      type: bool
    pod_counts:
      description:
        - C(total), C(running), C(ready), C(pending), C(succeeded), C(failed), C(not_running), C(not_ready),
          C(restarts), C(restarts_over_threshold) and C(unhealthy) (pods with a problem).
      type: dict
      returned: with V(pods) in O(include)
    pods:
      description: The unhealthy pods and those over the restart threshold (every pod with O(all_pods=true)), by name.
      type: list
      elements: dict
      returned: with V(pods) in O(include)
      contains:
        name:
          description: Pod name.
          type: str
        namespace:
          description: Namespace.
          type: str
        workload:
          description: Owning workload as C(Kind/name) (a ReplicaSet's pods are reported under their Deployment).
          type: str
        phase:
          description: Pod phase.
          type: str
        ready:
          description: Whether the pod is ready.
          type: bool
        restarts:
          description: Container restarts (init containers included).
          type: int
        node:
          description: Node the pod is bound to, or null.
          type: str
        age_seconds:
          description: Seconds since the pod was created.
          type: float
        reason:
          description: The reason C(kubectl get pods) would show, null when Running and Ready.
          type: str
        message:
          description: The container's or scheduler's message, or why the pod is a problem.
          type: str
        container:
          description: The container the reason is about.
          type: str
        last_exit_code:
          description: Exit code of the last terminated container.
          type: int
        last_termination_reason:
          description: Reason of the last termination, such as C(OOMKilled) or C(Error).
          type: str
        oom_killed:
          description: Whether a container was killed for running out of memory.
          type: bool
        restarts_over_threshold:
          description: Whether RV(namespaces.pods[].restarts) is above O(thresholds.restarts).
          type: bool
        severity:
          description: V(critical), V(warning) or null.
          type: str
        problem:
          description: The problem reason (see RV(problems[].reason)), or null.
          type: str
    workloads:
      description: Deployments, StatefulSets and DaemonSets, in that order, by name.
      type: list
      elements: dict
      returned: with V(workloads) in O(include)
      contains:
        kind:
          description: C(Deployment), C(StatefulSet) or C(DaemonSet).
          type: str
        name:
          description: Name.
          type: str
        namespace:
          description: Namespace.
          type: str
        desired:
          description: Desired replicas (pods to schedule for a DaemonSet).
          type: int
        current:
          description: Current replicas.
          type: int
        ready:
          description: Ready replicas.
          type: int
        available:
          description: Available replicas.
          type: int
        updated:
          description: Replicas of the latest revision.
          type: int
        complete:
          description: Whether the rollout is complete, as C(kubectl rollout status) judges it.
          type: bool
        paused:
          description: Whether the rollout is paused.
          type: bool
        failure:
          description: C(ProgressDeadlineExceeded) when the rollout is stuck, else null.
          type: str
        message:
          description: Where the rollout stands, or what is wrong with it.
          type: str
        unhealthy_pods:
          description: Pods of this workload with a problem.
          type: int
        severity:
          description: V(critical), V(warning) or null.
          type: str
        problem:
          description: V(ProgressDeadlineExceeded), V(Unavailable), V(Degraded) or null.
          type: str
    hpas:
      description: HorizontalPodAutoscalers, by name.
      type: list
      elements: dict
      returned: with V(hpas) in O(include)
      contains:
        name:
          description: Name.
          type: str
        namespace:
          description: Namespace.
          type: str
        target:
          description: The scale target, C(Kind/name).
          type: str
        min_replicas:
          description: Lower bound.
          type: int
        max_replicas:
          description: Upper bound.
          type: int
        current_replicas:
          description: Replicas now.
          type: int
        desired_replicas:
          description: Replicas the HPA last computed.
          type: int
        at_max:
          description: Whether the current replicas reached the maximum.
          type: bool
        able_to_scale:
          description: The C(AbleToScale) condition (null when absent).
          type: bool
        scaling_active:
          description: The C(ScalingActive) condition (false when the HPA cannot read its metrics).
          type: bool
        scaling_limited:
          description: The C(ScalingLimited) condition.
          type: bool
        scaling_active_reason:
          description: Reason of the C(ScalingActive) condition.
          type: str
        message:
          description: Message of the condition behind the problem, or of C(ScalingActive).
          type: str
        metrics:
          description: Per metric, C(type), C(name), C(target_utilization), C(current_utilization), C(target_value), C(current_value).
          type: list
          elements: dict
        severity:
          description: V(warning) or null.
          type: str
        problem:
          description: V(AtMaxReplicas), the reason of a false C(AbleToScale) or C(ScalingActive), or null.
          type: str
    events:
      description:
        - Warning events seen within O(events_max_age), newest first, each with C(namespace), C(kind), C(name),
          C(reason), C(message), C(count), C(last_seen) and C(age_seconds).
      type: list
      elements: dict
      returned: with V(events) in O(include)
    resources:
      description:
        - C(pods), one row per running pod with C(name), C(namespace), C(workload), C(cpu_usage_millicores),
          C(cpu_request_millicores), C(cpu_limit_millicores), C(cpu_percent) (of the limit), C(cpu_request_percent),
          C(memory_usage_bytes), C(memory_request_bytes), C(memory_limit_bytes), C(memory_percent),
          C(memory_request_percent), C(severity), C(problem), C(message); usage fields are null without metrics.
        - C(without_requests), C(without_limits), C(with_metrics) and C(over_threshold) count those pods.
      type: dict
      returned: with V(resources) in O(include)
    volumes:
      description:
        - PersistentVolumeClaims by name, each with C(name), C(namespace), C(phase), C(capacity_bytes),
          C(requested_bytes), C(storage_class), C(volume), C(access_modes), C(age_seconds), C(severity), C(problem)
          and C(message).
      type: list
      elements: dict
      returned: with V(volumes) in O(include)
nodes:
  description: Every node of the cluster, and counts.
  returned: with V(nodes) in O(include)
  type: dict
  contains:
    available:
      description: Whether the nodes could be listed; false without permission.
      type: bool
    reason:
      description: Why the nodes are unavailable, else null.
      type: str
    requests_summed:
      description: Whether the pods of every namespace could be listed to sum the requests per node.
      type: bool
    ready:
      description: Nodes that are C(Ready).
      type: int
    not_ready:
      description: Nodes that are not.
      type: int
    with_pressure:
      description: Nodes with a pressure condition.
      type: int
    unschedulable:
      description: Cordoned nodes.
      type: int
    over_requests_threshold:
      description: Nodes whose requests pass O(thresholds.node_requests_percent).
      type: int
    nodes:
      description: One row per node, by name.
      type: list
      elements: dict
      contains:
        name:
          description: Node name.
          type: str
        roles:
          description: The roles from its C(node-role.kubernetes.io/) labels.
          type: list
          elements: str
        ready:
          description: Whether its C(Ready) condition is true (null when it has none).
          type: bool
        unschedulable:
          description: Whether it is cordoned.
          type: bool
        pressure:
          description: Its pressure conditions that are true (C(MemoryPressure), C(DiskPressure), C(PIDPressure)).
          type: list
          elements: str
        network_unavailable:
          description: Whether its C(NetworkUnavailable) condition is true.
          type: bool
        cpu_allocatable_millicores:
          description: Allocatable CPU.
          type: float
        memory_allocatable_bytes:
          description: Allocatable memory.
          type: int
        pods_allocatable:
          description: Allocatable pod slots.
          type: int
        cpu_requested_millicores:
          description: CPU requested by the pods bound to it (null when not summed).
          type: float
        memory_requested_bytes:
          description: Memory requested by them.
          type: int
        pods:
          description: Pods bound to it that have not finished.
          type: int
        cpu_requested_percent:
          description: Requested CPU as a percentage of allocatable.
          type: float
        memory_requested_percent:
          description: Requested memory as a percentage of allocatable.
          type: float
        pods_percent:
          description: Pods as a percentage of the allocatable slots.
          type: float
        requests_over_threshold:
          description: Whether a percentage is above O(thresholds.node_requests_percent).
          type: bool
        severity:
          description: V(critical), V(warning) or null.
          type: str
        problem:
          description: C(NotReady), a pressure condition, C(NetworkUnavailable), C(RequestedOverThreshold) or null.
          type: str
        message:
          description: Every finding, the most severe first.
          type: str
logs:
  description: The error lines in the recent logs of the Deployments read.
  returned: with V(logs) in O(include)
  type: dict
  contains:
    since_seconds:
      description: The window read, in seconds.
      type: float
    pattern:
      description: The pattern of an error line.
      type: str
    deployments:
      description: One row per Deployment, in the order read.
      type: list
      elements: dict
      contains:
        namespace:
          description: Namespace.
          type: str
        name:
          description: Deployment name.
          type: str
        pods:
          description: The pods whose logs were asked for.
          type: list
          elements: str
        logs_read:
          description: Container logs the API served.
          type: int
        lines:
          description: Non-empty lines in the current containers' logs.
          type: int
        error_lines:
          description: Those matching O(logs.pattern).
          type: int
        previous_lines:
          description: Lines of the previous container instances (with O(logs.previous)).
          type: int
        previous_error_lines:
          description: Those matching O(logs.pattern).
          type: int
        last_errors:
          description: The last three matching lines, each as C(pod/container) and the line cut to 300 characters.
          type: list
          elements: str
        truncated:
          description: Whether a log reached O(logs.limit_bytes), so older lines were not read.
          type: bool
        status:
          description: V(read) when at least one log was served, else V(unavailable).
          type: str
        reason:
          description: Why no log was read (the API's message, C(no running pod), or the Deployment not found).
          type: str
metrics:
  description: Whether the metrics API answered, and if not why. C(available) is null when V(resources) was not asked for.
  returned: always
  type: dict
  sample: {available: false, reason: "the metrics API (metrics.k8s.io) is not served by this cluster (no metrics-server)"}
api_calls:
  description: Number of list requests made.
  returned: always
  type: int
  sample: 15
duration_seconds:
  description: Wall time of the requests and classification, connection set-up excluded.
  returned: always
  type: float
  sample: 0.21
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.health_args import RANGES, argument_spec
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.health_runner import run_module


def main():
    module = RunbookModule(argument_spec=argument_spec(), supports_check_mode=True, ranges=RANGES)
    module.run(lambda: run_module(module), "k8s_health_info")


if __name__ == "__main__":
    main()
