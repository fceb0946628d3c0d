"""health_check_info against the harness's real PostgreSQL, Redis, S3, Prometheus and Kubernetes control plane.

The module reads every part at once; each part must say what its own module says, checked here against
the servers themselves (SHOW max_connections, INFO, the cluster's nodes), in check mode and for real.
A part whose server is down or refuses the login is reported in its own key, in one sentence, while the
others are read as usual.
"""

from __future__ import annotations

import socket
import sys
from contextlib import closing

import psycopg2
import pytest
import redis

from tests.integration.module_runner import run_module, run_module_tasks

MODULE = "sre.runbooks.health_check_info"
LOOPBACK = "127.0.0.1"


def closed_port():
    """A loopback port nothing listens on (bound, then released)."""
    with closing(socket.socket()) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


@pytest.fixture
def parts(services, k8s_cluster, tmp_path):
    pg, rd, prom = services["postgres"], services["redis"], services["prometheus"]
    (tmp_path / "backups").mkdir()
    return {
        "postgres": {"host": pg["host"], "port": pg["port"], "user": pg["user"], "password": pg["password"],
                     "database": pg["database"]},
        "redis": {"host": rd["host"], "port": rd["port"]},
        "backups": {"dest": str(tmp_path / "backups")},
        "kubernetes": {"kubeconfig": k8s_cluster.kubeconfig, "namespaces": ["kube-system"], "include": ["pods", "nodes"]},
        "slo": {"prometheus_url": prom["url"], "objectives": [],
                "probes": [{"name": "prometheus", "url": f"{prom['url']}/-/healthy", "count": 2}]},
    }


def run(args, check=False):
    result = run_module(MODULE, args, check=check)
    assert "Traceback" not in result.output, result.output
    assert result.returncode == 0, result.output[-3000:]
    return result


def without_timings(result):
    parts = {name: value for name, value in result.items()
             if name in ("postgres", "redis", "backups", "kubernetes", "slo")}
    for part in parts.values():
        part.pop("duration_s", None)
    return parts


def test_every_part_reads_what_its_server_says_in_check_mode_and_for_real(services, k8s_cluster, parts):
    checked = run(parts, check=True)
    real = run(parts)
    for result in (checked, real):
        assert result["changed"] is False and result["failed_parts"] == [], result["failed_parts"]
        assert set(result["seconds"]) == set(parts)

    # PostgreSQL: the limits and the version the server reports.
    pg = services["postgres"]
    with closing(psycopg2.connect(host=pg["host"], port=pg["port"], user=pg["user"], password=pg["password"],
                                  dbname=pg["database"])) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT current_setting('max_connections')::int, current_setting('server_version'),"
                       " pg_database_size(current_database())")
        max_connections, version, size = cursor.fetchone()
    [row] = real["postgres"]["query_result"]
    assert row["max_connections"] == max_connections and row["version"] == version
    assert row["total"] >= 1 and row["in_recovery"] is False
    assert abs(row["database_size"] - size) <= size // 10 and row["databases_size"] >= row["database_size"]

    # Redis: the role and memory INFO gives.
    info = redis.Redis(host=services["redis"]["host"], port=services["redis"]["port"]).info()
    assert real["redis"]["server"]["role"] == "primary"
    assert real["redis"]["server"]["redis_version"] == info["redis_version"]

    # Kubernetes: the cluster's nodes; backups: the empty folder; the probe: Prometheus answering.
    nodes = k8s_cluster.kubectl("get", "nodes", "-o", "name").stdout.split()
    assert sorted("node/" + node["name"] for node in real["kubernetes"]["nodes"]["nodes"]) == sorted(nodes)
    assert real["backups"]["backups"] == []
    [probe] = real["slo"]["probes"]
    assert probe["name"] == "prometheus" and probe["errors"] == 0 and probe["status_codes"] == {"200": 2}

    # Check mode read the same (but for what changed on the servers in between).
    assert checked["redis"]["server"] == real["redis"]["server"]
    assert [n["name"] for n in checked["kubernetes"]["nodes"]["nodes"]] == [n["name"] for n in real["kubernetes"]["nodes"]["nodes"]]
    assert without_timings(checked).keys() == without_timings(real).keys()


def test_a_server_down_or_a_refused_login_is_one_sentence_in_its_part(services, parts):
    port = closed_port()
    args = dict(parts, redis={"host": LOOPBACK, "port": port},
                postgres=dict(parts["postgres"], password="not-the-password"))
    result = run(args)
    assert result["failed_parts"] == ["postgres", "redis"]
    assert result["redis"]["msg"] == f"Cannot connect to Redis at {LOOPBACK}:{port}: connection refused."
    pg = services["postgres"]
    assert result["postgres"]["msg"] == (f"Cannot connect to PostgreSQL at {pg['host']}:{pg['port']} as {pg['user']}: "
                                         "password authentication failed.")
    # The others were read as usual, and the password given stays out of everything printed.
    assert "nodes" in result["kubernetes"] and result["backups"]["backups"] == []
    assert "not-the-password" not in result.output


def test_bad_options_stop_the_task_in_one_sentence(parts):
    result = run_module(MODULE, dict(parts, redis={"host": LOOPBACK, "operation": "flush"}))
    assert result.returncode != 0 and result["failed"] is True
    assert result["msg"].startswith("redis has no option operation; it takes the options of the sre.runbooks.redis "
                                    "connection (")
    assert parts["postgres"]["password"] not in result.output


def test_the_fork_on_the_controller_reads_what_the_module_run_reads(services, k8s_cluster, parts, tmp_path):
    """On the controller with its own Python the action runs the module in a fork of the worker; with another
    interpreter (here a wrapper that notes each start) it runs as any module. Both must read the same, take the
    task's environment (the password comes from PGPASSWORD) and mask the same secrets."""
    marker = tmp_path / "module-starts"
    wrapper = tmp_path / "python"
    wrapper.write_text(f"#!/bin/sh\necho started >> {marker}\nexec {sys.executable} \"$@\"\n")
    wrapper.chmod(0o755)
    password = parts["postgres"].pop("password")
    task = {"name": MODULE, MODULE: parts, "environment": {"PGPASSWORD": password}}
    [forked], proc = run_module_tasks(MODULE, [task])
    assert proc.returncode == 0 and not marker.exists(), proc.stdout[-3000:]
    [module], proc = run_module_tasks(MODULE, [dict(task, vars={"ansible_python_interpreter": str(wrapper)})])
    assert proc.returncode == 0 and marker.read_text() == "started\n", proc.stdout[-3000:]

    for result in (forked, module):
        assert result["changed"] is False and result["failed_parts"] == [], result["failed_parts"]
        assert password not in result.output
    assert forked["postgres"]["query_result"][0]["max_connections"] == module["postgres"]["query_result"][0]["max_connections"]
    assert forked["redis"]["server"] == module["redis"]["server"]
    assert [n["name"] for n in forked["kubernetes"]["nodes"]["nodes"]] == [n["name"] for n in module["kubernetes"]["nodes"]["nodes"]]
    assert forked["slo"]["probes"][0]["status_codes"] == module["slo"]["probes"][0]["status_codes"] == {"200": 2}
    assert forked["invocation"] == module["invocation"]
    assert set(forked) == set(module)
