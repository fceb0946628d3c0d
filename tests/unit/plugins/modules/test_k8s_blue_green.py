"""k8s_blue_green's main(): option checks in one sentence, check mode that writes nothing, the guarded switch
losing a race, and the runner's steps over the in-memory API of tests/unit/plugins/fake_kube.py.

The real control plane (Deployments that become available, smoke tests to pod IPs, the Ingress variant) is
exercised by tests/integration/k8s/test_k8s_blue_green.py.
"""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import blue_green_plan as plan
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import blue_green_runner
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import KubeError
from ansible_collections.sre.runbooks.plugins.modules import k8s_blue_green

from .test_k8s_job import FakeJobKube

BASE = {"name": "web", "namespace": "prod"}


def blue(annotations=None):
    labels = {"app": "web", "version": "blue"}
    return {"kind": "Deployment", "metadata": {"name": "web-blue", "namespace": "prod", "uid": "u-blue",
                                               "annotations": annotations or {}, "generation": 1},
            "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": "web:1"}]}}},
            "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2,
                       "availableReplicas": 2}}


def service(slot="blue"):
    return {"kind": "Service", "metadata": {"name": "web", "namespace": "prod"},
            "spec": {"selector": {"app": "web", "version": slot}, "ports": [{"name": "http", "port": 80}]}}


@pytest.fixture
def kube(monkeypatch):
    fake = FakeJobKube([blue(), service()])
    monkeypatch.setattr(blue_green_runner, "connect", lambda module: fake)
    return fake


def run(capsys, args, check=False, diff=False, failed=False):
    with patch_module_args(dict(BASE, **args, _ansible_check_mode=check, _ansible_diff=diff)):
        with pytest.raises(SystemExit) as exc:
            k8s_blue_green.main()
    result = json.loads(capsys.readouterr().out)
    assert (exc.value.code != 0) == failed and bool(result.get("failed")) == failed, result
    return result


def writes(kube):
    return [call for call in kube.calls if call[0] in ("create", "patch", "delete")]


@pytest.mark.parametrize("args, message", [
    ({"action": "deploy"}, "action=deploy needs images (container name: image)."),
    ({"action": "status", "images": {"app": "x:1"}}, "images is used only with action=deploy or action=promote, "
                                                     "not action=status."),
    ({"action": "deploy", "smoke_tests": [{"name": "h", "path": "/"}], "images": {"app": "x:1"}},
     "smoke_tests is used only with action=promote, not action=deploy."),
    ({"action": "status", "slots": ["blue"]}, "slots must be two different names, such as [blue, green], not ['blue']."),
    ({"action": "status", "slots": ["blue", "blue"]}, "slots must be two different names"),
    ({"action": "status", "slots": ["Blue", "green"]}, "each slot must be a lower-case DNS label"),
    ({"action": "status", "name": "Web_App"}, "name must be a lower-case DNS label"),
    ({"action": "status", "name": "w" * 58}, "of at most 57 characters"),
    ({"action": "status", "slot_label": "bad label"}, "slot_label must be a label key"),
    ({"action": "status", "ingress": "web", "preview_service": "p"}, "preview_service is used only when"),
    ({"action": "deploy", "images": {"app": " "}}, "images: the image for container 'app' is empty."),
    ({"action": "status", "scale_down_delay": "soon"}, "Invalid scale_down_delay 'soon'"),
    ({"action": "status", "wait_timeout": -1}, "wait_timeout must be at least 0"),
    ({"action": "promote", "smoke_tests": [{"name": "h"}]}, "smoke test 'h' needs exactly one of path"),
    ({"action": "promote", "smoke_tests": [{"name": "h", "path": "/", "url": "http://x/"}]}, "needs exactly one of path"),
    ({"action": "promote", "smoke_tests": [{"name": "h", "path": "health"}]}, "path must start with '/'"),
    ({"action": "promote", "smoke_tests": [{"name": "h", "url": "ftp://x/"}]}, "must be an http:// or https:// URL"),
    ({"action": "promote", "smoke_tests": [{"name": "h", "url": "http://x/", "port": "http"}]},
     "port is used only with path"),
    ({"action": "promote", "smoke_tests": [{"name": "h", "path": "/", "status": []}]}, "at least one HTTP status"),
    ({"action": "promote", "smoke_tests": [{"name": "h", "path": "/", "status": [700]}]}, "700 is not an HTTP status"),
    ({"action": "promote", "smoke_tests": [{"name": "h", "path": "/", "timeout": 0}]}, "smoke_tests.timeout must be"),
])
def test_bad_options_fail_in_one_sentence_before_any_request(kube, capsys, args, message):
    result = run(capsys, args, failed=True)
    assert message in result["msg"] and result["msg"].endswith(".") and "\n" not in result["msg"]
    assert kube.calls == []


