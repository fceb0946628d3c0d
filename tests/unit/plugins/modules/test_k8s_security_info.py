"""k8s_security_info's main(): option checks before connecting, one list per kind, Secrets as metadata,
one-sentence errors. The controls themselves are unit-tested in
tests/unit/plugins/module_utils/test_k8s_security_checks.py and on the real control plane in
tests/integration/k8s/test_security_checks.py.
"""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import security_runner
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import KubeError
from ansible_collections.sre.runbooks.plugins.modules import k8s_security_info

from .utils import AnsibleExitJson as ExitJson, AnsibleFailJson as FailJson, run_module


class ListOnlyKube:
    host = "https://fake:6443"

    def __init__(self, objects, errors=None):
        self.objects, self.errors, self.calls = objects, errors or {}, []

    def list(self, kind, namespace=None, label_selector=None, field_selector=None, metadata_only=False):
        self.calls.append((kind, namespace, field_selector, metadata_only))
        if kind in self.errors:
            raise self.errors[kind]
        return {"items": [copy.deepcopy(o) for o in self.objects.get(kind, [])]}


OBJECTS = {
    "Namespace": [{"metadata": {"name": "shop"}}, {"metadata": {"name": "kube-system"}}],
    "NetworkPolicy": [{"metadata": {"namespace": "shop", "name": "deny"}, "spec": {"podSelector": {}}}],
    "Pod": [{"metadata": {"namespace": "shop", "name": "web-0", "labels": {"app": "web"}}, "spec": {}}],
    "Secret": [{"metadata": {"namespace": "shop", "name": "old", "creationTimestamp": "2020-01-01T00:00:00Z"}}],
    "ServiceAccount": [{"metadata": {"namespace": "shop", "name": "default"}}],
}


@pytest.fixture
def module_env(monkeypatch):
    state = {"kube": ListOnlyKube(OBJECTS), "connected": 0}

    def connect(module):
        state["connected"] += 1
        return state["kube"]

    monkeypatch.setattr(security_runner, "connect", connect)
    return state


FLOW = {"from": {"namespace": "shop", "pod": "web-0"}, "to": {"namespace": "shop", "pod": "web-0"}, "port": 80}


@pytest.mark.parametrize(("args", "message"), [
    ({"namespaces": ["Shop"]}, "namespaces: 'Shop' is not a valid namespace name (lowercase letters, digits and '-', "
                               "starting and ending with a letter or digit, at most 63 characters)."),
    ({"controls": []}, "controls must name at least one of network, workloads, rbac, secrets."),
    ({"controls": ["rbac"], "isolation_matrix": [FLOW]}, "isolation_matrix needs the network control in controls."),
    ({"isolation_matrix": [dict(FLOW, port=0)]}, "Matrix entry 1 needs a port from 1 to 65535 or a port name."),
    ({"isolation_matrix": [dict(FLOW, to={"namespace": "shop", "selector": "app in (a"})]},
     "The matrix entry's to selector: The label selector 'app in (a' has unbalanced parentheses."),
    ({"secret_max_age_days": -1}, "secret_max_age_days must be at least 0, not -1."),
    ({"today": "5 Dec"}, "today must be a date as YYYY-MM-DD, not '5 Dec'."),
    ({"waivers": [{"control": "C5.*", "object": "*", "reason": "x"}]}, "Waiver 1 (C5.* *) lacks expires."),
    ({"waivers": [{"control": "C5.*", "object": "*", "reason": "x", "expires": "soon"}]},
     "Waiver 1: expires must be a date as YYYY-MM-DD, not 'soon'."),
    ({"extra_checks": [{"control": "C6.x", "object": "Deployment a/b", "status": "passed"}]},
     "extra_checks entry 1 lacks message."),
    ({"extra_checks": [{"control": "C6.x", "object": "Deployment a/b", "status": "bad", "message": "m"}]},
     "extra_checks entry 1 has status 'bad'; it must be one of passed, failed, warning."),
])
def test_bad_input_fails_in_one_sentence_before_connecting(module_env, args, message):
    result = run_module(k8s_security_info, args, expect=FailJson)
    assert result["msg"] == message
    assert module_env["connected"] == 0


