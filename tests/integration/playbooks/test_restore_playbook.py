"""playbooks/restore.yml with inventories/local against the harness PostgreSQL and moto S3.

The backups come from playbooks/backup.yml, so this is the runbooks' round trip. The restore
is refused without its confirmation (in check mode too) and changes nothing then; a check-mode
restore changes nothing; a restore into a new database brings back the same rows (compared
table by table, content included) and a re-run changes nothing; a damaged database is restored
in place from S3 with force, ending the sessions on it and leaving a safety dump. With the
local Kubernetes cluster, the writers (I5) are scaled to 0 and back around the restore.
"""

from __future__ import annotations

import json

import psycopg2
import pytest

from tests.integration.playbooks.pg_playbook import Playbooks, Postgres, S3, files, manifests, unique

pytestmark = pytest.mark.slow


@pytest.fixture
def backed_up(services, tmp_path):
    """A seeded database with a full and a production-schema backup (local and S3) made by backup.yml."""
    pg, s3 = Postgres(services), S3(services)
    database = pg.create_seeded(unique("itest_restore"))
    prefix = f"itest/{database}/postgres"
    s3.ensure_bucket()
    books = Playbooks(services, tmp_path)
    books.run("backup.yml", {"db_backup_database": database, "db_backup_schemas": ["production"],
                             "db_backup_globals": False, "db_backup_s3_prefix": prefix})
    common = {"db_restore_source_database": database, "db_restore_s3_prefix": prefix}
    created = [database]
    yield books, pg, database, common, created
    for name in created:
        pg.drop(name)
    s3.delete_prefix(prefix + "/")


def test_restore_playbook(backed_up):
    books, pg, database, common, created = backed_up
    original = pg.fingerprint(database)
    copy = database + "_copy"
    created.append(copy)
    backups_before = files(books.backup_dir)

    # Refused without the confirmation, or with one naming another database, even in check mode.
    output = books.run("restore.yml", dict(common, restore_database=copy), expect_rc=2).output
    assert f"Refusing to restore into database '{copy}'" in output and f"restore_confirm={copy}" in output
    books.run("restore.yml", dict(common, restore_database=copy, restore_confirm=database), check=True, expect_rc=2)
    assert copy not in pg.databases()

    # Check mode: says it would restore, creates nothing.
    restore_copy = dict(common, restore_database=copy, restore_confirm=copy)
    assert books.run("restore.yml", restore_copy, check=True).changed == 1
    assert copy not in pg.databases()
    assert books.report("db_restore")["status"] == "would_restore"

    # Round trip: the newest clean full backup into a new database, then a no-op re-run.
    assert books.run("restore.yml", restore_copy).changed == 1
    assert pg.fingerprint(copy) == original
    report = books.report("db_restore")
    [full] = [m for m in manifests(books.backup_dir) if m["set_key"].endswith("/full")]
    assert report["status"] == "restored" and report["backup"]["name"] == full["name"] and report["verified"]
    assert report["source"]["src"] == str(books.backup_dir / full["file"])
    assert books.run("restore.yml", restore_copy).changed == 0
    assert books.report("db_restore")["status"] == "unchanged"

    # One schema's newest clean backup into another new database.
    prod = database + "_prod"
    created.append(prod)
    books.run("restore.yml", dict(common, restore_database=prod, restore_confirm=prod, db_restore_set="schema:production"))
    assert pg.fingerprint(prod) == {k: v for k, v in original.items() if k.startswith("production.")}

    # I5: damage the database, then restore it in place from S3, forced, with a session open on it.
    pg.execute(database, "UPDATE production.experiments SET accuracy = 0 WHERE id % 3 = 0; "
                         "DELETE FROM experiments_v1.runs WHERE id > 50; DROP TABLE quarantine.records")
    damaged = pg.fingerprint(database)
    in_place = dict(common, restore_database=database, restore_confirm=database, db_restore_prefer_local=False,
                    db_restore_force=True, db_restore_terminate_sessions=True)
    assert books.run("restore.yml", in_place, check=True).changed == 1
    assert pg.fingerprint(database) == damaged and files(books.backup_dir) == backups_before

    session = pg.connect(database)
    try:
        assert books.run("restore.yml", in_place).changed == 1
        assert pg.fingerprint(database) == original
        with pytest.raises(psycopg2.Error), session.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        session.close()
    report = books.report("db_restore")
    assert report["action"] == "replace" and report["sessions_terminated"] >= 1
    assert report["source"]["src"] is None and report["source"]["s3_key"].endswith(full["file"])
    # The safety dump of the damaged database sits beside the backups, checksummed.
    [safety] = [m for m in manifests(books.backup_dir) if m["label"] != "daily"]
    assert files(books.backup_dir)[safety["file"]] == safety["sha256"]
    assert safety["row_counts"]["experiments_v1.runs"] == 50 and "quarantine.records" not in safety["row_counts"]
    assert books.run("restore.yml", in_place).changed == 0


WRITER = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: experiment-writer, namespace: NS}
spec:
  replicas: 2
  selector: {matchLabels: {app: experiment-writer}}
  template:
    metadata: {labels: {app: experiment-writer}}
    spec:
      containers: [{name: writer, image: registry.example/experiment-writer:1.0}]
"""


def test_restore_stops_writers(backed_up, k8s_cluster):
    books, pg, database, common, created = backed_up
    namespace = unique("itest-writers").replace("_", "-")
    k8s_cluster.kubectl("create", "namespace", namespace)
    try:
        k8s_cluster.kubectl("apply", "-f", "-", input=WRITER.replace("NS", namespace))
        books.env.update(k8s_cluster.env)

        def writer():
            result = k8s_cluster.kubectl("get", "deployment", "experiment-writer", "-n", namespace, "-o", "json")
            item = json.loads(result.stdout)
            return item["spec"]["replicas"], item["metadata"]["generation"]

        writers = {"db_restore_writers": [{"name": "experiment-writer", "namespace": namespace}]}
        copy = database + "_copy"
        created.append(copy)
        # A refused restore (a non-empty target without force) fails before the writers are touched.
        books.run("restore.yml", dict(common, **writers, restore_database=database, restore_confirm=database),
                  expect_rc=2)
        assert writer() == (2, 1)

        # Scaled to 0 for the restore and back to 2 after it was verified: two spec changes.
        restore_copy = dict(common, **writers, restore_database=copy, restore_confirm=copy)
        assert books.run("restore.yml", restore_copy).changed >= 3
        assert writer() == (2, 3)
        report = books.report("db_restore")
        assert report["writers"] == [{"kind": "Deployment", "name": "experiment-writer", "namespace": namespace,
                                      "replicas_before": 2, "replicas_after": 2}]
        assert report["writers_scaled_back"] and pg.fingerprint(copy) == pg.fingerprint(database)

        # Nothing to restore on a re-run: the writers are left alone.
        assert books.run("restore.yml", restore_copy).changed == 0
        assert writer() == (2, 3)
    finally:
        k8s_cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
