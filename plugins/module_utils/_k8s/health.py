# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Is this namespace healthy? Pure functions over the API's JSON for the k8s_health_info module.

Given the objects of a namespace (pods, Deployments, StatefulSets, DaemonSets, HPAs, Warning
events, PodMetrics, PersistentVolumeClaims) and the time "now", build the rows the module returns
and the problems a health check acts on, each with a severity (``critical`` or ``warning``) and a
category (``namespace``, ``pod``, ``workload``, ``hpa``, ``resources``, ``volume``, ``node``). Pod
diagnosis itself is :func:`k8s_pods.diagnose`; workload rollout state is
:func:`rollout_plan.rollout_status`; nodes are :mod:`nodes`, claims :mod:`volumes`. No I/O.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from ansible_collections.sre.runbooks.plugins.module_utils._k8s.objects import condition, parse_quantity
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.pods import diagnose, public_row, summarize
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_plan import rollout_status
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.volumes import pvc_row

CRITICAL = "critical"
WARNING = "warning"
SEVERITY_RANK = {None: 0, "ok": 0, WARNING: 1, CRITICAL: 2}
CATEGORIES = ("namespace", "pod", "workload", "hpa", "resources", "volume", "node")
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")

# Pod reasons that mean "this will not fix itself": critical whatever the pod's age.
CRITICAL_POD_REASONS = frozenset({
    "CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "ErrImageNeverPull", "InvalidImageName",
    "CreateContainerConfigError", "CreateContainerError", "RunContainerError", "StartError",
    "PreCreateHookError", "PostStartHookError", "OOMKilled", "Unschedulable",
})
# Reasons of a pod that is still starting (or stopping): a problem only once older than the grace period.
STARTING_REASONS = frozenset({"Pending", "NotReady", "ContainerCreating", "PodInitializing", "Waiting"})

DEFAULT_THRESHOLDS = {
    "restarts": 5,
    "cpu_percent": 80.0,
    "cpu_critical_percent": 90.0,
    "memory_percent": 85.0,
    "memory_critical_percent": 95.0,
    "pending_seconds": 300,
    "node_requests_percent": 85.0,
    "node_requests_critical_percent": 95.0,
}

NAMESPACE_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class HealthInputError(ValueError):
    """Bad module input; the message is one sentence."""


# ------------------------------------------------------------------------------ small helpers

def check_namespace_name(name):
    """Raise HealthInputError unless ``name`` is a valid namespace name (an RFC 1123 label)."""
    if not isinstance(name, str) or len(name) > 63 or not NAMESPACE_RE.match(name):
        raise HealthInputError(f"namespaces: {name!r} is not a valid namespace name (lowercase letters, digits and "
                               "'-', starting and ending with a letter or digit, at most 63 characters).")
    return name


def merge_thresholds(given):
    """DEFAULT_THRESHOLDS updated with the options set in ``given``; raise HealthInputError on nonsense."""
    result = dict(DEFAULT_THRESHOLDS)
    for key, value in (given or {}).items():
        if value is not None:
            result[key] = value
    for key, value in result.items():
        if value < 0:
            raise HealthInputError(f"thresholds.{key} must not be negative, not {value}.")
    for kind in ("cpu", "memory", "node_requests"):
        if result[f"{kind}_critical_percent"] < result[f"{kind}_percent"]:
            raise HealthInputError(f"thresholds.{kind}_critical_percent ({result[f'{kind}_critical_percent']}) must not "
                                   f"be below thresholds.{kind}_percent ({result[f'{kind}_percent']}).")
    return result


def parse_time(value):
    """Seconds since the epoch of an RFC 3339 timestamp as the API writes it; None for None or garbage."""
    if not value:
        return None
    text = str(value).strip().replace("Z", "+00:00")
    if "." in text:  # microTime: at most 6 fraction digits for fromisoformat on Python < 3.11 builds
        head, tail = text.split(".", 1)
        digits = re.match(r"\d*", tail).group(0)
        text = f"{head}.{digits[:6].ljust(6, '0')}{tail[len(digits):]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def iso(epoch):
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _age(created, now):
    when = parse_time(created)
    return None if when is None else max(0.0, round(now - when, 1))


