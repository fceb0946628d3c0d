"""redis_maintain and playbooks/redis_maintenance.yml as the ACL user of exactly docs/permissions/redis.acl,
on the harness Redis and on one with CONFIG/BGSAVE/SAVE renamed away (as ElastiCache restricts them).

What the user may not do fails in one sentence saying "not permitted by the server"; the backup
falls back to the replication-stream copy; the server's keys and TTLs are checked directly.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid

from tests.harness.services import service_env
from tests.integration.ansible_run import run_playbook
from tests.integration.module_batch import run_module_batch

MODULE = "sre.runbooks.redis_maintain"
HOST = "platform-redis"


def seed(server, count=40):
    """``count`` keys without a TTL under a prefix of this test's own; returns the prefix."""
    prefix = f"lp:{uuid.uuid4().hex[:8]}"
    server.admin.mset({f"{prefix}:{i}": "x" * 64 for i in range(count)})
    return prefix


def assert_rdb(path, sha256):
    data = path.read_bytes()
    assert data[:5] == b"REDIS" and re.fullmatch(rb"\d{4}", data[5:9]), data[:16]
    assert hashlib.sha256(data).hexdigest() == sha256


def test_redis_maintain_as_the_acl_user(acl_redis, tmp_path):
    server = acl_redis
    prefix = seed(server)
    if not server.renamed:
        policy_before = server.admin.config_get("maxmemory-policy")
    calls = [
        {"args": server.module_args(operation="memory")},
        {"args": server.module_args(operation="backup", dest=str(tmp_path))},
        {"args": server.module_args(operation="ttl_sweep", patterns=[f"{prefix}:*"], ttl=3600), "check": True},
        {"args": server.module_args(operation="ttl_sweep", patterns=[f"{prefix}:*"], ttl=3600)},
        {"args": server.module_args(operation="ttl_sweep", patterns=[f"{prefix}:*"], ttl=3600)},
        {"args": server.module_args(operation="config", settings={"maxmemory-policy": "allkeys-lru"})},
        {"args": server.module_args(operation="flush", confirm="db0")},
    ]
    memory, backup, planned, swept, again, config, flush = run_module_batch(MODULE, calls)
    for result in (memory, backup, planned, swept, again):
        assert not result.failed and "Traceback" not in result.output, result.get("msg")

    # Memory (the health check's H5 too) needs nothing the ACL leaves out.
    assert memory["memory"]["keyspace"]["db0"]["keys"] >= 40

    # Backup: the server's RDB file is out of reach (CONFIG refused), BGSAVE is not permitted:
    # the replication-stream copy, a valid RDB file, and one warning saying why.
    written = backup["backup"]
    assert written["method"] == "replication" and written["bgsave"] is None
    assert any(w.startswith("BGSAVE is not permitted by the server at ") for w in backup["warnings"])
    assert_rdb(tmp_path / written["path"].rsplit("/", 1)[1], written["sha256"])

    # TTL sweep: check mode plans, the real run sets every TTL, the re-run has nothing to do.
    assert planned["ttl_sweep"]["matched"] == 40 and planned.changed
    assert swept["ttl_sweep"]["updated"] == 40 and not again.changed and again["ttl_sweep"]["updated"] == 0
    ttls = [server.admin.ttl(f"{prefix}:{i}") for i in range(40)]
    assert all(0 < ttl <= 3600 for ttl in ttls), ttls

    # CONFIG and FLUSHDB: refused in one sentence that names the server's refusal; nothing changed.
    for result, command in ((config, "CONFIG GET maxmemory-policy"), (flush, "FLUSHDB")):
        assert result.failed and "Traceback" not in result.output
        assert result["msg"].startswith(f"{command} is not permitted by the server at {server.host}:{server.port} (")
        assert "\n" not in result["msg"] and result["msg"].endswith(").")
    assert ("renamed or disabled" in config["msg"]) is server.renamed
    assert server.admin.exists(*[f"{prefix}:{i}" for i in range(40)]) == 40
    if not server.renamed:
        assert server.admin.config_get("maxmemory-policy") == policy_before
    server.admin.delete(*[f"{prefix}:{i}" for i in range(40)])


def test_redis_maintenance_playbook_as_the_acl_user(services, renamed_acl_redis, tmp_path):
    server = renamed_acl_redis
    prefix = seed(server, 25)
    backup_dir = tmp_path / "redis-backups"
    extra = {"sre_redis": {"host": server.host, "port": server.port, "username": server.username,
                           "password": server.password, "backup_dir": str(backup_dir)},
             "redis_maintenance_ttl_patterns": [f"{prefix}:*"], "redis_maintenance_ttl_seconds": 7200}
    env = dict(service_env(services), SRE_REPORT_DIR=str(tmp_path / "reports"))
    proc = run_playbook("playbooks/redis_maintenance.yml", extra, env=env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0 and re.search(rf"{HOST}\s*:.*failed=0", proc.stdout), output[-6000:]
    assert server.password not in output
    backups = list(backup_dir.glob("*.rdb"))
    assert len(backups) == 1
    assert_rdb(backups[0], hashlib.sha256(backups[0].read_bytes()).hexdigest())
    assert all(0 < server.admin.ttl(f"{prefix}:{i}") <= 7200 for i in range(25))
    report = json.loads((tmp_path / "reports" / f"redis_maintenance-{HOST}.json").read_text())
    assert report, report
