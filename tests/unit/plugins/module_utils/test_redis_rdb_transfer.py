"""RdbTransfer without a server: the atomic write, its checks, and both replication stream framings.

The replication stream is a scripted stand-in for RawRedisConnection, so chunk boundaries (an
end mark split across two reads, backlog bytes after a sized snapshot) can be chosen exactly.
"""

from __future__ import annotations

import hashlib
import stat

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._redis import rdb_transfer
from ansible_collections.sre.runbooks.plugins.module_utils._redis.connection import RedisModuleError
from ansible_collections.sre.runbooks.plugins.module_utils._redis.rdb_transfer import RdbTransfer

RDB = b"REDIS0011" + bytes(range(256)) * 4 + b"\xff" + b"\x00" * 8
ADDRESS = "127.0.0.1:6379"


class FakeModule:
    def __init__(self, checker=None):
        self.checker = checker

    def get_bin_path(self, name):
        return self.checker


class FakeReplicationStream:
    """Answers SYNC with ``header`` and then ``chunks``; remembers what was sent and whether it was closed."""

    def __init__(self, header, chunks, refuse_rdb_only=False):
        self.header = header
        self.chunks = chunks
        self.refuse_rdb_only = refuse_rdb_only
        self.sent = []
        self.closed = False

    def command(self, *args):
        if self.refuse_rdb_only:
            raise RedisModuleError("ERR Unrecognized REPLCONF option: rdb-only")
        self.sent.append(args)

    def send(self, *args):
        self.sent.append(args)

    def skip_newlines(self):
        pass

    def read_line(self):
        return self.header

    def read_chunks(self):
        yield from self.chunks

    def close(self):
        self.closed = True


def transfer(verify=False, checker=None):
    return RdbTransfer(FakeModule(checker), {"verify": verify, "wait_timeout": 5, "host": "127.0.0.1", "port": 6379},
                       ADDRESS)


def replicate(monkeypatch, tmp_path, stream):
    monkeypatch.setattr(rdb_transfer, "open_raw_connection", lambda params: stream)
    writer = transfer()
    return writer.write_atomically(str(tmp_path / "dump.rdb"), lambda handle: writer.replication_copy(handle, 5))


def test_sized_snapshot_stops_at_its_length_and_ignores_the_backlog(monkeypatch, tmp_path):
    stream = FakeReplicationStream(b"$%d" % len(RDB), [RDB[:7], RDB[7:] + b"*1\r\n$4\r\nPING\r\n"], refuse_rdb_only=True)
    written = replicate(monkeypatch, tmp_path, stream)
    assert (tmp_path / "dump.rdb").read_bytes() == RDB
    assert written == {"path": str(tmp_path / "dump.rdb"), "size_bytes": len(RDB),
                       "sha256": hashlib.sha256(RDB).hexdigest(), "rdb_version": 11, "verified_with": "header"}
    assert stream.sent == [("SYNC",)] and stream.closed


def test_eof_marked_snapshot_with_the_mark_split_across_reads(monkeypatch, tmp_path):
    mark = b"0123456789abcdef0123456789abcdef01234567"
    data = RDB + mark
    stream = FakeReplicationStream(b"$EOF:" + mark, [data[:len(RDB) + 10], data[len(RDB) + 10:]])
    written = replicate(monkeypatch, tmp_path, stream)
    assert (tmp_path / "dump.rdb").read_bytes() == RDB and written["sha256"] == hashlib.sha256(RDB).hexdigest()
    assert stream.sent == [("REPLCONF", "rdb-only", "1"), ("SYNC",)]


def test_written_file_is_private_and_no_partial_file_is_left(monkeypatch, tmp_path):
    replicate(monkeypatch, tmp_path, FakeReplicationStream(b"$%d" % len(RDB), [RDB]))
    assert stat.S_IMODE((tmp_path / "dump.rdb").stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["dump.rdb"]


def test_refused_sync_is_one_sentence_and_writes_nothing(monkeypatch, tmp_path):
    stream = FakeReplicationStream(b"-NOPERM this user has no permissions to run the 'sync' command", [])
    with pytest.raises(RedisModuleError, match=r"^SYNC \(the replication-stream copy\) is not permitted by the server at 127.0.0.1:6379 "
                       r"\(the user's ACL does not allow it: NOPERM this user .*\)\.$"):
        replicate(monkeypatch, tmp_path, stream)
    assert list(tmp_path.iterdir()) == [] and stream.closed


def test_a_file_that_is_not_rdb_is_refused(tmp_path):
    source = tmp_path / "source.rdb"
    source.write_bytes(b"hello, not a snapshot")
    writer = transfer()
    dest = str(tmp_path / "dump.rdb")
    with pytest.raises(RedisModuleError, match=f"is not an RDB file; {dest} was not written.$"):
        writer.write_atomically(dest, lambda handle: writer.copy_file(str(source), handle))
    assert [p.name for p in tmp_path.iterdir()] == ["source.rdb"]


def test_copy_of_a_missing_file_names_it():
    with pytest.raises(RedisModuleError, match=r"^Cannot read the RDB file /nonexistent/dump.rdb of Redis at "
                                               r"127.0.0.1:6379: No such file or directory.$"):
        transfer().copy_file("/nonexistent/dump.rdb", None)


def test_redis_check_rdb_failure_keeps_the_old_backup(tmp_path):
    checker = tmp_path / "redis-check-rdb"
    checker.write_text("#!/bin/sh\necho '[offset 0] Checking RDB file dump'\necho '[offset 26] Unexpected EOF'\nexit 1\n")
    checker.chmod(0o755)
    source = tmp_path / "source.rdb"
    source.write_bytes(RDB)
    dest = tmp_path / "dump.rdb"
    dest.write_bytes(b"the previous backup")
    writer = transfer(verify=True, checker=str(checker))
    with pytest.raises(RedisModuleError, match=r"failed redis-check-rdb \(\[offset 26\] Unexpected EOF\); "):
        writer.write_atomically(str(dest), lambda handle: writer.copy_file(str(source), handle))
    assert dest.read_bytes() == b"the previous backup"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dump.rdb", "redis-check-rdb", "source.rdb"]