def workload_of(pod):
    """``Deployment/web`` for a pod of ReplicaSet ``web-<pod-template-hash>``, ``StatefulSet/db``, ``Job/x``...; or None."""
    metadata = pod.get("metadata") or {}
    for ref in metadata.get("ownerReferences") or []:
        if not ref.get("controller"):
            continue
        kind, name = ref.get("kind"), ref.get("name") or ""
        if kind == "ReplicaSet":
            template_hash = (metadata.get("labels") or {}).get("pod-template-hash")
            if template_hash and name.endswith("-" + template_hash):
                return f"Deployment/{name[:-len(template_hash) - 1]}"
        return f"{kind}/{name}"
    return None


def _problem(severity, category, namespace, kind, name, reason, message, workload=None):
    return {"severity": severity, "category": category, "namespace": namespace, "kind": kind, "name": name,
            "reason": reason, "message": message, "workload": workload}


def worst(severities):
    """The worst of the given severities: ``critical``, ``warning`` or ``ok``."""
    rank = max((SEVERITY_RANK.get(s, 0) for s in severities), default=0)
    return {0: "ok", 1: WARNING, 2: CRITICAL}[rank]


# ------------------------------------------------------------------------------ pods

def classify_pod(row, age, deleting_for, thresholds):
    """(severity, reason, message) of a diagnosed pod row, or None when the pod is fine.

    ``age`` is the pod's age in seconds and ``deleting_for`` the seconds since its deletion began
    (None when not being deleted); both may be None when unknown.
    """
    reason, message = row["reason"], row["message"]
    grace = thresholds["pending_seconds"]
    restarts_over = row["restarts"] > thresholds["restarts"]
    oom = row.get("last_termination_reason") == "OOMKilled"
    if reason is None:
        if restarts_over:
            last = f"; last terminated {row['last_termination_reason']}" if row.get("last_termination_reason") else ""
            return WARNING, "RestartsOverThreshold", (f"{row['restarts']} restarts (threshold "
                                                      f"{thresholds['restarts']}){last}")
        if oom and row["restarts"]:
            return WARNING, "OOMKilled", f"running again after its last container was OOMKilled ({row['restarts']} restarts)"
        return None
    if reason == "Completed":
        return None
    if reason in CRITICAL_POD_REASONS:
        if oom and reason != "OOMKilled":
            message = "; ".join(filter(None, [message, "last terminated OOMKilled"]))
        return CRITICAL, reason, message
    if reason == "Terminating":
        if deleting_for is not None and deleting_for > grace:
            return WARNING, "Terminating", f"still terminating {int(deleting_for)}s after its deletion"
        return None
    if reason in STARTING_REASONS:
        if age is not None and age <= grace:
            return None
        return WARNING, reason, message
    if row["phase"] == "Failed":
        return WARNING, reason, message
    return WARNING, reason, message


def pod_row(pod, now, thresholds):
    """The returned row of one pod: diagnosis, namespace, workload, age, severity, problem fields."""
    metadata = pod.get("metadata") or {}
    diagnosis = diagnose(pod)
    row = public_row(diagnosis)
    age = _age(metadata.get("creationTimestamp"), now)
    deleting = metadata.get("deletionTimestamp")
    deleting_for = _age(deleting, now) if deleting else None
    row.update(namespace=metadata.get("namespace"), workload=workload_of(pod), age_seconds=age,
               restarts_over_threshold=row["restarts"] > thresholds["restarts"],
               oom_killed=diagnosis.get("last_termination_reason") == "OOMKilled" or diagnosis["reason"] == "OOMKilled",
               severity=None, problem=None)
    verdict = classify_pod(diagnosis, age, deleting_for, thresholds)
    if verdict:
        row["severity"], row["problem"] = verdict[0], verdict[1]
        if verdict[2] and verdict[2] != row["message"]:
            row["message"] = verdict[2]
    return row


def pod_counts(pods, rows):
    phases = [(p.get("status") or {}).get("phase") or "Unknown" for p in pods]
    running = sum(1 for phase in phases if phase == "Running")
    ready = sum(1 for row in rows if row["ready"])
    return {
        "total": len(pods),
        "running": running,
        "ready": ready,
        "pending": sum(1 for phase in phases if phase == "Pending"),
        "succeeded": sum(1 for phase in phases if phase == "Succeeded"),
        "failed": sum(1 for phase in phases if phase == "Failed"),
        "not_running": sum(1 for phase in phases if phase not in ("Running", "Succeeded")),
        "not_ready": sum(1 for row, phase in zip(rows, phases) if phase == "Running" and not row["ready"]),
        "restarts": sum(row["restarts"] for row in rows),
        "restarts_over_threshold": sum(1 for row in rows if row["restarts_over_threshold"]),
        "unhealthy": sum(1 for row in rows if row["severity"]),
    }


