"""Shared by test_backup_playbook.py and test_restore_playbook.py: run a playbook against
inventories/local with the harness services, and read the real state they act on (databases,
backup files, S3 objects) so tests compare before and after.

Each test works on its own database, backup directory and S3 prefix (the bucket is the local
inventory's ``platform-backups``, created when missing and never deleted).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from contextlib import closing
from typing import NamedTuple
from pathlib import Path

import boto3
import psycopg2
from psycopg2 import sql

from tests.harness.services import service_env
from tests.integration.ansible_run import run_playbook

BUCKET = "platform-backups"  # sre_s3.bucket of inventories/local
HOST = "platform-db"  # the postgres host of inventories/local
SCHEMAS = ["production", "experiments_v1", "quarantine"]
SEED_SQL = """
CREATE SCHEMA production;
CREATE SCHEMA experiments_v1;
CREATE SCHEMA quarantine;
CREATE TABLE production.experiments (id int PRIMARY KEY, name text, accuracy numeric);
INSERT INTO production.experiments SELECT g, 'exp-' || g, 0.9 + g % 10 / 100.0 FROM generate_series(1, 400) g;
CREATE TABLE experiments_v1.runs (id int PRIMARY KEY, experiment_id int, status text);
INSERT INTO experiments_v1.runs SELECT g, g % 40, 'done' FROM generate_series(1, 150) g;
CREATE TABLE quarantine.records (id int PRIMARY KEY, reason text);
INSERT INTO quarantine.records SELECT g, 'accuracy below threshold' FROM generate_series(1, 25) g;
"""


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


class Run(NamedTuple):
    changed: int  # the host's changed= count in the play recap
    output: str


class Playbooks:
    """Runs playbooks/<name> with -i inventories/local, reports and backups in ``tmp_path``."""

    def __init__(self, services: dict, tmp_path: Path, extra_env: dict | None = None):
        self.services = services
        self.tmp_path = tmp_path
        self.report_dir = tmp_path / "reports"
        self.backup_base = tmp_path / "backups"
        # inventories/local: sre_backup_dir = $SRE_BACKUP_DIR/postgres
        self.backup_dir = self.backup_base / "postgres"
        # Added to this process's environment for each run.
        self.env = dict(service_env(services), **(extra_env or {}), SRE_REPORT_DIR=str(self.report_dir),
                        SRE_BACKUP_DIR=str(self.backup_base))

    def run(self, name: str, extra: dict, check: bool = False, expect_rc: int = 0) -> Run:
        """Run the playbook and check its exit status. Extra vars go through a file, never argv."""
        proc = run_playbook(f"playbooks/{name}", extra, check=check, diff=check, env=self.env, timeout=600)
        output = proc.stdout + proc.stderr
        assert proc.returncode == expect_rc, output[-8000:]
        recap = re.search(rf"{HOST}\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=(\d+)", proc.stdout)
        assert recap, output[-8000:]
        return Run(int(recap.group(1)), output)

    def report(self, role: str) -> dict:
        return json.loads((self.report_dir / f"{role}-{HOST}.json").read_text())


class Postgres:
    """The harness PostgreSQL: throwaway databases and what they hold."""

    def __init__(self, services: dict):
        self.info = services["postgres"]

    def connect(self, database: str):
        conn = psycopg2.connect(host=self.info["host"], port=self.info["port"], user=self.info["user"],
                                password=self.info["password"], dbname=database)
        conn.autocommit = True
        return conn

    def execute(self, database: str, text: str, args=None):
        with closing(self.connect(database)) as conn, conn.cursor() as cursor:
            cursor.execute(text, args)
            return cursor.fetchall() if cursor.description else None

    def databases(self) -> list[str]:
        return sorted(row[0] for row in self.execute("postgres", "SELECT datname FROM pg_database"))

    def create_seeded(self, name: str) -> str:
        self.execute("postgres", sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.execute(name, SEED_SQL)
        return name

    def drop(self, name: str) -> None:
        self.execute("postgres", sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def fingerprint(self, database: str) -> dict:
        """Rows and an md5 of the full content of every user table: equal fingerprints, equal data."""
        tables = self.execute(database, "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN "
                                        "('pg_catalog', 'information_schema') ORDER BY 1, 2")
        result = {}
        for schema, table in tables:
            query = sql.SQL("SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
                            "FROM {}.{} t").format(sql.Identifier(schema), sql.Identifier(table))
            count, digest = self.execute(database, query)[0]
            result[f"{schema}.{table}"] = (count, digest)
        return result


class S3:
    """The harness moto S3 server."""

    def __init__(self, services: dict):
        info = services["s3"]
        self.client = boto3.client("s3", endpoint_url=info["endpoint_url"], region_name=info["region"],
                                   aws_access_key_id=info["access_key"], aws_secret_access_key=info["secret_key"])

    def ensure_bucket(self, bucket: str = BUCKET) -> None:
        if bucket not in {b["Name"] for b in self.client.list_buckets().get("Buckets", [])}:
            self.client.create_bucket(Bucket=bucket)

    def objects(self, prefix: str, bucket: str = BUCKET) -> dict[str, str]:
        """sha256 of every object under ``prefix``, read back from the server."""
        found = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                body = self.client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                found[obj["Key"]] = hashlib.sha256(body).hexdigest()
        return found

    def delete_prefix(self, prefix: str, bucket: str = BUCKET) -> None:
        keys = list(self.objects(prefix, bucket))
        for start in range(0, len(keys), 1000):
            self.client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[start:start + 1000]]})


def files(directory: Path) -> dict[str, str]:
    """sha256 of every regular file in ``directory`` (empty when it does not exist)."""
    if not directory.is_dir():
        return {}
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir()) if p.is_file()}


def manifests(directory: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*.manifest.json"))]
