# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Compliance checks on workloads (the kind Polaris and kube-score make) and on Secret age (C5), pure.

Every check returns *check entries*, one per control per object, the shape the whole compliance run
shares (network, RBAC, workloads, secrets)::

    {"control": "C8.probes", "object": "Deployment shop/web", "namespace": "shop",
     "status": "passed" | "failed" | "warning", "message": "..."}
"""

from __future__ import annotations

import datetime

# The annotation the secret rotation (C1) writes: when the Secret's value was last replaced (RFC 3339).
ROTATED_AT = "sre.runbooks/rotated-at"
# Secrets the platform does not rotate by hand: the API server's and Helm's own.
UNMANAGED_SECRET_TYPES = ("kubernetes.io/service-account-token", "helm.sh/release.v1")

# control id -> (title, failing status)
WORKLOAD_CONTROLS = {
    "C8.resources": ("CPU and memory requests and limits set on every container", "failed"),
    "C8.probes": ("liveness and readiness probes on every container", "failed"),
    "C8.run-as-non-root": ("containers run as a non-root user", "failed"),
    "C8.privileged": ("no privileged container", "failed"),
    "C8.image-tag": ("images pinned to a tag other than latest, or a digest", "failed"),
    "C8.read-only-root-fs": ("read-only root file system", "warning"),
}
SECRET_CONTROL = "C5.secret-age"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "CronJob")


def entry(control, kind, namespace, name, problems, failing="failed", passed_message="ok"):
    """One check entry: ``failing`` status with the problems joined, else passed."""
    obj = f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"
    return {"control": control, "object": obj, "namespace": namespace,
            "status": failing if problems else "passed",
            "message": "; ".join(problems) + "." if problems else passed_message}


def pod_template(workload):
    """The pod template spec of a Deployment, StatefulSet, DaemonSet or CronJob."""
    spec = workload.get("spec") or {}
    if workload.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    return ((spec.get("template") or {}).get("spec")) or {}


def image_problem(image):
    """Why ``image`` is not pinned (``:latest`` or no tag at all), or None. A digest pins it."""
    if not image:
        return "has no image"
    if "@" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image} has no tag (means latest)"
    if last.rsplit(":", 1)[1] == "latest":
        return f"image {image} uses the latest tag"
    return None


def _effective(container, pod_spec, key):
    """A securityContext field of the container, else of the pod (runAsNonRoot, runAsUser)."""
    value = (container.get("securityContext") or {}).get(key)
    return value if value is not None else (pod_spec.get("securityContext") or {}).get(key)


def _container_problems(pod_spec, kind):
    """{control: [problems]} over the pod's containers (init containers count for the security controls)."""
    problems = {control: [] for control in WORKLOAD_CONTROLS}
    containers = pod_spec.get("containers") or []
    every = [("init container", c) for c in pod_spec.get("initContainers") or []]
    every += [("container", c) for c in containers]
    for word, container in every:
        name = f"{word} {container.get('name')}"
        context = container.get("securityContext") or {}
        if context.get("privileged"):
            problems["C8.privileged"].append(f"{name} is privileged")
        non_root = _effective(container, pod_spec, "runAsNonRoot")
        user = _effective(container, pod_spec, "runAsUser")
        if not non_root and not (isinstance(user, int) and user > 0):
            problems["C8.run-as-non-root"].append(f"{name} may run as root (no runAsNonRoot, no non-zero runAsUser)")
        if non_root and user == 0:
            problems["C8.run-as-non-root"].append(f"{name} sets runAsNonRoot but runAsUser 0")
        image = image_problem(container.get("image"))
        if image:
            problems["C8.image-tag"].append(f"{name} {image}")
        if not context.get("readOnlyRootFilesystem"):
            problems["C8.read-only-root-fs"].append(f"{name} has a writable root file system")
    for container in containers:
        name = f"container {container.get('name')}"
        resources = container.get("resources") or {}
        missing = [f"{what}.{res}" for what in ("requests", "limits") for res in ("cpu", "memory")
                   if not (resources.get(what) or {}).get(res)]
        if missing:
            problems["C8.resources"].append(f"{name} lacks {', '.join(missing)}")
        if kind != "CronJob":  # a batch pod ends by itself; probes are for services
            absent = [probe for probe in ("livenessProbe", "readinessProbe") if not container.get(probe)]
            if absent:
                problems["C8.probes"].append(f"{name} lacks {' and '.join(absent)}")
    return problems


def workload_checks(workloads):
    """Check entries, one per workload control per workload (probes not for CronJobs)."""
    checks = []
    for workload in workloads:
        meta = workload.get("metadata") or {}
        kind = workload.get("kind")
        problems = _container_problems(pod_template(workload), kind)
        for control, (_title, failing) in WORKLOAD_CONTROLS.items():
            if control == "C8.probes" and kind == "CronJob":
                continue
            checks.append(entry(control, kind, meta.get("namespace"), meta.get("name"), problems[control], failing))
    return checks


def parse_time(text):
    """An aware datetime from an RFC 3339 timestamp (``2026-01-31T12:00:00Z``), or None."""
    if not isinstance(text, str) or not text.strip():
        return None
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def secret_age(secret, now):
    """(age in days, source, error): the rotation annotation when present, else creationTimestamp."""
    meta = secret.get("metadata") or {}
    rotated = (meta.get("annotations") or {}).get(ROTATED_AT)
    if rotated is not None:
        moment = parse_time(rotated)
        if moment is None:
            return None, ROTATED_AT, f"the annotation {ROTATED_AT} is not an RFC 3339 timestamp: {str(rotated)[:60]!r}"
        return (now - moment).total_seconds() / 86400, ROTATED_AT, None
    moment = parse_time(meta.get("creationTimestamp"))
    if moment is None:
        return None, "creationTimestamp", "the Secret has no creationTimestamp"
    return (now - moment).total_seconds() / 86400, "creationTimestamp", None


def secret_checks(secrets, now, max_age_days):
    """(check entries, inventory rows): one C5.secret-age entry per managed Secret."""
    checks, rows = [], []
    for secret in secrets:
        if secret.get("type") in UNMANAGED_SECRET_TYPES:
            continue
        meta = secret.get("metadata") or {}
        age, source, error = secret_age(secret, now)
        problems = [error] if error else []
        if age is not None and age > max_age_days:
            since = "rotated" if source == ROTATED_AT else "created and never rotated"
            problems.append(f"{since} {int(age)} days ago, more than {max_age_days}")
        message = f"{int(age)} days old (by {source})" if age is not None and not problems else "ok"
        checks.append(entry(SECRET_CONTROL, "Secret", meta.get("namespace"), meta.get("name"), problems,
                            passed_message=message))
        rows.append({"namespace": meta.get("namespace"), "name": meta.get("name"), "type": secret.get("type"),
                     "age_days": None if age is None else round(age, 1), "age_source": source,
                     "status": checks[-1]["status"]})
    return checks, rows
