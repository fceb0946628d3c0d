"""health_check's backup freshness verdict (H9) on pg_backup_info results."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._health.backups import backups_verdict, stale_sets

HOUR = 3600.0


def backup(name, status="ok", age_hours=2.0):
    return {"name": name, "status": status, "set_key": "full", "finished_at": "2026-12-04T02:00:00Z",
            "age_seconds": age_hours * HOUR, "size": 1024, "verification_status": status, "locations": ["local", "s3"]}


def listing(backups, latest="first", sets=None):
    latest = (backups[0] if backups else None) if latest == "first" else latest
    return {"backups": backups, "latest": latest,
            "sets": sets if sets is not None else {"full": {"latest_ok_age_seconds": 2 * HOUR}}}


def judge(result, dest="/var/backups", s3=None):
    return backups_verdict(result, dest, s3 or {}, "postgres", "app", 26)


def test_fresh_verified_backup_is_ok():
    entry = judge(listing([backup("b2"), backup("b1")]))
    assert entry["status"] == "ok"
    assert entry["summary"] == "newest verified backup b2 is 2.0 h old (limit 26 h), in local and s3; 2 backups in 1 sets"
    assert entry["details"]["latest"] == {key: backup("b2")[key] for key in (
        "name", "set_key", "finished_at", "age_seconds", "size", "verification_status", "locations")}


def test_newest_unverified_and_stale_sets_are_warnings():
    sets = {"full": {"latest_ok_age_seconds": 2 * HOUR}, "schema-a": {"latest_ok_age_seconds": None},
            "globals": {"latest_ok_age_seconds": 30 * HOUR}}
    entry = judge(listing([backup("b3", "failed"), backup("b2")], latest=backup("b2"), sets=sets))
    assert entry["status"] == "warning"
    assert entry["summary"] == ("newest verified backup b2 is 2.0 h old (limit 26 h), in local and s3, but the newest "
                                "backup b3 is failed; 2 backups in 3 sets, stale or unverified sets: schema-a, globals")
    assert entry["details"]["stale_sets"] == ["schema-a", "globals"]


@pytest.mark.parametrize(("result", "summary"), [
    (listing([backup("b1", age_hours=27.25)]), "newest verified backup b1 is 27.2 h old (limit 26 h), in local and s3; "
                                               "1 backups in 1 sets"),
    (listing([backup("b1", "failed")], latest=None), "no verified backup of app among 1 (newest b1: failed)"),
    (listing([], latest=None, sets={}), "no backup of app in /var/backups or s3://bk/postgres"),
    ({"failed": True, "msg": "access denied"}, "cannot read the backups: access denied"),
])
def test_critical(result, summary):
    entry = judge(result, s3={"bucket": "bk"})
    assert (entry["status"], entry["summary"]) == ("critical", summary)


def test_no_location_is_unavailable():
    entry = judge({"skipped": True, "changed": False}, dest="")
    assert entry["status"] == "unavailable"
    assert entry["summary"] == "no backup location configured (health_check_backup_dest, health_check_backup_s3)"
    assert entry["details"] == {"locations": [], "latest": None, "stale_sets": [], "sets": {}}


def test_stale_sets_lists_missing_first():
    assert stale_sets({"a": {"latest_ok_age_seconds": 5.0}, "b": {"latest_ok_age_seconds": None}}, 4.0) == ["b", "a"]
