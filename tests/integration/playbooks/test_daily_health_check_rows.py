"""The daily health check's H14, H15 and H16 rows against real servers, through playbooks/daily_health_check.yml.

* H14: a Prometheus of the test's own loaded (promtool) with the kubelet's volume statistics of three
  claims, a real PostgreSQL database, and a real claim in the local cluster sized so that the
  databases fill 90 % of it;
* H15: a Redis of the test's own that missed a quarter of its lookups and evicted keys under a small
  maxmemory;
* H16: the ENT runbook's model and data metrics in the same Prometheus, the processing lag past its
  limit.

Each row must show the servers' own figures (Redis' INFO, PostgreSQL's database sizes, the claim's
capacity from the API, the backfilled values) and judge them against the thresholds. One real run
and one --check run: the role only reads, so both reports must agree.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid

import psycopg2
import pytest
import redis

from tests.harness import gauges
from tests.harness.procs import stop_process_group
from tests.harness.services import service_env, start_redis

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client as k8s  # noqa: E402
from kubernetes import config as k8s_config  # noqa: E402

from tests.integration import ansible_run  # noqa: E402

pytestmark = pytest.mark.slow

HOST = "platform-cluster"
GIB = gauges.GIB
# (namespace, claim, used, capacity): 40 %, 90.5 % (warning) and 96 % (critical) full.
VOLUMES = [("data", "pg-wal", int(0.4 * GIB), GIB), ("ml", "model-cache", int(9.05 * GIB), 10 * GIB),
           ("ml", "scratch", int(0.96 * GIB), GIB)]
DATABASES_SHARE = 0.9


@pytest.fixture(scope="module")
def prometheus(private_prometheus):
    now = int(time.time())
    series = dict(gauges.volume_stats(VOLUMES), **gauges.ENT_METRICS)
    return private_prometheus(gauges.openmetrics(series, now - 600, now + 3600))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A Redis of its own: 3 hits and 1 miss in every 4 lookups, and keys evicted by a 2 MB maxmemory (then raised)."""
    server = start_redis(tmp_path_factory.mktemp("redis"))
    try:
        client = redis.Redis(host=server["host"], port=server["port"])
        client.config_set("maxmemory", 2 * 1024 * 1024)
        client.config_set("maxmemory-policy", "allkeys-lru")
        pipe = client.pipeline(transaction=False)
        for n in range(400):  # 4 MB into 2 MB: the oldest are evicted
            pipe.set(f"blob:{n}", "x" * 10_000)
        pipe.set("hit", "1")
        for n in range(4000):
            pipe.get("hit" if n % 4 else "missing")
        pipe.execute()
        # Redis evicts on any command once past maxmemory, even a read or a new client's buffers: with the
        # limit left at 2 MB, the health check's own connections evicted one more key while the test compared
        # the counters. Room above what is stored now freezes evicted_keys at what the seeding caused.
        client.config_set("maxmemory", 64 * 1024 * 1024)
        yield server
    finally:
        stop_process_group(server["pid"])


@pytest.fixture(scope="module")
def database(services, k8s_cluster):
    """A real database and a real claim (namespace, name) whose capacity the databases fill to 90 %."""
    pg = services["postgres"]
    name = f"hc_rows_{uuid.uuid4().hex[:6]}"
    with contextlib.closing(psycopg2.connect(host=pg["host"], port=pg["port"], user=pg["user"],
                                             password=pg["password"], dbname="postgres")) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {name}")
            cur.execute("SELECT sum(pg_database_size(datname))::bigint FROM pg_database")
            total = cur.fetchone()[0]
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(config_file=str(k8s_cluster.kubeconfig), client_configuration=configuration)
    namespace, volume = f"hc-rows-{uuid.uuid4().hex[:6]}", f"hc-rows-pv-{uuid.uuid4().hex[:6]}"
    capacity = int(total / DATABASES_SHARE)
    with k8s.ApiClient(configuration) as api:
        core = k8s.CoreV1Api(api)
        core.create_namespace({"metadata": {"name": namespace}})
        try:
            core.create_persistent_volume({"metadata": {"name": volume}, "spec": {
                "capacity": {"storage": str(capacity)}, "accessModes": ["ReadWriteOnce"], "storageClassName": "",
                "hostPath": {"path": f"/tmp/{volume}"}, "claimRef": {"namespace": namespace, "name": "pg-data"}}})
            core.create_namespaced_persistent_volume_claim(namespace, {"metadata": {"name": "pg-data"}, "spec": {
                "accessModes": ["ReadWriteOnce"], "storageClassName": "", "volumeName": volume,
                "resources": {"requests": {"storage": str(capacity)}}}})
            yield {"name": name, "namespace": namespace, "capacity": capacity, "core": core, "pg": pg}
        finally:
            core.delete_namespace(namespace)
            core.delete_persistent_volume(volume)
            with contextlib.closing(psycopg2.connect(host=pg["host"], port=pg["port"], user=pg["user"],
                                                     password=pg["password"], dbname="postgres")) as conn:
                conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute(f"DROP DATABASE IF EXISTS {name}")


