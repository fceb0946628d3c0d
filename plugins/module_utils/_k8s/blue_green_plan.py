# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Blue-green decisions as pure functions (no I/O): k8s_blue_green's runner reads, these decide.

The model is Argo Rollouts' blue-green strategy without its CRD or controller. An application
``web`` has two slots, each a Deployment (``web-blue``, ``web-green``) whose selector and pods carry
the slot label (``version: blue``). Traffic goes to the *active* slot: the one the Service's selector
names (``version: blue``), or, when an Ingress switches traffic, the one whose Service
(``web-blue``) its backends name. A release is deployed into the other, *idle* slot, checked through
a preview Service, and promoted by switching the selector or the backends. The previous slot stays
scaled until its scale-down time, and a later cleanup removes it. The state of each slot is an
annotation on its Deployment: ``preview`` (deployed, not promoted), ``active``, ``previous`` (kept for
a quick switch back) or ``aborted``.
"""

from __future__ import annotations

import copy
import datetime

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import rollout_plan as ro

ROLE = "sre.runbooks/blue-green-role"
SCALE_DOWN_AT = "sre.runbooks/scale-down-at"
ROLES = ("active", "preview", "previous", "aborted")

# What deploy finds: the release already serves (LIVE), the idle slot already holds it (READY), or
# the idle slot must be created (CREATE) or given the release (UPDATE).
LIVE, READY, CREATE, UPDATE = "live", "ready", "create", "update"
# What cleanup does with the idle slot.
REMOVE, KEEP, LEAVE = "remove", "keep", "leave"

# Deployment spec fields a release copies from the active slot (the pod template and replicas are set apart).
_COPIED_SPEC = ("minReadySeconds", "progressDeadlineSeconds", "revisionHistoryLimit", "strategy")


class BlueGreenError(Exception):
    """A state blue-green cannot work from; ``str()`` is one sentence naming the object and the cause."""


def _ref(kind, namespace, name):
    return f"{kind} {namespace}/{name}"


def _meta(obj):
    return (obj or {}).get("metadata") or {}


def selector_text(selector):
    """A Service selector (a plain map) as ``key=value,...``."""
    return ",".join(f"{key}={value}" for key, value in sorted((selector or {}).items()))


def deployment_name(name, slot):
    return f"{name}-{slot}"


def other_slot(slots, slot):
    return slots[1] if slot == slots[0] else slots[0]


def role(deployment):
    """The slot's state annotation (``active``, ``preview``, ``previous``, ``aborted``), or None."""
    return (_meta(deployment).get("annotations") or {}).get(ROLE)


# ------------------------------------------------------------------------------ where traffic goes

def active_slot_of_service(service, slot_label, slots):
    """The slot the Service's selector names; BlueGreenError when it names none of ``slots``."""
    meta = _meta(service)
    selector = (service.get("spec") or {}).get("selector") or {}
    ref = _ref("Service", meta.get("namespace"), meta.get("name"))
    value = selector.get(slot_label)
    if value is None:
        shown = selector_text(selector) or "none"
        raise BlueGreenError(f"{ref} does not choose a slot: its selector ({shown}) has no {slot_label} label "
                             f"(expected {slot_label}={slots[0]} or {slot_label}={slots[1]}).")
    if value not in slots:
        raise BlueGreenError(f"{ref} selects {slot_label}={value}, which is neither slot ({slots[0]} or {slots[1]}).")
    return value


def ingress_backends(ingress):
    """Every Service backend of the Ingress as ``(JSON pointer of its name, Service name)``, in document order."""
    spec = ingress.get("spec") or {}
    found = []
    default = ((spec.get("defaultBackend") or {}).get("service") or {}).get("name")
    if default:
        found.append(("/spec/defaultBackend/service/name", default))
    for i, rule in enumerate(spec.get("rules") or []):
        for j, path in enumerate(((rule or {}).get("http") or {}).get("paths") or []):
            name = (((path or {}).get("backend") or {}).get("service") or {}).get("name")
            if name:
                found.append((f"/spec/rules/{i}/http/paths/{j}/backend/service/name", name))
    return found


