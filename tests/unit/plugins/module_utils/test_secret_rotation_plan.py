"""C1: which workloads consume a Secret key, the generated value, the patch and the diff, without a server."""

from __future__ import annotations

import base64
import string

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import secret_rotation_plan as plan


def workload(name, kind="Deployment", containers=(), init=(), volumes=()):
    return {"kind": kind, "metadata": {"name": name},
            "spec": {"template": {"spec": {"containers": list(containers), "initContainers": list(init),
                                           "volumes": list(volumes)}}}}


def env_ref(secret, key, var="DB_PASSWORD"):
    return {"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


WORKLOADS = [
    workload("api", containers=[{"name": "app", "env": [env_ref("db", "password")]}]),
    workload("other-key", containers=[{"name": "app", "env": [env_ref("db", "username")]}]),
    workload("other-secret", containers=[{"name": "app", "env": [env_ref("cache", "password")]}]),
    workload("worker", "StatefulSet",
             containers=[{"name": "w", "envFrom": [{"secretRef": {"name": "db"}, "prefix": "DB_"}]}]),
    workload("agent", "DaemonSet", volumes=[{"name": "creds", "secret": {"secretName": "db"}}]),
    workload("migrate", init=[{"name": "m", "env": [env_ref("db", "password", "PW")]}]),
    workload("projected", volumes=[{"name": "all", "projected": {"sources": [
        {"configMap": {"name": "db"}}, {"secret": {"name": "db", "items": [{"key": "password", "path": "pw"}]}}]}}]),
    workload("projected-other-item", volumes=[{"name": "all", "projected": {"sources": [
        {"secret": {"name": "db", "items": [{"key": "username", "path": "u"}]}}]}}]),
    workload("volume-other-item", volumes=[{"name": "v", "secret": {"secretName": "db",
                                                                    "items": [{"key": "ca.crt", "path": "ca"}]}}]),
    workload("configmap-named-db", containers=[{"name": "app", "envFrom": [{"configMapRef": {"name": "db"}}]}]),
]


def test_consumers_are_exactly_the_workloads_that_read_the_key():
    found = plan.consumers(WORKLOADS, "db", "password")
    assert [(c["kind"], c["name"]) for c in found] == [
        ("Deployment", "api"), ("Deployment", "migrate"), ("Deployment", "projected"),
        ("StatefulSet", "worker"), ("DaemonSet", "agent")]
    refs = {c["name"]: c["references"] for c in found}
    assert refs["api"] == ["env DB_PASSWORD of container app"]
    assert refs["worker"] == ["envFrom of container w (prefix DB_)"]
    assert refs["agent"] == ["volume creds"] and refs["projected"] == ["projected volume all"]
    assert refs["migrate"] == ["env PW of container m"]


def test_another_key_has_other_consumers():
    names = [c["name"] for c in plan.consumers(WORKLOADS, "db", "username")]
    assert names == ["other-key", "projected-other-item", "worker", "agent"]


def test_default_value_is_openssl_rand_base64():
    value = plan.generate_value(32, randbytes=lambda n: bytes(range(n)))
    assert value == base64.b64encode(bytes(range(32))).decode() and len(value) == 44
    assert len(plan.generate_value(32)) == 44 and plan.generate_value(32) != plan.generate_value(32)


def test_alphabet_value_uses_only_its_characters():
    value = plan.generate_value(64, alphabet="ab" * 10 + "c")
    assert len(value) == 64 and set(value) <= set("abc")
    assert set(plan.generate_value(200, alphabet=string.digits)) <= set(string.digits)
    with pytest.raises(plan.RotationInputError, match="at least two different characters"):
        plan.generate_value(10, alphabet="aaaa")


@pytest.mark.parametrize("key, ok", [("password", True), ("tls.crt", True), ("DB_URL-2", True), ("", False),
                                     ("a/b", False), ("..", False), ("x" * 254, False), ("sp ace", False)])
def test_check_key(key, ok):
    if ok:
        assert plan.check_key(key) == key
    else:
        with pytest.raises(plan.RotationInputError, match="is not a valid Secret key"):
            plan.check_key(key)


def test_patch_sets_value_annotation_and_precondition():
    patch = plan.secret_patch("password", "n3w", "2026-12-04T21:00:00Z", "42")
    assert patch == {"metadata": {"annotations": {"sre.runbooks/rotated-at": "2026-12-04T21:00:00Z"},
                                  "resourceVersion": "42"},
                     "data": {"password": base64.b64encode(b"n3w").decode()}}


def test_current_value_and_diff_never_show_a_value():
    secret = {"metadata": {"namespace": "shop", "name": "db", "annotations": {plan.ROTATED_AT: "2026-01-01T00:00:00Z"}},
              "data": {"password": base64.b64encode(b"old-pw").decode(), "username": "YXBw"}}
    assert plan.current_value(secret, "password") == "old-pw" and plan.current_value(secret, "nope") is None
    before = plan.diff_view(secret, "password")
    after = plan.diff_view(secret, "token", "2026-12-04T21:00:00Z", [{"kind": "Deployment", "name": "api"}])
    assert before == {"secret": "shop/db", "keys": ["password", "username"], "rotated_at": "2026-01-01T00:00:00Z"}
    assert after == {"secret": "shop/db", "keys": ["password", "token", "username"],
                     "rotated_at": "2026-12-04T21:00:00Z", "rotated_key": "token", "restarted": ["Deployment/api"]}
    assert "old-pw" not in str(before) + str(after)
