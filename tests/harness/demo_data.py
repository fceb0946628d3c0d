"""Seed the local services with a small version of the platform's data for `make demo`.

PostgreSQL: database ``platform`` with the EXP runbook's schemas (production,
experiments_v1, quarantine) and an audit log, a few tables bloated by deletes so the
weekly maintenance has something to vacuum, and the rest clean.
Redis: ``request:*`` keys without a TTL (the PIPE runbook's leak), some with one, and
other keys the sweep must not touch; lookups that hit nine times in ten (H15).
Prometheus: the kubelet's volume statistics (one claim 91 % full) and the anomaly-detection
service's model and data metrics (ENT runbook; the processing lag above its limit), for H14 and
H16, valid for the next hours.
Kubernetes (when a kubeconfig is given): the platform's namespaces, deployments, an HPA,
a NetworkPolicy, the ENT runbook's CronJobs, the database's volume claim, and one deployment
that crash-loops; each Deployment's pods get an emulated CPU and memory usage (in the manifest)
and a day of logs with the kind of errors the runbooks grep for (DEMO_LOGS), so H7 and H8
report figures.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import time

import psycopg2
import redis
from psycopg2 import sql

from tests.harness import gauges
from tests.harness.services import DEFAULT_RUN_DIR, backfill_prometheus, read_state

SCHEMAS = {
    "production": ["models", "predictions", "deployments", "api_keys"],
    "experiments_v1": ["experiments", "runs", "code_samples", "metrics"],
    "quarantine": ["records", "impact_analysis"],
    "audit": ["event_log"],
}
# (schema, table, share of rows deleted): the bloat the weekly run should find.
BLOATED = [("production", "predictions", 0.5), ("experiments_v1", "runs", 0.4), ("audit", "event_log", 0.3)]
ROWS = 20000


def seed_postgres(pg: dict, database: str = "platform") -> None:
    admin = psycopg2.connect(host=pg["host"], port=pg["port"], user=pg["user"], password=pg["password"],
                             dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (database,))
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    admin.close()
    conn = psycopg2.connect(host=pg["host"], port=pg["port"], user=pg["user"], password=pg["password"],
                            dbname=database)
    conn.autocommit = True
    with conn.cursor() as cur:
        for schema, tables in SCHEMAS.items():
            cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            for table in tables:
                ident = sql.Identifier(schema, table)
                # autovacuum off: the demo shows the maintenance run finding the bloat itself.
                cur.execute(sql.SQL("CREATE TABLE {} (id bigint PRIMARY KEY, created_at timestamptz NOT NULL "
                                    "DEFAULT now(), payload jsonb) WITH (autovacuum_enabled = off)").format(ident))
                cur.execute(sql.SQL("INSERT INTO {} (id, payload) SELECT g, jsonb_build_object('n', g, 'h', "
                                    "md5(g::text)) FROM generate_series(1, %s) g").format(ident), (ROWS,))
                cur.execute(sql.SQL("CREATE INDEX ON {} (created_at)").format(ident))
        # The EXP runbook's compliance query orders the audit log by its "timestamp" column.
        cur.execute('ALTER TABLE audit.event_log ADD COLUMN "timestamp" timestamptz NOT NULL DEFAULT now(), '
                    "ADD COLUMN action text NOT NULL DEFAULT 'experiment.promote'")
        for schema, table, share in BLOATED:
            cur.execute(sql.SQL("DELETE FROM {} WHERE id %% 100 < %s").format(sql.Identifier(schema, table)),
                        (int(share * 100),))
        cur.execute("SELECT pg_stat_force_next_flush()")
    conn.close()


REDIS_KEYS = {"request:": 5000, "session:": 500, "cache:model:": 300}
LOOKUPS = 5000
REDIS_DB = 0
DEMO_BUCKET = "platform-backups"  # sre_s3.bucket in inventories/local
K8S_MANIFEST = Path(__file__).with_name("demo") / "k8s.yaml"


def seed_redis(rds: dict) -> dict:
    client = redis.Redis(host=rds["host"], port=int(rds["port"]), db=REDIS_DB)
    client.flushdb()
    pipe = client.pipeline(transaction=False)
    for prefix, count in REDIS_KEYS.items():
        for n in range(count):
            pipe.set(f"{prefix}{n}", "x" * 64)
            # A tenth of the request keys already expire; the rest leaked without a TTL.
            if prefix == "request:" and n % 10 == 0:
                pipe.expire(f"{prefix}{n}", 86400)
    pipe.execute()
    # The cache's traffic: nine lookups in ten find their key.
    pipe = client.pipeline(transaction=False)
    for n in range(LOOKUPS):
        pipe.get(f"cache:model:{n % REDIS_KEYS['cache:model:']}" if n % 10 else f"cache:model:gone-{n}")
    pipe.execute()
    return {"keys": sum(REDIS_KEYS.values()), "request_keys_without_ttl": REDIS_KEYS["request:"] * 9 // 10}


# (namespace, claim, used, capacity): the database's claim (data-services/postgres-data in k8s.yaml and
# inventories/local) and a model cache that is nearly full.
DEMO_VOLUMES = [("data-services", "postgres-data", int(0.4 * gauges.GIB), 2 * gauges.GIB),
                ("ai-pipeline", "model-cache", int(9.1 * gauges.GIB), 10 * gauges.GIB),
                ("production", "uploads", int(1.2 * gauges.GIB), 5 * gauges.GIB)]
# How long the demo metrics stay current (a benchmark's rounds run well within it).
TELEMETRY_HOURS = 6


def seed_prometheus(state: dict) -> None:
    """Backfill the demo telemetry from ten minutes ago to TELEMETRY_HOURS ahead (Prometheus restarts)."""
    now = int(time.time())
    series = dict(gauges.volume_stats(DEMO_VOLUMES), **gauges.ENT_METRICS)
    backfill_prometheus(state, gauges.openmetrics(series, now - 600, now + TELEMETRY_HOURS * 3600))


def seed_s3(s3: dict, bucket: str = DEMO_BUCKET) -> None:
    """Create the backup bucket the local inventory names (infrastructure owns buckets)."""
    import boto3  # only the demo needs it here

    client = boto3.client("s3", endpoint_url=s3["endpoint_url"], region_name=s3["region"],
                          aws_access_key_id=s3["access_key"], aws_secret_access_key=s3["secret_key"])
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        client.create_bucket(Bucket=bucket)


# (namespace, Deployment): (current log, previous container's log), as (seconds ago, line).
HOUR = 3600
DEMO_LOGS = {
    ("platform-v2-stable", "platform-v2-api"): ([
        (20 * HOUR, "INFO platform-v2 api listening on :8080"),
        (9 * HOUR, "INFO GET /api/v1/health/status 200 4ms"),
        (2 * HOUR, "INFO POST /api/v2/inference 200 182ms model=gpt-primary"),
    ], None),
    ("platform-v1-exp", "platform-v1-api"): ([
        (30 * HOUR, "ERROR experiment exp-118 failed to load weights (outside the 24 h window)"),
        (5 * HOUR, "INFO experiment exp-121 started"),
        (1 * HOUR, "WARN experiment exp-121 p95 latency 1.8s above budget"),
    ], None),
    ("microservices", "api-gateway"): ([
        (12 * HOUR, "INFO gateway routes loaded: 14"),
        (3 * HOUR, "ERROR upstream platform-v2-api timed out after 30s (HTTP 504)"),
        (2 * HOUR, "ERROR upstream platform-v2-api timed out after 30s (HTTP 504)"),
        (40 * 60, "ERROR AUTH_FAILED invalid token for client ci-bot (HTTP 401)"),
        (10 * 60, "INFO GET /health 200 1ms"),
    ], None),
    ("production", "anomaly-detector"): ([
        (6 * HOUR, "INFO model anomaly-v4.1.0 loaded, accuracy 0.962"),
        (1 * HOUR, "WARN inference time 187ms above the 150ms target"),
    ], None),
    ("ai-pipeline", "pipeline-worker"): ([
        (4 * HOUR, "INFO consumer group pipeline-workers joined, 6 partitions"),
        (90 * 60, "ERROR kafka commit failed: rebalance in progress"),
        (30 * 60, "INFO processed 12840 records"),
    ], None),
    ("ai-pipeline", "feature-extractor"): ([], [
        (15 * 60, "INFO feature-extractor starting"),
        (14 * 60, "ERROR cannot open model store s3://features/v7: AccessDenied"),
        (14 * 60, "panic: feature store unavailable"),
    ]),
}


def seed_k8s(kubectl: str, kubeconfig: str) -> None:
    subprocess.run([kubectl, "--kubeconfig", kubeconfig, "apply", "-f", str(K8S_MANIFEST)],
                   check=True, capture_output=True, text=True)
    seed_k8s_logs()


def seed_k8s_logs() -> None:
    """Serve DEMO_LOGS for the pods of the demo's Deployments (once the ReplicaSets made them)."""
    from tests.harness import k8s, k8s_telemetry  # the demo's cluster: SRE_K8S_DIR as cluster.sh uses it
    from tests.harness.procs import wait_for

    cluster = k8s.current()
    if cluster is None:
        raise RuntimeError("the local cluster is not running (tests/k8s/cluster.sh up)")
    for (namespace, name), (current, previous) in DEMO_LOGS.items():
        selector = f"app={name}"
        wait_for(lambda ns=namespace, sel=selector: cluster.kubectl("get", "pods", "-n", ns, "-l", sel, "-o", "name")
                 .stdout.strip(),
                 f"the pods of {namespace}/{name}", timeout=60, interval=0.5)
        k8s_telemetry.seed_logs(cluster, namespace, selector, k8s_telemetry.cri_log(current),
                                None if previous is None else k8s_telemetry.cri_log(previous, stream="stderr"))


