# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can change at any time.

from __future__ import annotations


class ModuleDocFragment:
    """The ``s3`` option of every module that ships artifacts to S3: exactly S3_COMMON_ARGS in module_utils/_s3/store.py."""

    DOCUMENTATION = r"""
options:
  s3:
    description:
      - The S3 bucket and prefix of the artifacts, on AWS S3 or an S3-compatible server such as MinIO or Ceph. Modules
        that make artifacts upload them there; info modules read from there.
      - Without this option S3 is not used and boto3 is not imported.
      - Every upload asks S3 for a SHA256 additional checksum and reads it back with a HEAD request
        (C(ChecksumMode=ENABLED)); the upload counts only when it equals the checksum of the local file (for multipart
        uploads, the checksum of the part checksums). Connection errors, throttling and 5xx answers are retried with
        exponential backoff.
    type: dict
    suboptions:
      bucket:
        description:
          - Name of the bucket. It must exist.
        type: str
        required: true
      prefix:
        description:
          - Key prefix (a "folder") for the objects, such as V(postgres/daily). Leading and trailing slashes are ignored.
        type: str
        default: ""
      endpoint_url:
        description:
          - URL of an S3-compatible server, such as V(https://minio.internal:9000). Leave unset for AWS.
          - If not set, the E(AWS_ENDPOINT_URL_S3) or E(AWS_ENDPOINT_URL) environment variable is used.
        type: str
      region:
        description:
          - Region of the bucket.
          - If not set, the E(AWS_REGION) or E(AWS_DEFAULT_REGION) environment variable is used, then the profile's region.
        type: str
      access_key:
        description:
          - Access key ID.
          - If not set, the E(AWS_ACCESS_KEY_ID) environment variable is used, then O(s3.profile), then the other
            sources boto3 knows (shared credentials file, instance or container role).
        type: str
      secret_key:
        description:
          - Secret access key; required with O(s3.access_key).
          - If not set, the E(AWS_SECRET_ACCESS_KEY) environment variable is used.
        type: str
      session_token:
        description:
          - Session token of temporary credentials.
          - If not set, the E(AWS_SESSION_TOKEN) environment variable is used.
        type: str
      profile:
        description:
          - Named profile of the shared AWS configuration files.
          - If not set, the E(AWS_PROFILE) environment variable is used.
        type: str
      validate_certs:
        description:
          - Verify the server's TLS certificate.
        type: bool
        default: true
      ca_bundle:
        description:
          - CA certificate bundle to verify the server's certificate with.
          - If not set, the E(AWS_CA_BUNDLE) environment variable is used.
        type: path
      addressing_style:
        description:
          - How the bucket appears in request URLs. V(auto) uses path-style requests when O(s3.endpoint_url) is set (what
            most S3-compatible servers need) and virtual-hosted requests on AWS.
        type: str
        default: auto
        choices: [auto, path, virtual]
      sse:
        description:
          - Server-side encryption of the uploaded objects. V(AES256) uses S3-managed keys, V(aws:kms) a KMS key
            (O(s3.kms_key_id), else the bucket's default key).
          - If not set, the bucket's default encryption applies.
        type: str
        choices: [AES256, aws:kms]
      kms_key_id:
        description:
          - KMS key ID, ARN or alias for O(s3.sse=aws:kms).
        type: str
      storage_class:
        description:
          - Storage class of the uploaded objects, such as V(STANDARD_IA), V(INTELLIGENT_TIERING) or V(GLACIER_IR).
          - If not set, the bucket's default (usually V(STANDARD)) applies.
        type: str
      multipart_threshold_mb:
        description:
          - Files of this size (MiB) or larger are uploaded in parts. At least V(5).
        type: int
        default: 64
      part_size_mb:
        description:
          - Size of each part (MiB) of a multipart upload; it grows automatically when a file would need more than
            10,000 parts. At least V(5).
        type: int
        default: 64
      max_concurrency:
        description:
          - Parts uploaded or downloaded at the same time.
        type: int
        default: 4
      retries:
        description:
          - Attempts per request, including the first, for transient errors (connection failures, throttling, 5xx),
            with exponential backoff between them (botocore's C(standard) retry mode).
        type: int
        default: 5
      timeout:
        description:
          - Seconds to wait for a connection and for each answer.
        type: int
        default: 60
requirements:
  - boto3 (on the host that runs the module) when O(s3) is used
notes:
  - S3 failures (endpoint unreachable, bucket missing, access denied, checksum mismatch) end the task with one sentence
    naming the object and the cause.
"""
