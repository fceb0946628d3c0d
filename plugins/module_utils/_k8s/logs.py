# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Error lines in the recent logs of Deployments (H7): which logs to read and what they say. No I/O here.

``kubectl logs deployment/<name> --since=24h | grep -ci error`` reads one pod; the health check reads
up to ``max_pods`` pods of each Deployment, every container, and with ``previous`` the log of the
container instance that crashed before, then counts the lines matching a pattern per Deployment.
The reads themselves run concurrently in health_runner.
"""

from __future__ import annotations

import re

from ansible_collections.sre.runbooks.plugins.module_utils._k8s.health import workload_of

# How many of the last error lines a row keeps, and how long each may be.
LAST_ERRORS = 3
ERROR_LINE_LENGTH = 300
# Jinja's truncate filter lets a line this much longer than the length through untouched.
TRUNCATE_LEEWAY = 5
DEFAULTS = {"deployments": [], "max_deployments": 10, "max_pods": 3, "since": "24h", "pattern": "error",
            "previous": False, "limit_bytes": 10 * 2 ** 20}


class LogsInputError(ValueError):
    """Bad ``logs`` options; the message is one sentence."""


def truncate(text, length=ERROR_LINE_LENGTH, end="..."):
    """Jinja's ``truncate`` (word boundary, default leeway), so rows read as they did when Jinja built them."""
    if len(text) <= length + TRUNCATE_LEEWAY:
        return text
    return text[:length - len(end)].rsplit(" ", 1)[0] + end


def compile_pattern(pattern):
    """The error-line pattern as a case-insensitive regular expression, or LogsInputError in one sentence."""
    if not pattern:
        raise LogsInputError("logs.pattern must not be empty (an empty pattern matches every line).")
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise LogsInputError(f"logs.pattern {pattern!r} is not a regular expression: {exc}.") from None


def targets(listed, found, max_deployments):
    """The Deployments to read, as (namespace, name): the listed ones, else those found; at most ``max_deployments``."""
    chosen = []
    for item in listed or found:
        key = (item["namespace"], item["name"])
        if key not in chosen:
            chosen.append(key)
    return chosen[:max_deployments]


def _pod_order(pod):
    status = pod.get("status") or {}
    return (status.get("phase") != "Running", (pod.get("metadata") or {}).get("name") or "")


def choose_pods(pods, deployment, max_pods):
    """The Deployment's pods to read: scheduled, not being deleted, Running ones first, then by name."""
    mine = [pod for pod in pods if workload_of(pod) == f"Deployment/{deployment}"
            and (pod.get("spec") or {}).get("nodeName")
            and not (pod.get("metadata") or {}).get("deletionTimestamp")]
    return sorted(mine, key=_pod_order)[:max_pods]


def reads(pods, previous):
    """One (pod, container, previous) per log to read: each container's current log, and with ``previous`` the
    log of the instance before the last restart for containers that restarted."""
    planned = []
    for pod in pods:
        name = (pod.get("metadata") or {}).get("name")
        restarts = {s.get("name"): int(s.get("restartCount") or 0)
                    for s in (pod.get("status") or {}).get("containerStatuses") or []}
        for container in (pod.get("spec") or {}).get("containers") or []:
            planned.append((name, container.get("name"), False))
            if previous and restarts.get(container.get("name"), 0) > 0:
                planned.append((name, container.get("name"), True))
    return planned


def count_lines(text, pattern):
    """(lines, matching lines, the last matching ones cut to length) of one log's text."""
    lines = [line for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if pattern.search(line)]
    return len(lines), len(errors), [truncate(line) for line in errors[-LAST_ERRORS:]]


def deployment_row(namespace, name, pods, outcomes, pattern, limit_bytes):
    """The row of one Deployment from its reads' outcomes.

    ``outcomes`` holds ``((pod, container, previous), text or None, error sentence or None)`` per read.
    ``status`` is ``read`` when at least one log was read, else ``unavailable`` with the first reason.
    """
    row = {"namespace": namespace, "name": name, "pods": sorted({read[0] for read, _text, _error in outcomes}),
           "logs_read": 0, "lines": 0, "error_lines": 0, "previous_lines": 0, "previous_error_lines": 0,
           "last_errors": [], "truncated": False, "status": "unavailable", "reason": None}
    if not pods:
        row["reason"] = "no running pod"
    for (pod, container, previous), text, error in outcomes:
        if text is None:
            row["reason"] = row["reason"] or error
            continue
        lines, matching, last = count_lines(text, pattern)
        row["logs_read"] += 1
        prefix = "previous_" if previous else ""
        row[prefix + "lines"] += lines
        row[prefix + "error_lines"] += matching
        row["truncated"] = row["truncated"] or len(text.encode("utf-8", errors="replace")) >= limit_bytes
        row["last_errors"] = (row["last_errors"] + [f"{pod}/{container}{' (previous)' if previous else ''}: {line}"
                                                    for line in last])[-LAST_ERRORS:]
    if row["logs_read"]:
        row["status"], row["reason"] = "read", None
    return row