def main(argv: list[str]) -> int:
    state = read_state(DEFAULT_RUN_DIR if len(argv) < 2 else argv[1])
    if not state:
        print("demo-data: services are not running (make services-up)", file=sys.stderr)
        return 1
    seed_postgres(state["postgres"])
    bloated = ", ".join(f"{schema}.{table}" for schema, table, _share in BLOATED)
    print(f"demo-data: database 'platform' with schemas {', '.join(SCHEMAS)}; bloated tables: {bloated}")
    seed_s3(state["s3"])
    print(f"demo-data: S3 bucket '{DEMO_BUCKET}' on {state['s3']['endpoint_url']}")
    keys = seed_redis(state["redis"])
    print(f"demo-data: redis db{REDIS_DB} with {keys['keys']} keys, {keys['request_keys_without_ttl']} "
          f"request:* keys without a TTL, {LOOKUPS} lookups (90 % hits)")
    seed_prometheus(state)
    print(f"demo-data: Prometheus with kubelet volume statistics and the ENT model metrics for {TELEMETRY_HOURS} h "
          "(ai-pipeline/model-cache 91 % full, data_processing_lag 420 s)")
    if len(argv) >= 4:
        seed_k8s(argv[2], argv[3])
        print("demo-data: platform namespaces, deployments, HPA, NetworkPolicy, CronJobs and the database's "
              "volume claim applied (ai-pipeline/feature-extractor crash-loops on purpose); pod logs and "
              "emulated usage seeded")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
