# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""health_check's verdict on Redis (H5): it answers, in the expected role, with memory below maxmemory.

``redis`` is the registered result of redis_maintain's ``memory`` operation (``server`` and ``memory``).
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._health.entries import CRITICAL, OK, WARNING, entry


def memory_percent(memory):
    """Used memory as a percentage of maxmemory (one decimal), or None without a maxmemory limit."""
    ratio = memory.get("used_memory_ratio")
    return None if ratio is None else round(ratio * 100, 1)


def _status(percent, wrong_role, warning_percent, critical_percent):
    if wrong_role or (percent is not None and percent > float(critical_percent)):
        return CRITICAL
    return WARNING if percent is not None and percent > float(warning_percent) else OK


def _summary(server, memory, percent, role, expected_role, wrong_role):
    summary = f"Redis {server.get('redis_version')} answers as {role}"
    if wrong_role:
        summary += f" (expected {expected_role})"
    summary += f"; {memory.get('used_memory_human')} used"
    if percent is not None:
        summary += f" ({percent} % of maxmemory {memory.get('maxmemory_human')})"
    else:
        summary += ", no maxmemory limit"
    return summary + f", {memory.get('total_keys')} keys, {memory.get('evicted_keys')} evicted"


def redis_verdict(redis, host, port, expected_role, warning_percent, critical_percent):
    """H5: critical when Redis does not answer, answers in another role than ``expected_role`` or is nearly full."""
    memory = redis.get("memory", {})
    server = redis.get("server") or {}
    percent = memory_percent(memory)
    role = server.get("role", "")
    wrong_role = bool(expected_role) and role != expected_role
    if "memory" not in redis:
        status = CRITICAL
        summary = f"cannot reach Redis at {host}:{port}: {redis.get('msg', 'no answer')}"
    else:
        status = _status(percent, wrong_role, warning_percent, critical_percent)
        summary = _summary(server, memory, percent, role, expected_role, wrong_role)
    details = {
        "address": server.get("address", f"{host}:{port}"), "role": role, "version": server.get("redis_version"),
        "used_memory": memory.get("used_memory"), "maxmemory": memory.get("maxmemory"),
        "used_memory_percent": percent, "maxmemory_policy": memory.get("maxmemory_policy"),
        "fragmentation_ratio": memory.get("mem_fragmentation_ratio"), "evicted_keys": memory.get("evicted_keys"),
        "total_keys": memory.get("total_keys"),
    }
    return entry("H5", "redis", "Redis", status, summary, details)
