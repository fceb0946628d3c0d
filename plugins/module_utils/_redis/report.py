# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Pure logic over Redis INFO: parsing, the memory report, BGSAVE progress and RDB file checks."""

from __future__ import annotations

import re

# INFO memory fields copied into the report as they are (when the server has them).
MEMORY_FIELDS = (
    "used_memory", "used_memory_human", "used_memory_peak", "used_memory_peak_human",
    "used_memory_rss", "used_memory_rss_human", "used_memory_dataset", "used_memory_overhead",
    "mem_fragmentation_ratio", "mem_fragmentation_bytes", "allocator_frag_ratio", "allocator_resident",
    "maxmemory", "maxmemory_human", "maxmemory_policy", "mem_allocator",
)
STATS_FIELDS = ("evicted_keys", "expired_keys", "keyspace_hits", "keyspace_misses")

RDB_MAGIC = b"REDIS"


def _coerce(value):
    """'12' -> 12, '1.13' -> 1.13, anything else unchanged (INFO values are text on the wire)."""
    if isinstance(value, str):
        if re.fullmatch(r"-?\d+", value):
            return int(value)
        if re.fullmatch(r"-?\d+\.\d+", value):
            return float(value)
    return value


def parse_keyspace_value(text):
    """'keys=10,expires=2,avg_ttl=100' -> {'keys': 10, 'expires': 2, 'avg_ttl': 100}."""
    out = {}
    for part in str(text).split(","):
        if "=" in part:
            name, value = part.split("=", 1)
            out[name.strip()] = _coerce(value.strip())
    return out


def parse_info(text):
    """INFO's text reply -> a flat dict, numbers as numbers and 'dbN' lines as dicts (as redis-py does)."""
    info = {}
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        name, value = line.split(":", 1)
        if re.fullmatch(r"db\d+", name):
            info[name] = parse_keyspace_value(value)
        else:
            info[name] = _coerce(value)
    return info


def keyspace(info):
    """{'db0': {'keys': .., 'expires': .., 'avg_ttl': ..}, ...} from an INFO dict, sorted by db number."""
    dbs = {}
    for name, value in info.items():
        if re.fullmatch(r"db\d+", str(name)):
            value = value if isinstance(value, dict) else parse_keyspace_value(value)
            dbs[name] = {key: int(value.get(key, 0)) for key in ("keys", "expires", "avg_ttl")}
    return dict(sorted(dbs.items(), key=lambda item: int(item[0][2:])))


def db_keys(info, db):
    """Number of keys in database ``db`` according to INFO keyspace (0 when absent)."""
    return keyspace(info).get(f"db{db}", {}).get("keys", 0)


def ratio(numerator, denominator, digits=4):
    """numerator / denominator rounded, or None when the denominator is 0 or missing."""
    try:
        if not denominator:
            return None
        return round(float(numerator) / float(denominator), digits)
    except (TypeError, ValueError):
        return None


def memory_report(info, doctor=None, big_keys=None):
    """The memory report returned by the module, from a full INFO dict (memory, stats, keyspace, server)."""
    report = {name: _coerce(info[name]) for name in MEMORY_FIELDS if name in info}
    for name in STATS_FIELDS:
        if name in info:
            report[name] = int(info[name])
    report["used_memory_ratio"] = ratio(info.get("used_memory"), info.get("maxmemory"))
    report["peak_ratio"] = ratio(info.get("used_memory"), info.get("used_memory_peak"))
    hits, misses = info.get("keyspace_hits"), info.get("keyspace_misses")
    report["keyspace_hit_ratio"] = ratio(hits, (hits or 0) + (misses or 0)) if hits is not None else None
    report["keyspace"] = keyspace(info)
    report["total_keys"] = sum(db["keys"] for db in report["keyspace"].values())
    report["total_expires"] = sum(db["expires"] for db in report["keyspace"].values())
    report["redis_version"] = str(info.get("redis_version", ""))
    report["role"] = normalise_role(info.get("role"))
    if doctor is not None:
        report["doctor"] = doctor
    if big_keys is not None:
        report["big_keys"] = big_keys
    return report


def normalise_role(role):
    """'master'/'slave' (Redis' words) -> 'primary'/'replica'."""
    return {"master": "primary", "slave": "replica"}.get(str(role or ""), str(role or "unknown"))


def is_read_only_replica(info):
    """True for a replica that refuses writes (slave_read_only / replica_read_only = 1)."""
    if normalise_role(info.get("role")) != "replica":
        return False
    flag = info.get("replica_read_only", info.get("slave_read_only", 1))
    return str(flag) in ("1", "yes")


def top_keys(samples, limit):
    """The ``limit`` biggest of [(key, bytes, type), ...] as dicts, biggest first, ties by key name."""
    ordered = sorted(samples, key=lambda item: (-(item[1] or 0), item[0]))
    return [{"key": key, "bytes": size, "type": kind} for key, size, kind in ordered[:limit]]


def bgsave_state(before, now, seen_running=False):
    """Progress of a BGSAVE started after INFO persistence ``before``, judged from INFO persistence ``now``.

    Returns 'running' (a save is in progress), 'done' (a save finished after ``before`` and
    rdb_last_bgsave_status is ok), 'failed' (it finished with an error) or 'waiting' (scheduled,
    not started yet, for example behind an AOF rewrite). Completion is seen through rdb_saves
    (Redis >= 7.0) or, on older servers, rdb_last_save_time moving or a save seen running
    (``seen_running``) having ended - LASTSAVE has one-second resolution.
    """
    if int(now.get("rdb_bgsave_in_progress", 0) or 0):
        return "running"
    if "rdb_saves" in now and "rdb_saves" in before:
        finished = int(now["rdb_saves"]) > int(before["rdb_saves"])
    else:
        finished = seen_running or \
            int(now.get("rdb_last_save_time", 0) or 0) > int(before.get("rdb_last_save_time", 0) or 0)
    if not finished:
        # A failed save leaves rdb_last_save_time alone but flips the status.
        if str(now.get("rdb_last_bgsave_status")) == "err" and str(before.get("rdb_last_bgsave_status")) != "err":
            return "failed"
        return "waiting"
    return "done" if str(now.get("rdb_last_bgsave_status", "ok")) == "ok" else "failed"


def poll_interval(elapsed):
    """Seconds between INFO polls while waiting: quick at first (small datasets save in milliseconds), then 1 s."""
    return min(1.0, 0.02 + elapsed / 10.0)


def rdb_version(header):
    """The RDB format version from a file's first 9 bytes ('REDIS0010' -> 10), or None if it is not an RDB file."""
    if len(header) < 9 or not header.startswith(RDB_MAGIC) or not header[5:9].isdigit():
        return None
    return int(header[5:9])


def human_bytes(size):
    """1536 -> '1.5K', as Redis prints sizes."""
    size = float(size)
    for unit in ("B", "K", "M", "G", "T"):
        if abs(size) < 1024 or unit == "T":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.2f}{unit}"
        size /= 1024.0
    return f"{size:.2f}T"