# ------------------------------------------------------------------------------ workloads

def workload_row(kind, obj, pod_rows):
    """Replica counts and rollout state of a Deployment/StatefulSet/DaemonSet, with its severity."""
    metadata = obj.get("metadata") or {}
    name = metadata.get("name")
    state = rollout_status(kind, obj)
    replicas = state["replicas"]
    desired, available = replicas.get("desired", 0), replicas.get("available", 0)
    if kind == "StatefulSet":  # availableReplicas needs minReadySeconds support; readiness is what counts
        available = max(available, replicas.get("ready", 0))
    mine = [row for row in pod_rows if row["workload"] == f"{kind}/{name}"]
    broken = [row for row in mine if row["severity"]]
    row = {"kind": kind, "name": name, "desired": desired, "current": replicas.get("current", 0),
           "ready": replicas.get("ready", 0), "available": available, "updated": replicas.get("updated", 0),
           "complete": state["complete"], "paused": state["paused"], "failure": state["failure"],
           "message": state["message"], "unhealthy_pods": len(broken), "severity": None, "problem": None}
    details = []
    if state["failure"]:
        row["severity"], row["problem"] = CRITICAL, state["failure"]
        details.append(state["message"])
    elif desired > 0 and available == 0 and state["observed"]:
        row["severity"], row["problem"] = CRITICAL, "Unavailable"
    elif available < desired and state["observed"]:
        row["severity"], row["problem"] = WARNING, "Degraded"
    if row["severity"]:
        details.insert(0, f"{available} of {desired} replicas available")
        if broken:
            details.append(summarize(broken))
        row["message"] = "; ".join(details)
    return row


# ------------------------------------------------------------------------------ HPAs

def _metric_target(spec_metric):
    kind = spec_metric.get("type") or ""
    body = spec_metric.get(kind[:1].lower() + kind[1:]) or {}
    name = body.get("name") or ((body.get("metric") or {}).get("name"))
    target = body.get("target") or {}
    return kind, name, target


def _current_for(status_metrics, kind, name):
    for metric in status_metrics or []:
        if metric.get("type") != kind:
            continue
        body = metric.get(kind[:1].lower() + kind[1:]) or {}
        if (body.get("name") or (body.get("metric") or {}).get("name")) == name:
            return body.get("current") or {}
    return {}


def hpa_row(hpa):
    """Bounds, current/desired replicas, at-max flag, conditions and metrics of one HorizontalPodAutoscaler."""
    metadata, spec, status = hpa.get("metadata") or {}, hpa.get("spec") or {}, hpa.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    low = spec.get("minReplicas")
    low = 1 if low is None else int(low)
    high = int(spec.get("maxReplicas") or 0)
    current = int(status.get("currentReplicas") or 0)
    desired = int(status.get("desiredReplicas") or 0)
    conditions = {}
    for kind in ("AbleToScale", "ScalingActive", "ScalingLimited"):
        cond = condition(hpa, kind)
        conditions[kind] = None if cond is None else cond.get("status") == "True"
    active = condition(hpa, "ScalingActive") or {}
    able = condition(hpa, "AbleToScale") or {}
    metrics = []
    for spec_metric in spec.get("metrics") or []:
        kind, name, target = _metric_target(spec_metric)
        now_value = _current_for(status.get("currentMetrics"), kind, name)
        metrics.append({
            "type": kind, "name": name,
            "target_utilization": target.get("averageUtilization"),
            "current_utilization": now_value.get("averageUtilization"),
            "target_value": target.get("averageValue") or target.get("value"),
            "current_value": now_value.get("averageValue") or now_value.get("value"),
        })
    row = {"name": metadata.get("name"), "target": f"{ref.get('kind')}/{ref.get('name')}",
           "min_replicas": low, "max_replicas": high, "current_replicas": current, "desired_replicas": desired,
           "at_max": high > 0 and current >= high,
           "able_to_scale": conditions["AbleToScale"], "scaling_active": conditions["ScalingActive"],
           "scaling_limited": conditions["ScalingLimited"],
           "scaling_active_reason": active.get("reason"), "message": active.get("message"),
           "metrics": metrics, "severity": None, "problem": None}
    findings = []  # (reason, message), the most telling first
    if conditions["AbleToScale"] is False:
        findings.append((able.get("reason") or "NotAbleToScale", able.get("message") or "not able to scale"))
    if row["at_max"]:
        findings.append(("AtMaxReplicas", f"{current} replicas, at its maximum of {high}"))
    if conditions["ScalingActive"] is False:
        findings.append((active.get("reason") or "ScalingInactive", active.get("message") or "scaling is not active"))
    if findings:
        row.update(severity=WARNING, problem=findings[0][0],
                   message="; ".join(str(finding[1]).rstrip(".") for finding in findings))
    return row