def run(services, prometheus, cache, database, tmp_path, check):
    report_dir = tmp_path / ("check" if check else "real")
    env = dict(service_env(services), SRE_REPORT_DIR=str(report_dir), PROMETHEUS_URL=prometheus["url"],
               REDIS_HOST=cache["host"], REDIS_PORT=str(cache["port"]))
    extra = {"health_check_checks": ["postgres", "redis", "volumes", "redis_cache", "model"],
             "health_check_namespaces": [database["namespace"]], "health_check_postgres_database": database["name"],
             "health_check_postgres_pvc": {"namespace": database["namespace"], "name": "pg-data"},
             "health_check_redis_min_lookups": 1000, "health_check_fail_on": "never"}
    proc = ansible_run.run_playbook("playbooks/daily_health_check.yml", extra, check=check, env=env)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    report = json.loads((report_dir / f"health_check-{HOST}.json").read_text())
    return {check["check"]: check for check in report["checks"]}, report


def test_volume_cache_and_model_rows(services, prometheus, cache, database, tmp_path):
    stats = redis.Redis(host=cache["host"], port=cache["port"]).info("stats")
    checks, report = run(services, prometheus, cache, database, tmp_path, check=False)
    check_mode, check_report = run(services, prometheus, cache, database, tmp_path, check=True)
    assert [c["id"] for c in report["checks"]] == ["H4", "H5", "H14", "H15", "H16"]
    assert check_report["check_mode"] is True
    assert {name: c["status"] for name, c in check_mode.items()} == {name: c["status"] for name, c in checks.items()}

    # H14: the kubelet statistics as backfilled, fullest first, and the databases' real size against the claim.
    volumes = checks["volumes"]
    assert [(v["namespace"], v["name"], v["used_percent"], v["status"]) for v in volumes["details"]["volumes"]] == [
        ("ml", "scratch", 96.0, "critical"), ("ml", "model-cache", 90.5, "warning"), ("data", "pg-wal", 40.0, "ok")]
    db = volumes["details"]["database"]
    claim = database["core"].read_namespaced_persistent_volume_claim("pg-data", database["namespace"])
    assert claim.status.phase == "Bound" and db["capacity_bytes"] == int(claim.status.capacity["storage"])
    pg = database["pg"]
    with contextlib.closing(psycopg2.connect(host=pg["host"], port=pg["port"], user=pg["user"], password=pg["password"],
                                             dbname=database["name"])) as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_database_size(current_database()), sum(pg_database_size(datname))::bigint FROM pg_database")
        own, total = cur.fetchone()
    assert db["database_bytes"] == own and db["databases_bytes"] == pytest.approx(total, rel=0.01)
    assert db["used_percent"] == pytest.approx(100.0 * total / database["capacity"], abs=0.2)
    assert db["status"] == "warning" and volumes["status"] == "critical"
    assert volumes["summary"].startswith("3 volumes, 2 above 85 %: ml/scratch 96.0 %, ml/model-cache 90.5 %; databases ")

    # H15: Redis' own counters, as they stood when the check ran.
    redis_cache = checks["redis_cache"]["details"]
    assert (redis_cache["keyspace_hits"], redis_cache["keyspace_misses"]) == (stats["keyspace_hits"], stats["keyspace_misses"])
    assert redis_cache["hit_rate_percent"] == round(100.0 * stats["keyspace_hits"]
                                                    / (stats["keyspace_hits"] + stats["keyspace_misses"]), 1) == 75.0
    assert redis_cache["evicted_keys"] == stats["evicted_keys"] > 0
    assert checks["redis_cache"]["status"] == "warning"
    assert checks["redis"]["details"]["evicted_keys"] == stats["evicted_keys"]

    # H16: the ENT runbook's thresholds, each series judged; only the processing lag is past its limit.
    rows = {row["name"]: row for row in checks["model"]["details"]["thresholds"]}
    assert list(rows) == ["model_accuracy", "inference_time", "false_positive_rate", "data_quality", "processing_lag"]
    assert (rows["model_accuracy"]["actual"], rows["model_accuracy"]["status"]) == (0.88, "ok")  # the worst model
    assert (rows["inference_time"]["actual"], rows["inference_time"]["status"]) == (0.42, "ok")
    assert (rows["processing_lag"]["actual"], rows["processing_lag"]["status"]) == (420.0, "warning")
    assert checks["model"]["status"] == "warning"
    assert checks["model"]["summary"] == "4 of 5 thresholds within their limits; processing_lag: 420s > 300s (upper bound) (breached)."
