#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_config_change
short_description: Change ConfigMap keys or container env, roll out the consumers, and put the old config back on failure
version_added: 0.1.0
description:
  - The config-change runbook (C(kubectl edit configmap), then C(kubectl rollout restart)) as one task that
    knows which workloads use the ConfigMap and undoes a change that breaks them.
  - Sets or removes keys of a ConfigMap (O(data)) and finds its consumers among the Deployments, StatefulSets and
    DaemonSets of the namespace, through C(env[].valueFrom.configMapKeyRef), C(envFrom[].configMapRef),
    C(volumes[].configMap) and projected volumes, in containers and init containers.
  - As Stakater Reloader does, it writes the checksum of the ConfigMap's data as the annotation
    C(checksum.sre.runbooks/<configmap>) of each consumer's pod template, so the consumer rolls out and its
    pods carry the checksum of the data they started with. The checksum is the sha256 (hex) of the JSON text of
    the object with the keys C(binaryData) and C(data) (each an empty object when absent), written with sorted
    keys and no spaces after V(,) and V(:), in UTF-8. A consumer whose annotation already
    holds the checksum is left alone; one without the annotation rolls out once, the first time.
  - Sets or removes environment variables of a workload's containers (O(env), the AIC runbook's C(WORKERS) and
    C(JAVA_OPTS)), which rolls it out too.
  - The workloads roll out one after the other, each waited for with the watch API and fail-fast pod
    diagnostics (as M(sre.runbooks.k8s_rollout) does), then checked for pods that are not Ready. When one fails,
    the previous ConfigMap data and the previous pod templates (checksum annotation and env) are put back, every
    workload patched so far rolls out again and is waited for, and the task fails saying what happened. Workloads
    after the failing one are never touched.
  - Pods that mount the ConfigMap as a volume see changed keys in their files within the kubelet's sync period,
    before their workload rolls out; they see the previous data again after a rollback.
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
      - Nothing is patched and nothing is waited for; RV(configmap.changes), RV(env.changes) and RV(rollouts) tell
        what would change and which workloads would roll out.
  diff_mode:
    support: full
    details:
      - Shows the keys and env variables changed (values of O(sensitive) names masked) and the checksum
        annotation of each workload that rolls out.
  idempotent:
    support: full
    details:
      - Keys and env variables that already hold the wanted values, and consumers whose annotation holds the
        checksum, are not changed.
options:
  namespace:
    description:
      - Namespace of the ConfigMap and the workloads.
    type: str
    required: true
  configmap:
    description:
      - Name of the ConfigMap to change. Its consumers roll out when its data changes, or when their checksum
        annotation does not match its data (changed by hand since, or never rolled out by this module).
      - At least one of O(configmap) and O(env) is required.
    type: str
  data:
    description:
      - Keys of O(configmap) to set, with their values (text; numbers and booleans are written as text).
        A key with a null value is removed. Keys not named are kept.
    type: dict
  kind:
    description:
      - Kind of the workload whose env O(env) changes.
    type: str
    default: Deployment
    choices: [Deployment, StatefulSet, DaemonSet]
  name:
    description:
      - Name of the workload whose env O(env) changes. Required with O(env).
    type: str
  env:
    description:
      - Environment variables to set in the containers of O(name), name to value; a null value removes the
        variable. A variable set from a C(valueFrom) source is replaced by the value.
    type: dict
  containers:
    description:
      - The containers whose env O(env) changes; by default every container (not init containers).
      - A name the pod template does not have fails the task, naming the containers it has.
    type: list
    elements: str
  sensitive:
    description:
      - Keys of O(data) and names of O(env) whose values are secrets. Their values, old and new, are shown as
        V(<sensitive>) in the results and the diff and are scrubbed from the task's whole output.
      - Values shorter than 4 characters are masked in the results and the diff only.
    type: list
    elements: str
    default: []
  rollout:
    description:
      - Roll out the consumers of O(configmap). With V(false) only the data changes (pods that mount it see it
        later; others keep the old values until they restart). An O(env) change always rolls its workload out.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for each rollout, and for each rollout of the rollback.
    type: int
    default: 600
  fail_fast_reasons:
    description:
      - Stop waiting at once when the controller reports one of these reasons or a pod of the new revision shows
        one, as in M(sre.runbooks.k8s_rollout).
    type: list
    elements: str
    default: [ProgressDeadlineExceeded, CrashLoopBackOff, ImagePullBackOff, ErrImagePull, CreateContainerConfigError, InvalidImageName]
  rollback:
    description:
      - When a rollout fails or leaves pods that are not Ready, put the previous data and pod templates back and
        roll out again. With V(false) the task fails and the new config stays.
    type: bool
    default: true
