# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Where pg_restore reads a backup from: a local file (``src``) or an S3 key, always with its manifest.

Without the manifest the sha256 cannot be checked, so a backup without one is never restored.
"""

from __future__ import annotations

import os

from ansible_collections.sre.runbooks.plugins.module_utils._backup import manifest as manifests
from ansible_collections.sre.runbooks.plugins.module_utils._backup import naming
from ansible_collections.sre.runbooks.plugins.module_utils._backup.errors import BackupError
from ansible_collections.sre.runbooks.plugins.module_utils._backup.store import remove_path


def load_source(session):
    """The backup's manifest and where its artifact is (``{"location": "local" | "s3", ...}``)."""
    if session.params.get("src"):
        return load_local(session.params["src"])
    if not session.s3:
        raise BackupError("s3_key needs the s3 option (bucket and credentials).")
    store = session.s3.store
    folder, _sep, leaf = session.params["s3_key"].rstrip("/").rpartition("/")
    folder = folder + "/" if folder else ""
    manifest_key = folder + naming.strip_data_suffix(leaf) + naming.MANIFEST_SUFFIX
    manifest = manifests.loads(store.get_bytes(manifest_key), store.url(manifest_key))
    return manifest, {"location": "s3", "bucket": store.bucket, "key": folder + manifest["file"],
                      "manifest_key": manifest_key}


def load_local(src):
    src = src.rstrip("/")
    directory = os.path.dirname(src) or "."
    manifest_path = os.path.join(directory, naming.strip_data_suffix(os.path.basename(src)) + naming.MANIFEST_SUFFIX)
    try:
        with open(manifest_path, "rb") as handle:  # loads() decodes, refusing non-UTF-8 in one sentence
            manifest = manifests.loads(handle.read(), manifest_path)
    except FileNotFoundError:
        raise BackupError(f"The backup {src} has no manifest {manifest_path}; without it the checksum cannot be "
                          "verified, so the restore is refused.") from None
    except OSError as exc:
        raise BackupError(f"Cannot read {manifest_path}: {exc.strerror}.") from None
    return manifest, {"location": "local", "path": os.path.join(directory, manifest["file"]),
                      "manifest_path": manifest_path}


def fetch_source(session, manifest, source):
    """The local path of the artifact and the work directory to remove afterwards (None for ``src``).

    An S3 backup is downloaded into a hidden work directory under ``dest``; every file is checked
    against the manifest's sha256 while it arrives.
    """
    if source["location"] == "local":
        return source["path"], None
    if not session.local:
        raise BackupError("Restoring from S3 needs dest, a local directory to download the backup into.")
    session.local.ensure()
    workdir = os.path.join(session.local.path, f".restore-{manifest['name']}{naming.PARTIAL_MARKER}{os.getpid()}")
    os.makedirs(workdir, mode=0o700, exist_ok=True)
    try:
        path = session.s3.download(manifest, workdir, folder=source["key"][: -len(manifest["file"])])
    except BaseException:
        remove_path(workdir)
        raise
    return path, workdir