# ------------------------------------------------------------------------------ events

def event_row(event, now):
    """Kind, name, reason, message, count and last time of one event."""
    involved = event.get("involvedObject") or event.get("regarding") or {}
    series = event.get("series") or {}
    last = (parse_time(event.get("lastTimestamp")) or parse_time(series.get("lastObservedTime"))
            or parse_time(event.get("eventTime")) or parse_time((event.get("metadata") or {}).get("creationTimestamp")))
    return {"kind": involved.get("kind"), "name": involved.get("name"), "reason": event.get("reason"),
            "message": (event.get("message") or event.get("note") or "").strip(),
            "count": int(event.get("count") or series.get("count") or 1),
            "last_seen": iso(last), "age_seconds": None if last is None else max(0.0, round(now - last, 1))}


def recent_events(events, now, max_age, limit):
    """Warning events seen within ``max_age`` seconds, newest first, at most ``limit``."""
    rows = [event_row(e, now) for e in events if (e.get("type") or "Warning") == "Warning"]
    rows = [r for r in rows if r["age_seconds"] is not None and r["age_seconds"] <= max_age]
    rows.sort(key=lambda r: (r["age_seconds"], r["kind"] or "", r["name"] or ""))
    return rows[:limit]


# ------------------------------------------------------------------------------ resources

def _sum(containers, section, resource):
    total, missing = 0.0, False
    for container in containers:
        value = parse_quantity(((container.get("resources") or {}).get(section) or {}).get(resource))
        if value is None:
            missing = True
        else:
            total += value
    return None if missing or not containers else total


def _percent(used, of):
    if used is None or not of:
        return None
    return round(100.0 * used / of, 1)


def resource_row(pod, metrics, thresholds):
    """Requests, limits, usage and usage percentages (of the limits) of one pod; usage is None without metrics."""
    containers = (pod.get("spec") or {}).get("containers") or []
    usage = None
    if metrics is not None:
        usage = {"cpu": 0.0, "memory": 0.0}
        for container in metrics.get("containers") or []:
            for resource in ("cpu", "memory"):
                usage[resource] += parse_quantity((container.get("usage") or {}).get(resource)) or 0.0
    cpu_req, cpu_lim = _sum(containers, "requests", "cpu"), _sum(containers, "limits", "cpu")
    mem_req, mem_lim = _sum(containers, "requests", "memory"), _sum(containers, "limits", "memory")
    cpu_used = None if usage is None else usage["cpu"]
    mem_used = None if usage is None else usage["memory"]
    row = {
        "name": (pod.get("metadata") or {}).get("name"), "workload": workload_of(pod),
        "cpu_usage_millicores": None if cpu_used is None else round(cpu_used * 1000, 1),
        "cpu_request_millicores": None if cpu_req is None else round(cpu_req * 1000, 1),
        "cpu_limit_millicores": None if cpu_lim is None else round(cpu_lim * 1000, 1),
        "cpu_percent": _percent(cpu_used, cpu_lim),
        "cpu_request_percent": _percent(cpu_used, cpu_req),
        "memory_usage_bytes": None if mem_used is None else int(mem_used),
        "memory_request_bytes": None if mem_req is None else int(mem_req),
        "memory_limit_bytes": None if mem_lim is None else int(mem_lim),
        "memory_percent": _percent(mem_used, mem_lim),
        "memory_request_percent": _percent(mem_used, mem_req),
        "severity": None, "problem": None, "message": None,
    }
    findings = []
    for resource, label in (("cpu", "CPU"), ("memory", "memory")):
        percent = row[f"{resource}_percent"]
        if percent is None:
            continue
        if percent > thresholds[f"{resource}_critical_percent"]:
            findings.append((CRITICAL, f"{label} at {percent}% of its limit (critical above "
                                       f"{thresholds[f'{resource}_critical_percent']:g}%)"))
        elif percent > thresholds[f"{resource}_percent"]:
            findings.append((WARNING, f"{label} at {percent}% of its limit (warning above "
                                      f"{thresholds[f'{resource}_percent']:g}%)"))
    if findings:
        row["severity"] = worst(f[0] for f in findings)
        row["problem"] = "HighResourceUsage"
        row["message"] = "; ".join(f[1] for f in findings)
    return row


