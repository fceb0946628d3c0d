"""S3 helper: checksums (single and multipart), error sentences, option checks, and the store itself.

The store tests use moto's in-process fake of S3 (no server); the integration tier runs the same
code against moto's standalone server.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._s3 import store as s3u
from ansible_collections.sre.runbooks.plugins.module_utils._s3.store import S3Error

MIB = 1024 * 1024


def test_single_part_checksum_is_base64_of_the_sha256():
    data = b"hello"
    digest = hashlib.sha256(data).hexdigest()
    assert s3u.expected_sha256_checksum(digest) == base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_multipart_checksum_is_the_checksum_of_part_checksums(tmp_path):
    data = os.urandom(11 * MIB + 7)
    path = tmp_path / "f"
    path.write_bytes(data)
    whole, parts = s3u.file_checksums(str(path), 5 * MIB)
    assert whole == hashlib.sha256(data).hexdigest()
    assert parts == [hashlib.sha256(data[i:i + 5 * MIB]).digest() for i in range(0, len(data), 5 * MIB)]
    combined = base64.b64encode(hashlib.sha256(b"".join(parts)).digest()).decode()
    assert s3u.expected_sha256_checksum(whole, parts) == combined + "-3"


@pytest.mark.parametrize("expected, stored, ok", [
    ("abc=-3", "abc=-3", True),
    ("abc=-3", "abc=", True),       # some servers leave out the part count
    ("abc=-3", "abc=-4", False),
    ("abc=", "abd=", False),
    ("abc=", None, False),
])
def test_checksums_match(expected, stored, ok):
    assert s3u.checksums_match(expected, stored) is ok


def test_part_size_grows_past_ten_thousand_parts():
    assert s3u.part_size_for(100 * MIB, 8 * MIB) == 8 * MIB
    assert s3u.part_size_for(10001 * 8 * MIB, 8 * MIB) == 16 * MIB


def test_join_key():
    assert s3u.join_key("/pg/daily/", "x.dump") == "pg/daily/x.dump"
    assert s3u.join_key("", "x.dump") == "x.dump"


@pytest.mark.parametrize("params, message", [
    ({"kms_key_id": "k"}, "only used with s3.sse=aws:kms"),
    ({"part_size_mb": 4}, "part_size_mb must be at least 5"),
    ({"multipart_threshold_mb": 1}, "multipart_threshold_mb must be at least 5"),
    ({"retries": 0}, "must be at least 1"),
    ({"access_key": "a"}, "must be given together"),
])
def test_check_params(params, message):
    with pytest.raises(S3Error, match=message):
        s3u.check_params(params)


def test_error_sentences():
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    missing = ClientError({"Error": {"Code": "NoSuchBucket", "Message": "The specified bucket does not exist"}}, "PutObject")
    assert s3u.describe_error(missing, "Upload of /b/x.dump to", "s3://nope/x.dump", attempts=5) == (
        "Upload of /b/x.dump to s3://nope/x.dump failed: the bucket does not exist.")
    down = EndpointConnectionError(endpoint_url="http://127.0.0.1:9/nope")
    text = s3u.describe_error(down, "Listing", "s3://b/", endpoint="http://127.0.0.1:9", attempts=3)
    assert text.startswith("Listing s3://b/ failed after 3 attempts: cannot reach http://127.0.0.1:9 (")
    assert s3u.describe_error(NoCredentialsError(), "Listing", "s3://b/").endswith(
        "no credentials found (set s3.access_key and s3.secret_key, s3.profile, or the AWS_* environment variables).")
    wrapped = Exception("Failed to upload f to b/k: An error occurred (AccessDenied) when calling the PutObject "
                        "operation: Access Denied")
    assert s3u.describe_error(wrapped, "Upload of f to", "s3://b/k").endswith("failed: access denied.")


def test_importing_the_helper_and_pg_backup_does_not_import_boto3():
    # boto3 costs ~0.15 s per task; modules pay for it only when S3 is used.
    code = ("import sys\n"
            "import ansible_collections.sre.runbooks.plugins.module_utils._s3.store\n"
            "import ansible_collections.sre.runbooks.plugins.modules.pg_backup\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p)))
    assert out.stdout.strip() == "[]"
    assert s3u.S3_COMMON_ARGS["s3"]["options"]["secret_key"]["no_log"] is True


@pytest.fixture
def store(monkeypatch):
    moto = pytest.importorskip("moto")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with moto.mock_aws():
        params = {name: spec.get("default") for name, spec in s3u.S3_OPTIONS.items()}
        params.update(bucket="unit", prefix="pg/daily", region="us-east-1", multipart_threshold_mb=5, part_size_mb=5)
        created = s3u.S3Store(params)
        created.client.create_bucket(Bucket="unit")
        yield created


@pytest.mark.parametrize("size", [1234, 12 * MIB + 5])
def test_upload_is_verified_and_downloads_are_checked(tmp_path, store, size):
    data = os.urandom(size)
    path = tmp_path / "backup.dump"
    path.write_bytes(data)
    result = store.upload_file(str(path), store.key("backup.dump"), {"database": "platform"})
    assert result["key"] == "pg/daily/backup.dump"
    assert result["multipart"] is (size >= 5 * MIB)
    assert result["sha256"] == hashlib.sha256(data).hexdigest()
    head = store.head("pg/daily/backup.dump")
    assert head["Metadata"] == {"database": "platform", "sha256": result["sha256"]}
    target = tmp_path / "copy"
    store.download_file("pg/daily/backup.dump", str(target), sha256_hex=result["sha256"])
    assert target.read_bytes() == data
    assert oct(target.stat().st_mode & 0o777) == "0o600"


def test_upload_refuses_a_file_that_changed(tmp_path, store):
    path = tmp_path / "f"
    path.write_bytes(b"x")
    with pytest.raises(S3Error, match="differs from the expected"):
        store.upload_file(str(path), "k", sha256_hex="0" * 64)


def test_corrupted_download_leaves_no_file(tmp_path, store):
    store.put_bytes(b"payload", "pg/daily/x")
    target = tmp_path / "x"
    with pytest.raises(S3Error, match="the object is corrupted"):
        store.download_file("pg/daily/x", str(target), sha256_hex="0" * 64)
    assert not target.exists() and not list(tmp_path.iterdir())


def test_list_delete_and_exists(store):
    for name in ("a.dump", "a.manifest.json", "b.dir/toc.dat"):
        store.put_bytes(b"{}", store.key(name))
    top = [item["key"] for item in store.list(delimiter="/")]
    assert top == ["pg/daily/a.dump", "pg/daily/a.manifest.json"]
    assert len(store.list()) == 3
    assert store.delete(["pg/daily/a.dump", "pg/daily/missing"]) == ["pg/daily/a.dump", "pg/daily/missing"]
    assert not store.exists("pg/daily/a.dump") and store.exists("pg/daily/a.manifest.json")


def test_missing_bucket_is_one_sentence(store):
    store.bucket = "nope"
    with pytest.raises(S3Error, match=r"^Listing s3://nope/pg/daily/ failed: the bucket does not exist\.$"):
        store.list()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))
