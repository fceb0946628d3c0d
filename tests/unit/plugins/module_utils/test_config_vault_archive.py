"""The configuration backup's shared contract: Ansible Vault 1.1 text in memory, and the checked archive format."""

from __future__ import annotations

import binascii
import io
import json
import sys
import tarfile
import threading

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._config import archive, encrypt_pool, vault

PLAIN = b"apiVersion: v1\nkind: Secret\ndata:\n  password: czNjcjN0\n"


def test_vault_round_trip_and_layout():
    text = vault.encrypt(PLAIN, "pw")
    assert text.startswith(vault.HEADER + b"\n") and text.endswith(b"\n") and vault.is_vault(text)
    assert all(len(line) <= 80 for line in text.splitlines())
    assert PLAIN not in text and b"czNjcjN0" not in text
    assert vault.decrypt(text, b"pw") == PLAIN
    assert vault.encrypt(PLAIN, "pw") != text  # a fresh salt every time


def test_vault_refuses_a_wrong_password_and_damaged_text():
    text = vault.encrypt(PLAIN, "pw")
    with pytest.raises(vault.VaultError, match="does not open with this vault password"):
        vault.decrypt(text, "wrong", "Secret shop/db")
    with pytest.raises(vault.VaultError, match="not Ansible Vault text"):
        vault.decrypt(PLAIN, "pw")
    with pytest.raises(vault.VaultError, match="damaged"):
        vault.decrypt(vault.HEADER + b"\nzz\n", "pw")
    lines = text.splitlines()
    flipped = lines[2][:-1] + (b"0" if lines[2][-1:] != b"0" else b"1")
    with pytest.raises(vault.VaultError):
        vault.decrypt(b"\n".join(lines[:2] + [flipped] + lines[3:]), "pw")


def test_ansible_vaultlib_opens_ours_and_we_open_its():
    parsing = pytest.importorskip("ansible.parsing.vault")
    lib = parsing.VaultLib([("default", parsing.VaultSecret(b"pw"))])
    assert lib.decrypt(vault.encrypt(PLAIN, "pw")) == PLAIN
    theirs = lib.encrypt(PLAIN)
    assert vault.decrypt(theirs, b"pw") == PLAIN


def test_read_password_file(tmp_path):
    good = tmp_path / "pw"
    good.write_bytes(b"s3cret\n\n")
    assert vault.read_password_file(str(good)) == b"s3cret"
    empty = tmp_path / "empty"
    empty.write_bytes(b"\n")
    with pytest.raises(vault.VaultError, match="is empty"):
        vault.read_password_file(str(empty))
    with pytest.raises(vault.VaultError, match="cannot be read"):
        vault.read_password_file(str(tmp_path / "missing"))


def make_archive(tmp_path, name="b"):
    writer = archive.ArchiveWriter(str(tmp_path / f"{name}.tar.gz"))
    path = archive.member_path("shop", "ConfigMap", "app")
    writer.add(path, b"kind: ConfigMap\n", {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop",
                                            "name": "app", "encrypted": False})
    secret = archive.member_path("shop", "Secret", "db", encrypted=True)
    meta = {"apiVersion": "v1", "kind": "Secret", "namespace": "shop", "name": "db", "encrypted": True}
    writer.add(secret, vault.encrypt(PLAIN, "pw"), meta)
    record = writer.commit({"name": name, "created": "2026-12-04T00:00:00Z", "namespaces": ["shop"],
                            "counts": {"ConfigMap": 1, "Secret": 1}, "objects": 2})
    return tmp_path / f"{name}.tar.gz", record


