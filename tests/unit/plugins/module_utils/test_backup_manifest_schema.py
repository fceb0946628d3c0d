"""Hostile and damaged manifests: refused when read, never trusted for pruning (issue 17, defects 1 and 2)."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from tests.harness.procs import wait_for

from ansible_collections.sre.runbooks.plugins.module_utils._backup import manifest as manifests
from ansible_collections.sre.runbooks.plugins.module_utils._backup.store import LocalRepo, LocationError, S3Repo, list_backups

GOOD = {"tool": manifests.TOOL, "manifest_version": 1, "name": "n", "database": "d", "scope": "database",
        "format": "custom", "compression": "gzip", "file": "n.dump", "sha256": "ab" * 32,
        "finished_at": "2025-01-15T02:00:00Z", "row_counts": {"public.a": 3}, "size": 10,
        "verification": {"level": "archive", "status": "passed"}}


@pytest.mark.parametrize("change, field", [
    ({"manifest_version": "abc"}, "manifest_version"),
    ({"manifest_version": True}, "manifest_version"),
    ({"row_counts": {"t": "ten"}}, "row_counts"),
    ({"row_counts": ["t"]}, "row_counts"),
    ({"size": "big"}, "size"),
    ({"size": -1}, "size"),
    ({"name": None}, "name"),
    ({"name": ["n"]}, "name"),
    ({"name": "../x", "file": "../x.dump"}, "name"),
    ({"name": "", "file": ".dump"}, "name"),
    ({"verification": "passed"}, "verification"),
    ({"verification": {"status": "great"}}, "verification.status"),
    ({"scope": "everything"}, "scope"),
    ({"format": "tar"}, "format"),
    ({"compression": "lz4"}, "compression"),
    ({"file": "/etc/passwd"}, "file"),
    ({"file": "../n.dump"}, "file"),
    ({"file": "n.dump/../../x"}, "file"),
    ({"file": "other.dump"}, "file"),
    ({"file": "n.manifest.json"}, "file"),
    ({"file": 7}, "file"),
    ({"sha256": "xyz"}, "sha256"),
    ({"finished_at": "yesterday"}, "finished_at"),
    ({"finished_at": 5}, "finished_at"),
    ({"schemas": "public"}, "schemas"),
    ({"duration_seconds": float("nan")}, "duration_seconds"),
    ({"format": "directory", "file": "n.dir", "files": {"../../etc/x": "ab" * 32}}, "files"),
    ({"format": "directory", "file": "n.dir", "files": {}}, "directory"),
    ({"s3": "bucket"}, "s3"),
])
def test_damaged_manifests_are_refused_naming_the_field(change, field):
    with pytest.raises(manifests.ManifestError, match=r"^The manifest m\.json is damaged: .*" + field.split(".")[0]):
        manifests.loads(json.dumps(dict(GOOD, **change)), "m.json")


@pytest.mark.parametrize("raw, message", [
    (b"\xff\xfe{}", "not UTF-8"),
    (b"[" * 100000, "not valid JSON"),
    (b"[]", "not a pg_backup manifest"),
    (b"null", "not a pg_backup manifest"),
])
def test_unreadable_bytes_are_one_sentence(raw, message):
    with pytest.raises(manifests.ManifestError, match=message):
        manifests.loads(raw, "m.json")


def test_a_manifest_must_describe_the_backup_its_file_name_says():
    with pytest.raises(manifests.ManifestError, match="describes backup 'n', not 'other'"):
        manifests.loads(json.dumps(GOOD), "other.manifest.json", name="other")


def write(folder, name, manifest):
    (folder / f"{name}.manifest.json").write_bytes(manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode())


def test_bad_manifests_are_reported_and_skipped_while_good_ones_are_listed(tmp_path):
    write(tmp_path, "n", GOOD)
    (tmp_path / "n.dump").write_bytes(b"x")
    write(tmp_path, "evil", dict(GOOD, name="evil", file="/etc/passwd"))
    write(tmp_path, "liar", dict(GOOD, name="n"))  # claims another backup's name
    write(tmp_path, "bytes", b"\xff\xff")
    warnings = []
    found = list_backups(local=LocalRepo(str(tmp_path)), warnings=warnings)
    assert [b["name"] for b in found["backups"]] == ["n"]
    assert len(warnings) == 3
    assert all(w.startswith("Skipped ") and w.endswith(".") for w in warnings)


@pytest.mark.parametrize("dest", ["", "file"])
def test_a_dest_that_is_not_a_folder_is_an_error_not_zero_backups(tmp_path, dest):
    path = "" if dest == "" else str(tmp_path / "file")
    if dest:
        (tmp_path / "file").write_text("x")
    with pytest.raises(LocationError, match="is not a folder"):
        list_backups(local=LocalRepo(path), warnings=[])


def test_delete_refuses_anything_that_resolves_outside_dest(tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    victim = tmp_path / "victim.dump"
    victim.write_text("precious")
    os.symlink(victim, dest / "n.dump")
    write(dest, "n", GOOD)
    with pytest.raises(LocationError, match="Refusing to delete"):
        LocalRepo(str(dest)).delete(dict(GOOD))
    assert victim.read_text() == "precious"
    assert (dest / "n.manifest.json").exists()


def test_delete_removes_a_backup_inside_dest(tmp_path):
    write(tmp_path, "n", GOOD)
    (tmp_path / "n.dump").write_bytes(b"x")
    LocalRepo(str(tmp_path)).delete(dict(GOOD))
    assert not os.listdir(tmp_path)


class SlowStore:
    """An S3Store stand-in whose first GET waits until a second one is in flight (or 5 s pass).

    Read one at a time, the reads never overlap and the most in flight stays 1; read in parallel,
    the first read is released as soon as the second starts.
    """

    params = {"max_concurrency": 4}

    def __init__(self, objects):
        self.objects = objects
        self.in_flight = self.most_in_flight = 0
        self.overlap = threading.Condition()

    def key(self, name):
        return "p/" + name

    def url(self, key):
        return "s3://b/" + key

    def list(self, delimiter=None):
        return [{"key": key} for key in self.objects]

    def get_bytes(self, key):
        with self.overlap:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.overlap.notify_all()
            self.overlap.wait_for(lambda: self.most_in_flight > 1, timeout=5)
            self.in_flight -= 1
        return self.objects[key]


def test_s3_manifests_are_read_several_at_a_time_in_listing_order_bad_ones_skipped():
    names = [f"n{i:03d}" for i in range(40)]
    objects = {f"p/{name}.manifest.json": json.dumps(dict(GOOD, name=name, file=name + ".dump")).encode()
               for name in names}
    objects["p/n000.dump"] = b"x"
    objects["p/n005.manifest.json"] = b"\xff"
    store = SlowStore(objects)
    warnings = []
    found = S3Repo(store).manifests(warnings)
    assert [m["name"] for m in found] == [name for name in names if name != "n005"]
    assert warnings == ["Skipped s3://b/p/n005.manifest.json: The manifest s3://b/p/n005.manifest.json is not UTF-8 text."]
    assert store.most_in_flight > 1


def test_stale_partials_are_those_of_dead_processes_only(tmp_path):
    import subprocess
    gone = subprocess.Popen(["true"])
    gone.wait()
    (tmp_path / f".n.dump.partial-{gone.pid}").write_bytes(b"x")
    (tmp_path / f".n.dump.partial-{os.getpid()}").write_bytes(b"x")  # a writer that still runs
    (tmp_path / "n.dump").write_bytes(b"x")
    (tmp_path / ".partial-notapid").write_bytes(b"x")
    assert LocalRepo(str(tmp_path)).stale_partials() == [str(tmp_path / f".n.dump.partial-{gone.pid}")]


def test_a_partial_whose_pid_was_reused_by_a_later_process_is_stale(tmp_path):
    """pid_max wraps: a live process that started after the partial file was last written is not its writer."""
    import subprocess
    later = subprocess.Popen(["sleep", "30"])
    try:
        stale = tmp_path / f".n.dump.partial-{later.pid}"
        stale.write_bytes(b"x")
        os.utime(stale, (time.time() - 3600, time.time() - 3600))  # written an hour before `later` started
        mine = tmp_path / f".m.dump.partial-{os.getpid()}"
        mine.write_bytes(b"x")  # written by this (older) process: still being written
        assert LocalRepo(str(tmp_path)).stale_partials() == [str(stale)]
    finally:
        later.kill()
        later.wait()


def test_a_partial_of_a_killed_writer_not_yet_reaped_is_stale(tmp_path):
    """A zombie (exited, its parent has not waited for it) still answers kill(pid, 0) but writes nothing."""
    import subprocess
    zombie = subprocess.Popen(["true"])
    try:
        def state():
            with open(f"/proc/{zombie.pid}/stat", encoding="utf-8") as handle:
                return handle.read().rsplit(")", 1)[1].split()[0]

        wait_for(lambda: state() == "Z", "the child to become a zombie", timeout=10, interval=0.01)
        partial = tmp_path / f".n.dump.partial-{zombie.pid}"
        partial.write_bytes(b"x")
        assert LocalRepo(str(tmp_path)).stale_partials() == [str(partial)]
    finally:
        zombie.wait()
