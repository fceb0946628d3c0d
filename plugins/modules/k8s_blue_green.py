#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_blue_green
short_description: Blue-green deployments of a Kubernetes application - deploy, smoke-test, switch, abort, clean up
version_added: 0.1.0
description:
  - The blue-green procedure of the operations runbooks (deploy green beside blue, wait until it is available, smoke-test
    it, switch the traffic, keep blue for a while, delete it later) as one idempotent module, with the ideas of Argo
    Rollouts' blue-green strategy (active and preview Services, pre-promotion checks, a scale-down delay, abort) and
    no CRD or controller in the cluster.
  - The application O(name) has two slots, O(slots) (V(blue) and V(green)), each a Deployment C(<name>-<slot>) whose
    selector and pods carry the label O(slot_label) (C(version=blue)). The I(active) slot is the one the Service
    O(service) selects (its selector has C(version=blue)) or, with O(ingress), the one whose own Service
    C(<service>-<slot>) the Ingress's backends name. The other slot is I(idle).
  - O(action=deploy) puts a release (the active slot's pod template with O(images)) into the idle slot, creating its
    Deployment from the active one when needed, points the preview Service at it and waits until it is available,
    failing fast on crash-looping or unpullable pods.
  - O(action=promote) deploys the same way when O(images) is given, runs O(smoke_tests) against the pods behind the
    preview Service, and only when all pass switches the traffic with one JSON patch of the Service's selector or of
    the Ingress's backends, guarded by a test of the slot it moves from. The previous slot stays scaled until
    O(scale_down_delay) has passed. A failed smoke test leaves the traffic where it was and the release running for
    inspection.
  - O(action=abort) discards a release that waits in the idle slot (scaled to 0), or, after a promotion, scales the
    previous slot back up if needed, switches the traffic back to it and scales the aborted release to 0.
  - O(action=cleanup) deletes the previous slot once its scale-down time has passed (or an aborted release at any
    time), or scales it to 0 with O(cleanup_mode=scale_down). Run it in a later run, such as the next day's.
  - Each slot's state is an annotation on its Deployment, C(sre.runbooks/blue-green-role) (V(preview), V(active),
    V(previous), V(aborted)), with C(sre.runbooks/scale-down-at) on a previous slot.
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
      - Nothing is created, patched or deleted, nothing is waited for and no smoke test is sent; the result has the same
        shape and shows the slots and the active slot as the action would leave them.
  diff_mode:
    support: full
    details:
      - Shows the active slot and each slot's images, replicas and role before and after.
  idempotent:
    support: full
    details:
      - A release that already serves, or already waits available in the idle slot, is not deployed again; a second
        O(action=promote) with the same O(images) finds the release active and changes nothing; O(action=abort) and
        O(action=cleanup) change nothing once done.
