"""Capacity planning (S3), the cost report (S4) and the requests/limits patch (S5) against the real control
plane and a real Prometheus that starts on promtool-backfilled history (history.py), whose percentiles,
maxima and means are known exactly.

The recommendations must equal the analytic values of that history (within the rounding up to whole
millicores and MiB), Prometheus' own quantile_over_time must agree with the percentile computed from
range-query samples, the cost report must price exactly what the pods request and what the history
used, and applying the plan must roll the pods to the new resources. The S5 tests come last: they
change the workloads the others read.
"""

from __future__ import annotations

import json
import math
from urllib.parse import urlencode
from urllib.request import urlopen

import pytest

from tests.integration.ansible_run import run_playbook
from tests.integration.badinput.hostile import fake_servers
from tests.integration.capacity.history import MIB, NEW_HASH, RATE_WINDOW, Expected, p
from tests.integration.module_batch import run_module_batch
from tests.integration.module_runner import run_module, run_module_tasks
from tests.integration.waiting import wait_until

PLAN = "sre.runbooks.capacity_plan_info"
RESOURCES = "sre.runbooks.k8s_resources"
REVISION = "deployment.kubernetes.io/revision"


def plan_args(capacity, **extra):
    return {"namespaces": [capacity["ns"]], "prometheus_url": capacity["prometheus"]["url"], "window": "12h",
            "step": "5m", "rate_window": f"{RATE_WINDOW}s", "evaluation_time": str(capacity["end"]), **extra}


def by_name(items, name):
    found = [item for item in items if item["name"] == name]
    assert len(found) == 1, [item["name"] for item in items]
    return found[0]


def millicores(cores):
    return f"{math.ceil(round(cores * 1000, 6))}m"


@pytest.fixture(scope="module")
def plan(capacity):
    result = run_module(PLAN, plan_args(capacity, names=["web", "db", "idle"], no_data="report"))
    assert not result.failed and not result.changed, result.output
    return result


@pytest.fixture(scope="module")
def expected(capacity):
    return Expected(capacity["ns"], capacity["other_ns"])


def test_recommendations_equal_the_analytic_percentiles_of_the_history(capacity, plan, expected):
    assert [(w["kind"], w["name"]) for w in plan["workloads"]] == [("Deployment", "idle"), ("Deployment", "web"),
                                                                   ("StatefulSet", "db")]
    web = by_name(plan["workloads"], "web")
    assert web["status"] == "ok" and web["message"] == "", web
    app, sidecar = by_name(web["containers"], "app"), by_name(web["containers"], "sidecar")

    # CPU request: the p95 of each pod's 5-minute rates, highest over the three pods (old and new ReplicaSet).
    p95 = expected.cpu_percentile("web", "app")
    assert app["usage"]["cpu_cores"]["percentile"] == pytest.approx(p95, abs=1e-6)
    assert app["recommended"]["requests"]["cpu"] == millicores(p95) == "217m"
    assert app["recommended"]["limits"]["cpu"] is None  # KRR: no CPU limit
    # Memory: the peak inside the window plus 15 %, rounded up to MiB; the bigger peak before the window is ignored.
    peak = expected.memory_max("web", "app")
    assert app["usage"]["memory_bytes"]["max"] == peak == 200 * MIB + 12345
    memory = f"{math.ceil(peak * 1.15 / MIB)}Mi"
    assert app["recommended"]["requests"]["memory"] == app["recommended"]["limits"]["memory"] == memory == "231Mi"
    assert app["points"] == {"cpu": 217, "memory": 217} and app["pods"] == 3
    assert app["current"] == {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}
    # The sidecar uses less than the minimums (10 millicores, 100 MiB).
    sidecar_p95 = expected.cpu_percentile("web", "sidecar")
    assert sidecar["usage"]["cpu_cores"]["percentile"] == pytest.approx(sidecar_p95, abs=1e-6)
    assert sidecar["recommended"]["requests"] == {"cpu": "10m", "memory": "100Mi"}

    # The StatefulSet's pods are db-0 and db-1.
    db = by_name(plan["workloads"], "db")
    postgres = by_name(db["containers"], "postgres")
    postgres_p95 = expected.cpu_percentile("db", "postgres")
    assert postgres["usage"]["cpu_cores"]["percentile"] == pytest.approx(postgres_p95, abs=1e-6)
    assert postgres["usage"]["memory_bytes"]["max"] == expected.memory_max("db", "postgres")
    assert db["replicas"] == 2 and db["live_pods"] == 2

    idle = by_name(plan["workloads"], "idle")
    assert idle["status"] == "no_data" and idle["containers"][0]["recommended"] == {"requests": {}, "limits": {}}
    assert plan["summary"] == {"workloads": 3, "ok": 2, "insufficient_data": 0, "no_data": 1}
    assert plan["evaluated_at"].endswith("Z") and plan["queries"] == 2


