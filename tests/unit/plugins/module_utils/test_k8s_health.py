"""k8s_health: pod, workload, HPA, event and resource classification, as pure functions over API JSON."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import health

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
T = health.DEFAULT_THRESHOLDS


def ts(seconds_ago):
    return health.iso(NOW - seconds_ago)


def pod(name="web-abc12-x1", phase="Running", ready=True, containers=None, age=3600, owner=("ReplicaSet", "web-abc12"),
        template_hash="abc12", conditions=None, deleting=None, spec=None, **status):
    conds = [{"type": "Ready", "status": "True" if ready else "False"}] + list(conditions or [])
    metadata = {"name": name, "namespace": "shop", "creationTimestamp": ts(age),
                "labels": {"app": "web", **({"pod-template-hash": template_hash} if template_hash else {})}}
    if owner:
        metadata["ownerReferences"] = [{"kind": owner[0], "name": owner[1], "controller": True}]
    if deleting is not None:
        metadata["deletionTimestamp"] = ts(deleting)
    return {"metadata": metadata,
            "spec": {"nodeName": "node-1", "containers": [{"name": "app"}], **(spec or {})},
            "status": {"phase": phase, "conditions": conds,
                       "containerStatuses": containers if containers is not None else [running()], **status}}


def running(name="app", ready=True, restarts=0, last_reason=None):
    status = {"name": name, "ready": ready, "restartCount": restarts, "state": {"running": {"startedAt": "x"}}}
    if last_reason:
        status["lastState"] = {"terminated": {"exitCode": 137 if last_reason == "OOMKilled" else 1, "reason": last_reason}}
    return status


def waiting(reason, message=None, restarts=0, last_reason=None, name="app"):
    status = {"name": name, "ready": False, "restartCount": restarts,
              "state": {"waiting": {"reason": reason, "message": message}}}
    if last_reason:
        status["lastState"] = {"terminated": {"exitCode": 137 if last_reason == "OOMKilled" else 1, "reason": last_reason}}
    return status


UNSCHEDULABLE = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                 "message": "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."}


# ------------------------------------------------------------------------------ helpers

@pytest.mark.parametrize(("text", "value"), [
    ("250m", 0.25), ("1", 1.0), ("1.5", 1.5), ("12345678n", 0.012345678), ("500u", 0.0005),
    ("128Mi", 128 * 2 ** 20), ("1Gi", 2 ** 30), ("2k", 2000.0), ("1e3", 1000.0), ("64M", 64e6), (2, 2.0),
    (None, None), ("", None), ("12 cores", None), ("5Xi", None),
])
def test_parse_quantity(text, value):
    result = health.parse_quantity(text)
    assert result == pytest.approx(value) if value is not None else result is None


@pytest.mark.parametrize(("text", "expected"), [
    ("2027-01-15T08:00:00Z", NOW),
    ("2027-01-15T07:59:59.500000Z", NOW - 0.5),
    ("2027-01-15T07:59:59.123456789Z", NOW - 0.876544),
    ("2027-01-15T08:00:00+00:00", NOW),
    (None, None), ("yesterday", None),
])
def test_parse_time(text, expected):
    result = health.parse_time(text)
    assert result == pytest.approx(expected) if expected is not None else result is None


@pytest.mark.parametrize("name", ["Shop", "shop_1", "-shop", "shop-", "", "a" * 64, None, 5])
def test_invalid_namespace_names_fail_in_one_sentence(name):
    with pytest.raises(health.HealthInputError, match=r"^namespaces: .* is not a valid namespace name .*\.$"):
        health.check_namespace_name(name)


@pytest.mark.parametrize("name", ["shop", "platform-v2-stable", "a", "0", "a" * 63])
def test_valid_namespace_names(name):
    assert health.check_namespace_name(name) == name


@pytest.mark.parametrize(("given", "message"), [
    ({"restarts": -1}, "thresholds.restarts must not be negative, not -1."),
    ({"cpu_percent": 95, "cpu_critical_percent": 90},
     "thresholds.cpu_critical_percent (90) must not be below thresholds.cpu_percent (95)."),
    ({"memory_critical_percent": 50}, "thresholds.memory_critical_percent (50) must not be below thresholds.memory_percent (85.0)."),
])
def test_bad_thresholds(given, message):
    with pytest.raises(health.HealthInputError) as exc:
        health.merge_thresholds(given)
    assert str(exc.value) == message


def test_thresholds_default_and_merge():
    merged = health.merge_thresholds({"restarts": 3, "cpu_percent": None})
    assert merged["restarts"] == 3 and merged["cpu_percent"] == 80.0 and merged["pending_seconds"] == 300


@pytest.mark.parametrize(("the_pod", "workload"), [
    (pod(), "Deployment/web"),
    (pod(owner=("ReplicaSet", "web-other"), template_hash="abc12"), "ReplicaSet/web-other"),
    (pod(owner=("ReplicaSet", "web-abc12"), template_hash=None), "ReplicaSet/web-abc12"),
    (pod(owner=("StatefulSet", "db")), "StatefulSet/db"),
    (pod(owner=("DaemonSet", "agent")), "DaemonSet/agent"),
    (pod(owner=("Job", "migrate-1")), "Job/migrate-1"),
    (pod(owner=None), None),
])
def test_workload_of(the_pod, workload):
    assert health.workload_of(the_pod) == workload


# ------------------------------------------------------------------------------ pods

@pytest.mark.parametrize(("the_pod", "severity", "problem"), [
    (pod(), None, None),
    (pod(ready=False, containers=[waiting("CrashLoopBackOff", "back-off 40s", restarts=3, last_reason="Error")]),
     "critical", "CrashLoopBackOff"),
    (pod(phase="Pending", ready=False, containers=[waiting("ImagePullBackOff", "Back-off pulling image")], age=5),
     "critical", "ImagePullBackOff"),
    (pod(phase="Pending", ready=False, containers=[waiting("ErrImagePull")], age=5), "critical", "ErrImagePull"),
    (pod(phase="Pending", ready=False, containers=[waiting("CreateContainerConfigError", "secret missing")], age=5),
     "critical", "CreateContainerConfigError"),
    # Unschedulable counts at once, whatever the age.
    (pod(phase="Pending", ready=False, containers=[], conditions=[UNSCHEDULABLE], age=2), "critical", "Unschedulable"),
    # Still starting: fine within the grace period, a warning after it.
    (pod(phase="Pending", ready=False, containers=[waiting("ContainerCreating")], age=30), None, None),
    (pod(phase="Pending", ready=False, containers=[waiting("ContainerCreating")], age=600), "warning",
     "ContainerCreating"),
    (pod(phase="Pending", ready=False, containers=[], age=600), "warning", "Pending"),
    (pod(ready=False, containers=[running(ready=False)], age=30), None, None),
    (pod(ready=False, containers=[running(ready=False)], age=600), "warning", "NotReady"),
    # Restarts over the threshold on a pod that serves now.
    (pod(containers=[running(restarts=6, last_reason="Error")]), "warning", "RestartsOverThreshold"),
    (pod(containers=[running(restarts=5)]), None, None),
    # Back after an OOM kill.
    (pod(containers=[running(restarts=1, last_reason="OOMKilled")]), "warning", "OOMKilled"),
    # OOMKilled right now (terminated, not yet restarted).
    (pod(ready=False, containers=[{"name": "app", "ready": False, "restartCount": 0,
                                   "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]),
     "critical", "OOMKilled"),
    (pod(phase="Succeeded", ready=False, owner=("Job", "j"),
         containers=[{"name": "app", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]), None, None),
    (pod(phase="Failed", ready=False, containers=[], reason="Evicted", message="The node was low on memory."),
     "warning", "Evicted"),
    # Being deleted: fine for a while, a warning when stuck.
    (pod(deleting=10), None, None),
    (pod(deleting=900), "warning", "Terminating"),
])
def test_pod_row_classification(the_pod, severity, problem):
    row = health.pod_row(the_pod, NOW, T)
    assert (row["severity"], row["problem"]) == (severity, problem)
    assert row["namespace"] == "shop" and row["age_seconds"] is not None


def test_crashloop_after_oom_kill_says_so():
    row = health.pod_row(pod(ready=False, containers=[waiting("CrashLoopBackOff", "back-off 5m", restarts=9,
                                                              last_reason="OOMKilled")]), NOW, T)
    assert row["problem"] == "CrashLoopBackOff" and row["oom_killed"] and row["restarts_over_threshold"]
    assert row["message"] == "back-off 5m; last terminated OOMKilled"


def test_pod_counts():
    pods = [pod("a"), pod("b", ready=False, containers=[waiting("CrashLoopBackOff", restarts=7)]),
            pod("c", phase="Pending", ready=False, containers=[waiting("ImagePullBackOff")]),
            pod("d", phase="Succeeded", ready=False, containers=[]),
            pod("e", phase="Failed", ready=False, containers=[], reason="Evicted")]
    rows = [health.pod_row(p, NOW, T) for p in pods]
    assert health.pod_counts(pods, rows) == {
        "total": 5, "running": 2, "ready": 1, "pending": 1, "succeeded": 1, "failed": 1, "not_running": 2,
        "not_ready": 1, "restarts": 7, "restarts_over_threshold": 1, "unhealthy": 3}


# ------------------------------------------------------------------------------ workloads

def deployment(name="web", replicas=3, available=3, ready=None, updated=None, progressing=None, generation=1,
               observed=1):
    status = {"observedGeneration": observed, "replicas": replicas, "updatedReplicas": replicas if updated is None else updated,
              "readyReplicas": available if ready is None else ready, "availableReplicas": available}
    if progressing:
        status["conditions"] = [{"type": "Progressing", "status": "False", "reason": progressing,
                                 "message": f'ReplicaSet "{name}-abc12" has timed out progressing.'}]
    return {"metadata": {"name": name, "namespace": "shop", "generation": generation},
            "spec": {"replicas": replicas, "progressDeadlineSeconds": 600}, "status": status}


@pytest.mark.parametrize(("obj", "severity", "problem"), [
    (deployment(), None, None),
    (deployment(available=0), "critical", "Unavailable"),
    (deployment(available=2), "warning", "Degraded"),
    (deployment(available=0, progressing="ProgressDeadlineExceeded"), "critical", "ProgressDeadlineExceeded"),
    (deployment(replicas=0, available=0), None, None),
    # Not yet observed by the controller: no verdict on stale status.
    (deployment(available=0, generation=2, observed=1), None, None),
])
def test_deployment_rows(obj, severity, problem):
    row = health.workload_row("Deployment", obj, [])
    assert (row["severity"], row["problem"]) == (severity, problem)


def test_workload_message_names_its_broken_pods():
    pods = [pod(f"web-abc12-{i}", ready=False, containers=[waiting("CrashLoopBackOff", "back-off", restarts=3)])
            for i in range(2)] + [pod("other-1", owner=("ReplicaSet", "other-abc12"))]
    rows = [health.pod_row(p, NOW, T) for p in pods]
    row = health.workload_row("Deployment", deployment(replicas=2, available=0), rows)
    assert row["unhealthy_pods"] == 2
    assert row["message"].startswith("0 of 2 replicas available; 2 pods CrashLoopBackOff: web-abc12-0 (")


def test_statefulset_and_daemonset_rows():
    sts = {"metadata": {"name": "db", "generation": 1},
           "spec": {"replicas": 3}, "status": {"observedGeneration": 1, "replicas": 3, "readyReplicas": 1,
                                               "updatedReplicas": 3, "currentRevision": "r1", "updateRevision": "r1"}}
    row = health.workload_row("StatefulSet", sts, [])
    assert (row["severity"], row["problem"], row["available"]) == ("warning", "Degraded", 1)
    ds = {"metadata": {"name": "agent", "generation": 1}, "spec": {},
          "status": {"observedGeneration": 1, "desiredNumberScheduled": 3, "currentNumberScheduled": 3,
                     "updatedNumberScheduled": 3, "numberReady": 3, "numberAvailable": 3}}
    row = health.workload_row("DaemonSet", ds, [])
    assert (row["severity"], row["complete"], row["desired"]) == (None, True, 3)


# ------------------------------------------------------------------------------ HPAs

def hpa(current=3, low=2, high=10, active=True, able=True, metric_now=45):
    conditions = [{"type": "AbleToScale", "status": "True" if able else "False", "reason": "SucceededGetScale"
                   if able else "FailedGetScale", "message": "ok" if able else "cannot get scale"},
                  {"type": "ScalingActive", "status": "True" if active else "False",
                   "reason": "ValidMetricFound" if active else "FailedGetResourceMetric",
                   "message": "fine" if active else "unable to get metrics for resource cpu"}]
    return {"metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": low, "maxReplicas": high,
                     "metrics": [{"type": "Resource",
                                  "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]},
            "status": {"currentReplicas": current, "desiredReplicas": current, "conditions": conditions,
                       "currentMetrics": [{"type": "Resource",
                                           "resource": {"name": "cpu", "current": {"averageUtilization": metric_now}}}]}}


@pytest.mark.parametrize(("obj", "severity", "problem", "at_max"), [
    (hpa(), None, None, False),
    (hpa(current=10), "warning", "AtMaxReplicas", True),
    (hpa(active=False), "warning", "FailedGetResourceMetric", False),
    (hpa(able=False), "warning", "FailedGetScale", False),
    (hpa(current=10, active=False), "warning", "AtMaxReplicas", True),
])
def test_hpa_rows(obj, severity, problem, at_max):
    row = health.hpa_row(obj)
    assert (row["severity"], row["problem"], row["at_max"]) == (severity, problem, at_max)
    assert row["target"] == "Deployment/web" and (row["min_replicas"], row["max_replicas"]) == (2, 10)
    assert row["metrics"] == [{"type": "Resource", "name": "cpu", "target_utilization": 70,
                               "current_utilization": 45, "target_value": None, "current_value": None}]


def test_hpa_at_max_and_not_scaling_reports_both():
    row = health.hpa_row(hpa(current=10, active=False))
    assert row["message"] == "10 replicas, at its maximum of 10; unable to get metrics for resource cpu"


def test_hpa_min_replicas_defaults_to_one():
    obj = hpa()
    del obj["spec"]["minReplicas"]
    assert health.hpa_row(obj)["min_replicas"] == 1


# ------------------------------------------------------------------------------ events

def event(reason, age, kind="Pod", name="web-1", etype="Warning", stamp="lastTimestamp"):
    result = {"type": etype, "reason": reason, "message": f"{reason} happened", "count": 2,
              "involvedObject": {"kind": kind, "name": name}, "metadata": {"creationTimestamp": ts(age + 100)}}
    result[stamp] = ts(age)
    return result


def test_recent_events_filters_sorts_and_limits():
    events = [event("Old", 7200), event("BackOff", 60), event("FailedScheduling", 10, stamp="eventTime"),
              event("Pulled", 5, etype="Normal"), event("Unhealthy", 30)]
    rows = health.recent_events(events, NOW, max_age=3600, limit=2)
    assert [r["reason"] for r in rows] == ["FailedScheduling", "Unhealthy"]
    assert rows[0]["last_seen"] == ts(10) and rows[0]["count"] == 2 and rows[0]["age_seconds"] == 10


# ------------------------------------------------------------------------------ resources

def resourced_pod(name, cpu_req="100m", cpu_lim="500m", mem_req="64Mi", mem_lim="128Mi"):
    resources = {"requests": {k: v for k, v in (("cpu", cpu_req), ("memory", mem_req)) if v},
                 "limits": {k: v for k, v in (("cpu", cpu_lim), ("memory", mem_lim)) if v}}
    return pod(name, spec={"containers": [{"name": "app", "resources": resources}]})


def usage(name, cpu, memory):
    return {"metadata": {"name": name}, "containers": [{"name": "app", "usage": {"cpu": cpu, "memory": memory}}]}


@pytest.mark.parametrize(("cpu", "memory", "severity", "cpu_pct", "mem_pct"), [
    ("100000000n", "32Mi", None, 20.0, 25.0),
    ("420m", "32Mi", "warning", 84.0, 25.0),
    ("460m", "32Mi", "critical", 92.0, 25.0),
    ("100m", "112Mi", "warning", 20.0, 87.5),
    ("100m", "125Mi", "critical", 20.0, 97.7),
])
def test_resource_usage_against_limits(cpu, memory, severity, cpu_pct, mem_pct):
    row = health.resource_row(resourced_pod("a"), usage("a", cpu, memory), T)
    assert (row["severity"], row["cpu_percent"], row["memory_percent"]) == (severity, cpu_pct, mem_pct)
    assert row["problem"] == ("HighResourceUsage" if severity else None)


def test_pods_without_limits_are_reported_against_requests_without_problems():
    row = health.resource_row(resourced_pod("a", cpu_lim=None, mem_lim=None), usage("a", "300m", "100Mi"), T)
    assert row["cpu_percent"] is None and row["cpu_request_percent"] == 300.0 and row["severity"] is None


def test_resources_without_metrics_are_unavailable_not_errors():
    pods = [resourced_pod("a"), resourced_pod("b", cpu_req=None, cpu_lim=None), pod("c", phase="Pending", ready=False)]
    report = health.resources_report(pods, [], metrics_available=False, thresholds=T)
    assert [r["name"] for r in report["pods"]] == ["a", "b"]
    assert report["with_metrics"] == 0 and report["without_requests"] == 1 and report["without_limits"] == 1
    assert all(r["cpu_usage_millicores"] is None and r["severity"] is None for r in report["pods"])


# ------------------------------------------------------------------------------ namespace and summary

def test_kinds_for_sections():
    assert health.kinds_for(["pods"]) == ["Pod"]
    assert health.kinds_for(["workloads", "hpas"]) == ["Pod", "Deployment", "StatefulSet", "DaemonSet",
                                                       "HorizontalPodAutoscaler"]
    assert health.kinds_for(["resources", "events"]) == ["Pod", "Event", "PodMetrics"]


def test_namespace_report_and_summary():
    objects = {
        "Pod": [pod("web-abc12-1"), pod("web-abc12-2", ready=False, containers=[waiting("CrashLoopBackOff", restarts=3)]),
                pod("lonely", owner=None, phase="Pending", ready=False, containers=[], conditions=[UNSCHEDULABLE])],
        "Deployment": [deployment(replicas=2, available=1)],
        "StatefulSet": [], "DaemonSet": [],
        "HorizontalPodAutoscaler": [hpa(current=10)],
    }
    report, problems = health.namespace_report("shop", objects, NOW, T, ["pods", "workloads", "hpas"])
    assert [r["name"] for r in report["pods"]] == ["lonely", "web-abc12-2"]
    assert report["pod_counts"]["unhealthy"] == 2 and report["workloads"][0]["problem"] == "Degraded"
    assert "events" not in report and "resources" not in report
    missing, missing_problems = health.namespace_report("gone", {"Pod": []}, NOW, T, ["pods"], exists=False)
    problems = health.sort_problems(problems + missing_problems)
    assert [(p["severity"], p["category"], p["name"], p["reason"]) for p in problems] == [
        ("critical", "pod", "lonely", "Unschedulable"),
        ("critical", "pod", "web-abc12-2", "CrashLoopBackOff"),
        ("warning", "namespace", "gone", "NamespaceNotFound"),
        ("warning", "workload", "web", "Degraded"),
        ("warning", "hpa", "web", "AtMaxReplicas"),
    ]
    assert problems[1]["workload"] == "Deployment/web" and problems[0]["workload"] is None
    total = health.summary({"shop": report, "gone": missing}, problems)
    assert total["status"] == "critical" and total["missing_namespaces"] == ["gone"]
    assert (total["pods"], total["unhealthy_pods"], total["workloads_unhealthy"], total["hpas_at_max"]) == (3, 2, 1, 1)
    assert total["problems"] == {"critical": 2, "warning": 3}
    assert total["problems_by_category"] == {"namespace": 1, "pod": 2, "workload": 1, "hpa": 1, "resources": 0,
                                             "volume": 0, "node": 0}


def test_all_pods_and_healthy_summary():
    report, problems = health.namespace_report("shop", {"Pod": [pod("a"), pod("b")]}, NOW, T, ["pods"], all_pods=True)
    assert [r["name"] for r in report["pods"]] == ["a", "b"] and problems == []
    assert health.summary({"shop": report}, problems)["status"] == "ok"


@pytest.mark.parametrize(("severities", "expected"), [
    ([], "ok"), ([None, "warning"], "warning"), (["warning", "critical"], "critical"), (["ok"], "ok"),
])
def test_worst(severities, expected):
    assert health.worst(severities) == expected