def resources_report(pods, pod_metrics, metrics_available, thresholds):
    """Per-pod rows (running pods only) plus counts of pods without requests or limits."""
    by_name = {((m.get("metadata") or {}).get("name")): m for m in pod_metrics or []}
    rows = []
    for pod in pods:
        if ((pod.get("status") or {}).get("phase")) != "Running":
            continue
        name = (pod.get("metadata") or {}).get("name")
        rows.append(resource_row(pod, by_name.get(name) if metrics_available else None, thresholds))
    return {
        "pods": rows,
        "without_requests": sum(1 for r in rows if r["cpu_request_millicores"] is None or r["memory_request_bytes"] is None),
        "without_limits": sum(1 for r in rows if r["cpu_limit_millicores"] is None or r["memory_limit_bytes"] is None),
        "with_metrics": sum(1 for r in rows if r["cpu_usage_millicores"] is not None),
        "over_threshold": sum(1 for r in rows if r["severity"]),
    }


# ------------------------------------------------------------------------------ one namespace

SECTIONS = ("pods", "workloads", "hpas", "events", "resources", "volumes", "nodes", "logs")
# The namespaced kinds each section reads (workload rows count their unhealthy pods, resources compare
# pods to metrics, logs are read from the pods of the Deployments found). Nodes are cluster-scoped:
# the runner lists them, and the pods of every namespace, on its own.
SECTION_KINDS = {
    "pods": ("Pod",),
    "workloads": ("Pod",) + WORKLOAD_KINDS,
    "hpas": ("HorizontalPodAutoscaler",),
    "events": ("Event",),
    "resources": ("Pod", "PodMetrics"),
    "volumes": ("PersistentVolumeClaim",),
    "nodes": (),
    "logs": ("Pod", "Deployment"),
}


def kinds_for(sections):
    """The kinds to list for ``sections``, in a stable order."""
    wanted = {kind for section in sections for kind in SECTION_KINDS[section]}
    order = ("Pod",) + WORKLOAD_KINDS + ("HorizontalPodAutoscaler", "Event", "PodMetrics", "PersistentVolumeClaim")
    return [kind for kind in order if kind in wanted]


def namespace_report(namespace, objects, now, thresholds, sections, exists=True, all_pods=False,
                     events_max_age=3600, events_limit=20, metrics_available=False):
    """(report, problems) of one namespace.

    ``objects`` maps a kind (``Pod``, ``Deployment``, ``StatefulSet``, ``DaemonSet``,
    ``HorizontalPodAutoscaler``, ``Event``, ``PodMetrics``, ``PersistentVolumeClaim``) to its items; ``sections`` (see SECTIONS)
    says which parts to report. ``exists`` is False for a namespace that does not exist, None when
    that could not be checked.
    """
    sections = set(sections)
    problems = []
    report = {"exists": exists}
    if exists is False:
        problems.append(_problem(WARNING, "namespace", namespace, "Namespace", namespace, "NamespaceNotFound",
                                 f"namespace {namespace} does not exist"))
    pods = sorted(objects.get("Pod") or [], key=lambda p: (p.get("metadata") or {}).get("name") or "")
    rows = [pod_row(p, now, thresholds) for p in pods]
    if "pods" in sections:
        report["pod_counts"] = pod_counts(pods, rows)
        report["pods"] = rows if all_pods else [r for r in rows if r["severity"] or r["restarts_over_threshold"]]
        for row in rows:
            if row["severity"]:
                problems.append(_problem(row["severity"], "pod", namespace, "Pod", row["name"], row["problem"],
                                         row["message"], row["workload"]))
    if "workloads" in sections:
        workloads = []
        for kind in WORKLOAD_KINDS:
            for obj in sorted(objects.get(kind) or [], key=lambda o: (o.get("metadata") or {}).get("name") or ""):
                row = dict(workload_row(kind, obj, rows), namespace=namespace)
                workloads.append(row)
                if row["severity"]:
                    problems.append(_problem(row["severity"], "workload", namespace, kind, row["name"], row["problem"],
                                             row["message"], f"{kind}/{row['name']}"))
        report["workloads"] = workloads
    if "hpas" in sections:
        hpas = [dict(hpa_row(h), namespace=namespace)
                for h in sorted(objects.get("HorizontalPodAutoscaler") or [],
                                key=lambda o: (o.get("metadata") or {}).get("name") or "")]
        report["hpas"] = hpas
        for row in hpas:
            if row["severity"]:
                problems.append(_problem(row["severity"], "hpa", namespace, "HorizontalPodAutoscaler", row["name"],
                                         row["problem"], row["message"], row["target"]))
    if "events" in sections:
        report["events"] = [dict(row, namespace=namespace)
                            for row in recent_events(objects.get("Event") or [], now, events_max_age, events_limit)]
    if "resources" in sections:
        resources = resources_report(pods, objects.get("PodMetrics") or [], metrics_available, thresholds)
        resources["pods"] = [dict(row, namespace=namespace) for row in resources["pods"]]
        report["resources"] = resources
        for row in resources["pods"]:
            if row["severity"]:
                problems.append(_problem(row["severity"], "resources", namespace, "Pod", row["name"], row["problem"],
                                         row["message"], row["workload"]))
    if "volumes" in sections:
        claims = sorted(objects.get("PersistentVolumeClaim") or [], key=lambda o: (o.get("metadata") or {}).get("name") or "")
        report["volumes"] = [dict(pvc_row(c, _age((c.get("metadata") or {}).get("creationTimestamp"), now), thresholds),
                                  namespace=namespace) for c in claims]
        for row in report["volumes"]:
            if row["severity"]:
                problems.append(_problem(row["severity"], "volume", namespace, "PersistentVolumeClaim", row["name"],
                                         row["problem"], row["message"]))
    return report, problems


