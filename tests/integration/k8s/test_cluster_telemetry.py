"""The local cluster's telemetry is real: the metrics API the HPA controller scales on, and pod logs.

kwok emulates the usage (pod annotations, tests/k8s/telemetry/) and serves the log files a test
writes; metrics-server, the HPA controller and the apiserver's pods/log are the real programs.
H7 and H8 are tested on these figures in test_k8s_health_info.py and
tests/integration/playbooks/test_daily_health_check.py; this file proves the plumbing itself.
"""

from __future__ import annotations

import pytest

kubernetes = pytest.importorskip("kubernetes")

from tests.harness.k8s_telemetry import clear_logs, cri_log, seed_logs, usage_annotations  # noqa: E402
from tests.integration.waiting import wait_until  # noqa: E402


def busy_deployment(name, cpu_usage):
    labels = {"app": name}
    resources = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "128Mi"}}
    return {"metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels, "annotations": usage_annotations(cpu_usage, "32Mi")},
                                  "spec": {"containers": [{"name": "app", "image": f"{name}:1", "resources": resources}]}}}}


def test_hpa_scales_up_under_emulated_load(ns, apps, api, k8s_cluster):
    """Each pod uses 300m against a 100m request (300 %) with a 50 % target: the HPA controller,
    fed by metrics-server, raises the Deployment from 1 replica to its maximum of 4."""
    from kubernetes import client as k8s

    apps.create_namespaced_deployment(ns, busy_deployment("busy", "300m"))
    k8s.AutoscalingV2Api(api).create_namespaced_horizontal_pod_autoscaler(ns, {
        "metadata": {"name": "busy"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "busy"},
                 "minReplicas": 1, "maxReplicas": 4,
                 "metrics": [{"type": "Resource", "resource": {
                     "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]}})

    def hpa():
        return k8s.AutoscalingV2Api(api).read_namespaced_horizontal_pod_autoscaler("busy", ns)

    # Metrics arrive two scrapes after the pod starts; the controller then scales at once (it may
    # double per step), so this waits on the server's state, not on a clock.
    # The controller scales the Deployment, then writes its own status: wait for both.
    wait_until(lambda: (apps.read_namespaced_deployment("busy", ns).spec.replicas or 0) == 4
               and hpa().status.desired_replicas == 4, "the HPA to scale busy to 4 replicas", timeout=150)
    status = hpa().status
    [cpu] = [m for m in status.current_metrics or [] if m.resource and m.resource.name == "cpu"]
    assert cpu.resource.current.average_utilization == pytest.approx(300, abs=5)
    active = {c.type: c for c in status.conditions}
    assert active["ScalingActive"].status == "True"
    assert active["ScalingLimited"].status == "True" and active["ScalingLimited"].reason == "TooManyReplicas"


def test_pod_logs_are_served_with_since_tail_and_previous(ns, apps, core, k8s_cluster, request):
    """kubectl logs semantics through the real apiserver: the window (--since), --tail and the
    previous container's logs, from the CRI files a test writes."""
    apps.create_namespaced_deployment(ns, busy_deployment("talker", "10m"))
    wait_until(lambda: (apps.read_namespaced_deployment("talker", ns).status.ready_replicas or 0) == 1,
               "talker to be ready")
    current = cri_log([(2 * 86400, "ERROR two days ago"), (3600, "INFO started"), (60, "ERROR upstream timeout")])
    previous = cri_log([(7200, "panic: ERROR out of memory")], stream="stderr")
    [pod] = seed_logs(k8s_cluster, ns, "app=talker", current, previous)
    request.addfinalizer(lambda: clear_logs(k8s_cluster, ns))

    def read(**query):
        # The client decodes a log body as text only without preloading (its known bytes-repr quirk).
        response = core.read_namespaced_pod_log(pod, ns, _preload_content=False, **query)
        return response.data.decode().splitlines()

    assert read() == ["ERROR two days ago", "INFO started", "ERROR upstream timeout"]
    assert read(since_seconds=86400) == ["INFO started", "ERROR upstream timeout"]
    assert read(tail_lines=1) == ["ERROR upstream timeout"]
    assert read(previous=True) == ["panic: ERROR out of memory"]
