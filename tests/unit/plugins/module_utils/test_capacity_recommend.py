"""Right-sizing and replica planning (S3): KRR's simple strategy and the HPA formula, as pure functions."""

from __future__ import annotations

import statistics

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._capacity import recommend as rec

MIB = 2 ** 20
SETTINGS = rec.check_settings({})


def settings(**changes):
    return rec.check_settings(changes)


@pytest.mark.parametrize("values", [[3.0], [1.0, 2.0], [5, 1, 4, 2, 3], [0.1 * i for i in range(73)],
                                    [7.5, 7.5, 7.5, 9.0], list(range(1000, 0, -7))])
@pytest.mark.parametrize("percent", [1, 50, 90, 95, 99])
def test_percentile_interpolates_between_ranks_like_numpy_and_prometheus(values, percent):
    expected = values[0] if len(values) == 1 else statistics.quantiles(values, n=100, method="inclusive")[percent - 1]
    assert rec.percentile(values, percent) == pytest.approx(expected)


def test_percentile_edges():
    assert rec.percentile([], 95) is None
    assert rec.percentile([4, 1, 3], 100) == 4 and rec.percentile([4, 1, 3], 0) == 1


@pytest.mark.parametrize("cores, minimum, expected", [
    (0.216115, 10, 0.217), (0.25, 10, 0.25), (0.25000000001, 10, 0.25), (0.2500001, 10, 0.251),
    (0.002, 10, 0.01), (0.0, 0, 0.0), (3.9991, 10, 4.0)])
def test_cpu_rounds_up_to_millicores_with_a_minimum(cores, minimum, expected):
    assert rec.cpu_cores(cores, minimum) == pytest.approx(expected)


@pytest.mark.parametrize("value, minimum, expected", [
    (200 * MIB + 12345, 100, 201 * MIB), (230 * MIB, 100, 230 * MIB), (5 * MIB, 100, 100 * MIB), (2 * MIB + 100, 0, 3 * MIB)])
def test_memory_rounds_up_to_mib_with_a_minimum(value, minimum, expected):
    assert rec.memory_bytes(value, minimum) == expected


@pytest.mark.parametrize("cores, text", [(0.217, "217m"), (2.0, "2"), (0.01, "10m"), (1.5, "1500m")])
def test_cpu_quantity(cores, text):
    assert rec.cpu_quantity(cores) == text


@pytest.mark.parametrize("value, text", [(231 * MIB, "231Mi"), (2 * 2 ** 30, "2Gi"), (1536 * 2 ** 10, "1536Ki"),
                                         (1000, "1000"), (0, "0")])
def test_memory_quantity(value, text):
    assert rec.memory_quantity(value) == text


@pytest.mark.parametrize("changes, message", [
    ({"cpu_percentile": 0}, "cpu_percentile must be above 0 and at most 100, not 0."),
    ({"cpu_percentile": 101}, "cpu_percentile must be above 0 and at most 100, not 101."),
    ({"cpu_limit_percentile": 90}, "cpu_limit_percentile (90) must not be below cpu_percentile (95): the limit would "
                                   "be under the request."),
    ({"memory_margin_percent": -1}, "memory_margin_percent must not be negative, not -1."),
    ({"target_utilization_percent": 0}, "target_utilization_percent must be above 0 and at most 100, not 0."),
    ({"min_points": 0}, "min_points must be at least 1, not 0."),
    ({"growth_percents": [25, -5]}, "growth_percents must not be negative, not 25, -5."),
    ({"replica_basis": "guess"}, "replica_basis must be current or recommended, not 'guess'."),
])
def test_settings_refused_in_one_sentence(changes, message):
    with pytest.raises(rec.CapacityError) as caught:
        rec.check_settings(changes)
    assert str(caught.value) == message


def test_settings_sort_and_deduplicate_growth():
    assert settings(growth_percents=[100, 25, 25, 50])["growth_percents"] == [25, 50, 100]


# ------------------------------------------------------------------------------ one container