def test_replica_plan_follows_the_total_load(plan, expected):
    replica_plan = by_name(plan["workloads"], "web")["replica_plan"]
    assert replica_plan["status"] == "ok" and replica_plan["limiting_container"] == "app"
    assert replica_plan["current"] == 2 and replica_plan["cpu_request_cores"] == 0.25
    wanted = [expected.replicas("web", "app", 0.25, growth) for growth in (0, 25, 50, 100)]
    assert [entry["replicas"] for entry in replica_plan["plan"]] == wanted == [2, 3, 3, 4]
    assert [entry["growth_percent"] for entry in replica_plan["plan"]] == [0, 25, 50, 100]
    assert [entry["additional"] for entry in replica_plan["plan"]] == [n - 2 for n in wanted]


def test_prometheus_quantile_over_time_agrees_with_the_range_query_percentile(capacity, plan, expected):
    # The highest pod percentile is the new pod b's; Prometheus computes it over the same 5-minute steps.
    pod = f"web-{NEW_HASH}-bbbbb"
    query = (f'quantile_over_time(0.95, rate(container_cpu_usage_seconds_total{{namespace="{capacity["ns"]}",'
             f'pod="{pod}",container="app"}}[{RATE_WINDOW}s])[12h:5m])')
    url = f"{capacity['prometheus']['url']}/api/v1/query?{urlencode({'query': query, 'time': capacity['end']})}"
    with urlopen(url, timeout=10) as answer:  # noqa: S310 - loopback Prometheus of this test
        result = json.load(answer)["data"]["result"]
    assert len(result) == 1, result
    from_prometheus = float(result[0]["value"][1])
    ours = by_name(by_name(plan["workloads"], "web")["containers"], "app")["usage"]["cpu_cores"]["percentile"]
    assert from_prometheus == pytest.approx(ours, abs=1e-9)
    assert from_prometheus == pytest.approx(p(expected.cpu_by_pod("web", "app")[pod], 95), abs=1e-6)


def test_bad_input_is_one_sentence_each(capacity):
    with fake_servers() as fake:
        bad_input_sentences(capacity, fake)


def bad_input_sentences(capacity, fake):
    ns = capacity["ns"]
    base = plan_args(capacity)
    web = dict(base, names=["web"])
    cases = [
        ("unknown workload", PLAN, dict(base, names=["nope"]),
         f"No Deployment, StatefulSet or DaemonSet named nope in namespace {ns}."),
        ("selector matching nothing", PLAN, dict(base, label_selectors=["app=nothing"]),
         f"No Deployment, StatefulSet or DaemonSet in namespace {ns} matches app=nothing."),
        ("unknown namespace", PLAN, dict(base, namespaces=["capacity-no-such-namespace"]),
         "Namespace capacity-no-such-namespace does not exist."),
        ("Prometheus down", PLAN, dict(web, prometheus_url="http://127.0.0.1:1"),
         "Cannot reach Prometheus at http://127.0.0.1:1: connection refused."),
        ("Prometheus answers HTML", PLAN, dict(web, prometheus_url=fake["html"].url),
         f"Prometheus at {fake['html'].url} answered HTTP 200 without a JSON object (is prometheus_url the server's "
         "base URL?)."),
        ("Prometheus never answers", PLAN, dict(web, prometheus_url=fake["blackhole"].url, prometheus_timeout=2),
         f"Cannot reach Prometheus at {fake['blackhole'].url}: no answer within 2s."),
        ("no data", PLAN, dict(base, names=["idle"]),
         f"Prometheus at {capacity['prometheus']['url']} has no container_cpu_usage_seconds_total or "
         f"container_memory_working_set_bytes samples for Deployment {ns}/idle in the 12h before "),
        ("unknown workload (S5)", RESOURCES, {"namespace": ns, "name": "nope", "resources": {"app": {"requests": {
            "cpu": "1"}}}}, f"Deployment {ns}/nope does not exist."),
        ("selector matching nothing (S5)", RESOURCES, {"namespace": ns, "label_selectors": ["app=nothing"],
                                                       "resources": {"*": {"requests": {"cpu": "1"}}}},
         f"No Deployment in namespace {ns} matches app=nothing."),
        ("unknown container (S5)", RESOURCES, {"namespace": ns, "name": "web", "resources": {"nope": {"requests": {
            "cpu": "1"}}}}, f"Deployment {ns}/web has no container named 'nope' (containers: app, sidecar)."),
        ("request above limit (S5)", RESOURCES, {"namespace": ns, "name": "web", "resources": {"app": {"requests": {
            "cpu": "2"}}}}, f"Deployment {ns}/web: the cpu request 2 of container 'app' would exceed its cpu limit 1."),
    ]
    tasks = [{"name": name, module: args, "ignore_errors": True} for name, module, args, _msg in cases]
    results, _proc = run_module_tasks(PLAN, tasks)
    assert len(results) == len(cases)
    for (name, _module, _args, message), result in zip(cases, results):
        assert result.failed, (name, result)
        assert result["msg"].startswith(message), (name, result["msg"])
        assert "\n" not in result["msg"] and result["msg"].endswith("."), (name, result["msg"])


