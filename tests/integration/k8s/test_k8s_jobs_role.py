"""The k8s_jobs role against the real control plane: the paths the molecule scenario does not take.

molecule/k8s_jobs covers Jobs from CronJobs and from an image, a failed Job, the idempotent second
run and the failure of the play. Here: check mode creates nothing, a Job from a full spec, a Job
whose pods never start (timeout, with the pods' waiting reason), a failed Job run again with
k8s_jobs_rerun_failed, and a missing CronJob. Each test works in its own namespace; the server's
state is read with the Python client.
"""

from __future__ import annotations

import json
import sys
import uuid

import pytest

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client as k8s  # noqa: E402
from kubernetes import config as k8s_config  # noqa: E402

from tests.integration.ansible_run import run_playbook  # noqa: E402

pytestmark = pytest.mark.slow

PLAYBOOK = """
- name: Run the k8s_jobs role
  hosts: localhost
  gather_facts: false
  roles:
    - role: sre.runbooks.k8s_jobs
"""


@pytest.fixture
def namespace(k8s_cluster):
    k8s_config.load_kube_config(config_file=str(k8s_cluster.kubeconfig))
    core = k8s.CoreV1Api()
    name = f"jobs-{uuid.uuid4().hex[:8]}"
    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)


def cronjob(ns, name, image):
    body = {
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name, "namespace": ns},
        "spec": {"schedule": "0 3 * * 0", "suspend": True, "jobTemplate": {"spec": {
            "backoffLimit": 0,
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": name, "image": image}]}}}}},
    }
    return k8s.BatchV1Api().create_namespaced_cron_job(ns, body)


def jobs(ns):
    return {job.metadata.name: job for job in k8s.BatchV1Api().list_namespaced_job(ns).items}


def run_role(tmp_path, ns, check=False, expect_rc=0, **role_vars):
    """ansible-playbook with the role; returns (changed count, report dict or None, output)."""
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    role_vars = {"k8s_jobs_namespace": ns, "k8s_jobs_run_id": "t", "k8s_jobs_poll_interval": 1,
                 "k8s_jobs_report_dir": str(tmp_path / "reports"), **role_vars}
    proc = run_playbook(tmp_path / "play.yml", role_vars, inventory="localhost,", check=check,
                        options=["-c", "local", "-e", f"ansible_python_interpreter={sys.executable}"],
                        env={"ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false"})
    output = proc.stdout[-6000:] + proc.stderr[-2000:]
    assert proc.returncode == expect_rc, output
    report_file = tmp_path / "reports" / "k8s_jobs-localhost.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else None
    changed = int(output.split("changed=")[-1].split()[0]) if "changed=" in output else -1
    return changed, report, output


def test_check_mode_creates_nothing_then_spec_job_runs(namespace, tmp_path):
    cronjob(namespace, "security-update", "security-updater:1.4")
    spec = {"backoffLimit": 1, "template": {"metadata": {"labels": {"app": "reindex"}},
                                            "spec": {"restartPolicy": "OnFailure",
                                                     "containers": [{"name": "reindex", "image": "db-tools:3"}]}}}
    job_list = [{"cronjob": "security-update"}, {"name": "reindex", "spec": spec, "labels": {"team": "data"}}]

    changed, report = run_role(tmp_path, namespace, check=True, k8s_jobs_list=job_list)[:2]
    assert changed > 0 and jobs(namespace) == {}
    assert [job["status"] for job in report["jobs"]] == ["would_create", "would_create"]

    changed, report = run_role(tmp_path, namespace, k8s_jobs_list=job_list)[:2]
    assert changed > 0 and report["changed"] and report["ok"]
    found = jobs(namespace)
    assert sorted(found) == ["reindex-t", "security-update-t"]
    reindex = found["reindex-t"]
    assert reindex.metadata.labels["team"] == "data" and reindex.metadata.owner_references is None
    assert reindex.spec.backoff_limit == 1 and reindex.spec.ttl_seconds_after_finished == 604800
    assert reindex.spec.template.spec.restart_policy == "OnFailure"
    assert [job["status"] for job in report["jobs"]] == ["succeeded", "succeeded"]

    # A check run after the real one: nothing would change, and the results are still reported.
    changed, report = run_role(tmp_path, namespace, check=True, k8s_jobs_list=job_list)[:2]
    assert changed == 0 and [job["status"] for job in report["jobs"]] == ["succeeded", "succeeded"]


def test_job_that_never_starts_times_out_with_the_pod_reason(namespace, tmp_path):
    report, output = run_role(
        tmp_path, namespace, expect_rc=2, k8s_jobs_timeout=4,
        k8s_jobs_list=[{"name": "log-cleanup", "image": "log-cleaner:imagepullbackoff"}])[1:]
    [job] = report["jobs"]
    assert job["status"] == "timeout" and job["created"] and not report["ok"]
    [pod] = job["pod_failures"]
    assert pod["phase"] == "Pending" and pod["containers"][0]["reason"] == "ImagePullBackOff"
    assert "Job " + namespace + "/log-cleanup-t (image log-cleaner:imagepullbackoff) did not finish within its timeout" in output
    assert "container log-cleanup ImagePullBackOff" in output
    assert jobs(namespace)["log-cleanup-t"].status.active == 1


def test_failed_job_runs_again_only_when_asked(namespace, tmp_path):
    cronjob(namespace, "broken-scan", "scanner:crashloop")
    job_list = [{"cronjob": "broken-scan"}]
    run_role(tmp_path, namespace, k8s_jobs_fail_on_error=False, k8s_jobs_list=job_list)
    first = jobs(namespace)["broken-scan-t"].metadata.uid

    changed, report = run_role(tmp_path, namespace, k8s_jobs_fail_on_error=False, k8s_jobs_list=job_list)[:2]
    assert changed == 0 and jobs(namespace)["broken-scan-t"].metadata.uid == first
    assert report["jobs"][0]["status"] == "failed" and not report["jobs"][0]["created"]

    changed, report = run_role(tmp_path, namespace, k8s_jobs_fail_on_error=False, k8s_jobs_rerun_failed=True,
                               k8s_jobs_list=job_list)[:2]
    again = jobs(namespace)["broken-scan-t"]
    assert changed > 0 and again.metadata.uid != first
    assert again.metadata.owner_references[0].kind == "CronJob"
    assert report["jobs"][0]["rerun"] and report["jobs"][0]["status"] == "failed"


def test_missing_cronjob_is_named(namespace, tmp_path):
    output = run_role(tmp_path, namespace, expect_rc=2, k8s_jobs_list=[{"cronjob": "compliance-audit"}])[2]
    assert f"CronJob compliance-audit does not exist in namespace {namespace}" in output
    assert jobs(namespace) == {}