def active_slot_of_ingress(ingress, service, slots):
    """The slot whose Service (``<service>-<slot>``) the Ingress's backends name; BlueGreenError otherwise."""
    meta = _meta(ingress)
    ref = _ref("Ingress", meta.get("namespace"), meta.get("name"))
    by_service = {deployment_name(service, slot): slot for slot in slots}
    backends = ingress_backends(ingress)
    named = sorted({by_service[name] for _pointer, name in backends if name in by_service})
    if not named:
        shown = ", ".join(sorted({name for _pointer, name in backends})) or "none"
        raise BlueGreenError(f"{ref} has no backend naming Service {deployment_name(service, slots[0])} or "
                             f"{deployment_name(service, slots[1])} (its backends: {shown}).")
    if len(named) > 1:
        raise BlueGreenError(f"{ref} sends traffic to both {deployment_name(service, slots[0])} and "
                             f"{deployment_name(service, slots[1])}; point its backends at one of them first.")
    return named[0]


def _pointer(key):
    return key.replace("~", "~0").replace("/", "~1")


def service_switch_ops(slot_label, from_slot, to_slot):
    """JSON patch that moves the Service's selector from one slot to the other, only if it still names ``from_slot``."""
    path = "/spec/selector/" + _pointer(slot_label)
    return [{"op": "test", "path": path, "value": from_slot}, {"op": "replace", "path": path, "value": to_slot}]


def ingress_switch_ops(ingress, from_service, to_service):
    """JSON patch that points every backend naming ``from_service`` at ``to_service`` (each guarded by a test)."""
    ops = []
    for pointer, name in ingress_backends(ingress):
        if name == from_service:
            ops += [{"op": "test", "path": pointer, "value": from_service},
                    {"op": "replace", "path": pointer, "value": to_service}]
    return ops


# ------------------------------------------------------------------------------ pods behind a Service

def selects(selector, labels):
    """Whether a Service selector (a plain map) selects pods with ``labels``; an empty selector selects none."""
    return bool(selector) and all((labels or {}).get(key) == value for key, value in selector.items())


def pod_ready(pod):
    """Ready and not being deleted: what the endpoint controller publishes as a ready endpoint."""
    if _meta(pod).get("deletionTimestamp"):
        return False
    status = pod.get("status") or {}
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    return ready and bool(status.get("podIP"))


def serving_pods(selector, pods, slot_label):
    """The Ready pods a Service with ``selector`` sends traffic to: name, IP and slot, by name."""
    rows = [{"name": _meta(pod).get("name"), "ip": (pod.get("status") or {}).get("podIP"),
             "slot": (_meta(pod).get("labels") or {}).get(slot_label)}
            for pod in pods if selects(selector, _meta(pod).get("labels")) and pod_ready(pod)]
    return sorted(rows, key=lambda row: row["name"] or "")


def target_port(service, pod, port=None):
    """The pod port a request to the Service's port ``port`` (name or number; default its first) reaches.

    A named targetPort is looked up among the pod's container ports, as kube-proxy does. Raises
    BlueGreenError naming the Service when the port does not exist.
    """
    meta = _meta(service)
    ref = _ref("Service", meta.get("namespace"), meta.get("name"))
    ports = (service.get("spec") or {}).get("ports") or []
    if not ports:
        raise BlueGreenError(f"{ref} has no ports to send smoke tests to.")
    chosen = ports[0]
    if port is not None:
        matches = [p for p in ports if str(port) in (str(p.get("name")), str(p.get("port")))]
        if not matches:
            shown = ", ".join(str(p.get("name") or p.get("port")) for p in ports)
            raise BlueGreenError(f"{ref} has no port {port} (its ports: {shown}).")
        chosen = matches[0]
    target = chosen.get("targetPort", chosen.get("port"))
    if isinstance(target, int) or str(target).isdigit():
        return int(target)
    for container in ((pod.get("spec") or {}).get("containers") or []):
        for container_port in container.get("ports") or []:
            if container_port.get("name") == target:
                return int(container_port["containerPort"])
    raise BlueGreenError(f"{ref} targets port {target!r}, which pod {_meta(pod).get('name')} does not name.")


