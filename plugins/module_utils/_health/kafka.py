# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""health_check's verdict on Kafka (H12, the ai-pipeline runbook's morning check): the brokers answer, no
partition is offline or under-replicated, and no consumer group lags.

``cluster`` is the registered result of kafka_cluster_info, ``lag`` that of kafka_consumer_lag_info.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._health.entries import (
    CRITICAL, OK, UNAVAILABLE, WARNING, entry, ladder)

TITLE = "Kafka topics, replication and consumer lag"
# Burrow's group status -> the report's severity.
_BURROW = {"ERR": CRITICAL, "WARN": WARNING}


def _group_problem(group, lag_warning, lag_critical):
    """(severity, words) of one group, or (None, None) when it is healthy."""
    lag, status = group.get("total_lag") or 0, group.get("status")
    if lag > lag_critical:
        return CRITICAL, f"{group['group']} lag {lag} (above {lag_critical})"
    severity = _BURROW.get(status)
    if severity:
        return severity, f"{group['group']} {status} (lag {lag})"
    if lag > lag_warning:
        return WARNING, f"{group['group']} lag {lag} (above {lag_warning})"
    return None, None


def kafka_verdict(cluster, lag, bootstrap_servers, lag_warning, lag_critical):
    """H12: critical when the cluster does not answer, a partition is offline, a group's lag passes
    ``lag_critical`` or Burrow's evaluation says ERR; warning for under-replicated partitions, a lag above
    ``lag_warning`` or WARN; unavailable (with the reason) when the inventory names no brokers."""
    lag_warning, lag_critical = int(lag_warning), int(lag_critical)
    if not bootstrap_servers:
        return entry("H12", "kafka", TITLE, UNAVAILABLE,
                     "skipped: the inventory names no Kafka brokers (health_check_kafka_bootstrap_servers or "
                     "sre_kafka.bootstrap_servers)", {})
    cluster, lag = cluster or {}, lag or {}
    if cluster.get("failed") or "topics" not in cluster:
        return entry("H12", "kafka", TITLE, CRITICAL,
                     f"cannot read Kafka at {bootstrap_servers}: {cluster.get('msg', 'no answer')}",
                     {"bootstrap_servers": bootstrap_servers})
    under, offline = cluster.get("under_replicated_partitions") or [], cluster.get("offline_partitions") or []
    groups = lag.get("groups") or []
    problems = [_group_problem(group, lag_warning, lag_critical) for group in groups]
    severities = [CRITICAL if offline else None, WARNING if under else None] + [severity for severity, _words in problems]
    lag_failed = lag.get("failed") or "groups" not in lag
    if lag_failed:
        severities.append(WARNING)
    summary = (f"{len(cluster.get('brokers') or [])} brokers, {len(cluster['topics'])} topics, "
               f"{len(under)} under-replicated and {len(offline)} offline partitions")
    if lag_failed:
        summary += f"; consumer lag not read: {lag.get('msg', 'no answer')}"
    else:
        summary += f"; {len(groups)} consumer groups, total lag {lag.get('total_lag', 0)}"
        lagging = [words for _severity, words in problems if words]
        summary += f"; {', '.join(lagging)}" if lagging else f" (warning above {lag_warning} per group)"
    details = {
        "bootstrap_servers": bootstrap_servers, "brokers": cluster.get("brokers") or [], "topics": cluster["topics"],
        "under_replicated_partitions": under, "offline_partitions": offline,
        "samples": lag.get("samples"), "window_seconds": lag.get("window_seconds"),
        "groups": [{key: group.get(key) for key in ("group", "state", "members", "status", "total_lag", "max_lag", "topics")}
                   for group in groups],
    }
    return entry("H12", "kafka", TITLE, ladder(severities) if any(severities) else OK, summary, details)
