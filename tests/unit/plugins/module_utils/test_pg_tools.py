"""Client-program plumbing: version choice, error lines, pipelines that never hide a failure."""

from __future__ import annotations

import gzip
import os
import stat

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._postgres import tools as pg_tools
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.tools import ToolError


@pytest.mark.parametrize("text, version", [
    ("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", (15, 18)),
    ("pg_dump (PostgreSQL) 17.2", (17, 2)),
    ("pg_dump (PostgreSQL) 9.6.24", (9, 6)),
    ("psql (PostgreSQL) 16beta1", (16, 0)),
    ("something else", None),
])
def test_parse_version(text, version):
    assert pg_tools.parse_version(text) == version


@pytest.mark.parametrize("server, expected", [(15, "/v15"), (14, "/v15"), (16, "/v17"), (17, "/v17"), (18, None),
                                              (None, "/v17")])
def test_choose_version_prefers_the_same_major_then_the_nearest_newer(server, expected):
    found = [((15, 18), "/v15"), ((17, 2), "/v17"), ((13, 1), "/v13")]
    assert pg_tools.choose_version(found, server) == expected


def _fake_tools(directory, version):
    directory.mkdir(parents=True)
    for name in pg_tools.TOOLS:
        path = directory / name
        path.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {version}'\n")
        path.chmod(0o755)
    return directory


def test_find_tools_in_bin_dir(tmp_path):
    bin_dir = _fake_tools(tmp_path / "bin", "15.4")
    tools = pg_tools.find_tools(15, str(bin_dir))
    assert tools["version"] == (15, 4)
    assert tools["pg_restore"] == str(bin_dir / "pg_restore")


def test_find_tools_too_old(tmp_path):
    bin_dir = _fake_tools(tmp_path / "bin", "13.4")
    with pytest.raises(ToolError, match=r"No usable pg_dump 15 or later .* \(found: 13.4 in .*\); install"):
        pg_tools.find_tools(15, str(bin_dir))


def test_error_summary_keeps_the_programs_own_line_and_detail():
    stderr = ("pg_dump: error: Dumping the contents of table \"big\" failed: PQgetResult() failed.\n"
              "pg_dump: detail: Error message from server: FATAL:  terminating connection due to administrator command\n"
              "pg_dump: detail: Command was: COPY public.big (id, payload) TO stdout;\n")
    assert pg_tools.error_summary(stderr, "pg_dump") == (
        'pg_dump: error: Dumping the contents of table "big" failed: PQgetResult() failed. '
        "(Error message from server: FATAL: terminating connection due to administrator command)")


def test_error_summary_for_psql_and_signals():
    stderr = "psql:<stdin>:42: ERROR:  relation \"x\" already exists\n"
    assert pg_tools.error_summary(stderr, "psql") == 'psql:<stdin>:42: ERROR: relation "x" already exists'
    assert pg_tools.error_summary("", "gzip", -9) == "gzip was killed by signal 9"
    assert pg_tools.error_summary("", "gzip", 2) == "gzip exited with status 2"


def test_tool_env_passes_the_password_in_the_environment_only():
    env = pg_tools.tool_env({"host": "db", "port": 5433, "user": "u", "password": "s3cret", "database": "a"},
                            database="b", application_name="x")
    assert env["PGPASSWORD"] == "s3cret" and env["PGDATABASE"] == "b" and env["PGAPPNAME"] == "x"
    assert env["LC_MESSAGES"] == "C" and "LC_ALL" not in env


def test_run_chain_streams_and_checks_every_exit_status():
    out = []
    results = pg_tools.run_chain([["printf", "hello"], ["gzip", "-c"]], dict(os.environ), consumer=out.append)
    assert gzip.decompress(b"".join(out)) == b"hello"
    assert [r["returncode"] for r in results] == [0, 0]


def test_run_chain_does_not_let_a_pipe_hide_an_upstream_failure():
    script = "printf partial; echo 'pg_dump: error: connection lost' >&2; exit 1"
    with pytest.raises(ToolError, match=r"^sh: pg_dump: error: connection lost\.$"):
        pg_tools.run_chain([["sh", "-c", script], ["gzip", "-c"]], dict(os.environ), consumer=lambda chunk: None)


def test_run_chain_reports_an_error_line_even_with_exit_status_zero(tmp_path):
    # Some pg_dump versions exited 0 after an error (ansible/ansible#39412).
    fake = tmp_path / "pg_dump"
    fake.write_text("#!/bin/sh\necho 'pg_dump: error: boom' >&2\nexit 0\n")
    fake.chmod(0o755)
    with pytest.raises(ToolError, match="^pg_dump: error: boom.$"):
        pg_tools.run_chain([[str(fake)]], dict(os.environ))


def test_run_chain_reports_a_failing_consumer():
    def full_disk(_chunk):
        raise OSError(28, "No space left on device")

    with pytest.raises(ToolError, match="Writing the output of yes failed: No space left on device"):
        pg_tools.run_chain([["yes"]], dict(os.environ), consumer=full_disk)


def test_run_chain_missing_program():
    with pytest.raises(ToolError, match="Could not start no-such-program"):
        pg_tools.run_chain([["no-such-program"]], dict(os.environ))


@pytest.fixture
def fake_psql(tmp_path):
    """A 'psql' that records what it was sent."""
    received = tmp_path / "received.sql"
    script = tmp_path / "psql"
    script.write_text(f"#!/bin/sh\ncat > {received}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script), received


def test_feed_psql_wraps_the_script_in_one_transaction(tmp_path, fake_psql):
    psql, received = fake_psql
    dump = tmp_path / "d.sql.gz"
    dump.write_bytes(gzip.compress(b"CREATE TABLE t ();\n"))
    pg_tools.feed_psql([psql], dict(os.environ), source_commands=[["gzip", "-d", "-c", str(dump)]])
    assert received.read_bytes() == b"BEGIN;\nCREATE TABLE t ();\n\nCOMMIT;\n"


def test_feed_psql_never_commits_a_truncated_script(tmp_path, fake_psql):
    psql, received = fake_psql
    dump = tmp_path / "d.sql.gz"
    dump.write_bytes(gzip.compress(b"CREATE TABLE t ();\n" * 1000)[:-20])  # cut short: gzip fails at the end
    with pytest.raises(ToolError, match="gzip: .*nothing was committed"):
        pg_tools.feed_psql([psql], dict(os.environ), source_commands=[["gzip", "-d", "-c", str(dump)]])
    assert b"COMMIT" not in received.read_bytes()


def test_feed_psql_reports_psqls_own_error(tmp_path):
    psql = tmp_path / "psql"
    psql.write_text("#!/bin/sh\ncat >/dev/null\necho 'psql:<stdin>:3: ERROR:  syntax error at or near \"x\"' >&2\nexit 3\n")
    psql.chmod(0o755)
    source = tmp_path / "d.sql"
    source.write_text("x;\n")
    with pytest.raises(ToolError, match=r'psql:<stdin>:3: ERROR: syntax error at or near "x"; the transaction was rolled back'):
        pg_tools.feed_psql([str(psql)], dict(os.environ), source_path=str(source))
