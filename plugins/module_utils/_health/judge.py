# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The daily health check's judgement: every selected check's verdict over the parts health_check_info read.

What the health_check_report action runs in one step (the role's report.yml used to template the same
fourteen filters in set_fact tasks): which parts were read, left out by tags or not needed; which checks
follow from that; each check's verdict with its settings; the run's verdict over them all.
"""

from __future__ import annotations

import inspect
import math

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import exception_text
from ansible_collections.sre.runbooks.plugins.module_utils._health.backups import backups_verdict
from ansible_collections.sre.runbooks.plugins.module_utils._health.endpoints import endpoints_verdict
from ansible_collections.sre.runbooks.plugins.module_utils._health.entries import overall
from ansible_collections.sre.runbooks.plugins.module_utils._health.kafka import kafka_verdict
from ansible_collections.sre.runbooks.plugins.module_utils._health.kubernetes import (
    hpa_verdict, pods_verdict, resources_verdict)
from ansible_collections.sre.runbooks.plugins.module_utils._health.logs import logs_verdict
from ansible_collections.sre.runbooks.plugins.module_utils._health.nodes import nodes_verdict
from ansible_collections.sre.runbooks.plugins.module_utils._health.postgres import postgres_verdict
from ansible_collections.sre.runbooks.plugins.module_utils._health.redis import cache_verdict, redis_verdict
from ansible_collections.sre.runbooks.plugins.module_utils._health.slo import slo_verdict
from ansible_collections.sre.runbooks.plugins.module_utils._health.thresholds import thresholds_verdict
from ansible_collections.sre.runbooks.plugins.module_utils._health.volumes import volumes_verdict

# health_check_info's parts, in its order.
PARTS = ("kubernetes", "slo", "postgres", "redis", "backups", "kafka")

# The checks in the order of their runbook rows (H1 ... H9, H12 ... H16): the report's order.
ROW_ORDER = ("pods", "endpoints", "slo", "postgres", "redis", "hpa", "logs", "resources", "backups", "kafka", "nodes",
             "volumes", "redis_cache", "model")

# The checks each part serves. A part left out by tags leaves its checks out of the report; H14
# (volumes) reads three parts and is left out only when none of them was read.
PART_CHECKS = {
    "kubernetes": ("pods", "hpa", "logs", "resources", "nodes"),
    "slo": ("endpoints", "slo", "model"),
    "postgres": ("postgres",),
    "redis": ("redis", "redis_cache"),
    "backups": ("backups",),
    "kafka": ("kafka",),
}
VOLUME_PARTS = ("kubernetes", "slo", "postgres")

# Each check's verdict function and the part it judges (its first argument).
VERDICTS = {
    "pods": (pods_verdict, "kubernetes"),
    "endpoints": (endpoints_verdict, "slo"),
    "slo": (slo_verdict, "slo"),
    "postgres": (postgres_verdict, "postgres"),
    "redis": (redis_verdict, "redis"),
    "hpa": (hpa_verdict, "kubernetes"),
    "logs": (logs_verdict, "kubernetes"),
    "resources": (resources_verdict, "kubernetes"),
    "backups": (backups_verdict, "backups"),
    "kafka": (kafka_verdict, "kafka"),
    "nodes": (nodes_verdict, "kubernetes"),
    "volumes": (volumes_verdict, "slo"),
    "redis_cache": (cache_verdict, "redis"),
    "model": (thresholds_verdict, "slo"),
}
# Arguments that are reads, not settings: the Kafka lag and H14's other two parts.
READ_ARGUMENTS = {"kafka": ("lag",), "volumes": ("k8s", "pg")}


def settings_of(check):
    """The settings a check's verdict takes, in its signature's order (its first argument is the read)."""
    function = VERDICTS[check][0]
    names = list(inspect.signature(function).parameters)[1:]
    return tuple(name for name in names if name not in READ_ARGUMENTS.get(check, ()))


SETTINGS = {check: settings_of(check) for check in VERDICTS}


class JudgeError(ValueError):
    """Bad settings for the verdicts, in one sentence."""


def check_settings(settings):
    """Every check's settings are a mapping with exactly the names its verdict takes; JudgeError otherwise."""
    for check, values in settings.items():
        if check not in SETTINGS:
            raise JudgeError(f"settings: {str(check)[:40]!r} is not a check (one of {', '.join(ROW_ORDER)}).")
        if not isinstance(values, dict):
            raise JudgeError(f"settings.{check} must be a mapping of {', '.join(SETTINGS[check]) or 'nothing'}.")
        unknown = sorted(str(name) for name in values if name not in SETTINGS[check])
        if unknown:
            raise JudgeError(f"settings.{check}: {', '.join(unknown)} is not a setting of this check "
                             f"(it takes {', '.join(SETTINGS[check]) or 'none'}).")
        for name, value in values.items():
            # A NaN threshold compares False with everything: every check would pass it.
            if not_finite(value):
                raise JudgeError(f"settings.{check}.{name} must be a finite number, not {str(value)[:20]}.")


