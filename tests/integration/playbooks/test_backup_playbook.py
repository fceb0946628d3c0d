"""playbooks/backup.yml with inventories/local against the harness PostgreSQL and moto S3.

Check mode first (no backup file, no S3 object, the database untouched), then the real run
(a verified backup per set, on disk and in S3 with matching sha256), then a re-run and a
check-mode re-run that change nothing (the freshness rule), a forced run that retention
prunes back to one backup per set, and the H9 freshness check failing the play by its flag.
The files, the objects and the database are the proof; the report is checked against them.
"""

from __future__ import annotations

import pytest

from tests.integration.playbooks.pg_playbook import (
    SCHEMAS,
    Playbooks,
    Postgres,
    S3,
    files,
    manifests,
    unique,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def setup(services, tmp_path):
    pg, s3 = Postgres(services), S3(services)
    database = pg.create_seeded(unique("itest_backup"))
    prefix = f"itest/{database}/postgres"
    s3.ensure_bucket()
    extra = {"db_backup_database": database, "db_backup_schemas": SCHEMAS, "db_backup_s3_prefix": prefix,
             "db_backup_retention": {"keep_last": 1, "min_keep": 1}}
    yield Playbooks(services, tmp_path), pg, s3, database, prefix + "/", extra
    pg.drop(database)
    s3.delete_prefix(prefix + "/")


def state(books, pg, s3, database, prefix):
    return {"files": files(books.backup_dir), "objects": s3.objects(prefix), "data": pg.fingerprint(database),
            "databases": pg.databases()}


def test_backup_playbook(setup):
    books, pg, s3, database, prefix, extra = setup
    sets = sorted([f"daily/{database}/full", f"daily/{database}/globals"] +
                  [f"daily/{database}/schema:{schema}" for schema in SCHEMAS])
    before = state(books, pg, s3, database, prefix)
    assert before["files"] == {} and before["objects"] == {}

    # Check mode: reports the five backups it would make and changes nothing.
    changed = books.run("backup.yml", extra, check=True).changed
    assert changed == 3
    assert state(books, pg, s3, database, prefix) == before
    report = books.report("db_backup")
    assert report["check_mode"] and sorted(b["set_key"] for b in report["made"]) == sets

    # Real run: one verified backup per set, locally and in S3, byte for byte.
    changed = books.run("backup.yml", extra).changed
    assert changed == 3
    after = state(books, pg, s3, database, prefix)
    assert after["data"] == before["data"]
    found = manifests(books.backup_dir)
    assert sorted(m["set_key"] for m in found) == sets
    for manifest in found:
        assert after["files"][manifest["file"]] == manifest["sha256"]
        assert after["objects"][prefix + manifest["file"]] == manifest["sha256"]
        assert prefix + manifest["name"] + ".manifest.json" in after["objects"]
        assert manifest["verification"]["status"] == "passed"
        assert (books.backup_dir / manifest["file"]).stat().st_mode & 0o777 == 0o600
    assert len(after["objects"]) == 10 and len(after["files"]) == 10
    report = books.report("db_backup")
    assert report["made_count"] == 5 and report["freshness"]["ok"]
    assert {b["name"]: b["sha256"] for b in report["made"]} == {m["name"]: m["sha256"] for m in found}
    assert (books.report_dir / "db_backup-platform-db.md").stat().st_size > 0

    # Re-runs inside db_backup_min_interval back up nothing, in check mode or not.
    assert books.run("backup.yml", extra).changed == 0
    assert books.run("backup.yml", extra, check=True).changed == 0
    assert state(books, pg, s3, database, prefix) == after
    report = books.report("db_backup")
    assert report["made_count"] == 0 and sorted(report["skipped"]) == sets

    # A forced run makes a new backup of every set; retention (keep_last 1) prunes the old ones.
    changed = books.run("backup.yml", dict(extra, db_backup_force=True)).changed
    assert changed == 3
    forced = state(books, pg, s3, database, prefix)
    new = manifests(books.backup_dir)
    assert sorted(m["set_key"] for m in new) == sets
    assert not {m["name"] for m in new} & {m["name"] for m in found}
    assert len(forced["files"]) == 10 and len(forced["objects"]) == 10
    assert {prefix + m["file"] for m in new} <= set(forced["objects"])
    assert len(books.report("db_backup")["pruned"]) == 10  # 5 local + 5 in S3

    # H9: with a one-second maximum age every set is stale; the flag fails the play after the report.
    output = books.run("backup.yml", dict(extra, db_backup_freshness_max_age="1s", db_backup_freshness_fail=True),
                       expect_rc=2).output
    assert "Backup freshness check failed" in output
    report = books.report("db_backup")
    assert not report["freshness"]["ok"] and len(report["freshness"]["problems"]) == 5
    assert state(books, pg, s3, database, prefix) == forced
