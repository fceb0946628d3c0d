"""Which workloads a plan covers, their pods and history (workloads.py), the prices (cost.py) and the options."""

from __future__ import annotations

import re

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._capacity import cost
from ansible_collections.sre.runbooks.plugins.module_utils._capacity import workloads as wl
from ansible_collections.sre.runbooks.plugins.module_utils._capacity.plan_args import check_options
from ansible_collections.sre.runbooks.plugins.module_utils._capacity.recommend import CapacityError

GIB = 2 ** 30
PRICES = cost.check_prices({"cpu_core_hour": 0.04, "memory_gb_hour": 0.005})


def obj(kind, name, uid=None, owner=None, phase=None, containers=None):
    metadata = {"name": name, "namespace": "shop", "uid": uid or f"uid-{name}"}
    if owner:
        metadata["ownerReferences"] = [{"uid": owner, "controller": True}]
    result = {"kind": kind, "metadata": metadata, "spec": {}}
    if phase:
        result["status"] = {"phase": phase}
    if containers is not None:
        result["spec"]["containers"] = containers
    return result


# ------------------------------------------------------------------------------ selection

def test_select_by_names_in_kind_order():
    found = {"Deployment": [obj("Deployment", "web"), obj("Deployment", "api")],
             "StatefulSet": [obj("StatefulSet", "db")]}
    chosen = wl.select("shop", found, wl.KINDS, names=["db", "web"])
    assert [(kind, item["metadata"]["name"]) for kind, item in chosen] == [("Deployment", "web"), ("StatefulSet", "db")]


def test_select_refuses_unknown_names_and_empty_selectors():
    with pytest.raises(CapacityError, match=r"^No Deployment, StatefulSet or DaemonSet named nope in namespace shop\.$"):
        wl.select("shop", {"Deployment": [obj("Deployment", "web")]}, wl.KINDS, names=["nope"])
    with pytest.raises(CapacityError, match=r"^No Deployment in namespace shop matches app=x\.$"):
        wl.select("shop", {"Deployment": []}, ["Deployment"], selector="app=x")
    assert wl.select("shop", {}, wl.KINDS) == []  # an empty namespace is not an error


def test_pods_of_a_deployment_go_through_its_replica_sets():
    dep = obj("Deployment", "web")
    sets = [obj("ReplicaSet", "web-1", uid="rs1", owner="uid-web"), obj("ReplicaSet", "other-1", uid="rs2", owner="x")]
    pods = [obj("Pod", "web-1-a", owner="rs1", phase="Running"), obj("Pod", "web-1-b", owner="rs1", phase="Succeeded"),
            obj("Pod", "other-1-a", owner="rs2", phase="Running"), obj("Pod", "web-1-c", owner="rs1", phase="Pending")]
    assert [p["metadata"]["name"] for p in wl.pods_of(dep, pods, sets)] == ["web-1-a", "web-1-c"]
    sts = obj("StatefulSet", "db")
    assert [p["metadata"]["name"] for p in wl.pods_of(sts, [obj("Pod", "db-0", owner="uid-db")], [])] == ["db-0"]


@pytest.mark.parametrize("kind, name, pod, matches", [
    ("Deployment", "web", "web-7f9b8c6d5f-bbbbb", True),
    ("Deployment", "web", "web-5d8f7c6b9-x2x4z", True),
    ("Deployment", "web", "web-api-5c7d8f9b6c-ddddd", False),
    ("Deployment", "web", "web-0", False),
    ("Deployment", "web", "webs-7f9b8c6d5f-bbbbb", False),
    ("StatefulSet", "db", "db-0", True),
    ("StatefulSet", "db", "db-12", True),
    ("StatefulSet", "db", "db-backup-0", False),
    ("DaemonSet", "agent", "agent-x7k2p", True),
    ("DaemonSet", "agent", "agent-x7k2p-1", False),
    ("Deployment", "a.b", "axb-7f9b8c6d5f-bbbbb", False),
])
def test_pod_patterns_match_the_workload_s_pods_only(kind, name, pod, matches):
    assert bool(re.fullmatch(wl.pod_pattern(kind, name), pod)) is matches


def test_assign_series_groups_by_workload_container_and_pod():
    patterns = {("Deployment", "web"): wl.pod_pattern("Deployment", "web"),
                ("Deployment", "web-api"): wl.pod_pattern("Deployment", "web-api")}
    series = [{"metric": {"pod": "web-7f9b8c6d5f-bbbbb", "container": "app"}, "values": [(1, 0.1)]},
              {"metric": {"pod": "web-api-5c7d8f9b6c-ddddd", "container": "api"}, "values": [(1, 2.0)]},
              {"metric": {"pod": "other-1", "container": "x"}, "values": [(1, 9.0)]},
              {"metric": {"pod": "web-7f9b8c6d5f-bbbbb"}, "values": [(1, 9.0)]}]
    assert wl.assign_series(series, patterns) == {
        ("Deployment", "web"): {"app": {"web-7f9b8c6d5f-bbbbb": [(1, 0.1)]}},
        ("Deployment", "web-api"): {"api": {"web-api-5c7d8f9b6c-ddddd": [(1, 2.0)]}}}


def test_requests_a_limit_alone_implies_and_totals():
    container = {"name": "app", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "250m"}}}
    assert wl.effective_requests(container) == {"cpu": 0.25, "memory": GIB}
    assert wl.current_resources(container) == {"requests": {"cpu": "250m", "memory": None},
                                               "limits": {"cpu": "1", "memory": "1Gi"}}
    pods = [obj("Pod", "a", containers=[container, {"name": "side"}])] * 2
    assert wl.requested_totals(pods) == {"cpu_cores": 0.5, "memory_bytes": 2 * GIB, "pods": 2}


