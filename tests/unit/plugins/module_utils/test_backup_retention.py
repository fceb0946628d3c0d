"""Retention decisions: keep_last, max_age_days, min_keep, protection of the backups just made."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._backup.retention import (
    RetentionError,
    normalize_policy,
    parse_time,
    select_prunable,
)

NOW = datetime.datetime(2025, 1, 15, 12, 0, tzinfo=datetime.timezone.utc)


def backups(*ages_days, failed=()):
    """Backups named b<age> that finished ``age`` days before NOW."""
    return [{"name": f"b{age}", "finished_at": (NOW - datetime.timedelta(days=age)).isoformat(),
             "verification_status": "failed" if age in failed else "passed"} for age in ages_days]


def names(chosen):
    return [item["name"] for item in chosen]


@pytest.mark.parametrize("policy, expected", [
    ({"keep_last": 3}, ["b3", "b10", "b40"]),
    ({"max_age_days": 7}, ["b10", "b40"]),
    ({"max_age_days": 2.5}, ["b3", "b10", "b40"]),
    # Either rule makes a candidate: beyond 4 or older than 30 days.
    ({"keep_last": 4, "max_age_days": 30}, ["b10", "b40"]),
    ({"keep_last": 10, "max_age_days": 30}, ["b40"]),
    # min_keep keeps the newest ones even when they are all too old.
    ({"max_age_days": 0.1, "min_keep": 2}, ["b2", "b3", "b10", "b40"]),
    ({"keep_last": 1, "min_keep": 3}, ["b3", "b10", "b40"]),
    ({}, []),
    (None, []),
    ({"min_keep": 2}, []),
])
def test_policies(policy, expected):
    chosen = select_prunable(backups(0, 1, 2, 3, 10, 40), policy, now=NOW)
    assert names(chosen) == expected


def test_reasons_ranks_and_ages_are_reported():
    chosen = select_prunable(backups(0, 1, 40), {"keep_last": 2, "max_age_days": 30}, now=NOW)
    assert chosen == [{"name": "b40", "rank": 3, "age_days": 40.0,
                       "reason": "beyond keep_last=2 (rank 3); older than max_age_days=30 (40.0 days)"}]


def test_the_backup_just_made_is_never_pruned_even_when_it_ranks_low():
    # A clock-skewed backup from 'the future' ranks first; the new one (b0) ranks second.
    items = backups(0, 3) + [{"name": "future", "finished_at": (NOW + datetime.timedelta(days=1)).isoformat()}]
    chosen = select_prunable(items, {"keep_last": 1}, now=NOW, protect={"b0"})
    assert names(chosen) == ["b3"]


def test_failed_verification_does_not_count_toward_min_keep():
    items = backups(1, 2, 3, failed=(1, 2))
    chosen = select_prunable(items, {"max_age_days": 0.5, "min_keep": 1}, now=NOW)
    # b3 is the newest good backup and stays; the unverified newer ones go.
    assert names(chosen) == ["b1", "b2"]


def test_order_is_newest_first_regardless_of_input_order():
    items = list(reversed(backups(5, 1, 9, 3)))
    assert names(select_prunable(items, {"keep_last": 1}, now=NOW)) == ["b3", "b5", "b9"]


@pytest.mark.parametrize("policy, message", [
    ({"keep_last": 0}, "keep_last=0 must be at least 1"),
    ({"max_age_days": 0}, "max_age_days=0 must be greater than 0"),
    ({"keep_last": 2, "min_keep": 0}, "min_keep=0 must be at least 1"),
])
def test_bad_policies_are_refused(policy, message):
    with pytest.raises(RetentionError, match=message):
        normalize_policy(policy)


@pytest.mark.parametrize("text", ["2025-01-15T12:00:00Z", "2025-01-15T12:00:00+00:00", "2025-01-15T13:00:00+01:00",
                                  "2025-01-15T12:00:00"])
def test_parse_time_accepts_iso_forms(text):
    assert parse_time(text) == NOW


def test_parse_time_rejects_garbage():
    with pytest.raises(RetentionError, match="Invalid timestamp"):
        parse_time("yesterday")


@pytest.mark.parametrize("days", [float("nan"), float("inf"), -1.0, 0])
def test_retention_refuses_ages_that_would_never_or_always_prune(days):
    with pytest.raises(RetentionError, match="max_age_days=.* must be greater than 0 and a finite number of days"):
        normalize_policy({"max_age_days": days})