def test_krr_simple_cpu_is_the_highest_pod_percentile_and_memory_the_peak_plus_margin():
    cpu = {"a": [0.1] * 95 + [0.9] * 5, "b": [0.2] * 100}
    memory = {"a": [100 * MIB] * 100, "b": [150 * MIB] * 99 + [200 * MIB]}
    result = rec.recommend_container(cpu, memory, SETTINGS)
    assert result["status"] == "ok" and result["message"] == ""
    # a's p95 interpolates between 0.1 and 0.9 at rank 94.05 of 99: 0.1 + 0.05 * 0.8 = 0.14; b's is 0.2.
    assert result["usage"]["cpu_cores"]["percentile"] == pytest.approx(0.2)
    assert result["usage"]["cpu_cores"]["max"] == 0.9
    assert result["recommended"] == {"requests": {"cpu": "200m", "memory": "230Mi"},
                                     "limits": {"cpu": None, "memory": "230Mi"}}
    assert result["recommended_values"]["memory_request_bytes"] == 230 * MIB
    assert result["points"] == {"cpu": 200, "memory": 200} and result["pods"] == 2


def test_a_cpu_limit_percentile_sets_a_limit_never_below_the_request():
    cpu = {"a": [0.1 * (i % 10) for i in range(200)]}
    result = rec.recommend_container(cpu, {"a": [MIB] * 200}, settings(cpu_limit_percentile=100))
    assert result["recommended"]["limits"]["cpu"] == "900m"
    assert result["recommended"]["requests"]["cpu"] == "900m"  # p95 of 0..0.9 is 0.9 as well


def test_minimums_apply():
    result = rec.recommend_container({"a": [0.001] * 100}, {"a": [MIB] * 100}, SETTINGS)
    assert result["recommended"]["requests"] == {"cpu": "10m", "memory": "100Mi"}


def test_too_few_points_leaves_the_resource_out():
    result = rec.recommend_container({"a": [0.3] * 99}, {"a": [MIB] * 150}, SETTINGS)
    assert result["status"] == "insufficient_data"
    assert result["message"] == ("not enough data for a recommendation: CPU has 99 samples, fewer than "
                                 "min_points=100")
    assert result["recommended"] == {"requests": {"memory": "100Mi"}, "limits": {"memory": "100Mi"}}
    assert result["usage"]["cpu_cores"]["percentile"] == pytest.approx(0.3)


def test_no_samples_at_all_and_non_finite_values_are_no_data():
    result = rec.recommend_container({"a": [None, float("nan")]}, {}, SETTINGS)
    assert result["status"] == "no_data" and result["pods"] == 0
    assert result["recommended"] == {"requests": {}, "limits": {}}


# ------------------------------------------------------------------------------ replicas

def test_total_load_sums_pods_at_each_step():
    assert rec.total_load({"a": [(1, 0.1), (2, 0.2)], "b": [(2, 0.3), (3, None)]}) == {1: 0.1, 2: pytest.approx(0.5)}


def test_replicas_follow_the_hpa_formula_on_the_grown_load():
    loads = {"app": {t: 0.35 for t in range(100)}, "sidecar": {t: 0.01 for t in range(100)}}
    hpa = {"name": "web", "min_replicas": 2, "max_replicas": 3, "metrics": ["cpu"]}
    plan = rec.plan_replicas("Deployment", 2, loads, {"app": 0.25, "sidecar": 0.05}, SETTINGS, hpa)
    assert plan["status"] == "ok" and plan["limiting_container"] == "app"
    assert plan["utilization_percent"] == pytest.approx(70.0) and plan["usage_per_replica_cpu_cores"] == pytest.approx(0.175)
    # 0.35 cores at 70 % of 0.25 per replica: 2 now, 2.5 -> 3, 3 -> 3, 4 at +100 %.
    assert [(e["growth_percent"], e["replicas"], e["additional"]) for e in plan["plan"]] == [
        (0, 2, 0), (25, 3, 1), (50, 3, 1), (100, 4, 2)]
    assert [e["exceeds_hpa_max"] for e in plan["plan"]] == [False, False, False, True]


def test_replicas_unavailable_for_daemonsets_and_without_requests():
    assert rec.plan_replicas("DaemonSet", None, {}, {}, SETTINGS)["status"] == "unavailable"
    plan = rec.plan_replicas("Deployment", 2, {"app": {1: 0.5}}, {"app": None}, SETTINGS)
    assert plan["status"] == "unavailable" and "CPU request" in plan["message"]


def test_an_idle_workload_still_needs_one_replica():
    plan = rec.plan_replicas("Deployment", 3, {"app": {1: 0.0, 2: 0.0}}, {"app": 0.5}, SETTINGS)
    assert [e["replicas"] for e in plan["plan"]] == [1, 1, 1, 1]