# ------------------------------------------------------------------------------ S4

GIB = 2 ** 30
PRICES = {"cpu_core_hour": 0.04, "memory_gb_hour": 0.005, "currency": "EUR"}


def cost_report(capacity, report_dir, **extra):
    play_vars = {"capacity_namespaces": [capacity["ns"]], "capacity_prometheus_url": capacity["prometheus"]["url"],
                 "capacity_window": "12h", "capacity_step": "5m", "capacity_rate_window": f"{RATE_WINDOW}s",
                 "capacity_evaluation_time": str(capacity["end"]), "capacity_report_dir": str(report_dir), **extra}
    return run_playbook("playbooks/cost_report.yml", play_vars)


def hourly(cpu_cores, memory_bytes):
    return cpu_cores * PRICES["cpu_core_hour"] + memory_bytes / GIB * PRICES["memory_gb_hour"]


def live_requests(core, ns, app):
    """CPU cores and memory bytes the live pods of ``app`` request, read from the API server."""
    units = {"m": 0.001, "Mi": MIB, "Gi": GIB}

    def amount(text):
        for suffix, factor in units.items():
            if text.endswith(suffix):
                return float(text[:-len(suffix)]) * factor
        return float(text)

    pods = [pod for pod in core.list_namespaced_pod(ns, label_selector=f"app={app}").items
            if pod.metadata.deletion_timestamp is None]
    cpu = sum(amount(c.resources.requests["cpu"]) for pod in pods for c in pod.spec.containers)
    memory = sum(amount(c.resources.requests["memory"]) for pod in pods for c in pod.spec.containers)
    return cpu, memory, len(pods)


def test_cost_report_prices_requested_used_waste_and_savings(capacity, expected, core, tmp_path):
    proc = cost_report(capacity, tmp_path, capacity_prices=PRICES)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    report = json.loads((tmp_path / "capacity-cost-platform-cluster.json").read_text())
    plan = report["plan"]
    assert report["action"] == "cost" and plan["prices"]["currency"] == "EUR"
    assert {w["name"]: w["status"] for w in plan["workloads"]} == {
        "idle": "no_data", "web": "ok", "web-api": "ok", "db": "ok"}

    web = by_name(plan["workloads"], "web")["cost"]
    cpu, memory, pods = live_requests(core, capacity["ns"], "web")
    assert (cpu, memory, pods) == (pytest.approx(0.6), 2 * (512 + 64) * MIB, 2)
    assert web["requested"]["cpu_cores"] == pytest.approx(cpu) and web["requested"]["memory_bytes"] == memory
    assert web["requested"]["hourly"] == pytest.approx(hourly(cpu, memory))
    used = expected.used("web")
    assert web["used"]["cpu_cores"] == pytest.approx(used["cpu_cores"], abs=1e-6)
    assert web["used"]["memory_bytes"] == pytest.approx(used["memory_bytes"], abs=1)
    assert web["waste"]["hourly"] == pytest.approx(hourly(cpu - used["cpu_cores"], memory - used["memory_bytes"]))
    # Right-sizing: every live pod at the recommended requests (app 217m/231Mi, sidecar 10m/100Mi).
    recommended_cpu, recommended_memory = pods * (0.217 + 0.010), pods * (231 + 100) * MIB
    assert web["savings"]["cpu_cores"] == pytest.approx(cpu - recommended_cpu)
    assert web["savings"]["monthly"] == pytest.approx(730 * hourly(cpu - recommended_cpu, memory - recommended_memory))

    idle = by_name(plan["workloads"], "idle")["cost"]
    assert idle["used"] is None and idle["savings"] is None and idle["requested"]["cpu_cores"] == pytest.approx(0.1)
    (namespace,) = plan["namespaces"]
    assert namespace["workloads"] == 4 and namespace["without_history"] == 1
    total_requested = sum(w["cost"]["requested"]["monthly"] for w in plan["workloads"])
    assert namespace["requested"]["monthly"] == pytest.approx(total_requested) == pytest.approx(
        plan["totals"]["requested"]["monthly"])
    markdown = (tmp_path / "capacity-cost-platform-cluster.md").read_text()
    assert f"| {capacity['ns']} | Deployment/web | 2 | 0.600 |" in markdown
    assert f"**{capacity['ns']}/web** could save {web['savings']['monthly']:.2f} EUR a month:" in markdown