seealso:
  - module: sre.runbooks.k8s_rollout
  - name: Stakater Reloader
    description: The controller whose checksum-annotation approach this module applies once, at change time.
    link: https://github.com/stakater/Reloader
"""

EXAMPLES = r"""
- name: Raise the workers of the auth service (AIC runbook) and roll out what uses app-config
  sre.runbooks.k8s_config_change:
    namespace: microservices
    configmap: app-config
    data:
      WORKERS: 4
      LOG_LEVEL: info
  register: config

- name: Set JAVA_OPTS of one container, show what would change first
  sre.runbooks.k8s_config_change:
    namespace: microservices
    kind: Deployment
    name: app-management-service
    containers: [app-management-service]
    env:
      JAVA_OPTS: "-Xmx1g -Xms512m -XX:+UseG1GC"
  check_mode: true
  diff: true

- name: Rotate a token kept in a ConfigMap without printing it
  sre.runbooks.k8s_config_change:
    namespace: ai-pipeline
    configmap: pipeline-config
    data:
      UPSTREAM_TOKEN: "{{ vault_upstream_token }}"
    sensitive: [UPSTREAM_TOKEN]

- name: Roll out the consumers of a ConfigMap edited by hand (kubectl edit)
  sre.runbooks.k8s_config_change:
    namespace: microservices
    configmap: app-config
"""

RETURN = r"""
configmap:
  description: The ConfigMap and its changes; null without O(configmap).
  returned: success, and when a rollout failed
  type: dict
  contains:
    name:
      description: Its name.
      type: str
    namespace:
      description: Its namespace.
      type: str
    changes:
      description: Each key set or removed, with C(key), C(action) (V(add), V(change), V(remove)), C(before) and
        C(after) (null when absent; V(<sensitive>) for O(sensitive) keys).
      type: list
      elements: dict
      sample: [{key: WORKERS, action: change, before: "2", after: "4"}]
    checksum_before:
      description: Checksum of the data before the change.
      type: str
    checksum:
      description: Checksum of the data after the change, as written on the consumers' pod templates.
      type: str
    annotation:
      description: The pod-template annotation holding the checksum.
      type: str
      sample: checksum.sre.runbooks/app-config
env:
  description: The env changes of O(name); null without O(env).
  returned: success, and when a rollout failed
  type: dict
  contains:
    kind:
      description: Kind of the workload.
      type: str
    name:
      description: Its name.
      type: str
    namespace:
      description: Its namespace.
      type: str
    changes:
      description: Each variable set or removed, with C(container), C(name), C(action) (V(add), V(change),
        V(remove)), C(before) and C(after) (null when absent; V(<sensitive>) for O(sensitive) names; a variable set
        from another source shows as V((from secretKeyRef)) and the like).
      type: list
      elements: dict
      sample: [{container: app, name: JAVA_OPTS, action: change, before: "-Xmx512m", after: "-Xmx1g"}]
consumers:
  description: The workloads that use O(configmap), each with C(kind), C(name), C(references) (how it uses it,
    such as V(envFrom of container app) or V(volume config)), C(checksum_before) and C(rolls) (whether it rolls out).
  returned: success, and when a rollout failed
  type: list
  elements: dict
rollouts:
  description: The workloads rolled out (or that would be, in check mode), in order.
  returned: success, and when a rollout failed
  type: list
  elements: dict
  contains:
    kind:
      description: Kind of the workload.
      type: str
    name:
      description: Its name.
      type: str
    because:
      description: V(configmap), V(env) or both.
      type: list
      elements: str
    state:
      description: V(would_roll) (check mode), V(rolled_out), V(failed) (the rollout failed or timed out),
        V(unhealthy) (it completed with pods not Ready) or V(patched) (not waited for yet).
      type: str
    checksum_before:
      description: Its checksum annotation before.
      type: str
    checksum:
      description: The checksum written.
      type: str
    wait:
      description: The wait's C(outcome), C(reason), C(message) and C(elapsed) seconds; null in check mode.
      type: dict
    failing_pods:
      description: Pods of the new revision that failed the wait, with their reason.
      type: list
      elements: dict
    unhealthy_pods:
      description: Pods not Running and Ready when the wait ended.
      type: list
      elements: dict
rolled_back:
  description: Whether the previous config was put back after a failure.
  returned: success, and when a rollout failed
  type: bool
rollback:
  description: After a failure, C(data_restored) and C(rollouts) (each workload rolled back with C(kind), C(name),
    C(outcome), C(message), C(elapsed), C(unhealthy_pods)); null otherwise.
  returned: success, and when a rollout failed
  type: dict
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.config_runner import module_args, run_module


def main():
    module = RunbookModule(**module_args())
    module.run(lambda: run_module(module), "k8s_config_change")


if __name__ == "__main__":
    main()