options:
  action:
    description:
      - What to do.
      - V(status) reports the slots and the pods that receive the traffic and changes nothing.
      - V(deploy) deploys O(images) into the idle slot and waits until it is available.
      - V(promote) deploys O(images) if given (else promotes the release that waits in the idle slot), runs the smoke
        tests and switches the traffic.
      - V(abort) discards the waiting release, or switches back to the previous slot after a promotion.
      - V(cleanup) deletes (or scales down) the previous slot once its keep time is over, and an aborted release.
    type: str
    required: true
    choices: [status, deploy, promote, abort, cleanup]
  name:
    description:
      - The application; its slots are the Deployments C(<name>-<slot>), such as C(anomaly-detection-api-blue).
    type: str
    required: true
  namespace:
    description:
      - Namespace of the Deployments, the Services and the Ingress.
    type: str
    required: true
  slots:
    description:
      - The names of the two slots.
    type: list
    elements: str
    default: [blue, green]
  slot_label:
    description:
      - The pod label that tells the slots apart. Each slot's Deployment must select its pods with
        C(<slot_label>=<slot>), so the two slots never share pods; the Service's selector names the active slot with it.
    type: str
    default: version
  service:
    description:
      - Without O(ingress), the Service whose selector switches the traffic (the ENT runbook's
        C(kubectl patch service ... selector version=green)). Defaults to O(name).
      - With O(ingress), the base name of the two slot Services C(<service>-<slot>) the Ingress's backends switch
        between. The idle slot's Service is created from the active one's when missing.
    type: str
  preview_service:
    description:
      - Without O(ingress), the Service that selects the idle slot, for smoke tests. Created (ports and selector copied
        from O(service), type ClusterIP) or pointed at the idle slot by O(action=deploy). Defaults to C(<service>-preview).
      - With O(ingress), the idle slot's own Service is the preview and this option is refused.
    type: str
  ingress:
    description:
      - Switch the traffic by the backends of this Ingress (the EXP runbook's C(switch traffic via ingress)) instead of
        the Service's selector. Every backend that names the active slot's Service is pointed at the idle slot's.
    type: str
  images:
    description:
      - For O(action=deploy) and O(action=promote), the release's images, a mapping of container name to image (V(*)
        stands for every container not named). The rest of the pod template is the active slot's.
      - A container name the pod template does not have fails the task, naming the containers it has.
    type: dict
  replicas:
    description:
      - For O(action=deploy) and O(action=promote), the release's replicas. Defaults to the active slot's.
    type: int
  smoke_tests:
    description:
      - For O(action=promote), HTTP checks the release must pass before the traffic switches. Each test with O(smoke_tests[].path)
        is sent to every Ready pod behind the preview Service, at the pod port the Service port targets (so the host
        that runs the module must reach pod IPs, as an execution environment inside the cluster does); a test with
        O(smoke_tests[].url) sends one request there (a preview Ingress host, a port-forward). Requests run concurrently.
      - Empty promotes without smoke tests.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the test in results and messages.
        type: str
        required: true
      path:
        description: Path (with query) to request from every pod behind the preview Service, starting with V(/).
        type: str
      url:
        description: URL to request instead of O(smoke_tests[].path).
        type: str
      port:
        description: With O(smoke_tests[].path), the preview Service's port (name or number) to use; defaults to its first.
        type: str
      method:
        description: HTTP method.
        type: str
        default: GET
        choices: [GET, HEAD]
      status:
        description: The HTTP statuses that pass.
        type: list
        elements: int
        default: [200]
      body_contains:
        description: Text the body must contain to pass.
        type: str
      headers:
        description: Request headers (their values are kept out of logs).
        type: dict
      timeout:
        description: Seconds to wait for each answer.
        type: float
        default: 10
  wait_timeout:
    description:
      - Seconds to wait until the release's Deployment is available (or the previous slot's, when an abort scales it
        back up).
    type: int
    default: 600
  fail_fast_reasons:
    description:
      - Stop waiting and fail at once when the controller reports one of these reasons or a pod of the release shows one.
      - An empty list waits until the Deployment is available or O(wait_timeout) passes.
    type: list
    elements: str
    default: [ProgressDeadlineExceeded, CrashLoopBackOff, ImagePullBackOff, ErrImagePull, CreateContainerConfigError, InvalidImageName]
  scale_down_delay:
    description:
      - For O(action=promote), how long the previous slot stays scaled for a quick switch back, such as V(30m), V(24h)
        (the ENT runbook deletes blue after 24 hours) or V(0). O(action=cleanup) removes it afterwards.
    type: str
    default: 24h
  cleanup_mode:
    description:
      - What O(action=cleanup) does with the previous slot or an aborted release. V(delete) deletes the Deployment;
        V(scale_down) scales it to 0 and keeps it.
    type: str
    default: delete
    choices: [delete, scale_down]
notes:
  - The Service's endpoints are the Ready pods its selector matches, so RV(traffic.serving_pods) lists those pods (as the
    endpoint controller publishes them) rather than reading EndpointSlices, which lag behind a switch.
  - An HorizontalPodAutoscaler of the active slot is not copied; the release starts with the active slot's replicas.
seealso:
  - module: sre.runbooks.k8s_rollout
    description: Rolling updates, undo and scale of one Deployment.
  - name: Argo Rollouts blue-green
    description: The controller-based strategy whose ideas this module follows.
    link: https://argo-rollouts.readthedocs.io/en/stable/features/bluegreen/
"""

EXAMPLES = r"""
---
- name: Deploy green beside blue, smoke-test it through the preview Service, switch the Service, keep blue 24 h
  sre.runbooks.k8s_blue_green:
    action: promote
    name: anomaly-detection-api
    namespace: production
    images:
      api: registry.example.com/anomaly-detection-api:2.4.0
    smoke_tests:
      - name: health
        path: /health
        body_contains: '"status":"ok"'
      - name: predict
        path: /api/v1/health/status
        port: http
    scale_down_delay: 24h
  register: release

- name: Deploy only (promote later, after a manual check)
  sre.runbooks.k8s_blue_green:
    action: deploy
    name: platform-v2-api
    namespace: platform
    images: {"*": registry.example.com/platform-v2-api:3.1.0}

