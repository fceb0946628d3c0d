"""k8s_job's main(): create from a CronJob / an image, check mode, diff, rerun policy, waiting, failures.

The API is the in-memory fake of tests/unit/plugins/fake_kube.py with Job creation added; the
module's JSON is read from stdout, as Ansible reads it. The real control plane is exercised by
tests/integration/k8s/test_k8s_job.py.
"""

from __future__ import annotations

import copy
import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import job_runner
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import KubeError
from ansible_collections.sre.runbooks.plugins.modules import k8s_job

from ..fake_kube import FakeKube

COMPLETE = {"type": "Complete", "status": "True", "lastTransitionTime": "2025-01-15T02:00:05Z"}
FAILED = {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "backoff limit",
          "lastTransitionTime": "2025-01-15T02:00:03Z"}


class FakeJobKube(FakeKube):
    """FakeKube that also creates objects, as POST does (uid and resourceVersion set by the server)."""

    def create(self, kind, namespace, body):
        self.calls.append(("create", kind, body["metadata"]["name"]))
        obj = copy.deepcopy(body)
        obj.setdefault("kind", kind)
        obj["metadata"]["uid"] = f"uid-{self._next_rv()}"
        return copy.deepcopy(self.add(obj))

    def delete(self, kind, namespace, name, uid=None, resource_version=None, propagation_policy=None):
        self.calls.append(("delete", kind, name, propagation_policy))
        self.objects.pop((kind, namespace, name))
        return {}


def cronjob():
    return {"kind": "CronJob", "metadata": {"name": "scan", "namespace": "prod", "uid": "cj-uid"},
            "spec": {"jobTemplate": {"metadata": {"labels": {"app": "scan"}},
                                     "spec": {"backoffLimit": 0, "template": {"spec": {
                                         "restartPolicy": "Never", "containers": [{"name": "scan", "image": "s:1"}]}}}}}}


def existing_job(condition, name="scan-t", **status):
    return {"kind": "Job", "metadata": {"name": name, "namespace": "prod", "uid": "old-uid"},
            "spec": {"backoffLimit": 0},
            "status": {"conditions": [condition] if condition else [], "startTime": "2025-01-15T02:00:00Z", **status}}


