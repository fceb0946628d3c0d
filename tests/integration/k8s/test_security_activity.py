"""C6 suspicious activity in the compliance run (playbooks/compliance.yml -e security_checks_activity=true).

Deployment ``api`` logs 403s and an AUTH_FAILED line (kwok serves the lines through the real pods/log
API); Deployment ``web`` logs only ordinary lines (with numbers such as 4031 that must not match); the
namespace holds a Warning event of a Secret that could not be mounted. The JUnit report must fail
exactly the api Deployment's suspicious-logs case and the namespace's security-events case.
"""

from __future__ import annotations

import datetime
import uuid

import pytest

kubernetes = pytest.importorskip("kubernetes")
junitparser = pytest.importorskip("junitparser")

from tests.harness.k8s_telemetry import clear_logs, cri_log, seed_logs  # noqa: E402
from tests.integration.ansible_run import run_playbook  # noqa: E402
from tests.integration.waiting import wait_until  # noqa: E402

pytestmark = pytest.mark.slow


def deployment(name):
    labels = {"app": name}
    return {"metadata": {"name": name}, "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
        "metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": f"{name}:1"}]}}}}


@pytest.fixture(scope="module")
def ns(k8s_cluster, core, apps):
    name = f"c6-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    for workload in ("api", "web"):
        apps.create_namespaced_deployment(name, deployment(workload))
    wait_until(lambda: all((apps.read_namespaced_deployment(w, name).status.available_replicas or 0) == 1
                           for w in ("api", "web")), "api and web up")
    seed_logs(k8s_cluster, name, "app=api", cri_log([(600, "GET /health 200"), (500, "GET /admin 403 3ms"),
                                                     (400, "POST /login 401"), (300, "AUTH_FAILED user=mallory")]))
    seed_logs(k8s_cluster, name, "app=web", cri_log([(600, "GET / 200 4031 bytes"), (300, "took 1401 ms")]))
    now = datetime.datetime.now(datetime.timezone.utc)
    core.create_namespaced_event(name, {
        "metadata": {"name": f"api-mount.{uuid.uuid4().hex[:6]}"}, "type": "Warning", "reason": "FailedMount",
        "message": 'MountVolume.SetUp failed for volume "creds" : secret "db-creds" not found', "count": 3,
        "involvedObject": {"kind": "Pod", "name": "api-x", "namespace": name}, "firstTimestamp": now,
        "lastTimestamp": now, "source": {"component": "kubelet"}})
    yield name
    clear_logs(k8s_cluster, name)
    core.delete_namespace(name)


def test_suspicious_lines_and_security_events_fail_exactly_their_cases(ns, tmp_path):
    report_dir = tmp_path / "reports"
    proc = run_playbook("playbooks/compliance.yml", {
        "security_checks_namespaces": [ns], "security_checks_report_dir": str(report_dir),
        "security_checks_controls": ["network"], "security_checks_isolation_matrix": [], "security_checks_activity": True,
        "security_checks_activity_window": "1h"}, check=True)
    output = proc.stdout[-5000:] + proc.stderr[-2000:]
    assert proc.returncode == 2 and (report_dir / "compliance.xml").exists(), output
    xml = junitparser.JUnitXml.fromfile(str(report_dir / "compliance.xml"))
    cases = {(case.classname, case.name): case for suite in xml for case in suite}
    activity = {key: case for key, case in cases.items() if key[0] in ("suspicious-logs", "security-events")}
    failed = {key for key, case in activity.items() if any(isinstance(r, junitparser.Failure) for r in case.result)}
    assert failed == {("suspicious-logs", f"Deployment {ns}/api"), ("security-events", f"Namespace {ns}")}, activity
    assert ("suspicious-logs", f"Deployment {ns}/web") in activity
    message = next(r.message for r in cases[("suspicious-logs", f"Deployment {ns}/api")].result)
    assert message.startswith("3 suspicious log lines") and "AUTH_FAILED user=mallory" in message
    event = next(r.message for r in cases[("security-events", f"Namespace {ns}")].result)
    assert "Pod/api-x FailedMount x3: a Secret could not be mounted" in event
