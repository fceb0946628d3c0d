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

import copy
import datetime

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import pods as k8s_pods
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import rollout_plan as ro
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import K8S_COMMON_ARGS, KubeError, connect, object_ref
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.wait import RolloutWaiter, owned_revisions

ACTIONS = ["status", "set_image", "restart", "undo", "history", "scale", "pause", "resume", "hpa"]
# Options that only make sense for some actions: giving them to another is a mistake worth reporting.
ACTION_OPTIONS = {
    "images": ("set_image",),
    "to_revision": ("undo",),
    "replicas": ("scale",),
    "current_replicas": ("scale",),
    "hpa_name": ("hpa",),
    "min_replicas": ("hpa",),
    "max_replicas": ("hpa",),
    "change_cause": ("set_image", "restart", "undo"),
}
ROLLBACK_ACTIONS = ("status", "set_image", "restart")
NO_WAIT_ACTIONS = ("history", "pause")


def argument_spec():
    spec = copy.deepcopy(K8S_COMMON_ARGS)
    spec.update(
        action={"type": "str", "required": True, "choices": ACTIONS},
        kind={"type": "str", "default": "Deployment", "choices": list(ro.KINDS)},
        name={"type": "str"},
        label_selectors={"type": "list", "elements": "str"},
        namespace={"type": "str", "required": True},
        images={"type": "dict"},
        to_revision={"type": "int"},
        replicas={"type": "int"},
        current_replicas={"type": "int"},
        hpa_name={"type": "str"},
        min_replicas={"type": "int"},
        max_replicas={"type": "int"},
        change_cause={"type": "str"},
        wait={"type": "bool", "default": True},
        wait_timeout={"type": "int", "default": 600},
        fail_fast_reasons={"type": "list", "elements": "str", "default": list(k8s_pods.DEFAULT_FAIL_FAST_REASONS)},
        auto_rollback={"type": "bool", "default": False},
        fail_on_rollback={"type": "bool", "default": True},
    )
    return spec


class OptionError(Exception):
    """Options that do not fit together; one sentence."""


class TaskFailed(Exception):
    """The task fails with this sentence after the per-object results gathered so far."""


def check_options(params):
    action = params["action"]
    for option, actions in ACTION_OPTIONS.items():
        if params.get(option) is not None and action not in actions:
            raise OptionError(f"{option} is used only with action={' or action='.join(actions)}, not action={action}.")
    if action == "set_image" and not params.get("images"):
        raise OptionError("action=set_image needs images (container name: image).")
    if action == "scale" and params.get("replicas") is None:
        raise OptionError("action=scale needs replicas.")
    if action == "hpa" and params.get("min_replicas") is None and params.get("max_replicas") is None:
        raise OptionError("action=hpa needs min_replicas, max_replicas or both.")
    if action in ("pause", "resume") and params["kind"] != "Deployment":
        raise OptionError(f"Only Deployments can be paused and resumed, not a {params['kind']} "
                          "(kubectl rollout pause has the same limit).")
    if params.get("to_revision") is not None and params["to_revision"] < 0:
        raise OptionError(f"to_revision must be a revision number (or 0 for the previous one), not {params['to_revision']}.")
    if params["wait_timeout"] < 0:
        raise OptionError(f"wait_timeout must be 0 or more seconds, not {params['wait_timeout']}.")
    for name, image in (params.get("images") or {}).items():
        if image is None or not str(image).strip():
            raise OptionError(f"images: the image for container {name!r} is empty.")


def _now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _with_images(obj, changes):
    """A copy of ``obj`` whose pod template has the changed images (what the patch will produce)."""
    result = copy.deepcopy(obj)
    spec = ro.pod_template(result).get("spec") or {}
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            if container.get("name") in changes:
                container["image"] = changes[container["name"]]["after"]
    return result