- name: Switch the Ingress to the other slot's Service (platform-v2-api-blue / platform-v2-api-green)
  sre.runbooks.k8s_blue_green:
    action: promote
    name: platform-v2-api
    namespace: platform
    ingress: platform-v2-api
    smoke_tests:
      - name: preview host
        url: https://preview.platform.example.com/health

- name: Something is wrong after the switch - go back to blue
  sre.runbooks.k8s_blue_green:
    action: abort
    name: anomaly-detection-api
    namespace: production

- name: The next day - delete blue once its keep time is over
  sre.runbooks.k8s_blue_green:
    action: cleanup
    name: anomaly-detection-api
    namespace: production
"""

RETURN = r"""
action:
  description: The action taken.
  returned: always
  type: str
  sample: promote
active_slot:
  description: The slot that receives the traffic at the end (in check mode, would).
  returned: always
  type: str
  sample: green
active_slot_before:
  description: The slot that received the traffic when the task started.
  returned: always
  type: str
  sample: blue
idle_slot:
  description: The other slot at the end.
  returned: always
  type: str
  sample: blue
switched:
  description: Whether the traffic was switched (in check mode, would be).
  returned: always
  type: bool
release:
  description:
    - For O(action=deploy) and O(action=promote), the release and where it is; null for the other actions and when
      O(action=promote) found nothing to promote.
  returned: always
  type: dict
  contains:
    slot:
      description: The slot that holds the release.
      type: str
      sample: green
    decision:
      description:
        - V(live) (the active slot already runs it, nothing done), V(ready) (the idle slot already held it), V(create)
          (the idle slot's Deployment was created) or V(update) (the idle slot was given the release).
      type: str
      sample: create
    images:
      description: The release's images (C(container -> image)).
      type: dict
      sample: {api: "registry.example.com/anomaly-detection-api:2.4.0"}
slots:
  description: Each slot at the end, by slot name.
  returned: always
  type: dict
  contains:
    deployment:
      description: Name of the slot's Deployment.
      type: str
      sample: anomaly-detection-api-green
    exists:
      description: Whether the Deployment exists.
      type: bool
    role:
      description: V(active), V(preview), V(previous), V(aborted), or null for a Deployment blue-green never touched.
      type: str
      sample: active
    images:
      description: Container images of its pod template.
      type: dict
    replicas:
      description: Its desired replicas.
      type: int
      sample: 3
    available:
      description: Its available replicas as last read.
      type: int
      sample: 3
    scale_down_at:
      description: When a previous slot's keep time ends (RFC 3339), else null.
      type: str
      sample: "2026-05-02T09:30:00Z"
traffic:
  description: What sends the traffic, and where it goes.
  returned: always
  type: dict
  contains:
    kind:
      description: V(Service) or V(Ingress).
      type: str
    name:
      description: Name of the Service or Ingress that switches.
      type: str
    service:
      description: The Service that carries the traffic at the end (with an Ingress, the active slot's Service).
      type: str
    preview_service:
      description: The Service that selects the idle slot.
      type: str
    serving_pods:
      description:
        - The Ready pods the traffic Service sends requests to at the end, each with C(name), C(ip) and C(slot).
        - Empty in check mode when the action would change something.
      type: list
      elements: dict
smoke_tests:
  description: One entry per request sent, with C(name), C(target) (the pod or URL), C(url), C(status), C(passed),
    C(message) and C(elapsed) (seconds).
  returned: always
  type: list
  elements: dict
smoke_passed:
  description: Whether every smoke test passed; null when none ran.
  returned: always
  type: bool
wait:
  description: How the wait for the release (or the previous slot) ended, with C(waited), C(outcome) (V(complete),
    V(failed), V(timeout), V(skipped)), C(reason), C(message), C(elapsed) and C(failing_pods).
  returned: always
  type: dict
kept_until:
  description: When the previous slot's keep time ends (after O(action=promote), or while O(action=cleanup) keeps it).
  returned: always
  type: str
  sample: "2026-05-02T09:30:00Z"
message:
  description: What the task did, in a sentence or two.
  returned: always
  type: str
  sample: >-
    Created Deployment production/api-green with api:2.4.0; created the preview Service production/api-preview;
    6 smoke test requests passed; switched Service production/api from slot blue to slot green;
    kept slot blue scaled until 2026-05-02T09:30:00Z.
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.blue_green_args import RANGES, argument_spec
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.blue_green_runner import run_module


def main():
    module = RunbookModule(argument_spec=argument_spec(), supports_check_mode=True, ranges=RANGES)
    module.run(lambda: run_module(module), "k8s_blue_green")


if __name__ == "__main__":
    main()
