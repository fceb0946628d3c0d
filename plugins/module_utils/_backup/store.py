# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Where pg_backup's backups live: a local directory and an S3 prefix, each holding artifacts plus manifests.

A backup exists only with its manifest (``<name>.manifest.json``): artifacts are written under a
temp name and renamed into place before the manifest is written, uploads send the manifest last,
and deletions remove the manifest first. So whatever :func:`list_backups` finds is complete, and
files without a manifest are never touched.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import shutil
import stat
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.sre.runbooks.plugins.module_utils._backup import manifest as manifests
from ansible_collections.sre.runbooks.plugins.module_utils._backup import naming
from ansible_collections.sre.runbooks.plugins.module_utils._backup.retention import parse_time


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def iso(moment):
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_atomic(path, data, mode=0o600):
    """Write ``data`` to ``path`` through a temp file in the same directory, fsync, rename."""
    partial = f"{os.path.join(os.path.dirname(path), '.' + os.path.basename(path))}{naming.PARTIAL_MARKER}{os.getpid()}"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(partial, mode)
        os.replace(partial, path)
    except BaseException:
        if os.path.exists(partial):
            os.unlink(partial)
        raise
    fsync_dir(os.path.dirname(path))


def fsync_dir(path):
    try:
        fd = os.open(path or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_path(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(4 * 1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def directory_digests(path):
    """sha256 of every file of a directory archive, keyed by relative name."""
    digests = {}
    for root, _dirs, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            digests[os.path.relpath(full, path)] = sha256_file(full)
    return digests


def artifact_size(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(root, name)) for root, _dirs, files in os.walk(path) for name in files)
    return os.path.getsize(path)


# Manifests read from S3 at the same time (S3Store's connection pool holds at least 10).
MANIFEST_READERS = 8


def _alive(pid):
    """True when a process with this pid runs (or exists but is not ours to signal)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _process_facts(pid):
    """(state, start time in epoch seconds) of ``pid`` from /proc, or None where /proc cannot tell (not Linux)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            # After the command name (which may hold spaces): field 3 is the state, field 22 the start
            # time in clock ticks after boot.
            fields = handle.read().rsplit(")", 1)[1].split()
        # The boot time to the microsecond (/proc/stat's btime is rounded to the second).
        boot = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
        return fields[0], boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _writer_alive(pid, path):
    """True when the process that wrote ``path`` (its name ends with ``pid``) may still be writing it.

    A zombie (killed, not yet reaped: common where nothing reaps orphans) writes nothing; and process
    ids are reused (pid_max is often 32768), so a process that started after the file was last written
    cannot be its writer either.
    """
    if not _alive(pid):
        return False
    facts = _process_facts(pid)
    if facts is None:
        return True
    state, started = facts
    try:
        written = os.stat(path).st_mtime
    except OSError:
        return False
    # The start time is rounded down to a clock tick (10 ms), so a writer never looks younger than its file.
    return state not in ("Z", "X") and started <= written


class LocationError(manifests.ManifestError):
    """``dest`` is not a folder we can list, or a path to delete is not a backup inside it."""


class LocalRepo:
    """The local backup directory (``dest``): artifacts plus their ``.manifest.json`` files."""

    location = "local"

    def __init__(self, path):
        self.path = path

    def ensure(self):
        if not os.path.isdir(self.path):
            os.makedirs(self.path, mode=0o700, exist_ok=True)

    def manifest_path(self, name):
        return os.path.join(self.path, name + naming.MANIFEST_SUFFIX)

    def data_path(self, manifest):
        return os.path.join(self.path, manifest["file"])

    def names(self):
        if not os.path.isdir(self.path):
            return set()
        return {naming.strip_data_suffix(entry) for entry in os.listdir(self.path) if not entry.startswith(".")}

    def manifests(self, warnings):
        found = []
        if not self.path:
            raise LocationError("The backup folder '' is not a folder.")
        try:
            is_folder = stat.S_ISDIR(os.stat(self.path).st_mode)
        except FileNotFoundError:
            return found  # no backups yet: the freshness check (H9) reports that
        except NotADirectoryError:
            raise LocationError(f"The backup folder {self.path!r} is not a folder: a part of its path is a file.") from None
        if not is_folder:
            raise LocationError(f"The backup folder {self.path!r} is not a folder.")
        for entry in sorted(os.listdir(self.path)):
            if entry.startswith(".") or not entry.endswith(naming.MANIFEST_SUFFIX):
                continue
            full = os.path.join(self.path, entry)
            try:
                with open(full, "rb") as handle:
                    found.append(manifests.loads(handle.read(), full, name=entry[: -len(naming.MANIFEST_SUFFIX)]))
            except (OSError, manifests.ManifestError) as exc:
                warnings.append(f"Skipped {full}: {getattr(exc, 'strerror', None) or exc}")
        return found

    def stale_partials(self):
        """Hidden ``.<file>.partial-<pid>`` entries in dest whose writer process is gone (or whose pid
        now belongs to a process that started after the file was last written).

        A backup killed by SIGTERM or SIGKILL cannot clean up after itself; its partial file would
        stay forever (partials of running processes, another backup at the same time, are kept).
        """
        found = []
        if not os.path.isdir(self.path):
            return found
        for entry in os.listdir(self.path):
            stem, marker, pid = entry.rpartition(naming.PARTIAL_MARKER)
            full = os.path.join(self.path, entry)
            if not (entry.startswith(".") and marker and stem and pid.isdigit()) or _writer_alive(int(pid), full):
                continue
            found.append(full)
        return sorted(found)

    def write_manifest(self, manifest):
        write_atomic(self.manifest_path(manifest["name"]), manifests.dumps(manifest).encode("utf-8"))

    def describe(self, manifest):
        return {"path": self.data_path(manifest), "manifest_path": self.manifest_path(manifest["name"]),
                "exists": os.path.exists(self.data_path(manifest))}

    def delete(self, manifest):
        # Manifests were validated when read; this is the last guard before anything is removed:
        # both paths must resolve (links followed) to entries directly inside dest.
        targets = [self.manifest_path(manifest["name"]), self.data_path(manifest)]
        for target in targets:
            if os.path.dirname(os.path.realpath(target)) != os.path.realpath(self.path):
                raise LocationError(f"Refusing to delete {target}: it is not a backup inside {self.path}.")
        # The manifest goes first: a half-deleted backup must not look like a good one.
        for target in targets:
            remove_path(target)
        fsync_dir(self.path)


class S3Repo:
    """Backups under ``s3.prefix``: the artifact (or a directory archive's files) and the manifest."""

    location = "s3"

    def __init__(self, store):
        self.store = store

    def manifest_key(self, name):
        return self.store.key(name + naming.MANIFEST_SUFFIX)

    def data_key(self, manifest, folder=None):
        return (folder if folder is not None else self.store.key("")) + manifest["file"]

    def manifests(self, warnings):
        found = []
        folder = self.store.key("")
        keys = [item["key"] for item in self.store.list(delimiter="/")
                if item["key"].endswith(naming.MANIFEST_SUFFIX) and item["key"].startswith(folder)]
        # One GET per manifest: waiting on them one by one made 2,000 backups take a minute, so a
        # few are read at a time (within the client's connection pool), still in listing order.
        readers = max(MANIFEST_READERS, int(self.store.params.get("max_concurrency") or 1))
        with ThreadPoolExecutor(max_workers=readers) as pool:
            for key, data in zip(keys, pool.map(self.store.get_bytes, keys)):
                name = key[len(folder): -len(naming.MANIFEST_SUFFIX)]
                try:
                    found.append(manifests.loads(data, self.store.url(key), name=name))
                except manifests.ManifestError as exc:
                    warnings.append(f"Skipped {self.store.url(key)}: {exc}")
        return found

    def describe(self, manifest):
        info = {key: value for key, value in (manifest.get("s3") or {}).items() if key != "status"}
        info.update(bucket=self.store.bucket, key=self.data_key(manifest),
                    manifest_key=self.manifest_key(manifest["name"]))
        info["url"] = self.store.url(info["key"])
        return info

    def upload(self, path, manifest):
        """Upload an artifact, then its manifest (last, so a listed backup is always complete)."""
        metadata = {"database": manifest["database"], "scope": manifest["scope"], "label": manifest["label"]}
        started = time.monotonic()
        if manifest["format"] == "directory":
            uploaded = [self.store.upload_file(os.path.join(path, relative), f"{self.data_key(manifest)}/{relative}",
                                               metadata, sha256_hex=digest)
                        for relative, digest in sorted(manifest["files"].items())]
            info = {"objects": len(uploaded), "size": sum(u["size"] for u in uploaded),
                    "multipart": any(u["multipart"] for u in uploaded), "checksum_sha256": None, "version_id": None,
                    "storage_class": uploaded[0]["storage_class"] if uploaded else None,
                    "sse": uploaded[0]["sse"] if uploaded else None}
        else:
            result = self.store.upload_file(path, self.data_key(manifest), metadata, sha256_hex=manifest["sha256"])
            info = {key: result[key] for key in ("size", "checksum_sha256", "version_id", "multipart", "parts",
                                                 "storage_class", "sse", "etag")}
            info["objects"] = 1
        info.update(bucket=self.store.bucket, key=self.data_key(manifest), manifest_key=self.manifest_key(manifest["name"]),
                    url=self.store.url(self.data_key(manifest)), uploaded_at=iso(utc_now()),
                    upload_seconds=round(time.monotonic() - started, 3))
        manifest["s3"] = dict(info, status="uploaded")
        self.store.put_bytes(manifests.dumps(manifest).encode("utf-8"), self.manifest_key(manifest["name"]),
                             {"database": manifest["database"], "set-key": manifest.get("set_key", "")})
        return self.describe(manifest)

    def data_keys(self, manifest, folder=None):
        if manifest["format"] == "directory":
            return [item["key"] for item in self.store.list(prefix=self.data_key(manifest, folder) + "/")]
        return [self.data_key(manifest, folder)]

    def delete(self, manifest):
        # The manifest goes first: a half-deleted backup must not look like a good one.
        self.store.delete([self.manifest_key(manifest["name"])])
        keys = self.data_keys(manifest)
        if keys:
            self.store.delete(keys)

    def download(self, manifest, workdir, folder):
        """Download the artifact from ``folder`` into ``workdir``; every file must match the manifest's sha256."""
        target = os.path.join(workdir, manifest["file"])
        if manifest["format"] == "directory":
            os.makedirs(target, mode=0o700, exist_ok=True)
            for relative, digest in sorted(manifest["files"].items()):
                local = os.path.join(target, relative)
                os.makedirs(os.path.dirname(local), mode=0o700, exist_ok=True)
                self.store.download_file(f"{self.data_key(manifest, folder)}/{relative}", local, sha256_hex=digest)
        else:
            self.store.download_file(self.data_key(manifest, folder), target, sha256_hex=manifest["sha256"])
        return target


def list_backups(local=None, s3=None, warnings=None, label=None, database=None, now=None):
    """Every backup in ``local`` and/or ``s3`` (merged by name), newest first, plus per-set freshness.

    Returns ``{"backups", "sets", "latest"}``. Each backup is a manifest summary with ``local``
    and ``s3`` locations, ``locations``, ``age_seconds`` and ``status``: ``ok``, ``unverified``
    (verification failed) or ``missing_data`` (a local manifest whose file is gone and no S3 copy).
    """
    warnings = [] if warnings is None else warnings
    now = now or utc_now()
    merged = {}
    for manifest in local.manifests(warnings) if local else []:
        entry = manifests.summary(manifest)
        entry.update(local=local.describe(manifest), s3=None)
        merged[manifest["name"]] = entry
    for manifest in s3.manifests(warnings) if s3 else []:
        if manifest["name"] not in merged:
            merged[manifest["name"]] = dict(manifests.summary(manifest), local=None)
        merged[manifest["name"]]["s3"] = s3.describe(manifest)
    chosen = [entry for entry in merged.values()
              if (label is None or entry.get("label") == label) and (database is None or entry.get("database") == database)]
    backups = sorted(chosen, key=lambda e: (parse_time(e["finished_at"]), e["name"]), reverse=True)
    sets = {}
    for entry in backups:
        entry["age_seconds"] = round((now - parse_time(entry["finished_at"])).total_seconds(), 1)
        entry["locations"] = [location for location in ("local", "s3") if entry.get(location)]
        if entry["local"] and not entry["local"]["exists"] and not entry["s3"]:
            entry["status"] = "missing_data"
        elif entry["verification_status"] == "failed":
            entry["status"] = "unverified"
        else:
            entry["status"] = "ok"
        info = sets.setdefault(entry["set_key"], {"count": 0, "size": 0, "latest": None, "latest_age_seconds": None,
                                                  "latest_ok": None, "latest_ok_age_seconds": None})
        info["count"] += 1
        info["size"] += int(entry.get("size") or 0)
        if info["latest"] is None:
            info["latest"], info["latest_age_seconds"] = entry["name"], entry["age_seconds"]
        if info["latest_ok"] is None and entry["status"] == "ok":
            info["latest_ok"], info["latest_ok_age_seconds"] = entry["name"], entry["age_seconds"]
    return {"backups": backups, "sets": sets, "latest": next((e for e in backups if e["status"] == "ok"), None)}
