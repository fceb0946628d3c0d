"""pg_backup against the real PostgreSQL 15 and moto S3 server of the test harness, run through ansible-playbook.

Every test works on databases, buckets and directories of its own and checks real state: files
and their modes on disk, objects and their stored checksums in S3 (read with boto3), rows in the
restored databases (counted and fingerprinted), sessions in pg_stat_activity. Waits poll with
deadlines; nothing sleeps a fixed time. The server helper and fixtures here serve pg_restore's
tests (test_pg_restore.py) and the pod-exec tests too.
"""

from __future__ import annotations

import base64
import datetime
import gzip
import hashlib
import json
import shutil
import socket
import subprocess
import sys
import threading
import urllib.request
import uuid
from contextlib import closing
from pathlib import Path

import boto3
import psycopg2
import pytest
from botocore.config import Config
from psycopg2 import sql

from tests.integration.module_runner import run_module
from tests.integration.waiting import wait_until

MODULE = "sre.runbooks.pg_backup"
RESTORE_MODULE = "sre.runbooks.pg_restore"
INFO_MODULE = "sre.runbooks.pg_backup_info"
SCHEMAS = ["production", "experiments_v1", "quarantine"]
DUMP_APP = "sre.runbooks pg_backup (pg_dump)"


def unique(prefix):
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