def test_cost_report_without_prices_fails_in_one_sentence(capacity, tmp_path):
    # As with an inventory without sre_cost_prices (the role's default for capacity_prices).
    proc = cost_report(capacity, tmp_path, sre_cost_prices={})
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output[-4000:]
    assert "The cost report needs prices: set sre_cost_prices (cpu_core_hour and memory_gb_hour" in output
    assert not (tmp_path / "capacity-cost-platform-cluster.json").exists()


# ------------------------------------------------------------------------------ S5

def pod_resources(core, ns, app):
    return [{c.name: c.resources.to_dict() for c in pod.spec.containers}
            for pod in core.list_namespaced_pod(ns, label_selector=f"app={app}").items
            if pod.metadata.deletion_timestamp is None]


def test_applying_the_plan_rolls_the_pods_to_the_recommended_resources(capacity, plan, apps, core):
    ns = capacity["ns"]
    recommendations = [w for w in plan["workloads"] if w["name"] == "web"]
    args = {"recommendations": recommendations, "change_cause": "capacity plan"}
    check, real, check_again, real_again = run_module_batch(RESOURCES, [
        {"args": args, "check": True, "diff": True}, {"args": args, "diff": True}, {"args": args, "check": True},
        {"args": args}])
    assert check.changed and not check.failed, check.output
    assert check["diff"]["before"]["resources"]["app"]["limits"] == {"cpu": "1", "memory": "512Mi"}
    assert check["diff"]["after"]["resources"]["app"] == {"requests": {"cpu": "217m", "memory": "231Mi"},
                                                          "limits": {"memory": "231Mi"}}
    # Check mode stored nothing: the real run still had the change to make.
    assert real.changed and not real.failed, real.output
    entry = real["workloads"][0]
    assert entry["wait"]["outcome"] == "complete" and (entry["revision_before"], entry["revision"]) == (1, 2)
    assert entry["containers_changed"] == ["app", "sidecar"] and not entry["rolled_back"]
    assert not check_again.changed and not real_again.changed, (check_again.output, real_again.output)

    # On the server: a new ReplicaSet, and every live pod runs with the recommended resources.
    dep = apps.read_namespaced_deployment("web", ns)
    assert dep.metadata.annotations[REVISION] == "2" and dep.metadata.annotations["kubernetes.io/change-cause"] == \
        "capacity plan"
    sets = apps.list_namespaced_replica_set(ns, label_selector="app=web").items
    assert sorted(int(rs.metadata.annotations[REVISION]) for rs in sets) == [1, 2]
    want = {"app": {"requests": {"cpu": "217m", "memory": "231Mi"}, "limits": {"memory": "231Mi"}},
            "sidecar": {"requests": {"cpu": "10m", "memory": "100Mi"}, "limits": {"memory": "100Mi"}}}

    def rolled():
        pods = pod_resources(core, ns, "web")
        done = len(pods) == 2 and all({name: {k: v for k, v in res.items() if v} for name, res in pod.items()} == want
                                      for pod in pods)
        return pods if done else None

    wait_until(rolled, "web's pods running with the recommended resources")


def test_a_failed_rollout_puts_the_previous_resources_back(capacity, apps):
    ns = capacity["ns"]
    # More memory than any node has: the new pod stays Pending until the 3 s progress deadline passes.
    result = run_module(RESOURCES, {"namespace": ns, "name": "idle", "wait_timeout": 120,
                                    "resources": {"idle": {"requests": {"memory": "64Ti"}}}})
    assert result.failed and result.changed and result["rolled_back"], result.output
    entry = result["workloads"][0]
    assert entry["wait"]["reason"] == "ProgressDeadlineExceeded" and entry["rollback"]["complete"]
    assert "rolled back to revision 1" in result["msg"] and "\n" not in result["msg"]
    container = apps.read_namespaced_deployment("idle", ns).spec.template.spec.containers[0]
    assert container.resources.requests == {"cpu": "100m", "memory": "128Mi"}
