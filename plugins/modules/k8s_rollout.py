#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_rollout
short_description: Roll out, wait for, undo, restart, scale and autoscale Deployments, StatefulSets and DaemonSets
version_added: 0.1.0
description:
  - The deployment steps of the operations runbooks (C(kubectl set image), C(rollout status), C(rollout history),
    C(rollout undo [--to-revision]), C(rollout restart), C(rollout pause/resume), C(scale) and C(patch hpa)) as
    one idempotent module with data results.
  - Waiting uses the watch API, so the task returns as soon as the rollout completes. It fails fast, long before
    O(wait_timeout), when the controller reports C(ProgressDeadlineExceeded) or a pod of the new revision shows
    one of O(fail_fast_reasons) (C(CrashLoopBackOff), C(ImagePullBackOff), ...); the result names every failing
    pod with its reason, container and message. Pods of older revisions never fail the wait.
  - With O(auto_rollback=true), a failed wait puts back the pod template that was live before and waits for that
    rollout too. The task then fails with RV(rolled_back=true), so the play stops, unless O(fail_on_rollback=false).
  - Undo works for all three kinds, to the previous revision or to any revision O(to_revision), through
    ReplicaSets (Deployments) or ControllerRevisions (StatefulSets, DaemonSets). Other annotations of the object
    are kept. A StatefulSet with C(OrderedReady) pod management cannot leave a broken revision on its own
    (kubernetes/kubernetes#67250); after an undo or rollback the module deletes the pods of the abandoned revision
    that are not Ready, so the controller replaces them.
  - Generic object management (apply a manifest, list pods, read logs) is left to C(kubernetes.core).
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
      - Nothing is patched or deleted and nothing is waited for, except that O(action=status) waits as usual
        (it only reads); the result has the same shape and reports what would change.
  diff_mode:
    support: full
    details:
      - Shows images, replicas, paused, the restart time, the revision or the HPA bounds before and after.
  idempotent:
    support: partial
    details:
      - O(action=set_image) with the images already set, O(action=scale) to the current replicas, O(action=hpa) with the
        current bounds, and O(action=pause) or O(action=resume) in that state report no change.
      - O(action=restart) changes the object on every run, and so does O(action=undo) (it is a change by nature), except
        when the pod template already equals O(to_revision).
options:
  action:
    description:
      - What to do.
      - V(status) waits for the current rollout to finish (or, with O(wait=false), reports where it stands).
      - V(set_image) sets container images (O(images)) and waits for the rollout.
      - V(restart) restarts every pod through a rolling update, like C(kubectl rollout restart), and waits.
      - V(undo) puts back the pod template of the previous revision, or of O(to_revision), and waits.
      - V(history) returns the revisions as data (RV(rollouts[].history)) and changes nothing.
      - V(scale) sets the number of replicas (Deployments and StatefulSets), optionally only if it is still
        O(current_replicas), and waits for the pods.
      - V(pause) and V(resume) stop and restart the rollout of a Deployment; V(resume) waits.
      - V(hpa) changes the bounds of the HorizontalPodAutoscaler that scales the object and waits until the
        replicas are inside them.
    type: str
    required: true
    choices: [status, set_image, restart, undo, history, scale, pause, resume, hpa]
  kind:
    description:
      - Kind of the object.
    type: str
    default: Deployment
    choices: [Deployment, StatefulSet, DaemonSet]
  name:
    description:
      - Name of the object. Exactly one of O(name) and O(label_selectors) is required.
    type: str
  label_selectors:
    description:
      - Work on every object of O(kind) in O(namespace) that matches all these label selectors, such as
        V(app.kubernetes.io/part-of=ai-pipeline) or V(tier in (web, api)).
      - The objects are handled one after the other, in name order, each to completion (a rolling change across
        several workloads); the first failure stops the task and later objects are left untouched.
      - It is an error when no object matches.
    type: list
    elements: str
  namespace:
    description:
      - Namespace of the object(s).
    type: str
    required: true
  images:
    description:
      - For O(action=set_image), the images to set, a mapping of container name to image. Init containers count too.
      - The name V(*) stands for every container not named explicitly.
      - A container name the pod template does not have fails the task, naming the containers it has.
    type: dict
  to_revision:
    description:
      - For O(action=undo), the revision to go back to, as listed by O(action=history). V(0) or unset means the
        revision before the current one.
    type: int
  replicas:
    description:
      - For O(action=scale), the number of replicas wanted.
    type: int
  current_replicas:
    description:
      - For O(action=scale), scale only if the object has this many replicas now. Otherwise the task fails and
        nothing changes. The server checks it again atomically with the change.
    type: int
  hpa_name:
    description:
      - For O(action=hpa), the name of the HorizontalPodAutoscaler. By default, the one whose C(scaleTargetRef)
        points at the object (the task fails when there is none or more than one).
    type: str
  min_replicas:
    description:
      - For O(action=hpa), the new C(minReplicas), at least V(1) and not above the resulting C(maxReplicas).
    type: int
  max_replicas:
    description:
      - For O(action=hpa), the new C(maxReplicas).
    type: int
  change_cause:
    description:
      - Record this text in the C(kubernetes.io/change-cause) annotation, which rollout history shows for the
        revision created by O(action=set_image), O(action=restart) or O(action=undo).
      - For O(action=undo) without it, the restored revision's own change-cause is put back.
    type: str
  wait:
    description:
      - Wait for the rollout to finish after the change (and, for O(action=status), at all).
      - Not used by O(action=history) and O(action=pause); never in check mode except for O(action=status).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for a rollout before the task fails. An automatic rollback gets the same time again.
    type: int
    default: 600
  fail_fast_reasons:
    description:
      - Stop waiting and fail at once when the controller reports one of these reasons
        (V(ProgressDeadlineExceeded)), or a pod of the new revision shows one as its state
        (a container waiting reason such as V(CrashLoopBackOff), or a pod reason such as V(Unschedulable) or V(Evicted)).
      - An empty list waits until the rollout completes or O(wait_timeout) passes.
    type: list
    elements: str
    default: [ProgressDeadlineExceeded, CrashLoopBackOff, ImagePullBackOff, ErrImagePull, CreateContainerConfigError, InvalidImageName]
  auto_rollback:
    description:
      - When the wait fails (fail-fast reason or timeout), put back the pod template that was live before this task
        changed it and wait for that rollout. For O(action=status), or when the task changed nothing, that is the
        revision before the current one.
      - Used by O(action=status), O(action=set_image) and O(action=restart); ignored by the other actions and in
        check mode.
    type: bool
    default: false
  fail_on_rollback:
    description:
      - Fail the task after a successful automatic rollback (RV(rolled_back=true)). With V(false) the task succeeds
        with a warning and RV(rolled_back=true), so later tasks can branch on it.
      - A rollback that does not complete always fails the task.
    type: bool
    default: true
seealso:
  - module: kubernetes.core.k8s
    description: Apply manifests; follow with O(action=status) to wait with fail-fast diagnostics.
  - module: kubernetes.core.k8s_info
    description: Read any object.
  - name: kubectl rollout
    description: The commands this module replaces.
    link: https://kubernetes.io/docs/reference/kubectl/generated/kubectl_rollout/
"""

EXAMPLES = r"""
---
- name: Deploy a new image, roll back automatically if the new pods fail
  sre.runbooks.k8s_rollout:
    action: set_image
    name: ai-pipeline
    namespace: ai-pipeline
    images:
      ai-pipeline: registry.example.com/ai-pipeline:v2.0.0
    change_cause: "release v2.0.0 (CHG-1234)"
    wait_timeout: 600
    auto_rollback: true
  register: deploy

- name: Wait for a rollout started elsewhere (kubernetes.core.k8s apply, CI)
  sre.runbooks.k8s_rollout:
    action: status
    name: auth-service
    namespace: microservices
    wait_timeout: 300

- name: Rolling restart of every Deployment of the platform, one after the other
  sre.runbooks.k8s_rollout:
    action: restart
    namespace: microservices
    label_selectors:
      - app.kubernetes.io/part-of=ai-platform

- name: Show the rollout history
  sre.runbooks.k8s_rollout:
    action: history
    name: anomaly-detection-api
    namespace: production
  register: history

- name: Print one line per revision
  ansible.builtin.debug:
    msg: "{{ item.revision }} {{ item.images | dict2items | map(attribute='value') | join(',') }} {{ item.change_cause }}"
  loop: "{{ history.rollouts[0].history }}"

- name: Go back to revision 3
  sre.runbooks.k8s_rollout:
    action: undo
    name: anomaly-detection-api
    namespace: production
    to_revision: 3

- name: Undo the last change of a StatefulSet
  sre.runbooks.k8s_rollout:
    action: undo
    kind: StatefulSet
    name: kafka
    namespace: ai-pipeline

- name: Scale consumers from 3 to 5, only if nobody changed them meanwhile
  sre.runbooks.k8s_rollout:
    action: scale
    name: triage-agent
    namespace: ai-pipeline
    replicas: 5
    current_replicas: 3

- name: Raise the autoscaler's floor before a traffic peak
  sre.runbooks.k8s_rollout:
    action: hpa
    name: api
    namespace: production
    min_replicas: 6
    max_replicas: 20

- name: Pause, change two things, resume and wait
  block:
    - name: Pause
      sre.runbooks.k8s_rollout:
        action: pause
        name: web
        namespace: shop
    - name: Set both images in one rollout
      sre.runbooks.k8s_rollout:
        action: set_image
        name: web
        namespace: shop
        images: {web: "shop/web:1.8", nginx: "nginx:1.27"}
    - name: Resume and wait
      sre.runbooks.k8s_rollout:
        action: resume
        name: web
        namespace: shop

- name: Connection options once for every Kubernetes task of a play
  module_defaults:
    group/sre.runbooks.k8s:
      kubeconfig: /etc/sre/kubeconfig
      context: production
  block:
    - name: Check that the API rollout is healthy
      sre.runbooks.k8s_rollout:
        action: status
        name: api
        namespace: production
        wait: false
"""

RETURN = r"""
rollouts:
  description: One entry per object handled, in the order handled (one for O(name)).
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: Kind of the object.
      type: str
      sample: Deployment
    name:
      description: Name of the object.
      type: str
      sample: ai-pipeline
    namespace:
      description: Namespace of the object.
      type: str
      sample: ai-pipeline
    action:
      description: The action taken.
      type: str
      sample: set_image
    changed:
      description: Whether this object was changed (in check mode, would be).
      type: bool
    revision:
      description:
        - The object's revision at the end, as numbered by its ReplicaSets or ControllerRevisions.
        - Null when the controller has not created it yet (check mode, O(wait=false)).
      type: int
      sample: 7
    revision_before:
      description: The revision when the task started.
      type: int
      sample: 6
    to_revision:
      description: For O(action=undo), the revision whose pod template was put back, as numbered before the undo.
      returned: when O(action=undo)
      type: int
      sample: 5
    images:
      description: Container images of the pod template at the end (C(container -> image)).
      type: dict
      sample: {ai-pipeline: "registry.example.com/ai-pipeline:v2.0.0"}
    images_before:
      description: Container images of the pod template when the task started.
      type: dict
      sample: {ai-pipeline: "registry.example.com/ai-pipeline:v1.9.3"}
    replicas:
      description:
        - Replica counts from the object's status at the end. C(desired), C(current), C(updated), C(ready) and
          C(available) (for DaemonSets, the numbers of scheduled pods).
      type: dict
      sample: {desired: 3, current: 3, updated: 3, ready: 3, available: 3}
    status:
      description: Where the rollout stands at the end.
      type: dict
      contains:
        complete:
          description: Whether the rollout is complete (the rules of C(kubectl rollout status)).
          type: bool
        message:
          description: What the rollout waits for, or C(successfully rolled out).
          type: str
          sample: 2 of 3 updated replicas are available
        observed:
          description: Whether the controller has seen the latest spec.
          type: bool
        paused:
          description: Whether the Deployment is paused.
          type: bool
        strategy:
          description: The update strategy (C(RollingUpdate), C(Recreate), C(OnDelete)).
          type: str
        pending_update:
          description: With the C(OnDelete) strategy, pods still running an older revision.
          type: int
        failure:
          description: C(ProgressDeadlineExceeded) when the controller gave up, else null.
          type: str
    wait:
      description: How the wait ended.
      type: dict
      contains:
        waited:
          description: Whether the module waited.
          type: bool
        outcome:
          description: V(complete), V(failed), V(timeout), V(paused), V(deleted), or V(skipped) when it did not wait.
          type: str
          sample: failed
        reason:
          description: C(ProgressDeadlineExceeded), the failing pods' reason (C(CrashLoopBackOff), ...), C(Timeout), C(Paused) or C(Deleted).
          type: str
          sample: CrashLoopBackOff
        message:
          description: The rollout status or the failing pods, in words.
          type: str
        elapsed:
          description: Seconds spent waiting.
          type: float
          sample: 4.2
    failing_pods:
      description: The pods of the new revision that made the wait fail, as in RV(rollouts[].unhealthy_pods).
      type: list
      elements: dict
    unhealthy_pods:
      description: The object's pods that are not Running and Ready at the end, with the reason.
      type: list
      elements: dict
      contains:
        name:
          description: Pod name.
          type: str
        phase:
          description: Pod phase.
          type: str
          sample: Running
        node:
          description: Node the pod is scheduled on (null when unscheduled).
          type: str
        ready:
          description: Whether the pod is Ready.
          type: bool
        reason:
          description:
            - The most telling reason, as C(kubectl get pods) shows it, for example C(CrashLoopBackOff),
              C(ImagePullBackOff), C(CreateContainerConfigError), C(Unschedulable), C(Evicted), C(NotReady).
          type: str
          sample: CrashLoopBackOff
        message:
          description: The message that goes with the reason.
          type: str
          sample: back-off 5m0s restarting failed container=app
        container:
          description: The container the reason is about.
          type: str
        restarts:
          description: Restarts of all its containers.
          type: int
        last_exit_code:
          description: Exit code of the last terminated container run.
          type: int
        last_termination_reason:
          description: Reason of the last termination (C(Error), C(OOMKilled), ...).
          type: str
    history:
      description: For O(action=history), the revisions, oldest first.
      returned: when O(action=history)
      type: list
      elements: dict
      contains:
        revision:
          description: Revision number.
          type: int
        name:
          description: The ReplicaSet or ControllerRevision holding it.
          type: str
        images:
          description: Container images of that revision.
          type: dict
        change_cause:
          description: The C(kubernetes.io/change-cause) recorded for it.
          type: str
        created:
          description: When the revision was created (RFC 3339).
          type: str
        current:
          description: Whether it is the current revision.
          type: bool
        replicas:
          description: Pods of that ReplicaSet (Deployments), null for ControllerRevisions.
          type: int
    scale:
      description: For O(action=scale), the replicas before and after.
      returned: when O(action=scale)
      type: dict
      sample: {before: 3, after: 5}
    hpa:
      description: For O(action=hpa), the autoscaler and its bounds.
      returned: when O(action=hpa)
      type: dict
      contains:
        name:
          description: Name of the HorizontalPodAutoscaler.
          type: str
        before:
          description: C(min_replicas) and C(max_replicas) before.
          type: dict
        after:
          description: C(min_replicas) and C(max_replicas) after.
          type: dict
        current_replicas:
          description: The HPA's current replicas when the task started.
          type: int
        desired_replicas:
          description: The HPA's desired replicas when the task started.
          type: int
        expected_replicas:
          description: Where the new bounds put the current replicas.
          type: int
    deleted_pods:
      description: StatefulSet pods of an abandoned revision that were not Ready and were deleted after an undo or rollback.
      type: list
      elements: str
    rolled_back:
      description: Whether an automatic rollback was made for this object.
      type: bool
    rollback:
      description: The automatic rollback.
      returned: when RV(rollouts[].rolled_back) is true
      type: dict
      contains:
        reason:
          description: Why the wait failed (as RV(rollouts[].wait.reason)).
          type: str
        message:
          description: The failure in words.
          type: str
        from_revision:
          description: The revision that failed.
          type: int
        to_revision:
          description: The revision put back, as numbered before the rollback.
          type: int
        revision:
          description: The object's revision after the rollback.
          type: int
        images:
          description: The images put back.
          type: dict
        complete:
          description: Whether the rollback's rollout completed.
          type: bool
        elapsed:
          description: Seconds the rollback's rollout took.
          type: float
rolled_back:
  description: Whether any object was rolled back automatically.
  returned: always
  type: bool
  sample: false
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_args import RANGES, argument_spec
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_runner import run_module


def main():
    module = RunbookModule(argument_spec=argument_spec(), supports_check_mode=True, ranges=RANGES,
                           mutually_exclusive=[("name", "label_selectors")],
                           required_one_of=[("name", "label_selectors")])
    module.run(lambda: run_module(module), "k8s_rollout")


if __name__ == "__main__":
    main()