def judge_smoke(status, body, expected_status, body_contains=None):
    """(passed, message) for one smoke-test answer."""
    if status not in expected_status:
        wanted = " or ".join(str(code) for code in expected_status)
        return False, f"HTTP {status}, expected {wanted}"
    if body_contains and body_contains not in (body or ""):
        return False, f"HTTP {status} without {body_contains!r} in the body"
    return True, f"HTTP {status}"


# ------------------------------------------------------------------------------ the release

def check_slot_deployment(deployment, slot_label, slot):
    """BlueGreenError unless the Deployment's selector pins ``slot_label=slot`` (so slots never share pods)."""
    meta = _meta(deployment)
    match = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    if match.get(slot_label) != slot:
        shown = ro.label_selector((deployment.get("spec") or {}).get("selector")) or "none"
        raise BlueGreenError(f"{_ref('Deployment', meta.get('namespace'), meta.get('name'))} must select its pods with "
                             f"{slot_label}={slot} so the two slots never share pods (its selector: {shown}).")


def _slotless(template, slot_label):
    result = ro.normalize_template(template)
    (result.get("metadata") or {}).get("labels", {}).pop(slot_label, None)
    return result


def same_release(first_template, second_template, slot_label):
    """Whether two pod templates are the same release, the slot label apart."""
    return _slotless(first_template, slot_label) == _slotless(second_template, slot_label)


def release_template(active, slot_label, slot, images):
    """The active slot's pod template with ``images`` ({container: image}, ``*`` for every other) and the idle slot's label."""
    changes = ro.plan_images("Deployment", active, images or {})
    template = copy.deepcopy(ro.pod_template(active))
    template.pop("$patch", None)
    metadata = template.setdefault("metadata", {})
    metadata.pop("creationTimestamp", None)
    labels = metadata.setdefault("labels", {})
    labels.pop(ro.POD_TEMPLATE_HASH, None)
    labels[slot_label] = slot
    spec = template.get("spec") or {}
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            if container.get("name") in changes:
                container["image"] = changes[container["name"]]["after"]
    return template


def release_deployment(active, name, slot, slot_label, template, replicas):
    """The idle slot's Deployment manifest: the active one's spec with the release's template and replicas."""
    meta = _meta(active)
    spec = active.get("spec") or {}
    labels = dict(meta.get("labels") or {})
    if slot_label in labels:
        labels[slot_label] = slot
    selector = copy.deepcopy(spec.get("selector") or {})
    selector.setdefault("matchLabels", {})[slot_label] = slot
    new_spec = {key: copy.deepcopy(spec[key]) for key in _COPIED_SPEC if key in spec}
    new_spec.update({"replicas": replicas, "selector": selector, "template": template})
    metadata = {"name": deployment_name(name, slot), "namespace": meta.get("namespace"),
                "annotations": {ROLE: "preview"}}
    if labels:
        metadata["labels"] = labels
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": new_spec}


def plan_deploy(active, idle, template, replicas, slot_label):
    """LIVE, READY, CREATE or UPDATE: what deploying the release ``template`` needs."""
    if same_release(ro.pod_template(active), template, slot_label):
        return LIVE
    if idle is None:
        return CREATE
    spec = idle.get("spec") or {}
    if (role(idle) == "preview" and same_release(ro.pod_template(idle), template, slot_label)
            and spec.get("replicas", 1) == replicas):
        return READY
    return UPDATE


def release_ops(idle, template, replicas):
    """JSON patch that gives the idle slot's Deployment the release: template, replicas, role preview."""
    ops = [{"op": "replace", "path": "/spec/template", "value": template},
           {"op": "replace", "path": "/spec/replicas", "value": replicas}]
    return ops + ro.annotation_ops(idle, {ROLE: "preview", SCALE_DOWN_AT: None})


