# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""S3 plumbing shared by the modules that ship artifacts to object storage (pg_backup, redis_maintain).

``S3_COMMON_ARGS`` adds one module option, ``s3``, whose suboptions are documented option for
option by the ``sre.runbooks.s3`` doc fragment. :class:`S3Store` wraps a boto3 client built from
them. boto3 is imported only when a store is created, so a module run that does not touch S3
does not pay for the import.

Every upload asks S3 for a SHA256 additional checksum and reads it back with a HEAD request
(``ChecksumMode=ENABLED``): the object counts as uploaded only when the stored checksum equals
the one computed from the local file (for multipart uploads, the checksum of the part
checksums). Transient errors (connection failures, throttling, 5xx) are retried with
exponential backoff by botocore's ``standard`` retry mode. Failures raise :class:`S3Error`
whose text is one sentence naming the object and the cause.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import time
import traceback

from ansible.module_utils.basic import env_fallback, missing_required_lib

MIB = 1024 * 1024
MIN_PART_SIZE_MB = 5
SSE_CHOICES = ["AES256", "aws:kms"]
ADDRESSING_STYLES = ["auto", "path", "virtual"]
_READ_CHUNK = 4 * MIB

S3_OPTIONS = {
    "bucket": {"type": "str", "required": True},
    "prefix": {"type": "str", "default": ""},
    "endpoint_url": {"type": "str", "fallback": (env_fallback, ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"])},
    "region": {"type": "str", "fallback": (env_fallback, ["AWS_REGION", "AWS_DEFAULT_REGION"])},
    "access_key": {"type": "str", "no_log": True, "fallback": (env_fallback, ["AWS_ACCESS_KEY_ID"])},
    "secret_key": {"type": "str", "no_log": True, "fallback": (env_fallback, ["AWS_SECRET_ACCESS_KEY"])},
    "session_token": {"type": "str", "no_log": True, "fallback": (env_fallback, ["AWS_SESSION_TOKEN"])},
    "profile": {"type": "str", "fallback": (env_fallback, ["AWS_PROFILE"])},
    "validate_certs": {"type": "bool", "default": True},
    "ca_bundle": {"type": "path", "fallback": (env_fallback, ["AWS_CA_BUNDLE"])},
    "addressing_style": {"type": "str", "default": "auto", "choices": ADDRESSING_STYLES},
    "sse": {"type": "str", "choices": SSE_CHOICES},
    "kms_key_id": {"type": "str"},
    "storage_class": {"type": "str"},
    "multipart_threshold_mb": {"type": "int", "default": 64},
    "part_size_mb": {"type": "int", "default": 64},
    "max_concurrency": {"type": "int", "default": 4},
    "retries": {"type": "int", "default": 5},
    "timeout": {"type": "int", "default": 60},
}

S3_COMMON_ARGS = {
    "s3": {"type": "dict", "options": S3_OPTIONS},
}

# Passed to RunbookModule(ranges=...) by modules that take ``s3``; S3 parts are 5 MiB to 5 GiB.
S3_RANGES = {"s3.multipart_threshold_mb": (1, 5 * 1024 * 1024), "s3.part_size_mb": (5, 5120),
             "s3.max_concurrency": (1, 64), "s3.retries": (0, 20), "s3.timeout": (1, 3600)}

# botocore error codes -> the cause in our sentence.
_CODE_CAUSES = {
    "NoSuchBucket": "the bucket does not exist",
    "NoSuchKey": "the object does not exist",
    "404": "the object does not exist",
    "NotFound": "the object does not exist",
    "AccessDenied": "access denied",
    "403": "access denied",
    "InvalidAccessKeyId": "the access key is not known to the server",
    "SignatureDoesNotMatch": "the secret key does not match the access key",
    "ExpiredToken": "the session token has expired",
    "InvalidObjectState": "the object is archived (restore it from its storage class first)",
    "KMS.NotFoundException": "the KMS key does not exist",
    "InvalidStorageClass": "the storage class is not valid",
    "BadDigest": "the server computed a different checksum for the bytes it received",
    "XAmzContentSHA256Mismatch": "the server computed a different checksum for the bytes it received",
    "SlowDown": "the server kept throttling requests",
}


_WRAPPED_CODE = re.compile(r"An error occurred \(([^)]+)\)[^:]*:\s*(.*)$", re.S)
_RETRYABLE_NAMES = ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError", "ReadTimeoutError",
                    "ConnectionError", "ProxyConnectionError")
_RETRYABLE_CODES = ("SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "InternalError",
                    "ServiceUnavailable", "500", "502", "503", "504")


class S3Error(Exception):
    """An expected S3 failure; ``str()`` is one sentence fit for fail_json."""


def ensure_boto3(module):
    """Fail the module with Ansible's standard message when boto3 cannot be imported."""
    try:
        import boto3  # noqa: F401  pylint: disable=unused-import
    except ImportError:
        module.fail_json(msg=missing_required_lib("boto3"), exception=traceback.format_exc())


def check_params(params):
    """Validate the ``s3`` suboptions that the argument spec cannot express; raises S3Error."""
    if params.get("sse") != "aws:kms" and params.get("kms_key_id"):
        raise S3Error("s3.kms_key_id is only used with s3.sse=aws:kms.")
    if params.get("part_size_mb", MIN_PART_SIZE_MB) < MIN_PART_SIZE_MB:
        raise S3Error(f"s3.part_size_mb must be at least {MIN_PART_SIZE_MB} (the S3 minimum part size).")
    if params.get("multipart_threshold_mb", MIN_PART_SIZE_MB) < MIN_PART_SIZE_MB:
        raise S3Error(f"s3.multipart_threshold_mb must be at least {MIN_PART_SIZE_MB}.")
    if params.get("max_concurrency", 1) < 1 or params.get("retries", 1) < 1:
        raise S3Error("s3.max_concurrency and s3.retries must be at least 1.")
    if bool(params.get("access_key")) != bool(params.get("secret_key")):
        raise S3Error("s3.access_key and s3.secret_key must be given together.")


def join_key(prefix, name):
    """An object key under a prefix: ('backups/pg', 'x.dump') -> 'backups/pg/x.dump'."""
    cleaned = (prefix or "").strip().strip("/")
    return f"{cleaned}/{name}" if cleaned else name


def s3_url(bucket, key):
    return f"s3://{bucket}/{key}"


def part_size_for(size, part_size):
    """The part size boto3 really uses for a file of ``size`` bytes (it grows past 10,000 parts)."""
    max_parts = 10000
    while size > part_size * max_parts:
        part_size *= 2
    return part_size


def file_checksums(path, part_size=None):
    """Read a file once: its sha256 (hex) and, with ``part_size``, the sha256 digest of each part."""
    whole = hashlib.sha256()
    parts = []
    part = hashlib.sha256() if part_size else None
    in_part = 0
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(_READ_CHUNK)
            if not chunk:
                break
            whole.update(chunk)
            while part is not None and chunk:
                room = part_size - in_part
                piece, chunk = chunk[:room], chunk[room:]
                part.update(piece)
                in_part += len(piece)
                if in_part == part_size:
                    parts.append(part.digest())
                    part, in_part = hashlib.sha256(), 0
    if part is not None and in_part:
        parts.append(part.digest())
    return whole.hexdigest(), parts


def expected_sha256_checksum(sha256_hex, part_digests=None):
    """The ChecksumSHA256 S3 stores: base64 of the digest, or for multipart the digest of the part digests."""
    if part_digests:
        combined = hashlib.sha256(b"".join(part_digests)).digest()
        return base64.b64encode(combined).decode("ascii") + f"-{len(part_digests)}"
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii")


def checksums_match(expected, stored):
    """Compare checksums; S3 may leave out the '-N' part-count suffix of a composite checksum."""
    if not stored:
        return False
    want, _sep, want_parts = expected.partition("-")
    got, _sep, got_parts = stored.partition("-")
    return want == got and (not got_parts or not want_parts or got_parts == want_parts)


def error_code(exc):
    """The S3 error code of a botocore ClientError, or of one wrapped by s3transfer ('' if none)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str((response.get("Error") or {}).get("Code", ""))
    found = _WRAPPED_CODE.search(str(exc))
    return found.group(1) if found else ""


def is_retryable(exc):
    """True for the errors botocore's standard mode retries: connection trouble, throttling, 5xx."""
    return type(exc).__name__ in _RETRYABLE_NAMES or error_code(exc) in _RETRYABLE_CODES


def describe_error(exc, action, target, endpoint=None, attempts=None):
    """One sentence for a boto3/botocore exception: '<action> <target> failed: <cause>.'"""
    cause = _cause(exc, endpoint)
    tries = f" after {attempts} attempts" if attempts and attempts > 1 and is_retryable(exc) else ""
    return f"{action} {target} failed{tries}: {cause}."


def _cause(exc, endpoint):
    name = type(exc).__name__
    response = getattr(exc, "response", None)
    text = str(exc).rstrip(".")
    wrapped = None if isinstance(response, dict) else _WRAPPED_CODE.search(text)
    if isinstance(response, dict) or wrapped:
        if wrapped:
            code, message = wrapped.group(1), wrapped.group(2).strip().rstrip(".")
        else:
            error = response.get("Error", {})
            code = str(error.get("Code", ""))
            message = str(error.get("Message", "")).rstrip(".")
        cause = _CODE_CAUSES.get(code)
        if cause:
            return cause
        return f"{code}: {message}" if message else (code or name)
    if name == "NoCredentialsError":
        return "no credentials found (set s3.access_key and s3.secret_key, s3.profile, or the AWS_* environment variables)"
    if name == "ProfileNotFound":
        return text[0].lower() + text[1:] if text else "the profile was not found"
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError"):
        where = endpoint or "the S3 endpoint"
        return f"cannot reach {where} ({text.rsplit(': ', maxsplit=1)[-1] if ': ' in text else text})"
    if name == "ReadTimeoutError":
        return "the server did not answer within s3.timeout"
    if name == "SSLError":
        return f"TLS failure talking to {endpoint or 'the S3 endpoint'} ({text})"
    return text or name


class S3Store:
    """A bucket and prefix reached through one boto3 client built from the ``s3`` suboptions."""

    def __init__(self, params):
        check_params(params)
        self.params = params
        self.bucket = params["bucket"]
        self.prefix = params.get("prefix") or ""
        self.endpoint = params.get("endpoint_url") or None
        self.attempts = max(1, int(params.get("retries") or 1))
        self.threshold = int(params.get("multipart_threshold_mb") or 64) * MIB
        self.part_size = int(params.get("part_size_mb") or 64) * MIB
        self.client = self._client()

    def _client(self):
        import boto3
        from botocore.config import Config

        style = self.params.get("addressing_style") or "auto"
        if style == "auto" and self.endpoint:
            # S3-compatible servers (MinIO, Ceph, moto) and IP endpoints need path-style requests.
            style = "path"
        config = Config(
            retries={"mode": "standard", "max_attempts": self.attempts},
            connect_timeout=int(self.params.get("timeout") or 60),
            read_timeout=int(self.params.get("timeout") or 60),
            s3={"addressing_style": style},
            max_pool_connections=max(10, int(self.params.get("max_concurrency") or 4) + 2),
        )
        try:
            session = boto3.session.Session(
                aws_access_key_id=self.params.get("access_key") or None,
                aws_secret_access_key=self.params.get("secret_key") or None,
                aws_session_token=self.params.get("session_token") or None,
                profile_name=self.params.get("profile") or None,
                region_name=self.params.get("region") or None,
            )
            verify = self.params.get("ca_bundle") or bool(self.params.get("validate_certs", True))
            return session.client("s3", endpoint_url=self.endpoint, config=config, verify=verify)
        except Exception as exc:  # botocore raises many unrelated types while building a client
            raise S3Error(describe_error(exc, "Setting up the S3 client for bucket", self.bucket, self.endpoint)) from None

    # -- naming ---------------------------------------------------------------------------

    def key(self, name):
        return join_key(self.prefix, name)

    def url(self, key):
        return s3_url(self.bucket, key)

    def _call(self, action, target, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception as exc:  # boto3 and botocore errors have no common base we can import lazily
            if isinstance(exc, S3Error):
                raise
            raise S3Error(describe_error(exc, action, target, self.endpoint, self.attempts)) from None

    # -- writes ---------------------------------------------------------------------------

    def _extra_args(self, metadata=None, content_type=None):
        extra = {"ChecksumAlgorithm": "SHA256"}
        if metadata:
            extra["Metadata"] = {str(k): str(v) for k, v in metadata.items()}
        if content_type:
            extra["ContentType"] = content_type
        if self.params.get("sse"):
            extra["ServerSideEncryption"] = self.params["sse"]
            if self.params["sse"] == "aws:kms" and self.params.get("kms_key_id"):
                extra["SSEKMSKeyId"] = self.params["kms_key_id"]
        if self.params.get("storage_class"):
            extra["StorageClass"] = self.params["storage_class"]
        return extra

    def upload_file(self, path, key, metadata=None, content_type=None, sha256_hex=None):
        """Upload a local file and prove it arrived intact; returns what S3 stored.

        The stored SHA256 checksum (read back with HEAD, ChecksumMode=ENABLED) must equal the one
        computed locally; a mismatch is retried once, then raises S3Error.
        """
        from boto3.s3.transfer import TransferConfig

        size = os.path.getsize(path)
        multipart = size >= self.threshold
        part_size = part_size_for(size, self.part_size) if multipart else None
        local_hex, parts = file_checksums(path, part_size)
        if sha256_hex and sha256_hex != local_hex:
            raise S3Error(f"Upload of {path} to {self.url(key)} refused: the file's sha256 {local_hex[:12]}... differs from "
                          f"the expected {sha256_hex[:12]}... (the file changed since it was written).")
        expected = expected_sha256_checksum(local_hex, parts if multipart else None)
        transfer = TransferConfig(multipart_threshold=self.threshold, multipart_chunksize=part_size or self.part_size,
                                  max_concurrency=int(self.params.get("max_concurrency") or 4), use_threads=True)
        extra = self._extra_args(dict(metadata or {}, sha256=local_hex), content_type)
        stored = None
        for attempt in (1, 2):
            self._call("Upload of " + path + " to", self.url(key), self.client.upload_file, path, self.bucket, key,
                       ExtraArgs=extra, Config=transfer)
            head = self.head(key)
            stored = head.get("ChecksumSHA256")
            if checksums_match(expected, stored):
                return {"bucket": self.bucket, "key": key, "url": self.url(key), "size": size,
                        "sha256": local_hex, "checksum_sha256": stored, "multipart": multipart,
                        "parts": len(parts) if multipart else 1, "etag": (head.get("ETag") or "").strip('"'),
                        "version_id": head.get("VersionId"), "storage_class": head.get("StorageClass") or "STANDARD",
                        "sse": head.get("ServerSideEncryption"), "attempts": attempt}
            if attempt == 1:
                time.sleep(1)
        raise S3Error(f"Upload of {path} to {self.url(key)} could not be verified: S3 reports ChecksumSHA256 {stored!r}, "
                      f"the local file gives {expected!r}.")

    def put_bytes(self, data, key, metadata=None, content_type="application/json"):
        """Store a small object (a manifest) with a SHA256 checksum the server checks on receipt."""
        digest = hashlib.sha256(data).digest()
        extra = self._extra_args(metadata, content_type)
        extra.pop("ChecksumAlgorithm")
        response = self._call("Upload to", self.url(key), self.client.put_object, Bucket=self.bucket, Key=key,
                              Body=data, ChecksumSHA256=base64.b64encode(digest).decode("ascii"), **extra)
        return {"bucket": self.bucket, "key": key, "url": self.url(key), "size": len(data),
                "version_id": response.get("VersionId"), "etag": (response.get("ETag") or "").strip('"')}

    def delete(self, keys):
        """Delete objects (up to 1000 per request); returns the keys deleted. Missing keys are not an error."""
        keys = list(keys)
        deleted = []
        for start in range(0, len(keys), 1000):
            batch = keys[start:start + 1000]
            response = self._call("Deleting objects from", self.url(batch[0]), self.client.delete_objects,
                                  Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": False})
            errors = response.get("Errors") or []
            if errors:
                first = errors[0]
                raise S3Error(f"Deleting {self.url(first.get('Key'))} failed: {first.get('Code')}: "
                              f"{str(first.get('Message', '')).rstrip('.')}.")
            deleted.extend(item["Key"] for item in response.get("Deleted") or [])
        return deleted

    # -- reads ----------------------------------------------------------------------------

    def head(self, key):
        return self._call("Reading the metadata of", self.url(key), self.client.head_object,
                          Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")

    def exists(self, key):
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:  # ClientError 404 means absent; anything else is a real failure
            if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise S3Error(describe_error(exc, "Checking", self.url(key), self.endpoint, self.attempts)) from None
        return True

    def list(self, prefix=None, delimiter=None):
        """Objects under ``prefix`` (default: the store's prefix) as dicts with key, size, last_modified, etag."""
        prefix = self.key("") if prefix is None else prefix
        kwargs = {"Bucket": self.bucket, "Prefix": prefix}
        if delimiter:
            kwargs["Delimiter"] = delimiter
        paginator = self.client.get_paginator("list_objects_v2")
        objects = []

        def collect():
            for page in paginator.paginate(**kwargs):
                # Every ListObjectsV2 answer names its bucket and counts its keys; an HTML page or a
                # proxy's error page parses to neither, and must not read as "no backups".
                if not isinstance(page, dict) or ("KeyCount" not in page and "Name" not in page):
                    raise S3Error(f"The endpoint {self.endpoint or 'of S3'} did not answer the listing of "
                                  f"{self.url(prefix)} like an S3 server (no ListObjectsV2 result).")
                for item in page.get("Contents") or []:
                    objects.append({"key": item["Key"], "size": item.get("Size"), "etag": (item.get("ETag") or "").strip('"'),
                                    "last_modified": item["LastModified"].isoformat() if item.get("LastModified") else None})

        self._call("Listing", self.url(prefix), collect)
        return objects

    def get_bytes(self, key):
        response = self._call("Downloading", self.url(key), self.client.get_object, Bucket=self.bucket, Key=key)
        return self._call("Downloading", self.url(key), response["Body"].read)

    def download_file(self, key, path, sha256_hex=None):
        """Download an object to ``path`` (written as a temp file, renamed when complete, mode 0600).

        With ``sha256_hex`` the downloaded bytes must have that digest, else S3Error and no file.
        """
        from boto3.s3.transfer import TransferConfig

        transfer = TransferConfig(multipart_threshold=self.threshold, multipart_chunksize=self.part_size,
                                  max_concurrency=int(self.params.get("max_concurrency") or 4))
        partial = f"{path}.partial-{os.getpid()}"
        try:
            self._call("Downloading", self.url(key), self.client.download_file, self.bucket, key, partial, Config=transfer)
            os.chmod(partial, 0o600)
            digest, _parts = file_checksums(partial)
            if sha256_hex and digest != sha256_hex:
                raise S3Error(f"Download of {self.url(key)} has sha256 {digest[:12]}..., the manifest says "
                              f"{sha256_hex[:12]}...; the object is corrupted.")
            os.replace(partial, path)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
        return {"key": key, "path": path, "sha256": digest, "size": os.path.getsize(path)}