def test_check_mode_promote_writes_nothing_and_shows_the_switch(kube, capsys):
    result = run(capsys, {"action": "promote", "images": {"app": "web:2"}}, check=True, diff=True)
    assert writes(kube) == []
    assert result["changed"] and result["switched"] and result["active_slot"] == "green"
    assert result["release"] == {"slot": "green", "decision": "create", "images": {"app": "web:2"}}
    assert result["diff"]["before"]["active_slot"] == "blue" and result["diff"]["after"]["active_slot"] == "green"
    assert result["diff"]["after"]["slots"]["blue"]["role"] == "previous"
    assert result["slots"]["green"]["images"] == {"app": "web:2"} and result["wait"]["waited"] is False
    assert result["traffic"]["serving_pods"] == []  # not listed: check mode only planned the switch


def test_a_switch_that_loses_the_race_changes_nothing_else(kube, capsys):
    kube.add(dict(blue(), metadata=dict(blue()["metadata"], name="web-green", uid="u-green",
                                        annotations={plan.ROLE: "preview"}),
                  spec=dict(blue()["spec"], selector={"matchLabels": {"app": "web", "version": "green"}})))
    original_patch = kube.patch

    def patch(kind, namespace, name, body, patch_type="strategic", **kwargs):
        if kind == "Service":  # someone else switched between our read and our patch
            raise KubeError("the server rejected our request due to an error in our request", 422, "Invalid")
        return original_patch(kind, namespace, name, body, patch_type, **kwargs)

    kube.patch = patch
    kube.script_watch("Deployment", [])
    result = run(capsys, {"action": "promote", "wait_timeout": 0}, failed=True)
    assert result["msg"] == ("Service prod/web changed while switching (it no longer sends traffic to slot blue); "
                             "nothing was switched, read its state and run again.")
    assert not result["switched"] and result["active_slot"] == "blue"
    assert [call[:3] for call in writes(kube)] == []


def test_status_of_a_service_without_a_slot_in_its_selector(kube, capsys):
    kube.add(dict(service(), spec={"selector": {"app": "web"}, "ports": [{"port": 80}]}))
    result = run(capsys, {"action": "status"}, failed=True)
    assert result["msg"] == ("Service prod/web does not choose a slot: its selector (app=web) has no version label "
                             "(expected version=blue or version=green).")


def test_cleanup_keeps_the_previous_slot_until_its_time(kube, capsys):
    kube.add(dict(service("green")))
    green = blue({plan.ROLE: "active"})
    green["metadata"]["name"] = "web-green"
    green["spec"]["selector"] = {"matchLabels": {"app": "web", "version": "green"}}
    green["spec"]["template"]["metadata"]["labels"]["version"] = "green"
    kube.add(green)
    kube.add(blue({plan.ROLE: "previous", plan.SCALE_DOWN_AT: "2999-01-01T00:00:00Z"}))
    result = run(capsys, {"action": "cleanup"})
    assert not result["changed"] and writes(kube) == []
    assert result["kept_until"] == "2999-01-01T00:00:00Z"
    assert result["message"] == ("Kept Deployment prod/web-blue: it is kept for a quick switch back until "
                                 "2999-01-01T00:00:00Z.")
    kube.add(blue({plan.ROLE: "previous", plan.SCALE_DOWN_AT: "2000-01-01T00:00:00Z"}))
    result = run(capsys, {"action": "cleanup"})
    assert result["changed"] and writes(kube) == [("delete", "Deployment", "web-blue", "Background")]
    assert not result["slots"]["blue"]["exists"]
