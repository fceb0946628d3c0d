# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Why is this pod not serving? Pure functions over Pod objects as the API returns them (JSON dicts).

:func:`diagnose` reduces a pod to one row: phase, readiness, restarts and the single most telling
reason with its container and message, as ``kubectl get pods`` would show it in the STATUS column
(``CrashLoopBackOff``, ``ImagePullBackOff``, ``Unschedulable``, ``Evicted``, ...). Rollout waits use it
to fail fast, health checks to report. No I/O here.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._k8s.objects import condition

# Waiting reasons that are a normal step of starting a container, not a problem.
BENIGN_WAITING = frozenset({"ContainerCreating", "PodInitializing"})

# The reasons a rollout wait gives up on at once (the module's default fail_fast_reasons).
DEFAULT_FAIL_FAST_REASONS = (
    "ProgressDeadlineExceeded",
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
    "InvalidImageName",
)

MAX_NAMES_IN_SUMMARY = 3


def _statuses(pod, key):
    return list((pod.get("status") or {}).get(key) or [])


def _waiting(status):
    return ((status.get("state") or {}).get("waiting")) or None


def _terminated(status, state="state"):
    return ((status.get(state) or {}).get("terminated")) or None


def diagnose(pod):
    """One row describing the pod; ``reason`` is None when the pod is Running and Ready.

    Keys: name, phase, node, ready, restarts, reason, message, container, last_exit_code,
    last_termination_reason, labels (for revision matching; dropped by :func:`public_row`).
    """
    metadata = pod.get("metadata") or {}
    status = pod.get("status") or {}
    spec = pod.get("spec") or {}
    init = _statuses(pod, "initContainerStatuses")
    main = _statuses(pod, "containerStatuses")
    ready_cond = condition(pod, "Ready")
    row = {
        "name": metadata.get("name"),
        "phase": status.get("phase") or "Unknown",
        "node": spec.get("nodeName"),
        "ready": bool(ready_cond and ready_cond.get("status") == "True"),
        "restarts": sum(int(s.get("restartCount") or 0) for s in init + main),
        "reason": None,
        "message": None,
        "container": None,
        "last_exit_code": None,
        "last_termination_reason": None,
        "labels": dict(metadata.get("labels") or {}),
    }
    for container in main + init:
        last = _terminated(container, "lastState")
        if last:
            row["last_exit_code"] = last.get("exitCode")
            row["last_termination_reason"] = last.get("reason")
            break
    found = _problem(pod, row, init, main, ready_cond)
    if found:
        reason, message, container = found
        row.update(reason=reason, message=(message or None), container=container)
    return row


def _found(reason, message=None, container=None):
    return reason, message, container


def _problem(pod, row, init, main, ready_cond):
    """(reason, message, container) of the pod's most telling problem, as kubectl get pods shows it, or None."""
    metadata = pod.get("metadata") or {}
    status = pod.get("status") or {}
    if metadata.get("deletionTimestamp"):
        return _found("Terminating")
    if row["phase"] == "Failed":
        for container in init + main:
            term = _terminated(container)
            if term and term.get("exitCode"):
                return _found(status.get("reason") or term.get("reason") or "Error",
                              status.get("message") or term.get("message") or f"exit code {term.get('exitCode')}",
                              container.get("name"))
        return _found(status.get("reason") or "Failed", status.get("message"))
    if row["phase"] == "Succeeded":
        return _found("Completed")
    # Init containers run first: their problem is the pod's problem.
    for container in init:
        waiting = _waiting(container)
        if waiting and waiting.get("reason") not in BENIGN_WAITING:
            return _found(waiting.get("reason") or "Waiting", waiting.get("message"), container.get("name"))
        term = _terminated(container)
        if term and term.get("exitCode"):
            return _found(term.get("reason") or "Error", term.get("message") or f"exit code {term.get('exitCode')}",
                          container.get("name"))
    for container in main:
        waiting = _waiting(container)
        if waiting and waiting.get("reason") not in BENIGN_WAITING:
            return _found(waiting.get("reason") or "Waiting", waiting.get("message"), container.get("name"))
    scheduled = condition(pod, "PodScheduled")
    if scheduled and scheduled.get("status") == "False":
        return _found(scheduled.get("reason") or "Unschedulable", scheduled.get("message"))
    for container in main:
        term = _terminated(container)
        if term and term.get("exitCode"):
            return _found(term.get("reason") or "Error", term.get("message") or f"exit code {term.get('exitCode')}",
                          container.get("name"))
    for container in init + main:
        waiting = _waiting(container)
        if waiting:
            return _found(waiting.get("reason") or "Waiting", waiting.get("message"), container.get("name"))
    if row["phase"] == "Pending":
        return _found("Pending", status.get("message"))
    if not row["ready"]:
        not_ready = [c.get("name") for c in main if not c.get("ready")]
        if not_ready:
            return _found("NotReady", "containers not ready: " + ", ".join(not_ready), not_ready[0])
        message = (ready_cond or {}).get("message") or (ready_cond or {}).get("reason")
        return _found("NotReady", message)
    return None


def public_row(row):
    """The row as returned to users (labels are internal)."""
    return {key: value for key, value in row.items() if key != "labels"}


def unhealthy(pods, include_terminating=True):
    """Diagnosis rows of the pods that are not Running and Ready, sorted by name.

    Pods being deleted are left out with ``include_terminating=False`` (a finished rollout's old pods).
    """
    rows = [diagnose(pod) for pod in pods]
    return sorted((row for row in rows
                   if row["reason"] and (include_terminating or row["reason"] != "Terminating")),
                  key=lambda row: row["name"] or "")


def failing(rows, reasons):
    """The rows whose reason is one of ``reasons`` (the fail-fast set)."""
    wanted = set(reasons or ())
    return [row for row in rows if row["reason"] in wanted]


def _row_detail(row):
    bits = []
    if row.get("container"):
        bits.append(f"container {row['container']}")
    if row.get("message"):
        bits.append(str(row["message"]).strip().rstrip("."))
    if row.get("last_exit_code") not in (None, 0):
        bits.append(f"last exit code {row['last_exit_code']}")
    if row.get("restarts"):
        bits.append(f"{row['restarts']} restarts")
    return f"{row['name']} ({'; '.join(bits)})" if bits else str(row["name"])


def summarize(rows):
    """``2 pods CrashLoopBackOff: web-1 (container app; back-off ...; 3 restarts), web-2`` for a message.

    Groups by reason, most frequent first; at most three pods are named per reason.
    """
    groups = {}
    for row in rows:
        groups.setdefault(row["reason"], []).append(row)
    parts = []
    for reason, members in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0] or "")):
        shown = [_row_detail(members[0])] + [str(row["name"]) for row in members[1:MAX_NAMES_IN_SUMMARY]]
        more = len(members) - MAX_NAMES_IN_SUMMARY
        if more > 0:
            shown.append(f"and {more} more")
        noun = "pod" if len(members) == 1 else "pods"
        parts.append(f"{len(members)} {noun} {reason}: {', '.join(shown)}")
    return "; ".join(parts)