class Server:
    """The harness PostgreSQL server: connections, databases, and module runs against it."""

    def __init__(self, info, s3_info):
        self.info = info
        self.s3_info = s3_info

    def connect(self, database, autocommit=True, application_name="pg_backup-tests"):
        conn = psycopg2.connect(host=self.info["host"], port=self.info["port"], user=self.info["user"],
                                password=self.info["password"], dbname=database, application_name=application_name)
        conn.autocommit = autocommit
        return conn

    def query(self, database, text, args=None):
        with closing(self.connect(database)) as conn, conn.cursor() as cursor:
            cursor.execute(text, args)
            return cursor.fetchall() if cursor.description else None

    def execute(self, database, text, args=None):
        self.query(database, text, args)

    def exists(self, database):
        return bool(self.query("postgres", "SELECT 1 FROM pg_database WHERE datname = %s", (database,)))

    def create(self, name):
        self.execute("postgres", sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop(self, name):
        self.execute("postgres", sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def tables(self, database):
        rows = self.query(database, "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN "
                                    "('pg_catalog', 'information_schema') ORDER BY 1, 2")
        return [tuple(row) for row in rows]

    def counts(self, database, schemas=None):
        """Exact row counts per 'schema.table'."""
        result = {}
        for schema, table in self.tables(database):
            if schemas is None or schema in schemas:
                query = sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
                result[f"{schema}.{table}"] = self.query(database, query)[0][0]
        return result

    def fingerprint(self, database, schemas=None):
        """An md5 of every table's full content, to prove a restore brought back the same rows."""
        result = {}
        for schema, table in self.tables(database):
            if schemas is None or schema in schemas:
                query = sql.SQL("SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {}.{} t").format(
                    sql.Identifier(schema), sql.Identifier(table))
                result[f"{schema}.{table}"] = self.query(database, query)[0][0]
        return result

    def s3_args(self, bucket, prefix, **extra):
        args = {"bucket": bucket, "prefix": prefix, "endpoint_url": self.s3_info["endpoint_url"],
                "region": self.s3_info["region"]}
        args.update(extra)
        return args

    def run(self, check=False, diff=False, module=MODULE, **args):
        """Run pg_backup (or pg_restore, pg_backup_info); the PostgreSQL password and the S3 keys come from the
        environment (env fallbacks)."""
        module_args = {"host": self.info["host"], "port": self.info["port"], "user": self.info["user"]}
        if module == INFO_MODULE:  # it connects to no database
            module_args = {}
        module_args.update(args)
        env = {"PGPASSWORD": self.info["password"], "AWS_ACCESS_KEY_ID": self.s3_info["access_key"],
               "AWS_SECRET_ACCESS_KEY": self.s3_info["secret_key"]}
        result = run_module(module, module_args, check=check, diff=diff, env=env)
        assert "Traceback" not in result.output, result.output
        assert self.info["password"] not in result.output
        return result


def populate(server, database):
    """The EXP runbook's layout: three schemas plus public, with a foreign key and a sequence."""
    server.execute(database, """
        CREATE SCHEMA production; CREATE SCHEMA experiments_v1; CREATE SCHEMA quarantine;
        CREATE TABLE production.users (id serial PRIMARY KEY, name text NOT NULL);
        INSERT INTO production.users (name) SELECT 'user' || g FROM generate_series(1, 800) g;
        CREATE TABLE production.orders (id bigserial PRIMARY KEY, user_id int REFERENCES production.users (id),
                                        amount numeric(10, 2), created timestamptz DEFAULT '2025-01-01');
        INSERT INTO production.orders (user_id, amount) SELECT 1 + g % 800, g * 1.25 FROM generate_series(1, 4000) g;
        CREATE TABLE experiments_v1.runs (id int PRIMARY KEY, params jsonb);
        INSERT INTO experiments_v1.runs SELECT g, jsonb_build_object('lr', g / 1000.0) FROM generate_series(1, 300) g;
        CREATE TABLE quarantine.items (id int, reason text);
        INSERT INTO quarantine.items SELECT g, 'flaky' FROM generate_series(1, 42) g;
        CREATE TABLE public.settings (key text PRIMARY KEY, value text);
        INSERT INTO public.settings VALUES ('mode', 'v2'), ('owner', 'sre');
        CREATE TABLE public.empty_table (id int);
    """)


# -- fixtures ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(services):
    return Server(services["postgres"], services["s3"])


@pytest.fixture(scope="module")
def s3(services):
    """A bucket of our own on the shared moto server, and a boto3 client to inspect it."""
    info = services["s3"]
    client = boto3.client("s3", endpoint_url=info["endpoint_url"], region_name=info["region"],
                          aws_access_key_id=info["access_key"], aws_secret_access_key=info["secret_key"],
                          config=Config(s3={"addressing_style": "path"}))
    bucket = unique("pgb").replace("_", "-")
    client.create_bucket(Bucket=bucket)
    yield {"client": client, "bucket": bucket}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents") or []:
            client.delete_object(Bucket=bucket, Key=item["Key"])
    client.delete_bucket(Bucket=bucket)


def s3_keys(s3, prefix):
    pages = s3["client"].get_paginator("list_objects_v2").paginate(Bucket=s3["bucket"], Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents") or [])


@pytest.fixture(scope="module")
def platform(server):
    name = server.create(unique("pgb_platform"))
    populate(server, name)
    yield name
    server.drop(name)


@pytest.fixture
def scratch_dbs(server):
    """Names of databases a test creates (through the module); dropped afterwards."""
    names = []
    yield names
    for name in names:
        server.drop(name)


@pytest.fixture(scope="module")
def full_backup(server, platform, s3, tmp_path_factory):
    """One full custom-format backup of the platform database, verified and uploaded (test_pg_restore.py restores it)."""
    dest = tmp_path_factory.mktemp("full")
    result = server.run(database=platform, dest=str(dest), label="nightly", verify="archive",
                        s3=server.s3_args(s3["bucket"], "full/"))
    assert not result.failed, result.get("msg")
    return {"dest": dest, "result": result, "backup": result["backups"][0]}


def read_manifest(dest, name):
    return json.loads((Path(dest) / f"{name}.manifest.json").read_text())


def sha256_file(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def mode(path):
    return oct(Path(path).stat().st_mode & 0o777)


# -- making backups --------------------------------------------------------------------------------

def test_check_mode_plans_the_backup_and_writes_nothing(server, platform, tmp_path):
    dest = tmp_path / "not-yet"
    result = server.run(check=True, diff=True, database=platform, dest=str(dest), retention={"keep_last": 2})
    assert not result.failed, result.get("msg")
    assert result.changed
    planned = result["backups"][0]
    assert planned["file"].endswith(".dump") and planned["sha256"] is None
    assert planned["tables_counted"] == 6 and planned["rows_estimate"] >= 0
    assert result["diff"]["before"] == {"local": []}
    assert result["diff"]["after"] == {"local": [planned["name"]]}
    assert not dest.exists()


def test_full_backup_is_complete_checksummed_and_counted(server, platform, full_backup, s3):
    backup = full_backup["backup"]
    dest = full_backup["dest"]
    path = Path(backup["local"]["path"])
    assert path.parent == dest and path.name == backup["file"] and path.suffix == ".dump"
    assert mode(path) == "0o600" and mode(backup["local"]["manifest_path"]) == "0o600"
    assert sorted(p.name for p in dest.iterdir()) == sorted([path.name, Path(backup["local"]["manifest_path"]).name])
    manifest = read_manifest(dest, backup["name"])
    assert manifest["sha256"] == sha256_file(path) == backup["sha256"]
    assert manifest["size"] == path.stat().st_size
    assert manifest["row_counts"] == server.counts(platform)
    assert manifest["row_counts_consistent"] is True
    assert manifest["server_version"].startswith("15.") and manifest["pg_dump_version"].startswith("15.")
    assert manifest["verification"]["status"] == "passed" and manifest["verification"]["checks"] == ["checksum", "archive"]
    assert manifest["set_key"] == f"nightly/{platform}/full"
    # Uploaded: S3 stored the SHA256 we computed, and the manifest object sits beside the data.
    head = s3["client"].head_object(Bucket=s3["bucket"], Key=backup["s3"]["key"], ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == base64.b64encode(bytes.fromhex(manifest["sha256"])).decode()
    assert head["Metadata"]["sha256"] == manifest["sha256"]
    remote = json.loads(s3["client"].get_object(Bucket=s3["bucket"], Key=backup["s3"]["manifest_key"])["Body"].read())
    assert remote["sha256"] == manifest["sha256"] and remote["s3"]["status"] == "uploaded"
    assert manifest["s3"]["key"] == backup["s3"]["key"] == "full/" + backup["file"]


def test_per_schema_backups_are_separate_and_uploaded_with_checksums(server, platform, s3, tmp_path, scratch_dbs):
    dest = tmp_path / "schemas"
    result = server.run(database=platform, dest=str(dest), scope="schemas", schemas=SCHEMAS, label="daily",
                        format="plain", compression="zstd", jobs=2, verify="checksum",
                        s3=server.s3_args(s3["bucket"], "daily/", sse="AES256", storage_class="STANDARD_IA"))
    assert not result.failed, result.get("msg")
    assert [b["schemas"] for b in result["backups"]] == [[s] for s in SCHEMAS]
    for backup in result["backups"]:
        schema = backup["schemas"][0]
        path = Path(backup["local"]["path"])
        assert path.name.endswith(".sql.zst") and schema in path.name and mode(path) == "0o600"
        manifest = read_manifest(dest, backup["name"])
        assert manifest["sha256"] == sha256_file(path)
        assert manifest["row_counts"] == server.counts(platform, [schema])
        assert manifest["set_key"] == f"daily/{platform}/schema:{schema}"
        sql_text = subprocess.run(["zstd", "-d", "-c", str(path)], capture_output=True, check=True).stdout.decode()
        assert f"CREATE TABLE {schema}." in sql_text
        assert all(f"CREATE TABLE {other}." not in sql_text for other in SCHEMAS if other != schema)
        assert "-- PostgreSQL database dump complete" in sql_text[-500:]
        head = s3["client"].head_object(Bucket=s3["bucket"], Key=backup["s3"]["key"], ChecksumMode="ENABLED")
        assert head["ChecksumSHA256"] == base64.b64encode(bytes.fromhex(manifest["sha256"])).decode()
        assert head["ServerSideEncryption"] == "AES256" and head["StorageClass"] == "STANDARD_IA"
    assert len(s3_keys(s3, "daily/")) == 6  # three dumps, three manifests
    # The plain zstd dump of one schema restores on its own (psql, one transaction).
    target = unique("pgb_prod_copy")
    scratch_dbs.append(target)
    restored = server.run(module=RESTORE_MODULE, database=target, src=result["backups"][0]["local"]["path"])
    assert not restored.failed, restored.get("msg")
    assert restored["restore"]["row_counts"]["ok"]
    assert server.fingerprint(target) == server.fingerprint(platform, ["production"])


def test_globals_backup_holds_the_roles(server, platform, tmp_path):
    role = unique("pgb_role")
    server.execute("postgres", sql.SQL("CREATE ROLE {} LOGIN CONNECTION LIMIT 3").format(sql.Identifier(role)))
    try:
        result = server.run(database=platform, dest=str(tmp_path), scope="globals", verify="archive")
        assert not result.failed, result.get("msg")
        backup = result["backups"][0]
        assert backup["file"].endswith(".globals.sql.gz") and backup["format"] == "plain"
        text = gzip.decompress(Path(backup["local"]["path"]).read_bytes()).decode()
        assert f"CREATE ROLE {role};" in text and "CONNECTION LIMIT 3" in text
        assert read_manifest(tmp_path, backup["name"])["verification"]["status"] == "passed"
    finally:
        server.execute("postgres", sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_verify_restore_with_a_parallel_directory_dump(server, platform, tmp_path):
    result = server.run(database=platform, dest=str(tmp_path), format="directory", jobs=2, verify="restore")
    assert not result.failed, result.get("msg")
    backup = result["backups"][0]
    path = Path(backup["local"]["path"])
    assert path.is_dir() and mode(path) == "0o700" and "--jobs 2" in result["commands"][0]
    assert all(mode(f) == "0o600" for f in path.iterdir()) and (path / "toc.dat").exists()
    restore = backup["verification"]["restore"]
    assert restore["row_counts"]["ok"] and restore["row_counts"]["matched"] == 6
    assert not server.exists(restore["scratch_database"])
    manifest = read_manifest(tmp_path, backup["name"])
    assert manifest["verification"]["status"] == "passed"
    assert set(manifest["files"]) == {p.name for p in path.iterdir()}


def test_table_backup_test_restore_creates_the_tables_schemas(server, platform, tmp_path):
    result = server.run(database=platform, dest=str(tmp_path), scope="tables", format="plain",
                        tables=["production.users", "quarantine.items"], verify="restore")
    assert not result.failed, result.get("msg")
    backup = result["backups"][0]
    assert backup["tables"] == ["production.users", "quarantine.items"]
    assert backup["verification"]["restore"]["row_counts"]["matched"] == 2
    assert read_manifest(tmp_path, backup["name"])["row_counts"] == {"production.users": 800, "quarantine.items": 42}


def test_failed_verification_fails_marks_the_manifest_and_uploads_nothing(server, s3, tmp_path):
    # A schema whose table uses a type from another schema cannot be restored on its own.
    database = server.create(unique("pgb_dep"))
    try:
        server.execute(database, "CREATE SCHEMA shared; CREATE TYPE shared.mood AS ENUM ('ok', 'sad'); "
                                 "CREATE SCHEMA app; CREATE TABLE app.people (id int, mood shared.mood); "
                                 "INSERT INTO app.people VALUES (1, 'ok'), (2, 'sad')")
        result = server.run(database=database, dest=str(tmp_path), scope="schemas", schemas=["app"], verify="restore",
                            s3=server.s3_args(s3["bucket"], "unverified/"))
        assert result.failed
        assert "Verification (restore) of backup" in result["msg"]
        assert 'pg_restore: error: could not execute query: ERROR: schema "shared" does not exist' in result["msg"]
        assert "marked unverified in its manifest" in result["msg"]
        backup = result["backups"][0]
        manifest = read_manifest(tmp_path, backup["name"])
        assert manifest["verification"]["status"] == "failed"
        assert Path(backup["local"]["path"]).exists()
        assert s3_keys(s3, "unverified/") == []
        leftovers = server.query("postgres", "SELECT datname FROM pg_database WHERE datname LIKE %s",
                                 (database[:30] + "_verify_%",))
        assert leftovers == []
    finally:
        server.drop(database)


# -- retention and listing ---------------------------------------------------------------------------

def clone(server, s3, dest, manifest, suffix, finished, upload=True):
    """Another backup of the same set, finished at ``finished``, locally and in S3 (as pg_backup lays them out)."""
    copy = dict(manifest, name=f"{manifest['name']}-{suffix}", file=f"{manifest['name']}-{suffix}.dump",
                finished_at=finished.isoformat(), started_at=finished.isoformat())
    copy.pop("s3", None)
    shutil.copyfile(Path(dest) / manifest["file"], Path(dest) / copy["file"])
    (Path(dest) / f"{copy['name']}.manifest.json").write_text(json.dumps(copy))
    if upload:
        s3["client"].upload_file(str(Path(dest) / copy["file"]), s3["bucket"], "ret/" + copy["file"])
        s3["client"].put_object(Bucket=s3["bucket"], Key=f"ret/{copy['name']}.manifest.json", Body=json.dumps(copy))
    return copy["name"]


def test_retention_locally_and_in_s3_then_listing(server, platform, s3, tmp_path):
    common = {"database": platform, "dest": str(tmp_path), "scope": "tables", "tables": ["public.settings"],
              "label": "ret", "s3": server.s3_args(s3["bucket"], "ret/")}
    made = server.run(verify="checksum", **common)
    assert not made.failed, made.get("msg")
    first = made["backups"][0]["name"]
    manifest = read_manifest(tmp_path, first)
    now = datetime.datetime.now(datetime.timezone.utc)
    olds = {age: clone(server, s3, tmp_path, manifest, f"old{age}", now - datetime.timedelta(days=age))
            for age in (1, 2, 3, 10, 40)}

    policy = dict(common, state="pruned", retention={"keep_last": 3},
                  s3_retention={"max_age_days": 7, "min_keep": 2})
    preview = server.run(check=True, diff=True, **policy)
    assert preview.changed
    pruned = sorted((p["location"], p["name"]) for p in preview["pruned"])
    expected = sorted([("local", olds[3]), ("local", olds[10]), ("local", olds[40]), ("s3", olds[10]), ("s3", olds[40])])
    assert pruned == expected
    assert all((tmp_path / f"{olds[age]}.dump").exists() for age in (3, 10, 40))
    assert len(s3_keys(s3, "ret/")) == 12
    assert olds[40] in preview["diff"]["before"]["s3"] and olds[40] not in preview["diff"]["after"]["s3"]

    done = server.run(**policy)
    assert done.changed and sorted((p["location"], p["name"]) for p in done["pruned"]) == expected
    local_names = sorted(p.name for p in tmp_path.iterdir())
    assert local_names == sorted(f"{n}{ext}" for n in (first, olds[1], olds[2]) for ext in (".dump", ".manifest.json"))
    remaining = s3_keys(s3, "ret/")
    assert len(remaining) == 8 and not any(olds[10] in key or olds[40] in key for key in remaining)

    again = server.run(**policy)
    assert not again.changed and again["pruned"] == []

    # A backup stamped in the future (clock skew) ranks first; the one made now is still never pruned.
    future = clone(server, s3, tmp_path, manifest, "future", now + datetime.timedelta(days=1))
    newest = server.run(verify="none", retention={"keep_last": 1}, **common)
    assert not newest.failed, newest.get("msg")
    new_name = newest["backups"][0]["name"]
    assert sorted((p["location"], p["name"]) for p in newest["pruned"]) == sorted(
        [("local", first), ("local", olds[1]), ("local", olds[2]),
         ("s3", first), ("s3", olds[1]), ("s3", olds[2]), ("s3", olds[3])])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{n}{ext}" for n in (new_name, future) for ext in (".dump", ".manifest.json"))

    listing = server.run(module=INFO_MODULE, dest=str(tmp_path), database=platform,
                         s3=server.s3_args(s3["bucket"], "ret/"))
    assert not listing.failed and not listing.changed
    assert [b["name"] for b in listing["backups"]] == [future, new_name]
    assert [b["locations"] for b in listing["backups"]] == [["local", "s3"], ["local", "s3"]]
    info = listing["sets"][f"ret/{platform}/tables:public.settings"]
    assert info["count"] == 2 and info["latest"] == future and info["latest_ok"] == future
    assert listing["backups"][1]["s3"]["key"] == f"ret/{new_name}.dump"


# -- faults --------------------------------------------------------------------------------------------

def test_a_backend_killed_mid_dump_fails_and_leaves_no_file(server, tmp_path):
    database = server.create(unique("pgb_big"))
    try:
        server.execute(database, "CREATE TABLE small (id int); INSERT INTO small VALUES (1); "
                                 "CREATE TABLE big (id int, payload text); "
                                 "INSERT INTO big SELECT g, md5(g::text) || md5((g * 7)::text) "
                                 "FROM generate_series(1, 500000) g")
        older = server.run(database=database, dest=str(tmp_path), scope="tables", tables=["small"], verify="checksum")
        assert not older.failed, older.get("msg")
        before = {p.name: sha256_file(p) for p in tmp_path.iterdir()}

        outcome = {}
        runner = threading.Thread(target=lambda: outcome.update(result=server.run(
            database=database, dest=str(tmp_path), format="plain", compression="gzip", compression_level=9)))
        runner.start()
        try:
            copying = ("SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = %s "
                       "AND query LIKE 'COPY public.big%%'")
            pid = wait_until(lambda: server.query("postgres", copying, (database, DUMP_APP)),
                             "pg_dump to start copying public.big")[0][0]
            assert server.query("postgres", "SELECT pg_terminate_backend(%s)", (pid,))[0][0] is True
        finally:
            runner.join(timeout=120)
        result = outcome["result"]
        assert result.failed
        assert 'pg_dump: error: Dumping the contents of table "big" failed' in result["msg"]
        # libpq reports the kill either with the server's FATAL message or as a closed connection.
        assert ("terminating connection due to administrator command" in result["msg"]
                or "server closed the connection unexpectedly" in result["msg"]), result["msg"]
        assert "left no file" in result["msg"]
        # Only the older backup is there, unchanged; no temp file is left behind.
        assert {p.name: sha256_file(p) for p in tmp_path.iterdir()} == before
    finally:
        server.drop(database)


def _free_port():
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_s3_server_stopped_keeps_the_local_backup_and_fails_clearly(server, platform, tmp_path, services):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    moto = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        def answering():
            try:
                with urllib.request.urlopen(url + "/moto-api/", timeout=1):
                    return True
            except OSError:
                return False

        wait_until(answering, "our own moto server")
        info = services["s3"]
        boto3.client("s3", endpoint_url=url, region_name=info["region"], aws_access_key_id=info["access_key"],
                     aws_secret_access_key=info["secret_key"]).create_bucket(Bucket="doomed")
    finally:
        moto.terminate()
        moto.wait(timeout=30)
    result = server.run(database=platform, dest=str(tmp_path), scope="tables", tables=["quarantine.items"],
                        s3={"bucket": "doomed", "endpoint_url": url, "region": info["region"], "retries": 2, "timeout": 5})
    assert result.failed
    assert f"s3://doomed/{result['backups'][0]['file']} failed after 2 attempts: cannot reach {url}" in result["msg"]
    assert result["msg"].endswith(f"the local backup is kept at {result['backups'][0]['local']['path']}.")
    path = Path(result["backups"][0]["local"]["path"])
    assert path.exists() and mode(path) == "0o600"
    manifest = read_manifest(tmp_path, result["backups"][0]["name"])
    assert manifest["sha256"] == sha256_file(path)
    assert manifest["verification"]["status"] == "passed"
    assert manifest["s3"]["status"] == "failed" and "cannot reach" in manifest["s3"]["error"]
