#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_diagnostics
short_description: Collect an incident diagnostics bundle of a namespace or workload (what is wrong first)
version_added: 1.0.0
description:
  - The runbooks' incident triage (I1) in one call. Lists each kind of O(namespace) once - pods, Deployments,
    StatefulSets, DaemonSets, ReplicaSets, HorizontalPodAutoscalers, Services with their EndpointSlices, Ingresses, events,
    the nodes that run the pods, and the pod metrics where the metrics API is served - then reads the current and
    previous container logs (the last O(tail_lines) lines; the current ones of the last O(since)) of at most
    O(max_pods) pods, the unhealthy ones first, O(log_workers) at a time.
  - Writes C(<dest>/<name>.tar.gz) holding C(index.md) (the verdict and the findings, most severe first, with the
    last lines of a crashed container's previous log), C(summary.json), C(pods.json) (rows as the daily health check
    judges them, and the pods without managedFields), C(workloads.json), C(services.json) (matching pods and ready
    endpoints per Service - I6), C(ingresses.json) (backends that point at no Service, no such port or a Service
    without ready endpoints are findings - I6), C(hpas.json), C(events.json) (of the window), C(nodes.json), C(top.json),
    C(describe/<Kind>-<name>.txt) (with the rollout history of each Deployment), C(logs/<pod>/<container>.log) and
    C(.previous.log), and C(manifest.json) (sha256 of every file). Written to a temporary file and renamed.
  - Secret values never enter the bundle - Secrets are not read, and env entries from a Secret show their reference.
  - With O(s3) the bundle is uploaded with a verified SHA256 checksum.
  - Read-only on the cluster; the bundle is a run artifact, written in check mode too (the upload is not), and the
    task never reports a change.
author:
  - sre.runbooks maintainers (@sre-runbooks)
requirements:
  - kubernetes
  - boto3 (only with O(s3))
extends_documentation_fragment:
  - sre.runbooks.k8s
  - sre.runbooks.s3
  - sre.runbooks.attributes
  - sre.runbooks.attributes.actiongroup_k8s
attributes:
  check_mode:
    support: full
    details: The bundle is written (a local artifact of a read-only task); nothing is uploaded.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Nothing on the cluster changes; each run writes a new bundle.
options:
  namespace:
    description: The namespace to diagnose.
    type: str
    required: true
  workload:
    description: Only this workload and its pods (by its selector's C(matchLabels)).
    type: dict
    suboptions:
      kind:
        description: Its kind.
        type: str
        choices: [Deployment, StatefulSet, DaemonSet]
        default: Deployment
      name:
        description: Its name.
        type: str
        required: true
  since:
    description: The window of events and current logs, such as V(30m), V(2h) or V(1d).
    type: str
    default: 1h
  tail_lines:
    description: Lines kept of each log.
    type: int
    default: 200
  previous_logs:
    description: Also read the log of the previous instance of each container that restarted.
    type: bool
    default: true
  max_pods:
    description: Logs of at most this many pods, the unhealthy ones first (every pod is still listed).
    type: int
    default: 200
  log_workers:
    description: Logs read at the same time.
    type: int
    default: 8
  dest:
    description: Existing folder of the bundle.
    type: path
    required: true
  name:
    description: File name of the bundle without C(.tar.gz); default C(diagnostics-<namespace>-<UTC time>).
    type: str
seealso:
  - name: Debug running pods
    description: The kubectl commands this bundle replaces.
    link: https://kubernetes.io/docs/tasks/debug/debug-application/debug-running-pod/
"""

EXAMPLES = r"""
- name: I1 - Collect the diagnostics of the namespace for the incident channel
  sre.runbooks.k8s_diagnostics:
    namespace: ai-pipeline
    since: 2h
    dest: /var/tmp/incidents
  register: diag

- name: Show what is wrong first
  ansible.builtin.debug:
    msg: "{{ diag.findings[:3] | map(attribute='message') | list }}"

- name: I1 - One Deployment, uploaded to the incident bucket
  sre.runbooks.k8s_diagnostics:
    namespace: platform-v2-stable
    workload:
      name: platform-v2-api
    dest: /var/tmp/incidents
    s3:
      bucket: incident-bundles
      prefix: platform-v2/
"""

RETURN = r"""
archive:
  description: Path of the bundle.
  returned: success
  type: str
  sample: /var/tmp/incidents/diagnostics-ai-pipeline-20261205T031500Z.tar.gz
sha256:
  description: SHA-256 of the bundle file.
  returned: success
  type: str
findings:
  description: What is wrong, most severe first - C(severity) (V(critical) or V(warning)), C(object) (C(Kind/name)),
    C(reason) (V(CrashLoopBackOff), V(Unavailable), V(SelectorMatchesNoPod), ...), C(message) and C(evidence) (the
    last lines of a crashed container's previous log).
  returned: success
  type: list
  elements: dict
  sample: [{severity: critical, object: Deployment/api, reason: Unavailable, message: "0 of 3 replicas available; ...",
            evidence: []}]
counts:
  description: C(pods), C(unhealthy_pods), C(workloads), C(services), C(events) and C(logs) in the bundle.
  returned: success
  type: dict
notes:
  description: What could not be read (the metrics API not served, nodes forbidden, logs limited by O(max_pods)).
  returned: success
  type: list
  elements: str
metrics_available:
  description: Whether the metrics API answered (C(kubectl top) figures in C(top.json)).
  returned: success
  type: bool
files:
  description: Number of files in the bundle besides C(manifest.json).
  returned: success
  type: int
s3_key:
  description: The S3 key of the uploaded bundle, or null.
  returned: success
  type: str
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._incident.bundle_runner import module_args, run_module


def main():
    module = RunbookModule(**module_args())
    module.run(lambda: run_module(module), "k8s_diagnostics")


if __name__ == "__main__":
    main()
