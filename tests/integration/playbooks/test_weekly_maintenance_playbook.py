"""playbooks/weekly_maintenance.yml (the main job) with inventories/local.

Check mode first: the servers must not change (vacuum counters, Redis TTLs, Jobs, backup
files, S3 objects). Then the real run does every part, and a second run reports no change on
any host. The proof is the servers' own state, read directly.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest
import redis

from tests.integration.ansible_run import run_playbook
from tests.integration.playbooks.pg_playbook import Playbooks, Postgres, S3, files

pytestmark = pytest.mark.slow

REDIS_DB = 11
HOSTS = ("platform-cluster", "platform-db", "platform-redis")


def _recap(output: str) -> dict[str, int]:
    found = {h: re.search(rf"{h}\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", output) for h in HOSTS}
    assert all(found.values()), output[-6000:]
    return {h: int(m.group(1)) for h, m in found.items()}


def _run(book: Playbooks, extra: dict, check: bool = False) -> dict[str, int]:
    proc = run_playbook("playbooks/weekly_maintenance.yml", extra, check=check, diff=check, env=book.env, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-8000:]
    return _recap(proc.stdout)


@pytest.fixture
def weekly(services, k8s_cluster, tmp_path):
    pg, s3 = Postgres(services), S3(services)
    s3.ensure_bucket()
    database = f"weekly_{uuid.uuid4().hex[:8]}"
    namespace = f"weekly-{uuid.uuid4().hex[:8]}"
    pg.execute("postgres", f'CREATE DATABASE "{database}"')
    pg.execute(database, "CREATE SCHEMA production; "
               + "".join(f"CREATE TABLE production.t{n} (id int PRIMARY KEY, v text) WITH (autovacuum_enabled = off); "
                         f"INSERT INTO production.t{n} SELECT g, md5(g::text) FROM generate_series(1, 3000) g; "
                         for n in range(1, 5))
               + "DELETE FROM production.t3 WHERE id % 2 = 0; SELECT pg_stat_force_next_flush();")
    client = redis.Redis(host=services["redis"]["host"], port=int(services["redis"]["port"]), db=REDIS_DB)
    client.flushdb()
    client.mset({f"request:{n}": "x" for n in range(200)})
    client.mset({f"session:{n}": "u" for n in range(20)})
    cronjob = ("apiVersion: batch/v1\nkind: CronJob\nmetadata: {{name: {name}, namespace: {ns}}}\n"
               "spec: {{schedule: '0 3 * * 0', suspend: true, jobTemplate: {{spec: {{backoffLimit: 0, template: "
               "{{spec: {{restartPolicy: Never, containers: [{{name: job, image: weekly:1.0}}]}}}}}}}}}}\n")
    manifest = tmp_path / "cronjobs.yaml"
    manifest.write_text(f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {namespace}}}\n---\n"
                        + cronjob.format(name="security-update", ns=namespace) + "---\n"
                        + cronjob.format(name="compliance-audit", ns=namespace))
    k8s_cluster.kubectl("apply", "-f", str(manifest))
    book = Playbooks(services, tmp_path, extra_env={"K8S_AUTH_KUBECONFIG": str(k8s_cluster.kubeconfig)})
    prefix = f"weekly-{uuid.uuid4().hex[:8]}/"
    extra = {
        "db_maintenance_database": database, "db_backup_database": database, "db_backup_schemas": ["production"],
        "db_backup_globals": False, "db_backup_s3_prefix": prefix + "postgres",
        "redis_maintenance_db": REDIS_DB, "weekly_maintenance_jobs_namespace": namespace,
        "k8s_jobs_run_id": "it", "db_maintenance_vacuum_thresholds": {"dead_tuple_ratio": 0.2, "min_dead_tuples": 500},
    }
    state = {"pg": pg, "s3": s3, "redis": client, "database": database, "namespace": namespace,
             "book": book, "extra": extra, "prefix": prefix, "cluster": k8s_cluster}
    yield state
    pg.drop(database)
    client.flushdb()
    s3.delete_prefix(prefix)
    k8s_cluster.kubectl("delete", "namespace", namespace, "--wait=false")


def _server_state(w: dict) -> dict:
    return {
        "vacuumed": w["pg"].execute(w["database"], "SELECT relname FROM pg_stat_user_tables WHERE vacuum_count > 0"),
        "without_ttl": sum(1 for n in range(200) if w["redis"].ttl(f"request:{n}") == -1),
        "jobs": w["cluster"].kubectl("get", "jobs", "-n", w["namespace"], "-o", "name").stdout.split(),
        "backups": files(w["book"].backup_dir),
        "objects": sorted(w["s3"].objects(w["prefix"])),
    }


def test_weekly_maintenance_check_then_apply_then_idempotent(weekly):
    before = _server_state(weekly)
    assert before["without_ttl"] == 200 and not before["vacuumed"] and not before["jobs"]

    _run(weekly["book"], weekly["extra"], check=True)
    assert _server_state(weekly) == before, "check mode changed real state"

    first = _run(weekly["book"], weekly["extra"])
    after = _server_state(weekly)
    assert first["platform-db"] > 0 and first["platform-redis"] > 0 and first["platform-cluster"] > 0
    assert [row[0] for row in after["vacuumed"]] == ["t3"]
    assert after["without_ttl"] == 0
    assert sorted(after["jobs"]) == ["job.batch/compliance-scan-it", "job.batch/log-cleanup-it",
                                     "job.batch/update-security-db-it"]
    assert after["backups"] and after["objects"]
    # Session keys did not match the sweep's pattern and keep no TTL.
    assert all(weekly["redis"].ttl(f"session:{n}") == -1 for n in range(20))

    second = _run(weekly["book"], weekly["extra"])
    assert second == {h: 0 for h in HOSTS}
    report = json.loads((weekly["book"].report_dir / "weekly_maintenance.json").read_text())
    assert report["failures"] == [] and len(report["jobs"]) == len(report["redis"]) == 1
    # The HTML page beside it (rendered in Chromium by tests/integration/html_reports): every part, the vacuumed
    # table's dead tuples before and after.
    page = (weekly["book"].report_dir / "weekly_maintenance.html").read_text()
    assert all(f'data-id="{part}"' in page for part in ("jobs", "db_maintenance", "backups", "redis"))
