"""k8s_config_backup given hostile arguments and bad kubeconfigs (no cluster needed: all fail before one answers),
then bad selections on the cluster (a missing namespace, an unknown kind, a custom resource nobody serves, no
vault key while Secrets are selected): one sentence each, the vault password never printed, nothing written."""

from __future__ import annotations

import pytest

from tests.integration.badinput.hostile import canary
from tests.integration.badinput.kube_cases import hangs, kubeconfig_cases, run_kube_cases
from tests.integration.badinput.suite import Case, assert_outcome
from ansible_collections.sre.runbooks.plugins.module_utils._config.export_args import argument_spec

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_config_backup"
VAULT_PASSWORD = canary("vault-key")


@pytest.fixture(scope="module")
def cluster_namespace(k8s_cluster):
    namespace = "badinput-b1"
    k8s_cluster.kubectl("create", "namespace", namespace)
    yield namespace
    k8s_cluster.kubectl("delete", "namespace", namespace, "--wait=false")


@pytest.fixture(scope="module")
def outcome(kube, traps, k8s_cluster, cluster_namespace):
    dest = traps["root"] / "never-written"
    base = {"kubeconfig": kube["refused"], "namespaces": ["default"], "dest": str(dest), "vault_password": VAULT_PASSWORD}
    on_cluster = {**base, "kubeconfig": str(k8s_cluster.kubeconfig), "namespaces": [cluster_namespace]}
    hand = [case for case in kubeconfig_cases(base, kube, traps)
            if case.name in ("kubeconfig file not_yaml", "kubeconfig dict with clusters oops")] + [
        Case("missing namespace", {**on_cluster, "namespaces": [cluster_namespace, "no-such-namespace"]}, True,
             mentions="The namespace no-such-namespace does not exist"),
        Case("custom resource not served", {**on_cluster, "custom_resources": [
            {"api_version": "nothing.example.com/v1", "kind": "Gadget"}]}, True, mentions="does not serve"),
        Case("no vault key with Secrets", {**on_cluster, "vault_password": None}, True, mentions="no vault key"),
        Case("vault password file missing", {**on_cluster, "vault_password_file": str(traps["root"] / "nope")}, True,
             mentions="cannot be read"),
        Case("dest is a file", {**on_cluster, "dest": traps["below_file"]}, True),
        Case("unknown kind", {**base, "kinds": ["Gadget"]}, True, mentions="unknown kind 'Gadget'"),
        Case("cluster kind in kinds", {**base, "kinds": ["ClusterRole"]}, True, mentions="cluster_kinds"),
        Case("namespaced kind in cluster_kinds", {**base, "cluster_kinds": ["Secret"]}, True),
        Case("unknown cluster kind", {**base, "cluster_kinds": ["Pod"]}, True, mentions="cluster-scoped kind 'Pod'"),
        Case("name with the sidecar suffix", {**base, "name": "x.json"}, True, mentions="cannot name a backup"),
        Case("custom resource of a built-in kind", {**base, "custom_resources": [
            {"api_version": "apps/v1", "kind": "Deployment"}]}, True, mentions="built-in kind"),
        Case("no namespaces", {**base, "namespaces": []}, True),
        Case("namespace invalid", {**base, "namespaces": ["Not_Valid"]}, True),
        Case("name with a slash", {**base, "name": "../up"}, True, mentions="cannot name a backup"),
        Case("custom resource as text", {**base, "custom_resources": ["Widget"]}, True),
        Case("custom resource without kind", {**base, "custom_resources": [{"api_version": "example.com/v1"}]}, True),
        Case("retention keep_last 0", {**base, "retention": {"keep_last": 0}}, True),
        Case("retention max_age_days nan", {**base, "retention": {"max_age_days": "nan"}}, True),
        Case("s3 as text", {**base, "s3": "bucket"}, True),
        Case("NUL in label_selector", {**base, "label_selector": "app=x\x00y"}, True),
        Case("request_timeout 0", {**base, "request_timeout": 0}, True),
    ]
    result = run_kube_cases(MODULE, argument_spec(), base, hand, traps, secrets=(VAULT_PASSWORD,))
    return result, dest


def test_k8s_config_backup_bad_input(outcome):
    (cases, result), dest = outcome
    assert_outcome(cases, result)
    assert not dest.exists()


def test_k8s_config_backup_ends_within_request_timeout_on_an_api_that_never_answers(kube, tmp_path):
    args = {"namespaces": ["default"], "dest": str(tmp_path / "d"), "vault_password": VAULT_PASSWORD,
            "kubeconfig": kube["blackhole"], "request_timeout": 3}
    assert hangs(MODULE, args, seconds=20) is None
    assert not (tmp_path / "d").exists()
