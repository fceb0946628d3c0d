"""playbooks/redis_maintenance.yml with inventories/local against the harness Redis.

Check mode first (the server, the backup directory and the eviction policy must not change),
then the real run, then a second run and a second check run that must both report no change;
the server's own view (TTL per key, DBSIZE, CONFIG GET) and the backup file are the proof.
Databases 13 and 14 belong to this test.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import redis

from tests.harness.services import service_env
from tests.integration.ansible_run import run_playbook

pytestmark = pytest.mark.slow

SWEEP_DB, FLUSH_DB = 13, 14
EXTRA = {
    "redis_maintenance_db": SWEEP_DB,
    "redis_maintenance_ttl_patterns": ["request:*"],
    "redis_maintenance_maxmemory_policy": "allkeys-lru",
    "redis_maintenance_flush_db": FLUSH_DB,
    "redis_maintenance_flush_confirm": f"db{FLUSH_DB}",
    "redis_maintenance_big_keys": 5,
}


def _playbook(services, tmp_path, extra, check=False, expect_rc=0):
    env = dict(service_env(services), SRE_REPORT_DIR=str(tmp_path / "reports"),
               SRE_BACKUP_DIR=str(tmp_path / "backups"))
    proc = run_playbook("playbooks/redis_maintenance.yml", extra, check=check, diff=check, env=env)
    output = proc.stdout[-6000:] + proc.stderr[-2000:]
    assert proc.returncode == expect_rc, output
    if expect_rc:
        return proc.stdout
    recap = re.search(r"platform-redis\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=0\s+failed=0", proc.stdout)
    assert recap, output
    report = json.loads((tmp_path / "reports" / "redis_maintenance-platform-redis.json").read_text())
    return int(recap.group(2)), report


def _state(services, tmp_path):
    """What the server and the backup directory hold: key -> has a TTL, keys per db, the policy, backup files."""
    host, port = services["redis"]["host"], int(services["redis"]["port"])
    sweep = redis.Redis(host=host, port=port, db=SWEEP_DB, decode_responses=True)
    flush = redis.Redis(host=host, port=port, db=FLUSH_DB)
    ttls = {key: sweep.ttl(key) for key in sweep.scan_iter(count=1000)}
    backups = sorted(p.name for p in (tmp_path / "backups" / "redis").glob("*.rdb")) \
        if (tmp_path / "backups" / "redis").is_dir() else None
    return {
        "ttl_kind": {key: ("none" if ttl == -1 else "day" if 86000 < ttl <= 86400 else "short") for key, ttl in ttls.items()},
        "flush_db_keys": flush.dbsize(),
        "policy": sweep.config_get("maxmemory-policy")["maxmemory-policy"],
        "backups": backups,
    }


@pytest.fixture
def seeded(services):
    host, port = services["redis"]["host"], int(services["redis"]["port"])
    sweep = redis.Redis(host=host, port=port, db=SWEEP_DB)
    flush = redis.Redis(host=host, port=port, db=FLUSH_DB)
    policy = sweep.config_get("maxmemory-policy")["maxmemory-policy"]
    for client in (sweep, flush):
        client.flushdb()
    pipe = sweep.pipeline()
    for i in range(50):
        pipe.set(f"request:{i}", "payload")
    for i in range(5):
        pipe.set(f"request:expiring:{i}", "x", ex=500)
        pipe.set(f"session:{i}", "user")
    pipe.execute()
    flush.mset({f"cache:{i}": "v" for i in range(10)})
    yield
    for client in (sweep, flush):
        client.flushdb()
    sweep.config_set("maxmemory-policy", policy)


def test_redis_maintenance_playbook(services, seeded, tmp_path):
    before = _state(services, tmp_path)
    assert before["policy"] != "allkeys-lru" and before["backups"] is None

    # A confirmation that names another database fails before anything is flushed.
    output = _playbook(services, tmp_path, dict(EXTRA, redis_maintenance_flush_confirm="db0"), check=True, expect_rc=2)
    assert f"Refusing to flush database {FLUSH_DB}" in output

    changed, report = _playbook(services, tmp_path, EXTRA, check=True)
    assert changed > 0
    assert _state(services, tmp_path) == before
    assert report["check_mode"] and report["backup"]["status"] == "would_create"
    assert report["ttl_sweep"]["updated"] == 50 and report["flush"]["keys_removed"] == 10
    assert report["config"]["changes"] == [{"name": "maxmemory-policy", "before": before["policy"], "after": "allkeys-lru"}]

    changed, report = _playbook(services, tmp_path, EXTRA)
    assert changed > 0
    after = _state(services, tmp_path)
    assert after["ttl_kind"] == {**{f"request:{i}": "day" for i in range(50)},
                                 **{f"request:expiring:{i}": "short" for i in range(5)},
                                 **{f"session:{i}": "none" for i in range(5)}}
    assert after["flush_db_keys"] == 0 and after["policy"] == "allkeys-lru"
    assert len(after["backups"]) == 1 and report["backup"]["status"] == "created"
    backup = tmp_path / "backups" / "redis" / after["backups"][0]
    check = subprocess.run(["redis-check-rdb", str(backup)], capture_output=True, text=True, check=False)
    assert "RDB looks OK" in check.stdout and f"Selecting DB ID {FLUSH_DB}" in check.stdout, check.stdout
    assert oct(backup.stat().st_mode & 0o777) == "0o600"

    # Again, for real and in check mode: nothing left to do, the recent backup counts.
    for check_mode in (False, True):
        changed, report = _playbook(services, tmp_path, EXTRA, check=check_mode)
        assert changed == 0, report
        assert report["backup"]["status"] == "recent" and report["backup"]["path"] == str(backup)
    assert _state(services, tmp_path)["backups"] == after["backups"]

    # Without the freshness rule a backup is due; check mode names it and writes nothing.
    changed, report = _playbook(services, tmp_path, dict(EXTRA, redis_maintenance_backup_min_interval="0"), check=True)
    assert changed == 1 and report["backup"]["status"] == "would_create"
    assert Path(report["backup"]["path"]).parent == backup.parent and not Path(report["backup"]["path"]).exists()
    assert _state(services, tmp_path)["backups"] == after["backups"]

    # R4: with the thresholds at zero the purge runs (the test server is too small to need it).
    report = _playbook(services, tmp_path, dict(EXTRA, redis_maintenance_purge_min_fragmentation_ratio=0,
                                                redis_maintenance_purge_min_fragmentation_bytes=0))[1]
    assert report["purge"]["status"] == "purged" and report["purge"]["allocator"].startswith("jemalloc")
    assert report["purge"]["released_bytes"] >= 0
