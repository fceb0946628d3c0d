# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Shipping a verified backup to S3; a failed upload keeps the local copy and says so in its manifest."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._backup.errors import BackupError
from ansible_collections.sre.runbooks.plugins.module_utils._backup.store import iso, utc_now
from ansible_collections.sre.runbooks.plugins.module_utils._s3.store import S3Error


def upload(session, manifest, entry):
    """Upload one backup (artifact, then manifest) and record where it went in ``entry`` and the local manifest."""
    path = session.local.data_path(manifest)
    try:
        entry["s3"] = session.s3.upload(path, manifest)
    except S3Error as exc:
        manifest["s3"] = {"status": "failed", "error": str(exc), "bucket": session.s3.store.bucket,
                          "key": session.s3.data_key(manifest), "attempted_at": iso(utc_now())}
        session.local.write_manifest(manifest)
        entry["s3"] = dict(manifest["s3"])
        raise BackupError(f"{str(exc).rstrip('.')}; the local backup is kept at {path}.") from None
    session.local.write_manifest(manifest)
