# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Which backups retention removes, and why: a pure function over manifest summaries.

The policy has three knobs, applied to one backup set (same label, database and scope):

* ``keep_last`` N: backups ranked beyond the N newest are candidates;
* ``max_age_days`` D: backups that finished more than D days ago are candidates;
* ``min_keep`` K (default 1): a floor. The K newest *good* backups (verification not failed)
  are never removed, whatever the other two say.

A backup is removed when either rule makes it a candidate and the floor does not protect it.
Backups named in ``protect`` (the ones this run just made) are never removed. With neither
``keep_last`` nor ``max_age_days`` nothing is removed.
"""

from __future__ import annotations

import datetime

POLICY_KEYS = ("keep_last", "max_age_days", "min_keep")


class RetentionError(ValueError):
    """A retention policy that cannot be applied; the message is one sentence."""


def parse_time(value):
    """An aware UTC datetime from an ISO 8601 string (a trailing Z is accepted) or a datetime."""
    if isinstance(value, datetime.datetime):
        moment = value
    else:
        try:
            moment = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise RetentionError(f"Invalid timestamp {value!r} in a backup manifest.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def normalize_policy(policy):
    """Check a retention dict and fill defaults; returns None when it prunes nothing."""
    if not policy:
        return None
    keep_last = policy.get("keep_last")
    max_age = policy.get("max_age_days")
    min_keep = policy.get("min_keep")
    min_keep = 1 if min_keep is None else min_keep
    if keep_last is not None and keep_last < 1:
        raise RetentionError(f"retention keep_last={keep_last} must be at least 1; the newest backup is always kept.")
    if max_age is not None and not 0 < float(max_age) < 1e6:  # also refuses NaN and infinity
        raise RetentionError(f"retention max_age_days={max_age} must be greater than 0 and a finite number of days.")
    if min_keep < 1:
        raise RetentionError(f"retention min_keep={min_keep} must be at least 1, so a set is never emptied.")
    if keep_last is None and max_age is None:
        return None
    return {"keep_last": keep_last, "max_age_days": max_age, "min_keep": min_keep}


def select_prunable(backups, policy, now=None, protect=()):
    """The backups to remove, newest first, each as ``{"name", "reason", "rank", "age_days"}``.

    ``backups`` are dicts with ``name``, ``finished_at`` and optionally ``verification_status``
    (``failed`` marks a backup that does not count toward ``min_keep``). ``rank`` is 1 for the
    newest backup of the set.
    """
    policy = normalize_policy(policy)
    if policy is None:
        return []
    now = parse_time(now) if now is not None else datetime.datetime.now(datetime.timezone.utc)
    protect = set(protect or ())
    ordered = sorted(backups, key=lambda b: (parse_time(b["finished_at"]), b["name"]), reverse=True)
    floor = set()
    for backup in ordered:
        if len(floor) >= policy["min_keep"]:
            break
        if backup.get("verification_status") != "failed":
            floor.add(backup["name"])
    chosen = []
    for rank, backup in enumerate(ordered, start=1):
        age_days = (now - parse_time(backup["finished_at"])).total_seconds() / 86400.0
        reasons = []
        if policy["keep_last"] is not None and rank > policy["keep_last"]:
            reasons.append(f"beyond keep_last={policy['keep_last']} (rank {rank})")
        if policy["max_age_days"] is not None and age_days > policy["max_age_days"]:
            reasons.append(f"older than max_age_days={_number(policy['max_age_days'])} ({age_days:.1f} days)")
        if not reasons or backup["name"] in protect or backup["name"] in floor:
            continue
        chosen.append({"name": backup["name"], "reason": "; ".join(reasons), "rank": rank,
                       "age_days": round(age_days, 3)})
    return chosen


def _number(value):
    return int(value) if float(value).is_integer() else value