def test_hpa_for_and_replicas():
    hpa = {"metadata": {"name": "web"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                                                 "maxReplicas": 5, "metrics": [{"type": "Resource",
                                                                                "resource": {"name": "cpu"}}]}}
    assert wl.hpa_for("Deployment", "web", [hpa]) == {"name": "web", "min_replicas": 1, "max_replicas": 5,
                                                      "metrics": ["cpu"]}
    assert wl.hpa_for("StatefulSet", "web", [hpa]) is None
    assert wl.replicas("DaemonSet", {}) is None and wl.replicas("Deployment", {"spec": {}}) == 1


def test_promql_string_escapes_backslashes_and_quotes():
    assert wl.promql_string('a\\.b"c') == 'a\\\\.b\\"c'


# ------------------------------------------------------------------------------ cost

@pytest.mark.parametrize("prices, message", [
    ({}, "prices must give cpu_core_hour and memory_gb_hour for a cost report."),
    ({"cpu_core_hour": 1}, "prices is missing memory_gb_hour (the price of one CPU core-hour and of one GiB-hour of memory)."),
    ({"cpu_core_hour": -1, "memory_gb_hour": 1}, "prices.cpu_core_hour must not be negative, not -1."),
    ({"cpu_core_hour": 1, "memory_gb_hour": 1, "hours_per_month": 0}, None),
])
def test_prices_refused_in_one_sentence(prices, message):
    if message is None:  # 0 means "not given": the default month
        assert cost.check_prices(prices)["hours_per_month"] == 730
        return
    with pytest.raises(CapacityError) as caught:
        cost.check_prices(prices)
    assert str(caught.value) == message


def test_workload_cost_requested_used_waste_and_savings():
    requested = {"cpu_cores": 2.0, "memory_bytes": 4 * GIB}
    used = {"cpu_cores": 0.5, "memory_bytes": GIB}
    recommended = {"cpu_cores": 1.0, "memory_bytes": 2 * GIB}
    result = cost.workload_cost(requested, used, recommended, PRICES)
    assert result["requested"]["hourly"] == pytest.approx(2 * 0.04 + 4 * 0.005)
    assert result["requested"]["monthly"] == pytest.approx(730 * 0.1)
    assert result["waste"] == pytest.approx({"cpu_cores": 1.5, "memory_bytes": 3 * GIB, "hourly": 0.075,
                                             "monthly": 730 * 0.075})
    assert result["savings"]["hourly"] == pytest.approx(0.05)
    empty = cost.workload_cost(requested, None, None, PRICES)
    assert empty["used"] is None and empty["waste"] is None and empty["savings"] is None


def test_summary_per_namespace_and_total():
    one = cost.workload_cost({"cpu_cores": 1.0, "memory_bytes": GIB}, {"cpu_cores": 0.5, "memory_bytes": 0.0},
                             {"cpu_cores": 0.5, "memory_bytes": GIB}, PRICES)
    none = cost.workload_cost({"cpu_cores": 1.0, "memory_bytes": 0.0}, None, None, PRICES)
    rows, total = cost.summarize([{"namespace": "b", "cost": one}, {"namespace": "a", "cost": none},
                                  {"namespace": "b", "cost": one}], PRICES)
    assert [(row["namespace"], row["workloads"], row["without_history"]) for row in rows] == [("a", 1, 1), ("b", 2, 0)]
    assert rows[1]["requested"]["cpu_cores"] == 2.0 and rows[1]["savings"]["cpu_cores"] == 1.0
    assert total["requested"]["hourly"] == pytest.approx(3 * 0.04 + 2 * 0.005) and total["currency"] == "USD"
    assert total["used"]["cpu_cores"] == 1.0 and total["without_history"] == 1


# ------------------------------------------------------------------------------ options

BASE = {"namespaces": ["shop"], "kinds": list(wl.KINDS), "names": None, "window": "14d", "step": "75s",
        "rate_window": None, "growth_percents": [25, 50, 100], "cpu_percentile": 95.0, "cpu_limit_percentile": None,
        "memory_margin_percent": 15.0, "cpu_min_millicores": 10, "memory_min_mib": 100, "min_points": 100,
        "target_utilization_percent": 70.0, "replica_basis": "current"}


def test_options_give_spans_in_seconds():
    settings, span = check_options(dict(BASE, rate_window="2m"))
    assert span == {"window": 14 * 86400, "step": 75, "rate_window": 120}
    assert settings["cpu_percentile"] == 95.0
    assert check_options(BASE)[1]["rate_window"] == 75  # the step, as KRR


@pytest.mark.parametrize("changes, message", [
    ({"namespaces": ["Shop"]}, "namespaces: 'Shop' is not a valid namespace name"),
    ({"namespaces": []}, "namespaces must name at least one namespace."),
    ({"kinds": []}, "kinds must name at least one"),
    ({"namespaces": ["a", "b"], "names": ["web"]}, "names picks workloads of one namespace"),
    ({"names": [" "]}, "names must not contain an empty name."),
    ({"window": "1m", "step": "5m"}, "step (5m) must not be longer than window (1m)."),
    ({"window": "365d", "step": "1s"}, "window 365d at step 1s makes more than 200000 points per series"),
    ({"step": "0.5s"}, "step must be at least 1s, not '0.5s'."),
    ({"window": "soon"}, "Invalid window 'soon'"),
    ({"growth_percents": [20000]}, "growth_percents must be at most 10000."),
])
def test_options_refused_in_one_sentence(changes, message):
    with pytest.raises(CapacityError) as caught:
        check_options(dict(BASE, **changes))
    assert str(caught.value).startswith(message) and str(caught.value).endswith(".")