def test_one_list_per_kind_and_secrets_as_metadata_only(module_env):
    result = run_module(k8s_security_info, {"isolation_matrix": [dict(FLOW, expect="denied")]}, check=True,
                        expect=ExitJson)
    assert result["changed"] is False
    kinds = sorted(call[0] for call in module_env["kube"].calls)
    assert kinds == sorted(["Namespace", "NetworkPolicy", "Pod", "Deployment", "StatefulSet", "DaemonSet", "CronJob",
                            "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "ServiceAccount", "Secret"])
    assert result["api_calls"] == 13
    assert all(call[1] is None for call in module_env["kube"].calls)  # cluster-wide, never per namespace
    secret_call = next(call for call in module_env["kube"].calls if call[0] == "Secret")
    assert secret_call[2:] == ("type!=kubernetes.io/service-account-token,type!=helm.sh/release.v1", True)
    assert result["namespaces"] == ["shop"]
    failed = {(c["control"], c["object"]) for c in result["checks"] if c["status"] == "failed"}
    assert failed == {("C5.secret-age", "Secret shop/old")}
    reason = "egress allowed: no policy selects the pod; ingress denied: no rule of shop/deny admits it."
    assert result["isolation"][0]["reason"] == reason


def test_a_forbidden_list_is_one_sentence_naming_the_kind(module_env):
    module_env["kube"].errors["ClusterRole"] = KubeError("permission denied by the Kubernetes API: clusterroles is "
                                                         "forbidden.", 403, "Forbidden")
    result = run_module(k8s_security_info, {"controls": ["rbac"]}, expect=FailJson)
    assert result["msg"] == ("Cannot list ClusterRole objects: permission denied by the Kubernetes API: clusterroles "
                             "is forbidden.")


def test_a_matrix_pod_that_does_not_exist_is_one_sentence(module_env):
    result = run_module(k8s_security_info, {"controls": ["network"],
                                            "isolation_matrix": [dict(FLOW, to={"namespace": "shop", "pod": "x"})]},
                        expect=FailJson)
    assert result["msg"] == "The pod shop/x (to) does not exist."


ACTIVITY = {"control": "C6.security-events", "object": "Namespace shop", "namespace": "shop", "status": "failed",
            "message": "2 Forbidden answers."}


def test_waivers_extra_checks_and_every_report_in_one_pass(module_env):
    waivers = [{"control": "C5.secret-age", "object": "Secret shop/*", "reason": "SEC-9", "expires": "2026-12-31"},
               {"control": "C6.*", "object": "*", "reason": "SEC-10", "expires": "2026-12-01"}]
    result = run_module(k8s_security_info, {"waivers": waivers, "today": "2026-12-05", "extra_checks": [ACTIVITY],
                                            "reports": ["junit", "json", "markdown", "html"], "report_name": "ci"},
                        check=True, expect=ExitJson)
    by_object = {c["object"]: c for c in result["checks"]}
    assert by_object["Secret shop/old"]["status"] == "waived"
    assert by_object["Secret shop/old"]["waiver"]["reason"] == "SEC-9"
    # The C6 waiver expired on the 1st: its check fails again, naming it.
    activity = next(c for c in result["checks"] if c["control"] == "C6.security-events")
    assert activity["status"] == "failed" and "waiver expired on 2026-12-01" in activity["message"]
    assert result["summary"]["waived"] == 1 and result["summary"]["failed"] == result["failed_checks"] >= 1
    assert result["summary"]["failures"][-1].startswith("C6.security-events Namespace shop: 2 Forbidden answers.")
    assert result["check_mode"] is True
    texts = result["reports"]
    assert texts["junit"].startswith('<?xml version="1.0" encoding="utf-8"?>\n<testsuites name="ci"')
    assert json.loads(texts["json"])["summary"] == result["summary"]
    assert "reports" not in json.loads(texts["json"])  # the JSON report is the result, not the module's answer
    assert "| C6.security-events | Namespace shop |" in texts["markdown"]
    assert texts["html"].startswith("<!DOCTYPE html>")


def test_no_report_is_rendered_unless_asked(module_env):
    result = run_module(k8s_security_info, {}, check=True, expect=ExitJson)
    assert result["reports"] == {}
    assert set(result["summary"]) == {"passed", "failed", "warning", "waived", "total", "failures"}
