# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The alert responses (I3): which alert, which target, what the runbook checks and what it does. Pure.

``plan`` turns an alert name (or the JSON Alertmanager POSTs to a webhook) into one response per
firing alert: its namespace and workload (from the alert's labels, else the defaults given), the
findings of the diagnostics bundle that confirm it (``confirm_reasons``), and the runbook's
mitigation. ``judge`` then says, from the bundle's findings, whether the alert's cause is seen and
which mitigation applies: a crash-looping or failing new revision is rolled back, a down service
whose pods do not crash is restarted, a slow one is scaled up, and a lagging consumer group's
Deployment is scaled to its topic's partition count (more consumers than partitions would idle). For
ServiceDown and the 503 response the dependency checks from inside the workload's pod (I7) add a finding
per database, cache or broker the pod cannot reach, and such a finding stops the restart: the fix is the
dependency, not the pods.
"""

from __future__ import annotations

# name -> (runbooks' triage, the findings that confirm it, the mitigation)
_CRASHES = ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "OOMKilled", "Error")
CATALOG = {
    "ServiceDown": ("pods, workload availability, logs and events of the service's workload; its dependencies "
                    "from inside a pod (I7)", ("Unavailable", "Degraded", "NotReady", "DependencyUnreachable") + _CRASHES,
                    "restart"),
    "HighErrorRate": ("the workload's pods, restarts and logs (the error rate itself is the alert's evidence)",
                      ("Degraded",) + _CRASHES, "rollback"),
    "HighResponseTime": ("pods, HPA headroom and resource use of the workload", ("AtMaxReplicas", "Degraded"), "scale_up"),
    "SLOViolation": ("the workload's pods and its last rollout (the SLO burn itself is the alert's evidence)",
                     ("Degraded", "Unavailable") + _CRASHES, "rollback"),
    "ServiceUnavailable": ("Services without ready endpoints, selectors matching no pod, Ingress backends (I6); the "
                           "workload's dependencies from inside a pod (I7)",
                           ("NoReadyEndpoints", "SelectorMatchesNoPod", "BackendServiceMissing", "BackendPortMissing",
                            "BackendWithoutEndpoints", "DependencyUnreachable"), "restart"),
    "CrashLoopBackOff": ("the crash-looping pods' previous logs, exit codes and events", ("CrashLoopBackOff",), "rollback"),
    "DiskSpaceLow": ("claims and their volumes, evicted pods", ("VolumeProblem", "Evicted"), "none"),
    "KafkaConsumerLag": ("the consumer group's lag per partition over a window (Burrow's rules), its consumers "
                         "against the topic's partitions (H12)", ("ConsumerLag",), "scale_consumers"),
}
ALIASES = {"servicedown": "ServiceDown", "highererrorrate": "HighErrorRate", "higherrorrate": "HighErrorRate",
           "highresponsetime": "HighResponseTime", "highlatency": "HighResponseTime", "sloviolation": "SLOViolation",
           "serviceunavailable": "ServiceUnavailable", "serviceunavailable503": "ServiceUnavailable", "503": "ServiceUnavailable",
           "crashloopbackoff": "CrashLoopBackOff", "podcrashlooping": "CrashLoopBackOff", "diskspacelow": "DiskSpaceLow",
           "kafkaconsumerlag": "KafkaConsumerLag"}
WORKLOAD_LABELS = ("deployment", "workload", "app", "service", "job_name")
# The alerts whose triage includes the dependency checks from inside the application pod (I7).
DEPENDENCY_ALERTS = ("ServiceDown", "ServiceUnavailable")
# Where kafka-exporter and Burrow's exporters put the consumer group.
GROUP_LABELS = ("consumergroup", "consumer_group", "group")


class AlertError(ValueError):
    """An alert this collection cannot respond to, or a payload it cannot read; one sentence."""


def canonical(name):
    key = "".join(ch for ch in str(name).lower() if ch.isalnum())
    if key not in ALIASES:
        raise AlertError(f"There is no response for alert {name!r}; the known alerts are {', '.join(sorted(CATALOG))}.")
    return ALIASES[key]


def _alerts_of(payload):
    if not isinstance(payload, dict) or not isinstance(payload.get("alerts"), list):
        raise AlertError("The Alertmanager payload must be the webhook's JSON object with an 'alerts' list.")
    firing = [a for a in payload["alerts"] if isinstance(a, dict) and a.get("status", "firing") == "firing"]
    if not firing:
        raise AlertError("The Alertmanager payload holds no firing alert.")
    common = payload.get("commonLabels") if isinstance(payload.get("commonLabels"), dict) else {}
    return [dict(common, **(a.get("labels") or {})) for a in firing]


def plan(alert=None, payload=None, namespace=None, workload=None, group=None):
    """One response per alert: name, namespace, workload, group (KafkaConsumerLag), triage, confirm_reasons, mitigation."""
    labelled = _alerts_of(payload) if payload else [{"alertname": alert}]
    responses = []
    for labels in labelled:
        if not labels.get("alertname"):
            raise AlertError("An alert without an alertname cannot be answered; give alert or a webhook payload.")
        name = canonical(labels["alertname"])
        triage, reasons, mitigation = CATALOG[name]
        target_ns = labels.get("namespace") or namespace
        target = next((labels[key] for key in WORKLOAD_LABELS if labels.get(key)), None) or workload
        if not target_ns:
            raise AlertError(f"Alert {name} names no namespace (label 'namespace'); give the namespace.")
        target_group = next((labels[key] for key in GROUP_LABELS if labels.get(key)), None) or group
        if mitigation == "scale_consumers" and not target_group:
            raise AlertError(f"Alert {name} names no consumer group (label 'consumergroup'); give the group.")
        responses.append({"alert": name, "namespace": target_ns, "workload": target, "triage": triage,
                          "confirm_reasons": list(reasons), "mitigation": mitigation, "labels": labels,
                          "group": target_group if mitigation == "scale_consumers" else None})
    return responses


def volume_findings(volumes):
    """Findings of the claims k8s_health_info judged (DiskSpaceLow's extra triage)."""
    return [{"severity": row["severity"], "object": f"PersistentVolumeClaim/{row['name']}", "reason": "VolumeProblem",
             "message": f"{row.get('problem')}: {row.get('message') or ''}".rstrip(": "), "evidence": []}
            for row in volumes or [] if row.get("severity")]


def dependency_findings(results):
    """Findings of the targets k8s_dependency_check could not resolve or connect to (I7)."""
    return [{"severity": "critical", "object": f"Dependency/{row['name']}", "reason": "DependencyUnreachable",
             "message": row.get("error") or f"{row['name']} is not reachable", "evidence": []}
            for row in results or [] if not row.get("ok")]


def lag_findings(lag, group, threshold):
    """KafkaConsumerLag's findings from a kafka_consumer_lag_info result: the group when its total lag is above
    ``threshold`` or its lag status over the window is WARN or ERR; one line of evidence per lagging partition."""
    record = _lag_record(lag, group)
    if record is None:
        return []
    total, status = record.get("total_lag") or 0, record.get("status")
    if total <= threshold and status not in ("WARN", "ERR"):
        return []
    partitions = _partition_count(record)
    message = (f"lag {total} (alert threshold {threshold}), status {status or 'not judged'}, "
               f"{record.get('members', 0)} consumers for {partitions} partitions")
    evidence = [f"{p['topic']}/{p['partition']}: committed {p['committed_offset']}, log end {p['log_end_offset']}, "
                f"lag {p['lag']}, {p['status'] or '-'}, owner {p['owner'] or 'none'}"
                for p in record.get("partitions") or [] if p.get("lag")]
    return [{"severity": "critical" if status == "ERR" else "warning", "object": f"ConsumerGroup/{group}",
             "reason": "ConsumerLag", "message": message, "evidence": evidence[:50]}]


def _partition_count(record):
    """The partitions consumers can share: the largest partition count of the group's topics."""
    return max((t.get("topic_partitions") or t.get("partitions") or 0 for t in record.get("topics") or []), default=0)


def _lag_record(lag, group):
    return next((g for g in (lag or {}).get("groups") or [] if g.get("group") == group), None)


def judge_lag(response, lag, replicas=None, max_replicas=None, threshold=1000):
    """KafkaConsumerLag: confirmed by the group's lag; the mitigation scales the consumer Deployment to the topic's
    partition count (at most ``max_replicas``), none when it has as many consumers already."""
    workload, group = response["workload"], response["group"]
    result = {"alert": response["alert"], "namespace": response["namespace"], "workload": workload, "group": group,
              "confirmed": False, "findings": [], "mitigation": "none", "replicas": None}
    if (lag or {}).get("failed") or "groups" not in (lag or {}):
        return dict(result, reason=f"the lag of {group} could not be read: {(lag or {}).get('msg', 'no answer')}")
    mine = lag_findings(lag, group, threshold)
    record = _lag_record(lag, group)
    partitions = _partition_count(record) if record else 0
    result.update(confirmed=bool(mine), findings=mine, partitions=partitions)
    if not mine:
        return dict(result, reason=f"{group} is not lagging now (lag {record.get('total_lag') if record else 0}, "
                                   f"threshold {threshold})")
    if not workload:
        return dict(result, reason="the alert names no consumer Deployment to scale")
    if replicas is None:
        return dict(result, reason=f"the consumer Deployment {workload} could not be read")
    target = min(partitions, int(max_replicas)) if max_replicas else partitions
    if replicas >= target:
        return dict(result, reason=f"{workload} has {replicas} replicas for {partitions} partitions: more consumers "
                                   "would idle; add partitions (sre.runbooks.kafka_topic) first")
    return dict(result, mitigation="scale_consumers", replicas=target,
                reason=f"{workload} has {replicas} replicas for {partitions} partitions: scale to {target}")


def judge(response, findings, revision=None, volumes=None, dependencies=None):
    """What the bundle says of the alert: confirmed findings, and the mitigation to apply (or why none)."""
    workload = response["workload"]
    findings = list(findings) + volume_findings(volumes) + dependency_findings(dependencies)
    mine = [f for f in findings if f["reason"] in response["confirm_reasons"]
            and (not workload or _concerns(f["object"], workload))]
    mitigation = response["mitigation"]
    crashing = any(f["reason"] in ("CrashLoopBackOff", "Error", "ImagePullBackOff", "ErrImagePull") for f in mine)
    if mitigation == "restart" and crashing and revision and revision > 1:
        mitigation = "rollback"  # restarting a crashing revision brings the crash back
    if mitigation == "rollback" and not (revision and revision > 1):
        mitigation = "restart" if mine else "none"
    unreachable = [f["object"].split("/", 1)[1] for f in mine if f["reason"] == "DependencyUnreachable"]
    if not mine:
        action, why = "none", "the alert's cause is not seen in the namespace now"
    elif unreachable:
        action, why = "none", (f"{', '.join(unreachable)} cannot be reached from the pods of {workload or 'the workload'}: "
                               "fix the dependency first, restarting the pods would not help")
    elif mitigation == "none":
        action, why = "none", "the runbook has no safe automatic mitigation for this alert"
    elif not workload:
        action, why = "none", "the alert names no workload to act on"
    else:
        action, why = mitigation, {"rollback": f"revision {revision} of {workload} is failing: back to the previous one",
                                   "restart": f"{workload} is down without crashing: a rolling restart",
                                   "scale_up": f"{workload} is slow at its current size: more replicas"}[mitigation]
    return {"alert": response["alert"], "namespace": response["namespace"], "workload": workload, "confirmed": bool(mine),
            "findings": mine, "mitigation": action, "reason": why}


def _concerns(obj, workload):
    kind, name = (obj.split("/", 1) + [""])[:2]
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "Service", "HorizontalPodAutoscaler"):
        return name == workload
    if kind in ("Ingress", "PersistentVolumeClaim"):
        return True
    return kind != "Pod" or name.startswith(workload + "-")
