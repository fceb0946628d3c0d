"""Faults during pg_backup: ansible-playbook killed with SIGTERM mid-dump, and the disk filling up mid-dump.

Both run against the harness PostgreSQL on a database of their own with a ~20 MB table, dumped as
plain SQL through gzip -9 so the dump takes a few seconds; the fault is injected once
pg_stat_activity shows pg_dump copying that table (a condition, not a sleep). Afterwards the
backup directory is read: every file under a final backup name has its manifest and matches its
sha256; anything unfinished carries the ``.partial-`` marker or is gone; older backups are
byte-for-byte unchanged; and the next run succeeds.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from contextlib import closing
from pathlib import Path

import psycopg2
import pytest

from tests.integration.ansible_run import ANSIBLE_PLAYBOOK, COLLECTIONS, ensure_collection_link, write_private
from tests.integration.faults.common import alive, assert_one_sentence, descendants
from tests.integration.module_runner import JSON_OUTPUT, run_module
from tests.integration.waiting import wait_until

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.pg_backup"
DUMP_APP = "sre.runbooks pg_backup (pg_dump)"
PARTIAL = ".partial-"
COPYING = ("SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = %s "
           "AND query LIKE 'COPY public.big%%'")


class Postgres:
    def __init__(self, info):
        self.info = info

    def query(self, database, text, args=None):
        conn = psycopg2.connect(host=self.info["host"], port=self.info["port"], user=self.info["user"],
                                password=self.info["password"], dbname=database)
        conn.autocommit = True
        with closing(conn), conn.cursor() as cursor:
            cursor.execute(text, args)
            return cursor.fetchall() if cursor.description else None

    def args(self, **options):
        return {"host": self.info["host"], "port": self.info["port"], "user": self.info["user"], **options}

    def env(self):
        return {"PGPASSWORD": self.info["password"]}

    def run(self, **options):
        result = run_module(MODULE, self.args(**options), env=self.env(), timeout=180)
        assert "Traceback" not in result.output and self.info["password"] not in result.output, result.output
        return result


@pytest.fixture(scope="module")
def pg(services):
    return Postgres(services["postgres"])


@pytest.fixture(scope="module")
def big_database(pg):
    """A database with a small table and a ~20 MB one (250,000 rows of 64 hex characters)."""
    name = f"faults_big_{uuid.uuid4().hex[:8]}"
    pg.query("postgres", f'CREATE DATABASE "{name}"')
    pg.query(name, "CREATE TABLE small (id int); INSERT INTO small VALUES (1); "
                   "CREATE TABLE big (id int, payload text); "
                   "INSERT INTO big SELECT g, md5(g::text) || md5((g * 7)::text) FROM generate_series(1, 250000) g")
    yield name
    pg.query("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def snapshot(dest: Path) -> dict:
    return {p.name: sha256_file(p) for p in dest.iterdir() if p.is_file()}


def assert_only_complete_backups(dest: Path) -> list[str]:
    """Every file under a final name is a manifest or a backup that has one and matches it; returns the partials."""
    names = {p.name for p in dest.iterdir()}
    partials = sorted(n for n in names if PARTIAL in n)
    manifests = {}
    for name in names:
        if name.endswith(".manifest.json") and PARTIAL not in name:
            manifest = json.loads((dest / name).read_text())
            manifests[manifest["file"]] = manifest
    for name in names - set(partials):
        if name.endswith(".manifest.json"):
            continue
        assert name in manifests, f"{name} sits under a final backup name without a manifest: {sorted(names)}"
        assert sha256_file(dest / name) == manifests[name]["sha256"], name
    for name in partials:
        assert name.startswith("."), name
    return partials


def no_dump_running(pg, database):
    return not pg.query("postgres", "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
                        (database, DUMP_APP))


def test_sigterm_to_ansible_playbook_mid_dump_leaves_no_unmanifested_backup(pg, big_database, tmp_path):
    dest = tmp_path / "backups"
    args = pg.args(database=big_database, dest=str(dest), label="sigterm", format="plain", compression="gzip",
                   compression_level=9)
    play = [{"name": "backup", "hosts": "localhost", "gather_facts": False,
             "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
             "tasks": [{"name": "pg_backup", MODULE: args}]}]
    ensure_collection_link()
    with tempfile.TemporaryDirectory(prefix="sre-faults-") as tmp:
        playbook = write_private(Path(tmp) / "playbook.json", play)
        env = dict(os.environ, **JSON_OUTPUT, **pg.env(), ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
                   ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(Path(tmp) / "local"))
        proc = subprocess.Popen([ANSIBLE_PLAYBOOK, "-i", "localhost,", str(playbook)], cwd=tmp, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            wait_until(lambda: pg.query("postgres", COPYING, (big_database, DUMP_APP)),
                       "pg_dump to start copying public.big", timeout=90)
            tree = descendants(proc.pid)
            proc.send_signal(signal.SIGTERM)
            output = proc.communicate(timeout=60)[0]
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        # What ansible left running (the worker, the module, pg_dump, gzip) must end too, by itself.
        wait_until(lambda: not any(alive(pid) for pid in tree), "the killed run's processes to end", timeout=60)
    assert proc.returncode != 0, output
    wait_until(lambda: no_dump_running(pg, big_database), "pg_dump's session to end", timeout=60)

    assert_only_complete_backups(dest)  # the killed dump stays a hidden .partial- file at most

    again = pg.run(**{k: v for k, v in args.items() if k not in pg.args()})
    assert not again.failed, again.get("msg")
    backup = again["backups"][0]
    assert sha256_file(dest / backup["file"]) == backup["sha256"]
    assert assert_only_complete_backups(dest) == []  # the next run removed the killed run's partial file


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB tmpfs (we run as root in the test container), unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m,mode=0700", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_mid_dump_fails_in_one_sentence_and_keeps_older_backups(pg, big_database, small_disk):
    dest = small_disk / "backups"
    older = pg.run(database=big_database, dest=str(dest), label="disk", scope="tables", tables=["small"],
                   verify="checksum")
    assert not older.failed, older.get("msg")
    before = snapshot(dest)
    assert len(before) == 2

    result = pg.run(database=big_database, dest=str(dest), label="disk", format="custom", verify="checksum")
    msg = assert_one_sentence(result, big_database)
    assert "No space left on device" in msg or "no space" in msg.lower(), msg
    assert snapshot(dest) == before  # the older backup and its manifest, byte for byte; no partial file left
    assert not [p for p in dest.iterdir() if PARTIAL in p.name]
    wait_until(lambda: no_dump_running(pg, big_database), "pg_dump's session to end", timeout=30)


def test_s3_failing_every_third_request_still_uploads_and_lists_with_matching_checksums(pg, big_database, services,
                                                                                        tmp_path):
    import boto3  # pylint: disable=import-outside-toplevel
    from botocore.config import Config  # pylint: disable=import-outside-toplevel

    from tests.integration.faults.flaky_proxy import FlakyProxy  # pylint: disable=import-outside-toplevel

    info = services["s3"]
    client = boto3.client("s3", endpoint_url=info["endpoint_url"], region_name=info["region"],
                          aws_access_key_id=info["access_key"], aws_secret_access_key=info["secret_key"],
                          config=Config(s3={"addressing_style": "path"}))
    bucket = f"faults-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    env = {**pg.env(), "AWS_ACCESS_KEY_ID": info["access_key"], "AWS_SECRET_ACCESS_KEY": info["secret_key"]}
    try:
        with FlakyProxy(info["endpoint_url"], every=3) as proxy:
            s3 = {"bucket": bucket, "prefix": "flaky/", "endpoint_url": proxy.url, "region": info["region"],
                  "addressing_style": "path", "retries": 6, "timeout": 20, "multipart_threshold_mb": 5,
                  "part_size_mb": 5, "max_concurrency": 2}
            result = run_module(MODULE, pg.args(database=big_database, dest=str(tmp_path), label="flaky",
                                                format="custom", s3=s3), env=env, timeout=180)
            assert not result.failed, (result.get("msg"), proxy.log)
            uploads = proxy.faults
            listing = run_module("sre.runbooks.pg_backup_info", {"s3": s3}, env=env, timeout=120)
            assert not listing.failed, (listing.get("msg"), proxy.log)
            assert proxy.faults > uploads, proxy.log  # the listing met faults too
        assert uploads >= 2, proxy.log

        backup = result["backups"][0]
        local = json.loads((tmp_path / f"{backup['name']}.manifest.json").read_text())
        body = client.get_object(Bucket=bucket, Key=backup["s3"]["key"])["Body"].read()
        assert hashlib.sha256(body).hexdigest() == local["sha256"] == sha256_file(tmp_path / backup["file"])
        remote = json.loads(client.get_object(Bucket=bucket, Key=backup["s3"]["manifest_key"])["Body"].read())
        assert remote["sha256"] == local["sha256"] and remote["s3"]["status"] == "uploaded"
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        keys = sorted(item["Key"] for page in pages for item in page.get("Contents") or [])
        assert keys == sorted([backup["s3"]["key"], backup["s3"]["manifest_key"]])  # no stray parts or duplicates
        assert not client.list_multipart_uploads(Bucket=bucket).get("Uploads")
        listed = [b for b in listing["backups"] if b["name"] == backup["name"]]
        assert len(listed) == 1 and "s3" in listed[0]["locations"], listing["backups"]
    finally:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents") or []:
                client.delete_object(Bucket=bucket, Key=item["Key"])
        client.delete_bucket(Bucket=bucket)