def node_problems(nodes):
    """The problems of a nodes report (category ``node``, no namespace)."""
    return [_problem(row["severity"], "node", None, "Node", row["name"], row["problem"], row["message"])
            for row in (nodes or {}).get("nodes") or [] if row["severity"]]


def sort_problems(problems):
    return sorted(problems, key=lambda p: (-SEVERITY_RANK[p["severity"]], p["namespace"] or "",
                                           CATEGORIES.index(p["category"]), p["kind"] or "", p["name"] or ""))


def summary(reports, problems, nodes=None):
    """Totals over the namespaces (and nodes), problem counts by severity and category, and the overall status."""
    def total(section, key):
        return sum((r.get(section) or {}).get(key, 0) for r in reports.values())

    workloads = [w for r in reports.values() for w in r.get("workloads") or []]
    hpas = [h for r in reports.values() for h in r.get("hpas") or []]
    return {
        "status": worst(p["severity"] for p in problems),
        "namespaces": len(reports),
        "missing_namespaces": sorted(ns for ns, r in reports.items() if r.get("exists") is False),
        "pods": total("pod_counts", "total"),
        "running": total("pod_counts", "running"),
        "ready": total("pod_counts", "ready"),
        "not_running": total("pod_counts", "not_running"),
        "not_ready": total("pod_counts", "not_ready"),
        "unhealthy_pods": total("pod_counts", "unhealthy"),
        "restarts": total("pod_counts", "restarts"),
        "restarts_over_threshold": total("pod_counts", "restarts_over_threshold"),
        "workloads": len(workloads),
        "workloads_unhealthy": sum(1 for w in workloads if w["severity"]),
        "hpas": len(hpas),
        "hpas_at_max": sum(1 for h in hpas if h["at_max"]),
        "hpas_not_scaling": sum(1 for h in hpas if h["scaling_active"] is False),
        "warning_events": sum(len(r.get("events") or []) for r in reports.values()),
        "pods_over_resource_threshold": total("resources", "over_threshold"),
        "volumes": sum(len(r.get("volumes") or []) for r in reports.values()),
        "volumes_unhealthy": sum(1 for r in reports.values() for v in r.get("volumes") or [] if v["severity"]),
        "nodes": len((nodes or {}).get("nodes") or []),
        "nodes_not_ready": (nodes or {}).get("not_ready", 0),
        "nodes_with_pressure": (nodes or {}).get("with_pressure", 0),
        "nodes_over_requests_threshold": (nodes or {}).get("over_requests_threshold", 0),
        "problems": {
            CRITICAL: sum(1 for p in problems if p["severity"] == CRITICAL),
            WARNING: sum(1 for p in problems if p["severity"] == WARNING),
        },
        "problems_by_category": {c: sum(1 for p in problems if p["category"] == c) for c in CATEGORIES},
    }
