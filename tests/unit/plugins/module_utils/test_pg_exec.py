"""The Kubernetes exec transport's pure parts: the wrapped command, the env line, exit statuses, a fake stream."""

from __future__ import annotations

import json
import subprocess
import tempfile

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._postgres import exec_transport as pg_exec

from ansible_collections.sre.runbooks.plugins.module_utils._postgres import tools as pg_tools
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.tools import ToolError


def test_exec_command_runs_program_by_name_behind_the_env_wrapper():
    argv = pg_exec.exec_command(["/usr/lib/postgresql/15/bin/pg_dump", "--format=custom", "--schema", '"a b"'])
    assert argv[:4] == ["sh", "-c", pg_exec.WRAPPER, "sh"]
    assert argv[4:] == ["pg_dump", "--format=custom", "--schema", '"a b"']


def test_forwarded_env_keeps_only_libpq_and_messages():
    env = {"PGPASSWORD": "s3cret", "PGHOST": "db", "LC_MESSAGES": "C", "HOME": "/root", "AWS_SECRET_ACCESS_KEY": "x"}
    assert pg_exec.forwarded_env(env) == {"PGPASSWORD": "s3cret", "PGHOST": "db", "LC_MESSAGES": "C"}


def test_env_line_is_one_quoted_line_that_a_shell_reads_back():
    line = pg_exec.env_line({"PGPASSWORD": "it's $HOME `x`", "PGPORT": "5432"})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    script = 'IFS= read -r l; eval "$l"; printf "%s|%s" "$PGPASSWORD" "$PGPORT"'
    out = subprocess.run(["sh", "-c", script], input=line, capture_output=True, check=True).stdout
    assert out == b"it's $HOME `x`|5432"


@pytest.mark.parametrize("env", [{"PGPASSWORD": "a\nb"}, {"PG-X": "1"}, {"1PG": "1"}, {"PGX": "a\0b"}])
def test_env_line_refuses_what_one_line_cannot_carry(env):
    with pytest.raises(ValueError):
        pg_exec.env_line(env)


@pytest.mark.parametrize("status, code", [
    ('{"metadata":{},"status":"Success"}', 0),
    (json.dumps({"status": "Failure", "reason": "NonZeroExitCode",
                 "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}), 3),
    ('{"status":"Failure","message":"container not found"}', 1),
    ("", None),
    ("not json", None),
])
def test_exit_code(status, code):
    assert pg_exec.exit_code(status) == code


def test_status_message_only_for_failures_without_exit_code():
    assert pg_exec.status_message('{"status":"Failure","message":"no exec found"}') == "no exec found"
    assert pg_exec.status_message('{"status":"Success"}') is None
    exit3 = {"status": "Failure", "message": "command terminated with non-zero exit code",
             "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}
    assert pg_exec.status_message(json.dumps(exit3)) is None


class FakeStream:
    """A WSClient stand-in: replays (channel, bytes) frames, records stdin."""

    def __init__(self, frames):
        self.frames = list(frames)
        self.pending = {}
        self.stdin = b""
        self.closed_channels = []
        self.open = True

    def is_open(self):
        return self.open

    def update(self, timeout=0):
        if not self.frames:
            self.open = False
            return
        channel, data = self.frames.pop(0)
        self.pending[channel] = self.pending.get(channel, b"") + data

    def peek_channel(self, channel):
        return bool(self.pending.get(channel))

    def read_channel(self, channel):
        return self.pending.pop(channel, b"")

    def write_stdin(self, data):
        self.stdin += data

    def close_channel(self, channel):
        self.closed_channels.append(channel)

    def close(self):
        self.open = False


class FakeTransport:
    name = "fake"

    def __init__(self, frames):
        self.frames = frames
        self.streams = []

    def spawn(self, argv, env, stdin=None, stdout=None, stderr=None):
        stream = FakeStream(self.frames)
        self.streams.append(stream)
        return pg_exec.ExecProcess(stream, argv, pg_exec.forwarded_env(env), stdin, stdout, stderr)


def test_run_chain_streams_remote_stdout_and_sends_env_on_stdin():
    transport = FakeTransport([(1, b"abc" * 1000), (2, b"notice\n"), (1, b"end"), (3, b'{"status":"Success"}')])
    out = bytearray()
    results = pg_tools.run_chain([["/x/pg_dump", "-Fc"]], {"PGPASSWORD": "pw", "HOME": "/h"}, consumer=out.extend,
                                 transport=transport)
    assert bytes(out) == b"abc" * 1000 + b"end"
    assert results == [{"program": "pg_dump", "returncode": 0, "stderr": "notice\n"}]
    assert transport.streams[0].stdin == b"export PGPASSWORD=pw;\n"
    assert transport.streams[0].closed_channels == [0]


def test_remote_program_feeds_a_local_one():
    transport = FakeTransport([(1, b"hello\n" * 10000), (3, b'{"status":"Success"}')])
    out = bytearray()
    pg_tools.run_chain([["pg_dump"], ["wc", "-l"]], {}, consumer=out.extend, transports=[transport, None])
    assert out.strip() == b"10000"


def test_remote_exit_code_and_status_message_become_tool_errors():
    failed = json.dumps({"status": "Failure", "details": {"causes": [{"reason": "ExitCode", "message": "1"}]}})
    transport = FakeTransport([(2, b"pg_dump: error: connection refused\n"), (3, failed.encode())])
    with pytest.raises(ToolError, match="connection refused"):
        pg_tools.run_chain([["pg_dump"]], {}, consumer=lambda chunk: None, transport=transport)
    transport = FakeTransport([(3, b'{"status":"Failure","message":"no exec found for container"}')])
    with pytest.raises(ToolError, match="no exec found"):
        pg_tools.run_chain([["pg_dump"]], {}, consumer=lambda chunk: None, transport=transport)


def test_stream_without_status_is_a_failure():
    with tempfile.TemporaryFile() as err:
        process = pg_exec.ExecProcess(FakeStream([(1, b"partial")]), ["pg_dump"], {}, None, subprocess.DEVNULL, err)
        assert process.wait() == 255
        err.seek(0)
        assert b"without an exit status" in err.read()