def not_finite(value):
    """Whether ``value`` is a number, or a number's text, that is NaN or infinite."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return False
    try:
        return not math.isfinite(float(value))
    except (ValueError, OverflowError):
        return False


def gathered(reads, tagged_parts):
    """Each part's read as the verdicts take it: its result, ``{"skipped": True}`` when nothing needed it, or
    None when it was left out by tags (a part missing from ``reads`` is the first if its tag was selected)."""
    parts = {}
    for part in PARTS:
        if part in reads:
            if not isinstance(reads[part], (dict, type(None))):
                raise JudgeError(f"reads.{part} must be what health_check_info returned for that part (a mapping) "
                                 f"or null, not {type(reads[part]).__name__}.")
            parts[part] = reads[part]
        elif part in tagged_parts:
            parts[part] = {"cluster": {"skipped": True}, "lag": {"skipped": True}} if part == "kafka" else {"skipped": True}
        else:
            parts[part] = None
    return parts


def left_out(parts):
    """The checks the report leaves out because their part was left out by tags."""
    unread = [part for part in PARTS if parts[part] is None]
    checks = {check for part in unread for check in PART_CHECKS[part]}
    if all(part in unread for part in VOLUME_PARTS):
        checks.add("volumes")
    return checks


def judge(reads, tagged_parts, checks, settings):
    """The entries of the selected ``checks`` (row order), each judged by its verdict with its settings."""
    check_settings(settings)
    parts = gathered(reads, tagged_parts)
    skipped = {"skipped": True}
    # A part that was not read is judged as skipped (each verdict says why in its summary).
    data = {part: value or skipped for part, value in parts.items()}
    kafka = parts["kafka"] or {"cluster": {}, "lag": {}}
    # A Kafka part that failed as a whole (its process timed out or died) carries its reason itself.
    cluster = kafka.get("cluster", kafka if kafka.get("failed") else {}) or {}
    reads_of = {"kafka": {"lag": kafka.get("lag") or {}}, "volumes": {"k8s": data["kubernetes"], "pg": data["postgres"]}}
    excluded = left_out(parts)
    entries = []
    for check in ROW_ORDER:
        if check not in checks or check in excluded:
            continue
        function, part = VERDICTS[check]
        given = settings.get(check) or {}
        missing = [name for name in SETTINGS[check] if name not in given]
        if missing:
            raise JudgeError(f"settings.{check} lacks {', '.join(missing)}.")
        read = cluster if check == "kafka" else data[part]
        try:
            entries.append(function(read, **reads_of.get(check, {}), **given))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            # A setting of the wrong type ("five" restarts) or a read that is not what the part returns.
            raise JudgeError(f"The {check} check cannot be judged from reads.{part} with settings.{check}: "
                             f"{exception_text(exc).rstrip('.')}.") from None
    return entries


def health_result(entries, fail_on, run, reports):
    """health_check_result: the run's verdict, then the run's facts, the checks and the report paths."""
    result = overall(entries, fail_on)
    result.update(environment=run.get("environment") or "", host=run["host"], started_at=run["started_at"],
                  finished_at=run["finished_at"], check_mode=bool(run.get("check_mode")), fail_on=fail_on,
                  checks=entries, reports=reports)
    return result
