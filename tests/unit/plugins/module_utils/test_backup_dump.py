"""The pg_dump command line pg_backup builds for each unit: pattern quoting, snapshot, compression, transport."""

from __future__ import annotations

import types

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._backup.dump import (
    NO_ROLE_PASSWORDS_WARNING,
    Dumper,
    compress_args,
    quote_pattern,
)
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.connection import is_superuser

TOOLS = {"pg_dump": "/pg/bin/pg_dump", "pg_dumpall": "/pg/bin/pg_dumpall"}
OPTS = {"format": "custom", "compression": "gzip", "level": 6, "compress_mode": "native", "jobs": 1,
        "extra_args": ["--no-owner"], "lock_wait": None, "database": "platform"}


def dumper(remote=False):
    return Dumper(types.SimpleNamespace(tools=TOOLS), (lambda: None) if remote else None)


def test_patterns_are_exact_matches():
    assert quote_pattern("Sales", 'odd"name') == '"Sales"."odd""name"'


@pytest.mark.parametrize("compression, mode, expected", [
    ("gzip", "native", ["--compress=6"]),
    ("zstd", "native", ["--compress=zstd:6"]),
    ("none", None, ["--compress=0"]),
])
def test_compress_args(compression, mode, expected):
    assert compress_args(dict(OPTS, compression=compression, compress_mode=mode)) == expected


def test_schema_unit_in_a_shared_snapshot():
    unit = {"scope": "schemas", "resolved_schemas": ["production"]}
    argv = dumper().dump_command(unit, dict(OPTS, lock_wait=30.0), "/backups/.partial", "00000003-1")
    assert argv == ["/pg/bin/pg_dump", "--no-password", "--format=custom", "--snapshot=00000003-1",
                    "--lock-wait-timeout=30000", "--schema", '"production"', "--strict-names", "--compress=6",
                    "--file", "/backups/.partial", "--no-owner"]


def test_in_a_pod_the_archive_comes_back_on_stdout():
    argv = dumper(remote=True).dump_command({"scope": "database"}, OPTS, "/backups/.partial", None)
    assert "--file" not in argv and argv[-2:] == ["--compress=6", "--no-owner"]


def test_parallel_directory_dump_and_globals():
    unit = {"scope": "tables", "resolved_tables": [("public", "t")]}
    argv = dumper().dump_command(unit, dict(OPTS, format="directory", jobs=4, extra_args=[]), "/b/.p", None)
    assert argv[-4:] == ["--file", "/b/.p", "--jobs", "4"] and ["--table", '"public"."t"'] == argv[3:5]
    assert dumper().dump_command({"scope": "globals"}, OPTS, "/b/.p", None) == [
        "/pg/bin/pg_dumpall", "--globals-only", "--no-password", "-l", "platform"]


@pytest.mark.parametrize("superuser, expected_tail", [
    (True, ["-l", "platform"]),
    (None, ["-l", "platform"]),                              # not known yet: pg_dumpall as before
    (False, ["-l", "platform", "--no-role-passwords"]),      # pg_authid is superuser-only (RDS, Cloud SQL)
])
def test_globals_without_superuser_leave_out_role_passwords(superuser, expected_tail):
    session = types.SimpleNamespace(tools=TOOLS, superuser=superuser, warnings=[])
    argv = Dumper(session).dump_command({"scope": "globals"}, OPTS, "/b/.p", None)
    assert argv[:3] == ["/pg/bin/pg_dumpall", "--globals-only", "--no-password"] and argv[3:] == expected_tail
    assert session.warnings == ([NO_ROLE_PASSWORDS_WARNING] if superuser is False else [])
    Dumper(session).dump_command({"scope": "globals"}, OPTS, "/b/.p", None)
    assert len(session.warnings) == (1 if superuser is False else 0)  # said once per task


class _Conn:
    def __init__(self, status, setting="off"):
        self.status, self.setting = status, setting

    def get_parameter_status(self, name):
        return self.status if name == "is_superuser" else None

    def cursor(self):
        conn = self

        class Cursor:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def execute(self, query):
                assert "current_setting('is_superuser')" in query

            def fetchone(self):
                return (conn.setting,)
        return Cursor()


@pytest.mark.parametrize("status, setting, expected", [("on", None, True), ("off", None, False),
                                                       (None, "on", True), (None, "off", False)])
def test_is_superuser_from_the_reported_setting_or_a_query(status, setting, expected):
    assert is_superuser(_Conn(status, setting)) is expected
