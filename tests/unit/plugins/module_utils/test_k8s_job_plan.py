"""job_plan: Job names with run ids, manifests from a CronJob / an image / a spec, the rerun decision,
status, the result record, pod failures and the one-sentence failure. No server."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import job_plan as plan


def cronjob(annotations=None, labels=None):
    return {"kind": "CronJob", "metadata": {"name": "security-update", "namespace": "prod", "uid": "cj-uid"},
            "spec": {"schedule": "0 3 * * 0", "jobTemplate": {
                "metadata": {"labels": labels or {"app": "security-update"}, "annotations": annotations or {}},
                "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never",
                                                                  "containers": [{"name": "u", "image": "u:1"}]}}}}}}


def job(condition=None, **status):
    obj = {"metadata": {"name": "scan-t", "namespace": "prod", "uid": "job-uid",
                        "ownerReferences": [{"kind": "CronJob", "name": "scan"}]},
           "spec": {"backoffLimit": 0}, "status": dict(status)}
    if condition:
        obj["status"]["conditions"] = [{"type": "SuccessCriteriaMet", "status": "True"}, condition]
    return obj


COMPLETE = {"type": "Complete", "status": "True", "lastTransitionTime": "2025-01-15T02:03:12Z"}
FAILED = {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
          "message": "Job has reached the specified backoff limit", "lastTransitionTime": "2025-01-15T02:00:09Z"}


@pytest.mark.parametrize("base, run_id, expected", [
    ("log-cleanup", "20250115", "log-cleanup-20250115"),
    ("log-cleanup", "", "log-cleanup"),
    ("log-cleanup", None, "log-cleanup"),
    ("x" * 70, "t", "x" * 61 + "-t"),
    # Cutting the base never leaves a dash before the run id's own dash.
    ("a" * 52 + "-" * 5 + "b", "20250115", "a" * 52 + "-20250115"),
    ("weekly", 2025, "weekly-2025"),
])
def test_job_name(base, run_id, expected):
    assert plan.job_name(base, run_id) == expected
    assert len(plan.job_name(base, run_id)) <= plan.MAX_NAME


@pytest.mark.parametrize("params, expected", [
    ({"cronjob": "security-update", "run_id": "t"}, "security-update-t"),
    ({"cronjob": "security-update", "name": "update-security-db", "run_id": "t"}, "update-security-db-t"),
    ({"image": "x:1", "name": "log-cleanup", "run_id": ""}, "log-cleanup"),
])
def test_planned_name(params, expected):
    assert plan.planned_name(params) == expected


@pytest.mark.parametrize("params, words", [
    ({"image": "x:1", "run_id": "t"}, "needs a name"),
    ({"image": "x:1", "name": "Log_Cleanup", "run_id": "t"}, "'Log_Cleanup-t' is not valid"),
    ({"image": "x:1", "name": "a", "run_id": "r" * 63}, "at most 63"),
])
def test_planned_name_refuses_bad_names(params, words):
    with pytest.raises(plan.PlanError, match=words):
        plan.planned_name(params)


@pytest.mark.parametrize("params, expected", [
    ({"cronjob": "scan", "image": None, "spec": None}, "cronjob/scan"),
    ({"image": "log-cleaner:latest"}, "image log-cleaner:latest"),
    ({"spec": {}}, "spec"),
])
def test_source_text(params, expected):
    assert plan.source_text(params) == expected


def test_from_cronjob_is_what_kubectl_create_job_from_cronjob_makes():
    manifest = plan.from_cronjob(cronjob(annotations={"runbook": "ent"}), "security-update-t", "prod")
    assert manifest["metadata"] == {
        "name": "security-update-t", "namespace": "prod", "labels": {"app": "security-update"},
        "annotations": {"cronjob.kubernetes.io/instantiate": "manual", "runbook": "ent"},
        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "security-update",
                             "uid": "cj-uid", "controller": True}]}
    assert manifest["spec"] == cronjob()["spec"]["jobTemplate"]["spec"]
    assert (manifest["apiVersion"], manifest["kind"]) == ("batch/v1", "Job")


def test_from_cronjob_template_annotation_wins_and_missing_metadata_is_empty():
    assert plan.from_cronjob(cronjob(annotations={plan.INSTANTIATE_ANNOTATION: "x"}), "n", "p")["metadata"][
        "annotations"] == {plan.INSTANTIATE_ANNOTATION: "x"}
    bare = {"metadata": {"name": "c", "uid": "u"}, "spec": {"jobTemplate": {"spec": {"template": {}}}}}
    manifest = plan.from_cronjob(bare, "c-t", "p")
    assert manifest["metadata"]["labels"] == {} and manifest["spec"] == {"template": {}}


def test_from_image_like_kubectl_create_job_image():
    params = {"name": "log-cleanup", "image": "log-cleaner:latest", "command": ["clean", "--older-than", "7d"],
              "args": None, "env": [{"name": "LEVEL", "value": "debug"}], "backoff_limit": 2,
              "labels": {"team": "sre"}, "annotations": None}
    manifest = plan.from_image(params, "log-cleanup-t", "prod", 604800)
    assert manifest["metadata"] == {"name": "log-cleanup-t", "namespace": "prod", "labels": {"team": "sre"},
                                    "annotations": {}}
    assert manifest["spec"] == {
        "backoffLimit": 2, "ttlSecondsAfterFinished": 604800,
        "template": {"spec": {"restartPolicy": "Never", "containers": [
            {"name": "log-cleanup", "image": "log-cleaner:latest", "command": ["clean", "--older-than", "7d"],
             "env": [{"name": "LEVEL", "value": "debug"}]}]}}}


def test_from_image_without_ttl_or_backoff_limit():
    spec = plan.from_image({"name": "a", "image": "a:1"}, "a-t", "prod", 0)["spec"]
    assert "ttlSecondsAfterFinished" not in spec and "backoffLimit" not in spec


@pytest.mark.parametrize("spec, ttl, expected_ttl", [
    ({"template": {}}, 604800, 604800),
    ({"template": {}, "ttlSecondsAfterFinished": 60}, 604800, 60),
    ({"template": {}}, 0, None),
])
def test_from_spec_adds_the_ttl_unless_set(spec, ttl, expected_ttl):
    params = {"spec": spec, "labels": {"team": "data"}}
    manifest = plan.from_spec(params, "reindex-t", "data", ttl)
    assert manifest["spec"].get("ttlSecondsAfterFinished") == expected_ttl
    assert manifest["metadata"]["labels"] == {"team": "data"} and "ownerReferences" not in manifest["metadata"]
    assert "ttlSecondsAfterFinished" not in spec or spec["ttlSecondsAfterFinished"] == 60  # input untouched


@pytest.mark.parametrize("existing, rerun, expected", [
    (None, "never", plan.CREATE),
    (None, "failed", plan.CREATE),
    (job(FAILED), "failed", plan.RERUN),
    (job(FAILED), "never", plan.KEEP),
    (job(COMPLETE), "failed", plan.KEEP),
    (job(active=1), "failed", plan.KEEP),
    (job({"type": "Failed", "status": "False"}), "failed", plan.KEEP),
])
def test_decide(existing, rerun, expected):
    assert plan.decide(existing, rerun) == expected


@pytest.mark.parametrize("obj, action, check_mode, waited, expected", [
    (None, plan.CREATE, True, False, "would_create"),
    (job(FAILED), plan.RERUN, True, False, "would_rerun"),
    (job(COMPLETE), plan.KEEP, True, False, "succeeded"),
    (job(FAILED), plan.KEEP, False, True, "failed"),
    (job(active=1), plan.KEEP, False, True, "timeout"),
    (job(active=1), plan.CREATE, False, False, "running"),
])
def test_status_of(obj, action, check_mode, waited, expected):
    assert plan.status_of(obj, action, check_mode, waited) == expected


def test_record_of_a_completed_job():
    obj = job(COMPLETE, succeeded=1, startTime="2025-01-15T02:00:01Z", completionTime="2025-01-15T02:03:12Z")
    record = plan.job_record(obj, "prod", "cronjob/scan", "succeeded", created=True, rerun=False, pod_failures=[])
    assert record == {"name": "scan-t", "namespace": "prod", "source": "cronjob/scan", "created": True,
                      "rerun": False, "status": "succeeded", "succeeded": 1, "failed": 0, "active": 0,
                      "start_time": "2025-01-15T02:00:01Z", "completion_time": "2025-01-15T02:03:12Z",
                      "duration_s": 191, "reason": "", "message": "", "owner": "CronJob/scan", "pod_failures": []}


def test_record_of_a_failed_job_takes_the_end_from_the_condition():
    obj = job(FAILED, failed=1, startTime="2025-01-15T02:00:01Z")
    record = plan.job_record(obj, "prod", "cronjob/scan", "failed", created=False, rerun=False, pod_failures=[])
    assert record["completion_time"] == "2025-01-15T02:00:09Z" and record["duration_s"] == 8
    assert (record["reason"], record["failed"]) == ("BackoffLimitExceeded", 1)
    assert record["message"] == "Job has reached the specified backoff limit"


def test_record_in_check_mode_shows_the_manifest_without_status():
    manifest = plan.from_cronjob(cronjob(), "security-update-t", "prod")
    manifest["status"] = {"succeeded": 5}  # never read for a Job that does not exist yet
    record = plan.job_record(manifest, "prod", "cronjob/security-update", "would_create", False, False, [])
    assert record["owner"] == "CronJob/security-update" and record["succeeded"] == 0
    assert record["start_time"] is None and record["duration_s"] is None


def test_record_of_a_running_job_has_no_end():
    record = plan.job_record(job(active=1, startTime="2025-01-15T02:00:01Z"), "prod", "spec", "timeout",
                             False, False, [])
    assert record["completion_time"] is None and record["duration_s"] is None and record["active"] == 1


def pod(name, phase, containers=(), init=(), **status):
    return {"metadata": {"name": name}, "status": {"phase": phase, "containerStatuses": list(containers),
                                                   "initContainerStatuses": list(init), **status}}


def test_pod_failures_skip_succeeded_pods_and_healthy_containers():
    crashed = {"name": "scan", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}
    pulling = {"name": "log-cleanup", "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off"}}}
    fine = {"name": "side", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    running = {"name": "other", "state": {"running": {}}}
    rows = plan.pod_failures([pod("a", "Succeeded", [fine]), pod("b", "Failed", [crashed, fine]),
                              pod("c", "Pending", [pulling, running], reason="", message=""),
                              pod("d", "Failed", reason="Evicted", message="low on memory")])
    assert rows == [
        {"pod": "b", "phase": "Failed", "reason": "", "message": "",
         "containers": [{"name": "scan", "state": "terminated", "reason": "Error", "exit_code": 1, "message": ""}]},
        {"pod": "c", "phase": "Pending", "reason": "", "message": "",
         "containers": [{"name": "log-cleanup", "state": "waiting", "reason": "ImagePullBackOff",
                         "exit_code": None, "message": "Back-off"}]},
        {"pod": "d", "phase": "Failed", "reason": "Evicted", "message": "low on memory", "containers": []}]


def test_pod_failures_include_init_containers_first():
    init = {"name": "migrate", "state": {"terminated": {"exitCode": 2, "reason": "Error", "message": "no db"}}}
    [row] = plan.pod_failures([pod("a", "Failed", init=[init])])
    assert row["containers"] == [{"name": "migrate", "state": "terminated", "reason": "Error", "exit_code": 2,
                                  "message": "no db"}]


def record(status, reason="", message="", pods=()):
    return {"name": "scan-t", "namespace": "prod", "source": "cronjob/scan", "status": status, "reason": reason,
            "message": message, "pod_failures": list(pods)}


@pytest.mark.parametrize("rec, expected", [
    (record("succeeded"), ""),
    (record("running"), ""),
    (record("would_create"), ""),
    (record("failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit", [
        {"pod": "scan-t-x", "phase": "Failed",
         "containers": [{"name": "scan", "reason": "Error", "exit_code": 1}]}]),
     "Job prod/scan-t (cronjob/scan) failed: BackoffLimitExceeded (Job has reached the specified backoff limit); "
     "pod scan-t-x Failed, container scan Error exit code 1."),
    (record("timeout", pods=[{"pod": "p", "phase": "Pending",
                              "containers": [{"name": "c", "reason": "ImagePullBackOff", "exit_code": None}]},
                             {"pod": "q", "phase": "Pending", "containers": []}]),
     "Job prod/scan-t (cronjob/scan) did not finish within its timeout; pod p Pending, container c ImagePullBackOff; "
     "pod q Pending."),
    (record("failed", "DeadlineExceeded"), "Job prod/scan-t (cronjob/scan) failed: DeadlineExceeded."),
])
def test_failure_sentence(rec, expected):
    assert plan.failure_sentence(rec) == expected


def test_manifest_view_keeps_what_was_asked_for_and_how_the_job_stands():
    obj = job(COMPLETE, succeeded=1)
    obj["metadata"].update(resourceVersion="9", labels={}, annotations={"a": "b"})
    assert plan.manifest_view(obj) == {
        "apiVersion": "batch/v1", "kind": "Job", "spec": {"backoffLimit": 0}, "status": "Complete",
        "metadata": {"name": "scan-t", "namespace": "prod", "annotations": {"a": "b"},
                     "ownerReferences": [{"kind": "CronJob", "name": "scan"}]}}
    assert plan.manifest_view(job(None, active=1))["status"] == "Running"
    assert plan.manifest_view(None) == {}


def test_manifest_view_like_the_new_manifest_drops_server_defaults():
    new = plan.from_image({"name": "a", "image": "a:2"}, "a-t", "prod", 0)
    old = plan.from_image({"name": "a", "image": "a:1"}, "a-t", "prod", 0)
    old["metadata"].update(uid="u", labels={"job-name": "a-t"})
    old["spec"].update(completions=1, template={"metadata": {"labels": {"job-name": "a-t"}}, "spec": {
        "restartPolicy": "Never", "dnsPolicy": "ClusterFirst", "containers": [{"name": "a", "image": "a:1", "x": 1}]}})
    old["status"] = {"conditions": [FAILED]}
    view = plan.manifest_view(old, like=new)
    assert view["spec"] == {"template": {"spec": {"restartPolicy": "Never",
                                                  "containers": [{"name": "a", "image": "a:1"}]}}}
    assert view["metadata"] == {"name": "a-t", "namespace": "prod"} and view["status"] == "Failed"
    assert "status" not in plan.manifest_view(new)
