"""playbooks/blue_green.yml (the blue_green role) against the real control plane, as an operator runs it.

``ansible-playbook -i inventories/local playbooks/blue_green.yml`` (the inventory's ``sre_kubeconfig``
comes from K8S_AUTH_KUBECONFIG) in a namespace of its own, with the blue slot and its Service made by
the test. The smoke test here uses ``url`` against a small HTTP server on 127.0.0.1 (the module's own
tests send ``path`` tests to the pods' IPs and cover a passing promotion). Assertions read the API server
and the reports. The role's successful release and its idempotence are molecule/blue_green's.
"""

from __future__ import annotations

import json
import re

import pytest

kubernetes = pytest.importorskip("kubernetes")

from tests.integration.ansible_run import run_playbook  # noqa: E402
from tests.integration.k8s.test_k8s_blue_green import (  # noqa: E402
    V2, annotations, make_blue, missing, pods_behind, selector, slot_pods)
# A fixture: start(status) -> the URL of a local HTTP server answering with that status.
from tests.integration.k8s.test_rollout_playbooks import http_server  # noqa: E402,F401 pylint: disable=unused-import

pytestmark = pytest.mark.slow

HOST = "platform-cluster"  # the kubernetes group of inventories/local
PORT = 8080  # the pods' container port; nothing is sent to it here


@pytest.fixture
def play(k8s_cluster, tmp_path):
    """play(expect_rc=0, check=False, **vars) -> (changed count, JSON report, Markdown report, output)."""
    env = {"K8S_AUTH_KUBECONFIG": str(k8s_cluster.kubeconfig), "SRE_REPORT_DIR": str(tmp_path / "reports")}

    def _play(expect_rc=0, check=False, **play_vars):
        proc = run_playbook("playbooks/blue_green.yml", {"blue_green_name": "web", "blue_green_wait_timeout": 60,
                                                         **play_vars}, check=check, env=env)
        output = proc.stdout + proc.stderr
        assert proc.returncode == expect_rc, output[-8000:]
        stem = tmp_path / "reports" / f"blue_green-{play_vars.get('blue_green_action', 'release')}-{HOST}"
        recap = re.search(rf"{HOST}\s*:.*changed=(\d+)", output)
        return (int(recap.group(1)) if recap else -1), json.loads(stem.with_suffix(".json").read_text()), \
            stem.with_suffix(".md").read_text(), output

    return _play


def test_release_in_check_mode_then_a_failing_smoke_test_discards_it_and_cleanup_removes_it(ns, core, apps, play, http_server):
    make_blue(core, apps, ns, PORT)
    release = {"blue_green_namespace": ns, "blue_green_images": {"app": V2}, "blue_green_abort_on_failure": True,
               "blue_green_smoke_tests": [{"name": "preview host", "url": http_server(503)}]}

    # Check mode sends no smoke test and changes nothing: it shows the switch the release would make.
    changed, report, markdown, _output = play(check=True, **release)
    assert changed == 1 and report["check_mode"] and report["ok"] and report["switched"], report
    assert report["active_slot"] == "green" and report["smoke_tests"] == [] and "**Check mode:**" in markdown
    assert missing(apps.read_namespaced_deployment, "web-green", ns)
    assert selector(core, ns)["version"] == "blue"

    changed, report, markdown, output = play(expect_rc=2, **release)
    assert not report["ok"] and report["aborted"] and not report["switched"], report
    assert report["failure"].startswith("Smoke tests of slot green failed: preview host on http://127.0.0.1:")
    assert "HTTP 503, expected 200" in report["failure"] and report["failure"] in output
    assert report["slots"]["green"]["role"] == "aborted" and report["active_slot"] == "blue"
    assert "**Failed:** Smoke tests of slot green failed" in markdown and "## Smoke tests: FAILED" in markdown
    assert selector(core, ns) == {"app": "web", "version": "blue"}
    assert pods_behind(core, ns) == slot_pods(core, ns, "blue")
    assert apps.read_namespaced_deployment("web-green", ns).spec.replicas == 0
    assert annotations(apps, ns, "web-green")["sre.runbooks/blue-green-role"] == "aborted"

    changed, report, _markdown, _output = play(blue_green_namespace=ns, blue_green_action="cleanup")
    assert changed == 1 and report["ok"] and not report["slots"]["green"]["exists"], report
    assert missing(apps.read_namespaced_deployment, "web-green", ns)
    assert report["active_slot"] == "blue" and len(report["traffic"]["serving_pods"]) == 3