def test_archive_round_trip_and_sidecar(tmp_path):
    path, record = make_archive(tmp_path)
    assert record["archive_size"] == path.stat().st_size and "files" not in record
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == ["b.tar.gz"]  # no temp file left behind
    archive.check_sidecar(str(path), record, "b")
    manifest, members = archive.read_archive(str(path))
    assert manifest["format_version"] == archive.FORMAT_VERSION and manifest["objects"] == 2
    assert sorted(members) == ["resources/shop/ConfigMap/app.yaml", "resources/shop/Secret/db.yaml.vault"]
    assert vault.decrypt(members["resources/shop/Secret/db.yaml.vault"], "pw") == PLAIN


def test_a_changed_byte_is_refused_by_the_sidecar_check(tmp_path):
    path, record = make_archive(tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(archive.ArchiveError, match="does not match its sidecar checksum"):
        archive.check_sidecar(str(path), record, "b")


def rewrite(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_a_member_changed_inside_a_rebuilt_archive_is_refused(tmp_path):
    path, _record = make_archive(tmp_path)
    manifest, members = archive.read_archive(str(path))
    members["resources/shop/ConfigMap/app.yaml"] = b"kind: ConfigMap\nchanged: true\n"
    rewrite(path, dict(members, **{archive.MANIFEST: json.dumps(manifest).encode()}))
    with pytest.raises(archive.ArchiveError, match="sha256 of resources/shop/ConfigMap/app.yaml"):
        archive.read_archive(str(path))


def test_a_newer_format_version_is_refused(tmp_path):
    path, record = make_archive(tmp_path)
    manifest, members = archive.read_archive(str(path))
    rewrite(path, dict(members, **{archive.MANIFEST: json.dumps(dict(manifest, format_version=2)).encode()}))
    with pytest.raises(archive.ArchiveError, match="format version 2, newer"):
        archive.read_archive(str(path))
    with pytest.raises(archive.ArchiveError, match="format version 2, newer"):
        archive.check_sidecar(str(path), dict(record, format_version=2), "b")


@pytest.mark.parametrize("version", [0, -1, True, "1", None, 1.0])
def test_a_format_version_below_one_or_not_an_integer_is_refused_as_damaged(tmp_path, version):
    path, record = make_archive(tmp_path)
    with pytest.raises(archive.ArchiveError, match="no valid format version.*damaged"):
        archive.check_sidecar(str(path), dict(record, format_version=version), "b")


def test_commit_makes_the_new_name_durable_by_syncing_the_folder(tmp_path, monkeypatch):
    synced = []
    real_fsync = archive.os.fsync

    def fsync(handle):
        synced.append(archive.os.path.realpath(f"/proc/self/fd/{handle}"))
        return real_fsync(handle)

    monkeypatch.setattr(archive.os, "fsync", fsync)
    make_archive(tmp_path)
    assert str(tmp_path.resolve()) in synced


@pytest.mark.parametrize("bad", ["../etc/passwd", "resources/shop/ConfigMap/../../x.yaml", "resources/shop/app.yaml",
                                 "/abs/resources/x.yaml", "resources/shop/configmap/app.yaml", "resources/shop/ConfigMap/app.txt"])
def test_members_outside_the_layout_are_refused(tmp_path, bad):
    path, _record = make_archive(tmp_path)
    manifest, members = archive.read_archive(str(path))
    rewrite(path, dict(members, **{bad: b"x", archive.MANIFEST: json.dumps(manifest).encode()}))
    with pytest.raises(archive.ArchiveError, match="outside its layout"):
        archive.read_archive(str(path))


def test_member_path_refuses_names_that_are_not_kubernetes_names():
    assert archive.member_path(None, "ClusterRole", "view") == "resources/_cluster/ClusterRole/view.yaml"
    for namespace, kind, name in (("shop", "ConfigMap", "../x"), ("..", "ConfigMap", "x"), ("shop", "configMap", "x"),
                                  ("shop", "ConfigMap", "a/b")):
        with pytest.raises(archive.ArchiveError):
            archive.member_path(namespace, kind, name)


def test_abort_leaves_nothing(tmp_path):
    writer = archive.ArchiveWriter(str(tmp_path / "x.tar.gz"))
    writer.add("resources/shop/ConfigMap/a.yaml", b"x", {})
    writer.abort()
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_a_seal_key_seals_one_text_only():
    key = vault.SealKey("pw")
    text = vault.seal(PLAIN, key)
    assert vault.decrypt(text, b"pw") == PLAIN
    assert binascii.unhexlify(b"".join(text.splitlines()[1:])).split(b"\n")[0] == binascii.hexlify(key.salt)
    # AES-CTR under a reused key and counter would leak the XOR of the two plaintexts.
    with pytest.raises(vault.VaultError, match="second text"):
        vault.seal(b"other", key)


def wait_until(keys, condition, timeout=10):
    """Block on the pool's own condition (its threads notify it after every key) until ``condition`` holds."""
    with keys._cond:  # pylint: disable=protected-access
        assert keys._cond.wait_for(condition, timeout), "condition not met in time"  # pylint: disable=protected-access


@pytest.mark.parametrize("threads", [1, 3])
def test_key_pool_gives_each_secret_its_own_salt_and_derives_no_more_than_expected(threads):
    texts = [b"secret %d\n" % i for i in range(12)]
    with encrypt_pool.KeyPool(b"pw", threads, ahead=4) as keys:
        wait_until(keys, lambda: keys.available == 4)
        assert keys.derived == 4  # no more than ``ahead`` before the Secrets are counted
        keys.expect(len(texts))
        sealed = [vault.seal(text, keys.take(timeout=10)) for text in texts]
        assert keys.derived == len(texts)  # the 4 derived ahead were used, none wasted
    assert [vault.decrypt(text, b"pw") for text in sealed] == texts
    assert len({text.splitlines()[1] for text in sealed}) == len(texts)  # distinct salts


def test_key_pool_stops_ahead_and_at_zero_and_derives_past_a_low_count():
    with encrypt_pool.KeyPool(b"pw", 2, ahead=3) as keys:
        wait_until(keys, lambda: keys.available == 3)
        keys.expect(0)  # no Secrets after all: the pool drops its keys and derives nothing more
        assert keys.derived == 3
        keys.expect(1)
        first = keys.take(timeout=10)
        second = keys.take(timeout=10)  # one more than expected: derived on demand
        assert first.salt != second.salt
        assert keys.derived == 5


def test_key_pool_reports_a_failed_derivation_and_a_closed_pool():
    with encrypt_pool.KeyPool(None, 1, ahead=1) as broken:  # bytes(None) fails in the deriving thread
        with pytest.raises(vault.VaultError, match="Deriving a vault key failed"):
            broken.take(timeout=10)
    before = sys.getswitchinterval()
    keys = encrypt_pool.KeyPool(b"pw", 1, ahead=0)
    assert sys.getswitchinterval() <= encrypt_pool.SWITCH_INTERVAL  # key handovers do not wait 5 ms for the GIL
    keys.close()
    keys.close()
    assert sys.getswitchinterval() == before
    with pytest.raises(vault.VaultError, match="closed"):
        keys.take(timeout=10)


@pytest.mark.parametrize("cpus, threads", [(None, 1), (1, 1), (2, 2), (64, encrypt_pool.MAX_THREADS)])
def test_threads_for(cpus, threads):
    assert encrypt_pool.threads_for(cpus) == threads


def test_key_pool_leaves_a_cpu_to_the_caller_until_the_secrets_are_counted(monkeypatch):
    names = []
    real = vault.SealKey

    def recording(password):
        names.append(threading.current_thread().name)
        return real(password)

    monkeypatch.setattr(vault, "SealKey", recording)
    with encrypt_pool.KeyPool(b"pw", 3, ahead=6) as keys:
        wait_until(keys, lambda: keys.derived == 6)
        assert set(names) <= {"vault-keys-0", "vault-keys-1"}  # not the third thread
        keys.expect(12)
        assert len({keys.take(timeout=10).salt for _n in range(12)}) == 12