def crashed_pod(job_name="scan-t"):
    return {"kind": "Pod", "metadata": {"name": f"{job_name}-x", "namespace": "prod", "labels": {"job-name": job_name}},
            "status": {"phase": "Failed", "containerStatuses": [
                {"name": "scan", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}}


@pytest.fixture
def kube(monkeypatch):
    fake = FakeJobKube([cronjob()])
    monkeypatch.setattr(job_runner, "connect", lambda module: fake)
    return fake


def run(capsys, args, check=False, diff=False, failed=False):
    args = dict({"namespace": "prod", "run_id": "t"}, **args, _ansible_check_mode=check, _ansible_diff=diff)
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exc:
            k8s_job.main()
    result = json.loads(capsys.readouterr().out)
    assert (exc.value.code != 0) == failed and bool(result.get("failed")) == failed, result
    return result


def created(kube):
    return [call for call in kube.calls if call[0] in ("create", "delete")]


def test_check_mode_reports_the_job_from_the_cronjob_and_creates_nothing(kube, capsys):
    result = run(capsys, {"cronjob": "scan"}, check=True, diff=True)
    assert result["changed"] and created(kube) == []
    assert result["job"]["status"] == "would_create" and not result["job"]["created"]
    assert result["job"]["owner"] == "CronJob/scan"
    assert result["definition"]["metadata"]["annotations"] == {"cronjob.kubernetes.io/instantiate": "manual"}
    assert result["diff"]["before"] == {} and result["diff"]["after"]["metadata"]["name"] == "scan-t"


def test_creates_and_waits_until_complete(kube, capsys):
    done = existing_job(COMPLETE, succeeded=1, completionTime="2025-01-15T02:00:05Z")
    kube.script_watch("Job", [("MODIFIED", existing_job(None, active=1)), ("MODIFIED", done)])
    result = run(capsys, {"cronjob": "scan"})
    assert created(kube) == [("create", "Job", "scan-t")]
    assert result["changed"] and "diff" not in result and result["failure"] == ""
    assert {key: result["job"][key] for key in ("status", "created", "succeeded", "duration_s")} == {
        "status": "succeeded", "created": True, "succeeded": 1, "duration_s": 5}


def test_a_completed_job_is_left_alone(kube, capsys):
    kube.add(existing_job(COMPLETE, succeeded=1))
    result = run(capsys, {"cronjob": "scan", "rerun": "failed"}, diff=True)
    assert not result["changed"] and created(kube) == [] and result["definition"] is None
    assert result["job"]["status"] == "succeeded" and result["diff"]["before"] == result["diff"]["after"]


def test_failed_job_fails_the_task_with_the_pod_reason(kube, capsys):
    kube.add(existing_job(FAILED, failed=1))
    kube.add(crashed_pod())
    result = run(capsys, {"cronjob": "scan"}, failed=True)
    assert result["msg"] == ("Job prod/scan-t (cronjob/scan) failed: BackoffLimitExceeded (backoff limit); "
                             "pod scan-t-x Failed, container scan Error exit code 1.")
    assert result["failure"] == result["msg"] and not result["changed"] and created(kube) == []


def test_failed_job_is_reported_without_failing_when_asked(kube, capsys):
    kube.add(existing_job(FAILED, failed=1))
    result = run(capsys, {"cronjob": "scan", "fail_on_job_failure": False})
    assert result["job"]["status"] == "failed" and result["failure"].startswith("Job prod/scan-t")


def test_rerun_failed_deletes_in_the_background_and_creates_again(kube, capsys):
    kube.add(existing_job(FAILED, failed=1))
    kube.script_watch("Job", [("MODIFIED", existing_job(COMPLETE, succeeded=1))])
    result = run(capsys, {"cronjob": "scan", "rerun": "failed"})
    assert created(kube) == [("delete", "Job", "scan-t", "Background"), ("create", "Job", "scan-t")]
    assert result["job"]["rerun"] and result["job"]["created"] and result["job"]["status"] == "succeeded"


def test_rerun_in_check_mode_only_says_so(kube, capsys):
    kube.add(existing_job(FAILED, failed=1))
    result = run(capsys, {"cronjob": "scan", "rerun": "failed"}, check=True)
    assert result["changed"] and created(kube) == [] and result["job"]["status"] == "would_rerun"


def test_image_job_not_waited_for_is_running(kube, capsys):
    result = run(capsys, {"name": "log-cleanup", "image": "log-cleaner:1", "args": ["--all"], "wait": False})
    assert result["job"]["status"] == "running" and result["failure"] == ""
    container = result["definition"]["spec"]["template"]["spec"]["containers"][0]
    assert container == {"name": "log-cleanup", "image": "log-cleaner:1", "args": ["--all"]}
    assert result["definition"]["spec"]["ttlSecondsAfterFinished"] == 604800


def test_timeout_names_the_waiting_container(kube, capsys):
    kube.add(existing_job(None, name="log-cleanup-t", active=1))
    kube.add({"kind": "Pod", "metadata": {"name": "log-cleanup-t-y", "namespace": "prod",
                                          "labels": {"job-name": "log-cleanup-t"}},
              "status": {"phase": "Pending", "containerStatuses": [
                  {"name": "log-cleanup", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}})
    result = run(capsys, {"name": "log-cleanup", "image": "l:imagepullbackoff", "timeout": 0}, failed=True)
    assert result["job"]["status"] == "timeout"
    assert result["msg"] == ("Job prod/log-cleanup-t (image l:imagepullbackoff) did not finish within its timeout; "
                             "pod log-cleanup-t-y Pending, container log-cleanup ImagePullBackOff.")


def test_a_job_deleted_while_waiting_is_named(kube, capsys):
    kube.add(existing_job(None, active=1))
    kube.script_watch("Job", [("DELETED", existing_job(None))])
    result = run(capsys, {"cronjob": "scan"}, failed=True)
    assert result["msg"] == "Job prod/scan-t was deleted while the task waited for it."


@pytest.mark.parametrize("args, message", [
    ({"cronjob": "audit"}, "CronJob audit does not exist in namespace prod, so Job audit-t cannot be created from it."),
    ({"cronjob": "scan", "create": False}, "Job prod/scan-t does not exist, and create=false forbids making it."),
    ({"image": "x:1"}, "A Job from an image or a spec needs a name."),
])
def test_failures_are_one_sentence_and_change_nothing(kube, capsys, args, message):
    result = run(capsys, args, failed=True)
    assert result["msg"] == message and created(kube) == []


def test_exactly_one_source(kube, capsys):
    assert "mutually exclusive" in run(capsys, {"cronjob": "scan", "image": "x:1"}, failed=True)["msg"]
    assert "one of the following is required" in run(capsys, {"name": "x"}, failed=True)["msg"]


def web_deployment():
    return {"kind": "Deployment", "metadata": {"name": "web", "namespace": "prod"},
            "spec": {"template": {"spec": {
                "serviceAccountName": "web", "volumes": [{"name": "cfg", "configMap": {"name": "web"}}],
                "nodeSelector": {"pool": "apps"}, "restartPolicy": "Always",
                "containers": [
                    {"name": "app", "image": "web:1", "ports": [{"containerPort": 80}], "livenessProbe": {},
                     "env": [{"name": "DB_HOST", "value": "db"}], "envFrom": [{"secretRef": {"name": "db"}}],
                     "volumeMounts": [{"name": "cfg", "mountPath": "/etc/web"}]},
                    {"name": "proxy", "image": "envoy:1"}]}}}}


def test_a_job_like_a_deployment_borrows_what_reaches_the_database(kube, capsys):
    kube.add(web_deployment())
    result = run(capsys, {"name": "migrate", "image": "web:2", "command": ["python", "manage.py", "migrate"],
                          "env": [{"name": "EXTRA", "value": "1"}], "like": {"name": "web"}}, check=True)
    pod = result["definition"]["spec"]["template"]["spec"]
    assert {key: pod[key] for key in ("serviceAccountName", "volumes", "nodeSelector", "restartPolicy")} == {
        "serviceAccountName": "web", "volumes": [{"name": "cfg", "configMap": {"name": "web"}}],
        "nodeSelector": {"pool": "apps"}, "restartPolicy": "Never"}
    assert pod["containers"] == [{
        "name": "migrate", "image": "web:2", "command": ["python", "manage.py", "migrate"],
        "env": [{"name": "DB_HOST", "value": "db"}, {"name": "EXTRA", "value": "1"}],
        "envFrom": [{"secretRef": {"name": "db"}}], "volumeMounts": [{"name": "cfg", "mountPath": "/etc/web"}]}]
    assert result["job"]["source"] == "image web:2 like Deployment/web"


@pytest.mark.parametrize("like, message", [
    ({"name": "nope"}, "Deployment prod/nope does not exist, so Job migrate-t cannot be made like it."),
    ({"name": "web", "container": "db"}, "Deployment prod/web has no container 'db' to make the Job like "
                                         "(containers: app, proxy)."),
])
def test_like_names_a_missing_workload_or_container(kube, capsys, like, message):
    kube.add(web_deployment())
    result = run(capsys, {"name": "migrate", "image": "web:2", "like": like}, failed=True)
    assert result["msg"] == message and created(kube) == []


def test_logs_of_the_newest_pod_come_back_or_say_why_not(kube, capsys):
    kube.add(existing_job(COMPLETE, succeeded=1))
    old, new = crashed_pod(), crashed_pod()
    old["metadata"].update(name="scan-t-old", creationTimestamp="2025-01-15T02:00:00Z")
    new["metadata"].update(name="scan-t-new", creationTimestamp="2025-01-15T02:00:09Z")
    kube.add(old)
    kube.add(new)
    asked = []

    def log(namespace, pod, tail_lines=None, container=None):
        asked.append((pod, tail_lines))
        return "Applying 0001... OK\n\nApplying 0002... OK\n"

    kube.log = log
    result = run(capsys, {"cronjob": "scan", "logs": 50})
    assert result["logs"] == {"pod": "scan-t-new", "lines": ["Applying 0001... OK", "Applying 0002... OK"], "error": None}
    assert asked == [("scan-t-new", 50)]

    def refused(namespace, pod, tail_lines=None, container=None):
        raise KubeError('no logs found for container "scan"', 404, "NotFound")

    kube.log = refused
    assert run(capsys, {"cronjob": "scan", "logs": 5})["logs"]["error"] == 'no logs found for container "scan"'
    assert "logs" not in run(capsys, {"cronjob": "scan", "logs": 5}, check=True)
