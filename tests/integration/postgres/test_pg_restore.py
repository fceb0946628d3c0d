"""pg_restore against the real PostgreSQL 15 and moto S3 server of the test harness, run through ansible-playbook.

The backups restored here are made by pg_backup (the ``full_backup`` fixture); the server helper
and fixtures are pg_backup's tests'. Every test checks real state: rows in the restored databases
(counted and fingerprinted), the safety dump on disk, sessions ended, downloads cleaned up.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import psycopg2
import pytest

from tests.integration.postgres.test_pg_backup import (  # noqa: F401  pylint: disable=unused-import
    RESTORE_MODULE,
    full_backup,
    mode,
    platform,
    read_manifest,
    s3,
    scratch_dbs,
    server,
    unique,
)


def restore(server, check=False, diff=False, **args):
    """Run pg_restore on the harness server (connection settings as for pg_backup)."""
    return server.run(check=check, diff=diff, module=RESTORE_MODULE, **args)


def test_restore_from_s3_round_trip_and_idempotence(server, platform, full_backup, scratch_dbs, tmp_path):
    target = unique("pgb_restored")
    scratch_dbs.append(target)
    args = {"database": target, "s3_key": full_backup["backup"]["s3"]["key"],
            "s3": server.s3_args(full_backup["backup"]["s3"]["bucket"], ""), "dest": str(tmp_path), "jobs": 2}
    preview = restore(server, check=True, diff=True, **args)
    assert not preview.failed, preview.get("msg")
    assert preview.changed and preview["restore"]["action"] == "restore"
    assert preview["diff"]["before"]["exists"] is False
    assert not server.exists(target)

    done = restore(server, **args)
    assert not done.failed, done.get("msg")
    assert done.changed and done["restore"]["action"] == "restore" and done["restore"]["checksum"] == "passed"
    assert done["restore"]["row_counts"]["ok"] and done["restore"]["row_counts"]["matched"] == 6
    assert server.counts(target) == server.counts(platform)
    assert server.fingerprint(target) == server.fingerprint(platform)
    assert list(tmp_path.iterdir()) == []  # the download was removed

    again = restore(server, **args)
    assert not again.failed and not again.changed and again["restore"]["action"] == "none"


def test_restore_into_a_non_empty_database_is_refused_then_forced_with_a_safety_dump(server, platform, full_backup,
                                                                                     scratch_dbs, tmp_path):
    target = server.create(unique("pgb_busy"))
    scratch_dbs.append(target)
    server.execute(target, "CREATE TABLE public.legacy (id int); INSERT INTO public.legacy VALUES (1), (2), (3)")
    args = {"database": target, "src": full_backup["backup"]["local"]["path"]}
    refused = restore(server, **args)
    assert refused.failed and not refused.changed
    assert refused["msg"].startswith(f'Refusing to restore {full_backup["backup"]["name"]} into database "{target}"')
    assert "public.legacy" in refused["msg"] and "force=true" in refused["msg"]
    assert server.counts(target) == {"public.legacy": 3}

    holder = server.connect(target, application_name="pgb-holder")  # a client that would block DROP DATABASE
    try:
        forced = restore(server, force=True, terminate_sessions=True, safety_dir=str(tmp_path), **args)
        assert not forced.failed, forced.get("msg")
        assert forced["restore"]["action"] == "replace"
        safety = forced["restore"]["safety_backup"]
        safety_path = Path(safety["local"]["path"])
        assert safety_path.parent == tmp_path and mode(safety_path) == "0o600"
        assert read_manifest(tmp_path, safety["name"])["row_counts"] == {"public.legacy": 3}
        toc = subprocess.run([str(Path(server.info["bin_dir"]) / "pg_restore"), "--list", str(safety_path)],
                             capture_output=True, text=True, check=True).stdout
        assert "TABLE DATA public legacy" in toc
        assert server.fingerprint(target) == server.fingerprint(platform)
        assert "public.legacy" not in server.counts(target)
        with pytest.raises(psycopg2.OperationalError):
            holder.cursor().execute("SELECT 1")
    finally:
        holder.close()


def test_a_corrupted_backup_is_never_restored(server, full_backup, s3, scratch_dbs, tmp_path):
    source = Path(full_backup["backup"]["local"]["path"])
    copy = tmp_path / source.name
    shutil.copyfile(source, copy)
    manifest_copy = tmp_path / (full_backup["backup"]["name"] + ".manifest.json")
    shutil.copyfile(full_backup["backup"]["local"]["manifest_path"], manifest_copy)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    target = unique("pgb_never")
    scratch_dbs.append(target)
    local = restore(server, database=target, src=str(copy))
    assert local.failed and "the file is corrupted or was changed" in local["msg"]
    assert not server.exists(target)

    s3["client"].put_object(Bucket=s3["bucket"], Key="corrupt/" + copy.name, Body=bytes(data))
    s3["client"].put_object(Bucket=s3["bucket"], Key=f"corrupt/{full_backup['backup']['name']}.manifest.json",
                            Body=manifest_copy.read_bytes())
    work = tmp_path / "work"
    remote = restore(server, database=target, s3_key="corrupt/" + copy.name, dest=str(work),
                     s3=server.s3_args(s3["bucket"], ""))
    assert remote.failed and "the object is corrupted" in remote["msg"]
    assert not server.exists(target)
    assert list(work.iterdir()) == []


def test_a_restore_that_fails_while_loading_leaves_no_database_behind(server, full_backup, scratch_dbs, tmp_path):
    """Issue 17 defect 15: the archive passes its checksum (the manifest was rewritten to match) but
    cannot be loaded; the database pg_restore created for it must be gone again."""
    import hashlib
    import json
    name = full_backup["backup"]["name"]
    broken = tmp_path / Path(full_backup["backup"]["local"]["path"]).name
    broken.write_bytes(b"PGDMP" + b"\x00" * 64 + b"not an archive")
    manifest = read_manifest(full_backup["dest"], name)
    manifest.update(sha256=hashlib.sha256(broken.read_bytes()).hexdigest(), size=broken.stat().st_size)
    (tmp_path / f"{name}.manifest.json").write_text(json.dumps(manifest))
    target = unique("pgb_failed_load")
    scratch_dbs.append(target)
    result = restore(server, database=target, src=str(broken))
    assert result.failed and result["msg"].endswith("."), result.get("msg")
    assert not server.exists(target)
