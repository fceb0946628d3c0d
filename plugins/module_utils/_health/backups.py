# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""health_check's verdict on backup freshness (H9), from one pg_backup_info result.

``backups`` is the registered result: skipped when no location is configured, without ``backups``
when pg_backup_info failed, else its ``backups`` (newest first), ``latest`` verified backup and ``sets``.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._health.entries import (
    CRITICAL, OK, UNAVAILABLE, WARNING, entry)

LATEST_KEYS = ("name", "set_key", "finished_at", "age_seconds", "size", "verification_status", "locations")


def locations(dest, s3, s3_prefix):
    """Where the role looks for backups, as the summary names them."""
    where = [dest] if dest else []
    if (s3 or {}).get("bucket", ""):
        where.append(f"s3://{s3['bucket']}/{s3_prefix}")
    return where


def stale_sets(sets, max_age):
    """The sets (full, per schema, globals) whose newest verified backup is missing, then those older than max_age."""
    ages = {key: value.get("latest_ok_age_seconds") for key, value in sets.items()}
    return ([key for key, age in ages.items() if age is None]
            + [key for key, age in ages.items() if age is not None and age > max_age])


def _status(backups, latest, stale, max_age):
    if backups.get("skipped"):
        return UNAVAILABLE
    if "backups" not in backups or latest is None or latest["age_seconds"] > max_age:
        return CRITICAL
    return WARNING if backups["backups"][0]["status"] != OK or stale else OK


def _summary(backups, latest, stale, where, database, max_age_hours):
    if backups.get("skipped"):
        return "no backup location configured (health_check_backup_dest, health_check_backup_s3)"
    if "backups" not in backups:
        return f"cannot read the backups: {backups.get('msg', 'no answer')}"
    found = backups["backups"]
    if not found:
        return f"no backup of {database} in {' or '.join(where)}"
    newest = found[0]
    if latest is None:
        return f"no verified backup of {database} among {len(found)} (newest {newest['name']}: {newest['status']})"
    summary = (f"newest verified backup {latest['name']} is {round(latest['age_seconds'] / 3600, 1)} h old "
               f"(limit {max_age_hours} h), in {' and '.join(str(place) for place in latest['locations'])}")
    if newest["status"] != OK:
        summary += f", but the newest backup {newest['name']} is {newest['status']}"
    summary += f"; {len(found)} backups in {len(backups.get('sets', {}))} sets"
    if stale:
        summary += f", stale or unverified sets: {', '.join(stale)}"
    return summary


def backups_verdict(backups, dest, s3, s3_prefix, database, max_age_hours):
    """H9: critical without a verified backup younger than ``max_age_hours``; a warning when the newest backup
    failed its verification or a set is stale; unavailable when no location is configured."""
    max_age = float(max_age_hours) * 3600
    latest = backups.get("latest")
    stale = stale_sets(backups.get("sets", {}), max_age)
    where = locations(dest, s3, s3_prefix)
    details = {"locations": where,
               "latest": None if latest is None else {key: latest.get(key) for key in LATEST_KEYS},
               "stale_sets": stale, "sets": backups.get("sets", {})}
    return entry("H9", "backups", "Backup freshness", _status(backups, latest, stale, max_age),
                 _summary(backups, latest, stale, where, database, max_age_hours), details)