def slot_service(active_service, name, slot_label, slot):
    """A Service like ``active_service`` (same ports and selector) that selects the ``slot`` pods: the preview Service."""
    meta = _meta(active_service)
    spec = active_service.get("spec") or {}
    ports = []
    for port in spec.get("ports") or []:
        ports.append({key: copy.deepcopy(port[key]) for key in ("name", "port", "targetPort", "protocol", "appProtocol")
                      if key in port})
    selector = dict(spec.get("selector") or {})
    selector[slot_label] = slot
    metadata = {"name": name, "namespace": meta.get("namespace")}
    if meta.get("labels"):
        metadata["labels"] = dict(meta["labels"])
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata,
            "spec": {"type": "ClusterIP", "selector": selector, "ports": ports}}


def selector_ops(service, selector):
    """JSON patch that sets the Service's whole selector (none when it is already that)."""
    if ((service.get("spec") or {}).get("selector") or {}) == selector:
        return []
    return [{"op": "add", "path": "/spec/selector", "value": selector}]


def apply_ops(obj, ops):
    """A copy of ``obj`` with our JSON patch operations (add, replace, remove; tests are the server's) applied.

    Check mode shows the state a patch would leave with this.
    """
    result = copy.deepcopy(obj)
    for op in ops:
        parts = [part.replace("~1", "/").replace("~0", "~") for part in op["path"].lstrip("/").split("/")]
        parent = result
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent.setdefault(part, {})
        key = int(parts[-1]) if isinstance(parent, list) else parts[-1]
        if op["op"] in ("add", "replace"):
            parent[key] = copy.deepcopy(op["value"])
        elif op["op"] == "remove":
            parent.pop(key, None)
    return result


# ------------------------------------------------------------------------------ times

def rfc3339(moment):
    """A UTC datetime as the API writes times: 2026-05-01T12:00:00Z."""
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text):
    """The time of an RFC 3339 annotation, or None when it is not one."""
    try:
        return datetime.datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


def scale_down_at(now, delay_seconds):
    return rfc3339(now + datetime.timedelta(seconds=delay_seconds))


def plan_cleanup(idle, now, mode):
    """(REMOVE, KEEP or LEAVE, reason) for the idle slot's Deployment at ``now``; ``mode`` is delete or scale_down."""
    if idle is None:
        return LEAVE, "there is no idle slot"
    state = role(idle)
    replicas = (idle.get("spec") or {}).get("replicas", 1)
    if state == "preview":
        return LEAVE, "it holds a release waiting for promotion (action=abort discards it)"
    if state not in ("previous", "aborted"):
        return LEAVE, "it was not left by a blue-green switch (no blue-green role annotation)"
    if mode == "scale_down" and replicas == 0:
        return LEAVE, "it is already scaled to 0"
    if state == "previous":
        deadline = parse_rfc3339((_meta(idle).get("annotations") or {}).get(SCALE_DOWN_AT))
        if deadline is not None and now < deadline:
            return KEEP, f"it is kept for a quick switch back until {rfc3339(deadline)}"
    return REMOVE, "aborted" if state == "aborted" else "its keep time is over"


def cleanup_ops(idle):
    """JSON patch that scales the idle slot to 0 (cleanup_mode=scale_down) and drops its scale-down time."""
    return [{"op": "replace", "path": "/spec/replicas", "value": 0}] + ro.annotation_ops(idle, {SCALE_DOWN_AT: None})


# ------------------------------------------------------------------------------ what the result shows

def slot_summary(deployment, name, slot):
    """A slot as the result and the diff show it."""
    if deployment is None:
        return {"deployment": deployment_name(name, slot), "exists": False, "role": None, "images": {},
                "replicas": 0, "available": 0, "scale_down_at": None}
    status = deployment.get("status") or {}
    return {"deployment": deployment_name(name, slot), "exists": True, "role": role(deployment),
            "images": ro.images(ro.pod_template(deployment)),
            "replicas": (deployment.get("spec") or {}).get("replicas", 1),
            "available": status.get("availableReplicas") or 0,
            "scale_down_at": (_meta(deployment).get("annotations") or {}).get(SCALE_DOWN_AT)}


def diff_view(state):
    """The part of the state a diff shows: the active slot and each slot's images, replicas and role."""
    return {"active_slot": state["active_slot"],
            "slots": {slot: {key: row[key] for key in ("exists", "role", "images", "replicas")}
                      for slot, row in state["slots"].items()}}
