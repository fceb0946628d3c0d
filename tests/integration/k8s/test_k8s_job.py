"""k8s_job against the real control plane (kube-apiserver, the Job and garbage collector controllers, kwok kubelets).

The module runs through ansible-playbook; the assertions read the Jobs back with the Python client.
Job pods succeed at once; a ``:crashloop`` image makes a Job pod fail with exit code 1
(tests/k8s/README.md). Each test works in its own namespace.
"""

from __future__ import annotations

import uuid

import pytest

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client as k8s  # noqa: E402
from kubernetes import config as k8s_config  # noqa: E402

from tests.integration.module_runner import run_module  # noqa: E402

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_job"


@pytest.fixture
def batch(k8s_cluster):
    k8s_config.load_kube_config(config_file=str(k8s_cluster.kubeconfig))
    return k8s.BatchV1Api()


@pytest.fixture
def namespace(k8s_cluster):
    name = f"job-{uuid.uuid4().hex[:8]}"
    k8s_cluster.kubectl("create", "namespace", name)
    yield name
    k8s_cluster.kubectl("delete", "namespace", name, "--wait=false")


def job(ns, check=False, **args):
    """The module's result for a Job in ``ns`` with run id ``it`` (failed runs included)."""
    return run_module(MODULE, {"namespace": ns, "run_id": "it", "timeout": 60, **args}, check=check, diff=True)


def jobs(batch, ns):
    return {item.metadata.name: item for item in batch.list_namespaced_job(ns).items}


def test_job_from_cronjob_check_real_check_real(batch, namespace):
    batch.create_namespaced_cron_job(namespace, {
        "metadata": {"name": "nightly-report"},
        "spec": {"schedule": "0 3 * * *", "suspend": True, "jobTemplate": {
            "metadata": {"labels": {"app": "report"}, "annotations": {"runbook": "ent"}},
            "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never",
                                                              "containers": [{"name": "r", "image": "report:2"}]}}}}}})

    first_check = job(namespace, check=True, cronjob="nightly-report")
    assert not first_check.failed and first_check.changed, first_check.output
    assert first_check["job"]["status"] == "would_create" and first_check["diff"]["before"] == {}
    assert jobs(batch, namespace) == {}

    real = job(namespace, cronjob="nightly-report")
    assert real.changed and real["job"]["status"] == "succeeded" and real["job"]["created"], real.output

    for check in (True, False):
        again = job(namespace, check=check, cronjob="nightly-report")
        assert not again.failed and not again.changed, again.output
        assert again["job"]["status"] == "succeeded" and not again["job"]["created"]

    [found] = jobs(batch, namespace).values()
    cron = batch.read_namespaced_cron_job("nightly-report", namespace)
    assert found.metadata.name == "nightly-report-it"
    [owner] = found.metadata.owner_references
    assert (owner.kind, owner.name, owner.uid, owner.controller) == ("CronJob", "nightly-report",
                                                                     cron.metadata.uid, True)
    assert found.metadata.annotations["cronjob.kubernetes.io/instantiate"] == "manual"
    assert found.metadata.annotations["runbook"] == "ent" and found.metadata.labels["app"] == "report"
    assert found.spec.template.spec.containers[0].image == "report:2" and found.status.succeeded == 1


def test_failing_image_job_reports_the_pod_reason(batch, namespace):
    result = job(namespace, name="scan", image="scanner:crashloop", backoff_limit=0)
    assert result.failed, result.output
    assert result["msg"].startswith(f"Job {namespace}/scan-it (image scanner:crashloop) failed: BackoffLimitExceeded")
    assert "container scan Error exit code 1" in result["msg"]
    [pod] = result["job"]["pod_failures"]
    assert pod["phase"] == "Failed" and pod["containers"][0]["reason"] == "Error"

    found = jobs(batch, namespace)["scan-it"]
    assert [c.type for c in found.status.conditions if c.status == "True" and c.type in ("Complete", "Failed")] == [
        "Failed"]
    assert found.spec.ttl_seconds_after_finished == 604800 and not found.metadata.owner_references


def test_rerun_failed_runs_a_failed_job_again_and_leaves_a_completed_one(batch, namespace):
    entries = {"broken": "scanner:crashloop", "fine": "scanner:1"}
    for name, image in entries.items():
        job(namespace, name=name, image=image, backoff_limit=0, fail_on_job_failure=False)
    before = {name: obj.metadata.uid for name, obj in jobs(batch, namespace).items()}

    never = job(namespace, name="broken", image=entries["broken"], backoff_limit=0, fail_on_job_failure=False)
    assert not never.changed and never["job"]["status"] == "failed" and not never["job"]["rerun"]

    results = {name: job(namespace, name=name, image=image, backoff_limit=0, rerun="failed",
                         fail_on_job_failure=False) for name, image in entries.items()}
    assert results["broken"].changed and results["broken"]["job"]["rerun"], results["broken"].output
    assert results["broken"]["job"]["status"] == "failed"
    assert not results["fine"].changed and results["fine"]["job"]["status"] == "succeeded"

    after = {name: obj.metadata.uid for name, obj in jobs(batch, namespace).items()}
    assert sorted(after) == ["broken-it", "fine-it"]
    assert after["broken-it"] != before["broken-it"] and after["fine-it"] == before["fine-it"]
