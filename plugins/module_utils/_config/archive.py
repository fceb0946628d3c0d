# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The configuration backup archive (B1-B3): its layout, its writer and its checked reader.

Layout of ``<name>.tar.gz`` (gzip of a POSIX tar, regular files only)::

    manifest.json                                  written last, see below
    resources/<namespace>/<kind>/<name>.yaml       one cleaned object per file
    resources/<namespace>/Secret/<name>.yaml.vault  Secrets: Ansible Vault text of the YAML
    resources/_cluster/<kind>/<name>.yaml          cluster-scoped objects

``<kind>`` is the object's kind as the API spells it (``Deployment``, ``ConfigMap``, ``Widget``).
``manifest.json``::

    {"format": "sre.runbooks/config-backup", "format_version": 1,
     "name": ..., "created": "<ISO 8601 UTC>", "cluster": {"server_version": "v1.36.3", "server": ...},
     "namespaces": [...], "kinds": [...], "counts": {"<kind>": n, ...}, "objects": n,
     "files": {"resources/...": {"sha256": ..., "size": n, "apiVersion": ..., "kind": ...,
                                 "namespace": ... or null, "name": ..., "encrypted": bool}}}

A sidecar ``<name>.json`` beside the archive (and beside its S3 key) records the archive's own
``sha256`` and ``size`` plus the manifest's summary (everything but ``files``): the restore
compares the whole archive with it before reading anything inside, then every member with the
manifest. Secret plaintext exists only in memory; the writer receives vault text for Secrets.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import posixpath
import re
import tarfile
import tempfile

FORMAT = "sre.runbooks/config-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
RESOURCES = "resources"
CLUSTER_SCOPE = "_cluster"
VAULT_SUFFIX = ".vault"
# Kubernetes names are DNS subdomains or labels; anything else is not a path we write or read.
_NAME = re.compile(r"^[a-z0-9A-Z]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$")
_KIND = re.compile(r"^[A-Z][A-Za-z0-9]*$")
# zlib's fast levels (1-3): a quarter of level 6's time on an export's many small YAML files, for an
# archive about a tenth larger.
COMPRESS_LEVEL = 3
# An archive member larger than this is not a Kubernetes object (etcd caps objects at 1.5 MiB).
MAX_MEMBER = 8 * 1024 * 1024


class ArchiveError(ValueError):
    """An archive that cannot be written or that fails a check; the text is one sentence."""


def member_path(namespace, kind, name, encrypted=False):
    """The member path of one object (``namespace`` None for cluster-scoped objects)."""
    scope = namespace or CLUSTER_SCOPE
    checks = [(kind, _KIND, "kind"), (name, _NAME, "name")] + ([(namespace, _NAME, "namespace")] if namespace else [])
    for part, pattern, what in checks:
        if not isinstance(part, str) or not pattern.match(part) or part in (".", ".."):
            raise ArchiveError(f"The {what} {part!r} cannot name a file in the archive.")
    return posixpath.join(RESOURCES, scope, kind, name + ".yaml" + (VAULT_SUFFIX if encrypted else ""))


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


class ArchiveWriter:
    """Writes the archive to a temporary file in the target folder; ``commit`` renames it in place.

    Nothing is visible under the final name until every member and the manifest are written and
    fsynced, so a crash leaves at most a ``.tmp`` file (removed by ``abort``) and never a
    truncated archive under a name the restore or retention would trust.
    """

    def __init__(self, path, mode=0o600):
        self.path = path
        self.mode = mode
        self.files = {}
        folder = os.path.dirname(os.path.abspath(path))
        handle, self.tmp_path = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=folder)
        self._raw = os.fdopen(handle, "wb")
        self._tar = tarfile.open(fileobj=self._raw, mode="w:gz", format=tarfile.PAX_FORMAT,
                                 compresslevel=COMPRESS_LEVEL)

    def _add(self, path, data):
        info = tarfile.TarInfo(path)
        info.size = len(data)
        info.mode = 0o600
        info.mtime = 0
        self._tar.addfile(info, io.BytesIO(data))

    def add(self, path, data, meta):
        """Add one member (bytes) with its manifest entry ``meta`` (apiVersion, kind, namespace, name, encrypted)."""
        if path in self.files:
            raise ArchiveError(f"The archive would hold {path} twice.")
        self._add(path, data)
        self.files[path] = dict(meta, sha256=sha256_bytes(data), size=len(data))

    def commit(self, manifest):
        """Write ``manifest`` (without ``files``, which the writer fills) and rename into place; the sidecar dict."""
        manifest = dict(manifest, format=FORMAT, format_version=FORMAT_VERSION, files=self.files)
        self._add(MANIFEST, dumps(manifest).encode("utf-8"))
        self._tar.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        os.chmod(self.tmp_path, self.mode)
        digest, size = file_digest(self.tmp_path)
        os.replace(self.tmp_path, self.path)
        fsync_folder(os.path.dirname(os.path.abspath(self.path)))
        return sidecar(manifest, digest, size)

    def abort(self):
        """Close and remove the temporary file (idempotent)."""
        for closer in (self._tar.close, self._raw.close):
            try:
                closer()
            except (OSError, ValueError, tarfile.TarError):
                pass
        try:
            os.unlink(self.tmp_path)
        except FileNotFoundError:
            pass