class Rollout:
    """Runs the action on each selected object and gathers the per-object results."""

    def __init__(self, module, api):
        self.module = module
        self.api = api
        self.params = module.params
        self.kind = self.params["kind"]
        self.namespace = self.params["namespace"]
        self.action = self.params["action"]
        self.check_mode = module.check_mode
        self.entries = []
        self.diffs = []
        self.warnings = []
        self._ref = None
        self._entry = None
        self._obj_before = None

    # -------------------------------------------------------------------------- selection

    def targets(self):
        if self.params.get("name"):
            obj = self.api.find(self.kind, self.namespace, self.params["name"])
            if obj is None:
                raise TaskFailed(f"{object_ref(self.kind, self.namespace, self.params['name'])} does not exist.")
            return [obj]
        selector = ",".join(self.params["label_selectors"])
        items = self.api.list(self.kind, self.namespace, label_selector=selector)["items"]
        if not items:
            raise TaskFailed(f"No {self.kind} in namespace {self.namespace} matches {selector}.")
        return sorted(items, key=lambda item: item["metadata"]["name"])

    def run(self):
        for obj in self.targets():
            self.handle(obj)
        return self.result()

    def result(self):
        result = {"changed": any(entry["changed"] for entry in self.entries), "rollouts": self.entries,
                  "rolled_back": any(entry["rolled_back"] for entry in self.entries)}
        if self.module._diff and self.diffs:
            result["diff"] = self.diffs if len(self.diffs) > 1 else self.diffs[0]
        return result

    # -------------------------------------------------------------------------- per object

    def handle(self, obj):
        ref = ro.object_ref(self.kind, obj)
        try:
            self._handle(ref, obj)
        except ro.RolloutError as exc:
            raise TaskFailed(str(exc)) from None
        except KubeError as exc:
            raise TaskFailed(f"{ref}: {exc}" if exc.status else str(exc)) from None

    def _handle(self, ref, obj):
        revs = owned_revisions(self.api, self.kind, obj)
        revision = ro.current_revision(self.kind, obj, revs)
        if revision is None:
            revision = ro.pointer_revision(self.kind, obj, revs)
        entry = {
            "kind": self.kind, "name": obj["metadata"]["name"], "namespace": self.namespace, "action": self.action,
            "changed": False, "revision": revision, "revision_before": revision,
            "images": ro.images(ro.pod_template(obj)), "images_before": ro.images(ro.pod_template(obj)),
            "replicas": {}, "status": {}, "wait": {"waited": False, "outcome": "skipped", "reason": None,
                                                   "message": "", "elapsed": 0.0},
            "failing_pods": [], "unhealthy_pods": [], "deleted_pods": [], "rolled_back": False,
        }
        self.entries.append(entry)
        self._ref, self._entry, self._obj_before = ref, entry, obj
        getattr(self, "do_" + self.action)(obj, revs)

    def _set_status(self, obj):
        status = ro.rollout_status(self.kind, obj)
        self._entry["replicas"] = status.pop("replicas")
        self._entry["status"] = status
        self._entry["images"] = ro.images(ro.pod_template(obj))

    def _snapshot_pods(self, obj):
        selector = ro.label_selector((obj.get("spec") or {}).get("selector"))
        pods = self.api.list("Pod", self.namespace, label_selector=selector)["items"]
        self._entry["unhealthy_pods"] = [k8s_pods.public_row(row) for row in k8s_pods.unhealthy(pods)]

    def _record_diff(self, before, after):
        if before != after:
            self.diffs.append(ro.diff_entry(self._ref, before, after))

    def _final_revision(self, obj):
        if self.kind == "Deployment" and ro.rollout_status(self.kind, obj)["observed"]:
            # The controller writes the revision annotation before it reports the spec observed:
            # no need to list ReplicaSets (one round trip less between completion and return).
            revision = ro.pointer_revision(self.kind, obj, [])
            if revision is not None:
                return revision
        revs = owned_revisions(self.api, self.kind, obj)
        revision = ro.current_revision(self.kind, obj, revs)
        return revision if revision is not None else ro.pointer_revision(self.kind, obj, revs)

    def _patch(self, body, patch_type):
        metadata = self._obj_before["metadata"]
        return self.api.patch(self.kind, self.namespace, metadata["name"], body, patch_type=patch_type)

    # -------------------------------------------------------------------------- waiting

    def _wait(self, accept=None):
        waiter = RolloutWaiter(self.api, self.kind, self.namespace, self._entry["name"],
                               self.params["fail_fast_reasons"], accept=accept)
        return waiter.wait(self.params["wait_timeout"])

    def _record_wait(self, outcome):
        self._entry["wait"] = {"waited": True, "outcome": outcome["outcome"], "reason": outcome["reason"],
                               "message": outcome["message"], "elapsed": outcome["elapsed"]}
        self._entry["failing_pods"] = outcome["failing_pods"]
        self._entry["unhealthy_pods"] = outcome["unhealthy_pods"]
        self._set_status(outcome["workload"])

    def _wait_and_judge(self, template_changed, accept=None):
        """Wait, record, and on failure roll back (if asked) and raise TaskFailed."""
        outcome = self._wait(accept)
        self._record_wait(outcome)
        obj = outcome["workload"]
        self._entry["revision"] = self._final_revision(obj)
        if outcome["outcome"] == "complete":
            return
        if outcome["outcome"] == "paused" and self.action != "status":
            self.warnings.append(f"{self._ref} is paused: the change is recorded and rolls out when it is resumed.")
            return
        failure = self._failure_sentence(outcome)
        if (self.params["auto_rollback"] and self.action in ROLLBACK_ACTIONS and not self.check_mode
                and outcome["outcome"] in ("failed", "timeout")):
            self._auto_rollback(outcome, failure, template_changed)
            return
        if self.params["auto_rollback"] and self.check_mode and self.action in ROLLBACK_ACTIONS:
            failure = failure.rstrip(".") + " (check mode: not rolled back)."
        raise TaskFailed(failure)

    def _failure_sentence(self, outcome):
        ref, kind_word = self._ref, outcome["outcome"]
        pods = outcome["failing_pods"] or outcome["unhealthy_pods"]
        detail = k8s_pods.summarize(pods) if pods else ""
        if kind_word == "failed" and outcome["reason"] == ro.PROGRESS_DEADLINE:
            text = f"{ref} rollout failed: it {outcome['message']}"
            return text + (f"; {detail}." if detail else ".")
        if kind_word == "failed":
            return f"{ref} rollout failed: {outcome['message']}."
        if kind_word == "timeout":
            text = f"{ref} did not finish rolling out within {self.params['wait_timeout']}s: {outcome['message']}"
            if detail:
                text += f"; {detail}"
            if outcome.get("api_error"):
                text += f"; last API error: {outcome['api_error'].rstrip('.')}"
            return text + "."
        if kind_word == "paused":
            return f"{ref} is paused, so its rollout cannot finish; resume it (action=resume) first."
        return f"{ref} was deleted while waiting for its rollout."

    # -------------------------------------------------------------------------- rollback

    def _auto_rollback(self, outcome, failure, template_changed):
        entry = self._entry
        current = self.api.get(self.kind, self.namespace, entry["name"])
        revs = owned_revisions(self.api, self.kind, current)
        from_revision = ro.current_revision(self.kind, current, revs)
        if template_changed:
            before = self._obj_before
            template = ro.normalize_template(ro.pod_template(before))
            match = [rev for rev in revs if ro.templates_equal(rev["template"], template)]
            target = {"template": template, "change_cause": (before["metadata"].get("annotations") or {}).get(ro.CHANGE_CAUSE),
                      "revision": match[-1]["revision"] if match else entry["revision_before"],
                      "images": ro.images(template), "name": match[-1]["name"] if match else None}
        else:
            try:
                target = ro.choose_undo_target(self.kind, current, revs)
            except ro.RolloutError as exc:
                raise TaskFailed(f"{failure.rstrip('.')}; no automatic rollback: {exc}") from None
        self.api.patch(self.kind, self.namespace, entry["name"], ro.undo_patch(current, target), patch_type="json")
        entry["changed"] = True
        entry["rolled_back"] = True
        entry["deleted_pods"] += self._unstick_statefulset()
        first_wait = dict(entry["wait"])
        second = self._wait()
        self._record_wait(second)
        entry["wait"] = first_wait  # the task's own wait failed; the rollback's wait is reported under rollback
        entry["failing_pods"] = outcome["failing_pods"]
        entry["revision"] = self._final_revision(second["workload"])
        entry["rollback"] = {
            "reason": outcome["reason"], "message": outcome["message"], "from_revision": from_revision,
            "to_revision": target.get("revision"), "revision": entry["revision"], "images": target["images"],
            "complete": second["outcome"] == "complete", "elapsed": second["elapsed"],
        }
        target_words = f"revision {target.get('revision')}" if target.get("revision") else "the previous pod template"
        images = ", ".join(f"{name}={image}" for name, image in target["images"].items())
        if second["outcome"] != "complete":
            raise TaskFailed(f"{failure.rstrip('.')}; rolled back to {target_words} ({images}), but that did not "
                             f"complete either: {self._failure_sentence(second)}")
        sentence = f"{failure.rstrip('.')}; rolled back to {target_words} ({images}), which completed."
        if self.params["fail_on_rollback"]:
            raise TaskFailed(sentence)
        self.warnings.append(sentence)

    def _unstick_statefulset(self):
        """Delete not-Ready pods of other revisions so an OrderedReady StatefulSet can roll back (k8s #67250)."""
        if self.kind != "StatefulSet" or self.check_mode:
            return []
        obj = self._await_observed()
        if not ro.rollout_status(self.kind, obj)["observed"]:
            return []  # updateRevision may still name the abandoned revision: deleting now could hit the wrong pods
        spec = obj.get("spec") or {}
        if spec.get("podManagementPolicy") == "Parallel" or (spec.get("updateStrategy") or {}).get("type") == "OnDelete":
            return []
        update_revision = (obj.get("status") or {}).get("updateRevision")
        if not update_revision:
            return []
        selector = ro.label_selector(spec.get("selector"))
        deleted = []
        for pod in self.api.list("Pod", self.namespace, label_selector=selector)["items"]:
            row = k8s_pods.diagnose(pod)
            if row["labels"].get(ro.REVISION_HASH) == update_revision or row["ready"]:
                continue
            try:
                self.api.delete("Pod", self.namespace, row["name"], uid=pod["metadata"].get("uid"))
            except KubeError as exc:
                if not exc.not_found:
                    raise
            deleted.append(row["name"])
        return deleted

    def _await_observed(self):
        """The StatefulSet once its controller has seen the latest spec (so updateRevision is the new one)."""
        name = self._entry["name"]
        deadline = min(30, max(1, self.params["wait_timeout"]))
        obj = self.api.get(self.kind, self.namespace, name)
        if ro.rollout_status(self.kind, obj)["observed"]:
            return obj
        for event in self.api.watch(self.kind, self.namespace, resource_version=obj["metadata"]["resourceVersion"],
                                    field_selector=f"metadata.name={name}", timeout_seconds=deadline):
            if event.get("type") == "MODIFIED":
                obj = event["object"]
                if ro.rollout_status(self.kind, obj)["observed"]:
                    break
        return obj

    # -------------------------------------------------------------------------- actions

    def do_status(self, obj, revs):
        if not self.params["wait"]:
            self._set_status(obj)
            self._snapshot_pods(obj)
            return
        self._wait_and_judge(template_changed=False)

    def do_history(self, obj, revs):
        current = ro.current_revision(self.kind, obj, revs)
        if current is None:
            current = ro.pointer_revision(self.kind, obj, revs)
        self._entry["history"] = ro.history(revs, current)
        self._set_status(obj)

    def _change_template(self, obj, body, patch_type, after_preview):
        """Patch (unless check mode), diff, then wait and judge."""
        self._entry["changed"] = True
        self._record_diff(ro.summary(self.kind, obj), ro.summary(self.kind, after_preview))
        if self.check_mode:
            self._set_status(after_preview)
            return
        patched = self._patch(body, patch_type)
        self._set_status(patched)
        if self.params["wait"]:
            self._wait_and_judge(template_changed=True)
        else:
            self._entry["revision"] = None

    def do_set_image(self, obj, revs):
        changes = ro.plan_images(self.kind, obj, self.params["images"])
        if not changes:
            self._set_status(obj)
            if self.params["wait"] and not self.check_mode:
                self._wait_and_judge(template_changed=False)
            return
        self._change_template(obj, ro.image_patch(obj, changes, self.params.get("change_cause")), "strategic",
                              _with_images(obj, changes))

    def do_restart(self, obj, revs):
        if (obj.get("spec") or {}).get("paused"):
            raise TaskFailed(f"{self._ref} is paused; resume it (action=resume) before restarting it.")
        now = _now_rfc3339()
        preview = copy.deepcopy(obj)
        template_meta = preview["spec"]["template"].setdefault("metadata", {})
        template_meta.setdefault("annotations", {})[ro.RESTARTED_AT] = now
        self._change_template(obj, ro.restart_patch(now, self.params.get("change_cause")), "strategic", preview)
        if (obj.get("spec") or {}).get("updateStrategy", {}).get("type") == "OnDelete":
            self.warnings.append(f"{self._ref} uses updateStrategy OnDelete: pods restart only when they are deleted.")

    def do_undo(self, obj, revs):
        if (obj.get("spec") or {}).get("paused"):
            raise TaskFailed(f"{self._ref} is paused; resume it (action=resume) before undoing a rollout.")
        target = ro.choose_undo_target(self.kind, obj, revs, self.params.get("to_revision"))
        self._entry["to_revision"] = target["revision"]
        if ro.templates_equal(target["template"], ro.pod_template(obj)):
            self._set_status(obj)
            self.warnings.append(f"{self._ref} already runs the pod template of revision {target['revision']}; nothing to undo.")
            return
        preview = copy.deepcopy(obj)
        preview["spec"]["template"] = copy.deepcopy(target["template"])
        body = ro.undo_patch(obj, target, self.params.get("change_cause"))
        self._entry["changed"] = True
        before = ro.summary(self.kind, obj, self._entry["revision_before"])
        after = ro.summary(self.kind, preview, target["revision"])
        self._record_diff(before, after)
        if self.check_mode:
            self._set_status(preview)
            return
        patched = self._patch(body, "json")
        self._set_status(patched)
        self._entry["deleted_pods"] += self._unstick_statefulset()
        if self.params["wait"]:
            self._wait_and_judge(template_changed=True)
        else:
            self._entry["revision"] = self._final_revision(patched)

    def do_scale(self, obj, revs):
        plan = ro.plan_scale(self.kind, obj, self.params["replicas"], self.params.get("current_replicas"))
        self._entry["scale"] = {"before": plan["before"], "after": plan["after"]}
        self._warn_if_autoscaled(obj)
        if not plan["changed"]:
            self._set_status(obj)
            if self.params["wait"] and not self.check_mode:
                self._wait_and_judge(template_changed=False)
            return
        self._entry["changed"] = True
        preview = copy.deepcopy(obj)
        preview["spec"]["replicas"] = plan["after"]
        self._record_diff(ro.summary(self.kind, obj), ro.summary(self.kind, preview))
        if self.check_mode:
            self._set_status(preview)
            return
        try:
            patched = self._patch(ro.scale_patch(plan, precondition=self.params.get("current_replicas") is not None), "json")
        except KubeError as exc:
            if exc.status == 422 and self.params.get("current_replicas") is not None:
                raise TaskFailed(f"{self._ref} no longer has {plan['before']} replicas (current_replicas="
                                 f"{self.params['current_replicas']}): it changed while the task ran; nothing was changed.") from None
            raise
        self._set_status(patched)
        if self.params["wait"]:
            self._wait_and_judge(template_changed=False)

    def _warn_if_autoscaled(self, obj):
        try:
            hpas = self.api.list("HorizontalPodAutoscaler", self.namespace)["items"]
        except KubeError:
            return
        for hpa in hpas:
            if ro.hpa_targets(hpa, self.kind, obj["metadata"]["name"]):
                spec = hpa.get("spec") or {}
                self.warnings.append(
                    f"HorizontalPodAutoscaler {self.namespace}/{hpa['metadata']['name']} manages {self._ref} "
                    f"(min {spec.get('minReplicas') or 1}, max {spec.get('maxReplicas')}) and will override its replicas; "
                    "use action=hpa to move its bounds instead.")

    def _set_paused(self, obj, paused):
        current = bool((obj.get("spec") or {}).get("paused"))
        if current == paused:
            self._set_status(obj)
            return False
        self._entry["changed"] = True
        preview = copy.deepcopy(obj)
        preview["spec"]["paused"] = paused
        self._record_diff(ro.summary(self.kind, obj), ro.summary(self.kind, preview))
        if self.check_mode:
            self._set_status(preview)
            return True
        self._set_status(self._patch({"spec": {"paused": paused}}, "merge"))
        return True

    def do_pause(self, obj, revs):
        self._set_paused(obj, True)

    def do_resume(self, obj, revs):
        self._set_paused(obj, False)
        if self.params["wait"] and not self.check_mode:
            self._wait_and_judge(template_changed=False)

    def _find_hpa(self, obj):
        name = obj["metadata"]["name"]
        if self.params.get("hpa_name"):
            hpa = self.api.find("HorizontalPodAutoscaler", self.namespace, self.params["hpa_name"])
            if hpa is None:
                raise TaskFailed(f"HorizontalPodAutoscaler {self.namespace}/{self.params['hpa_name']} does not exist.")
            if not ro.hpa_targets(hpa, self.kind, name):
                target = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
                raise TaskFailed(f"HorizontalPodAutoscaler {self.namespace}/{self.params['hpa_name']} scales "
                                 f"{target.get('kind')} {target.get('name')}, not {self._ref}.")
            return hpa
        matches = [hpa for hpa in self.api.list("HorizontalPodAutoscaler", self.namespace)["items"]
                   if ro.hpa_targets(hpa, self.kind, name)]
        if not matches:
            raise TaskFailed(f"No HorizontalPodAutoscaler in namespace {self.namespace} scales {self._ref}.")
        if len(matches) > 1:
            names = ", ".join(sorted(hpa["metadata"]["name"] for hpa in matches))
            raise TaskFailed(f"Several HorizontalPodAutoscalers scale {self._ref} ({names}); set hpa_name.")
        return matches[0]

    def do_hpa(self, obj, revs):
        hpa = self._find_hpa(obj)
        plan = ro.plan_hpa(hpa, self.params.get("min_replicas"), self.params.get("max_replicas"))
        self._entry["hpa"] = {key: plan[key] for key in ("name", "before", "after", "current_replicas",
                                                         "desired_replicas", "expected_replicas")}
        self._set_status(obj)
        if plan["changed"]:
            self._entry["changed"] = True
            header = f"HorizontalPodAutoscaler {self.namespace}/{plan['name']}"
            self.diffs.append(ro.diff_entry(header, plan["before"], plan["after"]))
            if not self.check_mode:
                self.api.patch("HorizontalPodAutoscaler", self.namespace, plan["name"], ro.hpa_patch(plan), patch_type="merge")
        if self.params["wait"] and not self.check_mode:
            low, high = plan["after"]["min_replicas"], plan["after"]["max_replicas"]

            def within_bounds(workload):
                replicas = ((workload.get("spec") or {}).get("replicas"))
                replicas = 1 if replicas is None else replicas
                if low <= replicas <= high:
                    return True, ""
                return False, f"waiting for the autoscaler to bring {replicas} replicas within {low}..{high}"

            self._wait_and_judge(template_changed=False, accept=within_bounds)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           mutually_exclusive=[("name", "label_selectors")],
                           required_one_of=[("name", "label_selectors")])
    try:
        check_options(module.params)
    except OptionError as exc:
        module.fail_json(msg=str(exc))
    rollout = Rollout(module, connect(module))
    failure = None
    try:
        result = rollout.run()
    except (TaskFailed, KubeError, ro.RolloutError) as exc:  # expected failures: one sentence, results so far
        failure = str(exc)
        result = rollout.result()
    for warning in rollout.warnings:
        module.warn(warning)
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
