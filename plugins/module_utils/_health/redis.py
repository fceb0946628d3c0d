# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""health_check's verdicts on Redis: it answers, in the expected role, with memory below maxmemory (H5), and
serves its lookups from the cache without evicting keys (H15, the MPH runbook's "Redis hit rate").

``redis`` is the registered result of redis_maintain's ``memory`` operation (``server`` and ``memory``);
both verdicts read the same one.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._health.entries import (
    CRITICAL, OK, UNAVAILABLE, WARNING, entry)


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


def cache_verdict(redis, hit_rate_percent, min_lookups, max_evictions):
    """H15: a warning when fewer lookups than ``hit_rate_percent`` hit (once there were ``min_lookups``) or more than
    ``max_evictions`` keys were evicted since the server started; unavailable when Redis cannot be read."""
    memory = redis.get("memory") or {}
    hits, misses = memory.get("keyspace_hits"), memory.get("keyspace_misses")
    lookups = None if hits is None or misses is None else hits + misses
    ratio = memory.get("keyspace_hit_ratio")
    rate = None if ratio is None else round(ratio * 100, 1)
    evicted = memory.get("evicted_keys")
    judged_rate = rate is not None and lookups >= int(min_lookups)
    low_rate = judged_rate and rate < float(hit_rate_percent)
    evicting = evicted is not None and evicted > int(max_evictions)
    if "memory" not in redis:
        status, summary = UNAVAILABLE, f"cannot read Redis: {redis.get('msg', 'no answer')}"
    else:
        status = WARNING if low_rate or evicting else OK
        if judged_rate:
            summary = f"hit rate {rate} % over {lookups} lookups since the server started"
            summary += f" (below {hit_rate_percent} %)" if low_rate else f" (warning below {hit_rate_percent} %)"
        else:
            summary = f"hit rate not judged: {lookups or 0} lookups since the server started, fewer than {min_lookups}"
        summary += f"; {evicted} keys evicted (policy {memory.get('maxmemory_policy')})"
        if evicting:
            summary += f", more than {max_evictions}"
    details = {"keyspace_hits": hits, "keyspace_misses": misses, "hit_rate_percent": rate, "lookups": lookups,
               "evicted_keys": evicted, "maxmemory_policy": memory.get("maxmemory_policy"),
               "expired_keys": memory.get("expired_keys")}
    return entry("H15", "redis_cache", "Redis hit rate and evictions", status, summary, details)
