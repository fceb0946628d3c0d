#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_dependency_check
short_description: Check from inside an application pod that its database, cache and broker resolve and accept TCP
version_added: 1.0.0
description:
  - The runbooks' dependency triage (I7) - what C(kubectl exec <pod> -- nslookup db) and C(nc -zv db 5432) show - for
    a list of targets in one exec through the C(pods/exec) API.
  - For each target a DNS lookup with the pod's own resolver (C(getaddrinfo)) and, when it resolved, a TCP connect with
    O(timeout); the result says per target whether it resolved, to which addresses, whether it connected, how many
    milliseconds the connect took and, when it failed, one sentence why.
  - The probe is a short standard-library program run by O(interpreter) in the container, so the container needs
    Python 3 (3.6 or later); nothing is installed or written in it.
  - Read-only. Unreachable targets are results, not a failure of the task; a missing pod, an exec the API refuses or
    a container without the interpreter fails the task with one sentence.
author:
  - sre.runbooks maintainers (@sre-runbooks)
requirements:
  - kubernetes
extends_documentation_fragment:
  - sre.runbooks.k8s
  - sre.runbooks.attributes
  - sre.runbooks.attributes.actiongroup_k8s
attributes:
  check_mode:
    support: full
    details: The probe only reads (DNS, a TCP connect closed at once), so it runs in check mode too.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Nothing changes.
options:
  namespace:
    description: Namespace of the application pod.
    type: str
    required: true
  pod:
    description: The pod to check from. Exactly one of O(pod), O(label_selector) and O(workload).
    type: str
  label_selector:
    description: Check from the first Running and Ready pod (by name) that this label selector matches, such as V(app=api).
    type: str
  workload:
    description: Check from the first Running and Ready pod (by name) of this workload (by its selector's C(matchLabels)).
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
  container:
    description: Container of the pod; default the pod's first (the API's default).
    type: str
  targets:
    description:
      - What to check - V(host:port) strings (V([fd00::1]:5432) for IPv6) or dicts with C(host), C(port) and an optional
        C(name) shown in the result.
    type: list
    elements: raw
    required: true
  timeout:
    description: Seconds each TCP connect may take (0.1 to 60).
    type: float
    default: 3.0
  interpreter:
    description: The Python 3 interpreter in the container that runs the probe.
    type: str
    default: python3
seealso:
  - name: Debug Services
    description: The DNS and connectivity checks from inside a pod this module runs.
    link: https://kubernetes.io/docs/tasks/debug/debug-application/debug-service/
"""

EXAMPLES = r"""
- name: I7 - Database, Redis and Kafka as the API pods see them
  sre.runbooks.k8s_dependency_check:
    namespace: ai-pipeline
    workload:
      name: api
    targets:
      - postgres.ai-pipeline.svc:5432
      - redis.ai-pipeline.svc:6379
      - {name: kafka, host: kafka-0.kafka.ai-pipeline.svc, port: 9092}
  register: deps

- name: I7 - From a pod of the worker StatefulSet, by label
  sre.runbooks.k8s_dependency_check:
    namespace: ai-pipeline
    label_selector: app=worker
    targets: [redis:6379]
    timeout: 1.5

- name: Name what the pod cannot reach
  ansible.builtin.debug:
    msg: "{{ deps.failures }}"
  when: not deps.ok
"""

RETURN = r"""
pod:
  description: The pod the probe ran in.
  returned: success
  type: str
  sample: api-7d9f8b6c5d-x2k4q
results:
  description:
    - One entry per target, in the order given - C(name), C(host), C(port), C(dns_ok), C(addresses) (what the host
      resolved to), C(connect_ok), C(ms) (the connect's duration, null when it did not resolve), C(ok) and C(error)
      (one sentence, null when ok).
  returned: success
  type: list
  elements: dict
  sample: [{name: "postgres:5432", host: postgres, port: 5432, dns_ok: true, addresses: ["10.0.3.7"], connect_ok: true,
            ms: 1.2, ok: true, error: null}]
summary:
  description: C(targets), C(ok), C(dns_failed) and C(connect_failed) counts.
  returned: success
  type: dict
  sample: {targets: 3, ok: 2, dns_failed: 0, connect_failed: 1}
ok:
  description: Whether every target resolved and accepted a connection.
  returned: success
  type: bool
failures:
  description: The error sentence of each target that is not ok.
  returned: success
  type: list
  elements: str
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.dependency_runner import module_args, run_module


def main():
    module = RunbookModule(**module_args())
    module.run(lambda: run_module(module), "k8s_dependency_check")


if __name__ == "__main__":
    main()
