"""pg_backup's main(): option checks, listing and retention over a backup directory, without servers.

Listing and pruning read only manifests, so they run here for real on files in tmp_path; backups
need PostgreSQL and are covered by tests/integration/postgres/test_pg_backup.py. Restores are
pg_restore's (test_pg_restore.py).
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import json
import subprocess

import pytest
from ansible.module_utils.common.warnings import get_warning_messages

from ansible_collections.sre.runbooks.plugins.module_utils._backup import manifest as manifests
from ansible_collections.sre.runbooks.plugins.module_utils._backup.errors import BackupError
from ansible_collections.sre.runbooks.plugins.module_utils._backup.streams import GunzipTail, Tail, Writer
from ansible_collections.sre.runbooks.plugins.module_utils._backup.transport import check_transport
from ansible_collections.sre.runbooks.plugins.modules import pg_backup, pg_backup_info

from .utils import run_module


@pytest.fixture(autouse=True)
def no_connection_env(monkeypatch):
    for name in ("PGHOST", "PGPORT", "PGDATABASE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)


def run(args, check=False, diff=False, module=pg_backup):
    return run_module(module, args, check=check, diff=diff)


def fabricate(dest, name, days_ago, set_key="daily/platform/full", status="passed", data=True):
    """A backup as pg_backup writes it: the file plus its manifest, finished ``days_ago`` days ago."""
    finished = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days_ago)
    label, database, scope_id = set_key.split("/")
    manifest = {"tool": manifests.TOOL, "manifest_version": 1, "name": name, "label": label, "database": database,
                "scope": "database", "scope_id": scope_id, "set_key": set_key, "format": "custom",
                "compression": "gzip", "file": name + ".dump", "sha256": "0" * 64, "size": 4,
                "finished_at": finished.isoformat(), "started_at": finished.isoformat(),
                "row_counts": {"public.t": 1}, "verification": {"level": "archive", "status": status}}
    if data:
        (dest / (name + ".dump")).write_bytes(b"data")
    (dest / (name + ".manifest.json")).write_text(json.dumps(manifest))
    return manifest


@pytest.mark.parametrize("args, message", [
    ({"state": "present"}, "state=present needs dest"),
    ({"state": "present", "dest": "/tmp/x", "scope": "globals", "verify": "restore"}, "verify=restore is not available"),
    ({"state": "present", "dest": "/tmp/x", "keep_local": False}, "keep_local=false needs s3"),
    ({"state": "present", "dest": "/tmp/x", "extra_args": ["--format=plain"]}, "extra_args may not contain '--format=plain'"),
    ({"state": "present", "dest": "/tmp/x", "extra_args": ["-Fp"]}, "extra_args may not contain '-Fp'"),
    ({"state": "present", "dest": "/tmp/x", "name_template": "{label}"}, "must contain {timestamp}"),
    ({"state": "present", "dest": "/tmp/x", "scope": "schemas"}, "needs the schemas option"),
    ({"state": "present", "dest": "/tmp/x", "compression_level": 12}, "out of range for gzip"),
    ({"state": "present", "dest": "/tmp/x", "lock_wait_timeout": "5"}, "Invalid lock_wait_timeout"),
    ({"state": "present", "dest": "/tmp/x", "retention": {"keep_last": 0}}, "keep_last=0 must be at least 1"),
    ({"state": "pruned", "dest": "/tmp/x"}, "state=pruned needs retention"),
])
def test_bad_options_fail_with_one_sentence_before_any_connection(args, message):
    result = run(dict(args, host="127.0.0.1", port=1))  # port 1: nothing would answer a connection
    assert result["failed"] and message in result["msg"], result["msg"]
    assert result["msg"].count(". ") == 0 or "Refusing" in result["msg"]


def test_list_returns_backups_newest_first_with_freshness(tmp_path):
    fabricate(tmp_path, "old", 3)
    fabricate(tmp_path, "new", 0.5)
    fabricate(tmp_path, "bad", 0.1, status="failed")
    fabricate(tmp_path, "gone", 1, data=False)
    (tmp_path / "not-a-backup.txt").write_text("x")
    (tmp_path / "broken.manifest.json").write_text("{")
    result = run({"dest": str(tmp_path)}, module=pg_backup_info)
    assert result["changed"] is False
    assert [b["name"] for b in result["backups"]] == ["bad", "new", "gone", "old"]
    assert [b["status"] for b in result["backups"]] == ["unverified", "ok", "missing_data", "ok"]
    assert result["latest"]["name"] == "new"
    info = result["sets"]["daily/platform/full"]
    assert info["count"] == 4 and info["latest"] == "bad" and info["latest_ok"] == "new"
    assert 0.4 * 86400 < info["latest_ok_age_seconds"] < 0.6 * 86400
    assert any("broken.manifest.json" in w for w in get_warning_messages())


def test_info_filters_and_needs_a_place_to_look(tmp_path):
    fabricate(tmp_path, "a", 1)
    fabricate(tmp_path, "b", 2, set_key="weekly/platform/full")
    fabricate(tmp_path, "c", 3, set_key="daily/other/full")
    result = run({"dest": str(tmp_path), "label": "daily", "database": "platform"}, module=pg_backup_info)
    assert [b["name"] for b in result["backups"]] == ["a"] and list(result["sets"]) == ["daily/platform/full"]
    assert run({"dest": str(tmp_path / "missing")}, module=pg_backup_info)["backups"] == []
    failed = run({}, module=pg_backup_info)
    assert failed["failed"] and "one of the following is required: dest, s3" in failed["msg"]


def test_prune_in_check_mode_then_for_real_then_idempotent(tmp_path):
    for name, age in (("b0", 0), ("b1", 1), ("b2", 2), ("b9", 9), ("b40", 40)):
        fabricate(tmp_path, name, age)
    fabricate(tmp_path, "other", 50, set_key="daily/platform/schema:production")
    args = {"state": "pruned", "dest": str(tmp_path), "database": "platform", "label": "daily",
            "retention": {"keep_last": 4, "max_age_days": 7, "min_keep": 1}}
    preview = run(args, check=True, diff=True)
    assert preview["changed"] is True
    assert [(p["name"], p["reason"]) for p in preview["pruned"]] == [
        ("b9", "older than max_age_days=7 (9.0 days)"),
        ("b40", "beyond keep_last=4 (rank 5); older than max_age_days=7 (40.0 days)")]
    assert (tmp_path / "b40.dump").exists() and (tmp_path / "b40.manifest.json").exists()
    assert preview["diff"]["before"]["local"] == ["b0", "b1", "b2", "b40", "b9"]
    assert preview["diff"]["after"]["local"] == ["b0", "b1", "b2"]

    done = run(args)
    assert done["changed"] is True and [p["name"] for p in done["pruned"]] == ["b9", "b40"]
    remaining = sorted(p.name for p in tmp_path.iterdir())
    assert remaining == sorted(f"{n}{ext}" for n in ("b0", "b1", "b2", "other") for ext in (".dump", ".manifest.json"))

    again = run(args)
    assert again["changed"] is False and again["pruned"] == []


def test_min_keep_protects_the_newest_good_backups(tmp_path):
    fabricate(tmp_path, "a", 20)
    fabricate(tmp_path, "b", 30)
    fabricate(tmp_path, "c", 40)
    result = run({"state": "pruned", "dest": str(tmp_path), "database": "platform", "label": "daily",
                  "retention": {"max_age_days": 7, "min_keep": 2}})
    assert [p["name"] for p in result["pruned"]] == ["c"]


def test_writer_gzips_in_process_into_a_standard_gzip_file(tmp_path):
    data = b"COPY public.t (id) FROM stdin;\n" + b"".join(b"%d\n" % n for n in range(200000)) + b"\\.\n"
    target = tmp_path / "dump.sql.gz"
    with open(target, "wb") as handle:
        writer = Writer(handle, gzip_level=6)
        for start in range(0, len(data), 65536):
            writer(data[start:start + 65536])
        writer.close()
    assert writer.raw_size == len(data) and writer.size == target.stat().st_size
    assert writer.digest.hexdigest() == hashlib.sha256(target.read_bytes()).hexdigest()
    assert subprocess.run(["gzip", "-t", str(target)], check=False).returncode == 0
    assert gzip.decompress(target.read_bytes()) == data


def test_gunzip_tail_reads_multi_member_streams_and_spots_truncation():
    data = b"x" * 300000 + b"\n-- PostgreSQL database dump complete\n"
    blob = gzip.compress(data[:1000]) + gzip.compress(data[1000:])
    tail = Tail(keep=64)
    reader = GunzipTail(tail)
    for start in range(0, len(blob), 333):
        reader(blob[start:start + 333])
    reader.close("dump.sql.gz")
    assert tail.size == len(data) and tail.tail.endswith(b"dump complete\n")
    cut = GunzipTail(Tail())
    cut(blob[:-12])
    with pytest.raises(BackupError, match="ends early; the file is truncated"):
        cut.close("dump.sql.gz")


@pytest.mark.parametrize("transport, fmt, remote", [
    (None, "directory", False),
    ({"type": "local", "pod": None}, "directory", False),
    ({"type": "kubernetes", "pod": "postgres-0"}, "custom", True),
    ({"type": "kubernetes", "pod": "postgres-0"}, "plain", True),
])
def test_check_transport(transport, fmt, remote):
    assert check_transport(transport, fmt) is remote


@pytest.mark.parametrize("transport, fmt, message", [
    ({"type": "kubernetes", "pod": None}, "custom", "transport.pod is required"),
    ({"type": "kubernetes", "pod": "postgres-0"}, "directory", "format=directory is not supported"),
])
def test_check_transport_refuses(transport, fmt, message):
    with pytest.raises(BackupError, match=message):
        check_transport(transport, fmt)