def fsync_folder(folder):
    """Make a rename in ``folder`` durable: without it a power cut can lose the archive's new name."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def dumps(data):
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def sidecar(manifest, digest, size):
    """The sidecar record: the manifest's summary plus the archive's sha256 and size."""
    summary = {key: value for key, value in manifest.items() if key != "files"}
    return dict(summary, archive_sha256=digest, archive_size=size)


def file_digest(path):
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def check_sidecar(path, record, source):
    """Refuse the archive at ``path`` unless its sha256 and size are the sidecar ``record``'s."""
    check_format(record, source)
    digest, size = file_digest(path)
    if record.get("archive_sha256") != digest or record.get("archive_size") != size:
        raise ArchiveError(f"The archive {source} does not match its sidecar checksum "
                           f"(sha256 {digest[:16]}..., recorded {str(record.get('archive_sha256'))[:16]}...); "
                           "it was changed or truncated, nothing was applied.")


def check_format(record, source):
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ArchiveError(f"{source} is not a sre.runbooks configuration backup.")
    version = record.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ArchiveError(f"{source} has no valid format version ({str(version)[:20]!r}); it is damaged.")
    if version > FORMAT_VERSION:
        raise ArchiveError(f"{source} has format version {version}, newer than this collection reads "
                           f"({FORMAT_VERSION}); upgrade sre.runbooks to restore it.")


def read_archive(path, source=None):
    """The manifest and ``{member path: bytes}`` of a checked archive; ArchiveError otherwise.

    Refused: anything but regular files, absolute or ``..`` paths, paths outside the layout,
    members larger than MAX_MEMBER, members missing from or not in the manifest, and any member
    whose sha256 differs from the manifest's.
    """
    source = source or path
    members = {}
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            for info in tar:
                name = info.name
                if not info.isfile():
                    raise ArchiveError(f"The archive {source} holds {name!r}, which is not a regular file.")
                if name != MANIFEST and not _layout_path(name):
                    raise ArchiveError(f"The archive {source} holds {name!r}, outside its layout.")
                if info.size > MAX_MEMBER:
                    raise ArchiveError(f"The archive {source} holds {name!r} of {info.size} bytes, too large for an object.")
                if name in members:
                    raise ArchiveError(f"The archive {source} holds {name!r} twice.")
                members[name] = tar.extractfile(info).read()
    except (tarfile.TarError, EOFError, OSError, zlib_error()) as exc:
        raise ArchiveError(f"The archive {source} cannot be read as .tar.gz ({str(exc)[:80]}).") from None
    if MANIFEST not in members:
        raise ArchiveError(f"The archive {source} has no {MANIFEST}.")
    try:
        manifest = json.loads(members.pop(MANIFEST).decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise ArchiveError(f"The {MANIFEST} of {source} is not JSON.") from None
    check_format(manifest, f"The archive {source}")
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise ArchiveError(f"The {MANIFEST} of {source} lists no files.")
    if set(files) != set(members):
        extra = sorted(set(members) - set(files))[:3]
        missing = sorted(set(files) - set(members))[:3]
        raise ArchiveError(f"The archive {source} does not hold what its manifest lists (extra {extra}, missing {missing}).")
    for name, data in members.items():
        if sha256_bytes(data) != files[name].get("sha256"):
            raise ArchiveError(f"The sha256 of {name} in {source} differs from its manifest; nothing was applied.")
    return manifest, members


def _layout_path(name):
    parts = name.split("/")
    if len(parts) != 4 or parts[0] != RESOURCES:
        return False
    scope, kind, filename = parts[1:]
    base = filename[:-len(".yaml.vault")] if filename.endswith(".yaml.vault") else (
        filename[:-len(".yaml")] if filename.endswith(".yaml") else None)
    scope_ok = scope == CLUSTER_SCOPE or bool(_NAME.match(scope))
    return bool(base and scope_ok and _KIND.match(kind) and _NAME.match(base))


def zlib_error():
    import zlib
    return zlib.error
