# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""capacity_plan_info's runner: list the workloads (Kubernetes), read their history (Prometheus), decide (pure).

Per namespace: one GET of the namespace, one list per kind, pods, ReplicaSets and HPAs, then two range
queries (CPU and memory; more when the window needs more than 10,000 steps) for all selected workloads
at once. The decisions are recommend.py, workloads.py and cost.py.
"""

from __future__ import annotations

import time

from ansible_collections.sre.runbooks.plugins.module_utils._capacity import cost as costs
from ansible_collections.sre.runbooks.plugins.module_utils._capacity import recommend as rec
from ansible_collections.sre.runbooks.plugins.module_utils._capacity import workloads as wl
from ansible_collections.sre.runbooks.plugins.module_utils._capacity.plan_args import check_options
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import KubeError, connect, object_ref
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.health import iso
from ansible_collections.sre.runbooks.plugins.module_utils._slo.prometheus import (
    PrometheusClient,
    PrometheusError,
    parse_time,
    range_chunks,
)


class Planner:
    """One capacity plan over the selected namespaces; :meth:`run` returns the module's result."""

    def __init__(self, params, api, prometheus, plan):
        self.params = params
        self.api = api
        self.prometheus = prometheus
        self.settings, self.span, self.end, self.prices = plan["settings"], plan["span"], plan["end"], plan["prices"]
        self.start = self.end - self.span["window"]

    # -------------------------------------------------------------------------- Kubernetes

    def _check_namespace(self, namespace):
        try:
            self.api.get("Namespace", None, namespace)
        except KubeError as exc:
            if exc.not_found:
                raise rec.CapacityError(f"Namespace {namespace} does not exist.") from None
            if exc.status != 403:  # a namespaced Role may not read namespaces: the lists below still work
                raise

    def _workloads(self, namespace):
        """[(kind, object)] selected in ``namespace``, and its pods, ReplicaSets and HPAs."""
        self._check_namespace(namespace)
        kinds = self.params["kinds"]
        selector = ",".join(self.params.get("label_selectors") or []) or None
        found = {kind: self.api.list(kind, namespace, label_selector=selector)["items"] for kind in kinds}
        chosen = wl.select(namespace, found, kinds, self.params.get("names"), selector)
        if not chosen:
            return [], [], [], []
        pods = self.api.list("Pod", namespace)["items"]
        replica_sets = self.api.list("ReplicaSet", namespace)["items"] if "Deployment" in kinds else []
        hpas = self.api.list("HorizontalPodAutoscaler", namespace)["items"]
        return chosen, pods, replica_sets, hpas

    # -------------------------------------------------------------------------- Prometheus

    def _matchers(self, namespace, patterns):
        union = "|".join(sorted(set(patterns.values())))
        extra = self.params.get("selector") or ""
        return (f'namespace="{wl.promql_string(namespace)}",pod=~"{wl.promql_string(union)}",'
                f'container!="",container!="POD"' + (f",{extra}" if extra.strip() else ""))

    def _range(self, expr):
        series = {}
        for start, end in range_chunks(self.start, self.end, self.span["step"]):
            for item in self.prometheus.query_range(expr, start, end, self.span["step"]):
                key = tuple(sorted(item["metric"].items()))
                series.setdefault(key, {"metric": item["metric"], "values": []})["values"].extend(item["values"])
        return list(series.values())

    def _history(self, namespace, chosen):
        patterns = {(kind, obj["metadata"]["name"]): wl.pod_pattern(kind, obj["metadata"]["name"])
                    for kind, obj in chosen}
        matchers = self._matchers(namespace, patterns)
        cpu = (f"max by (pod, container) (rate({self.params['cpu_metric']}{{{matchers}}}"
               f"[{self.span['rate_window']}s]))")
        memory = (f"max by (pod, container) (max_over_time({self.params['memory_metric']}{{{matchers}}}"
                  f"[{self.span['step']}s]))")
        return wl.assign_series(self._range(cpu), patterns), wl.assign_series(self._range(memory), patterns)

    # -------------------------------------------------------------------------- decisions

    def run(self):
        entries = []
        for namespace in self.params["namespaces"]:
            chosen, pods, replica_sets, hpas = self._workloads(namespace)
            if not chosen:
                continue
            cpu, memory = self._history(namespace, chosen)
            for kind, obj in chosen:
                key = (kind, obj["metadata"]["name"])
                live = wl.pods_of(obj, pods, replica_sets)
                entries.append(self._workload(kind, obj, live, hpas, cpu.get(key) or {}, memory.get(key) or {}))
        return self._result(entries)

    def _workload(self, kind, obj, live, hpas, cpu, memory):
        name, namespace = obj["metadata"]["name"], obj["metadata"]["namespace"]
        containers, loads, plan_requests = [], {}, {}
        recommended_per_pod = {"cpu_cores": 0.0, "memory_bytes": 0.0}
        for container in wl.containers(obj):
            cname = container.get("name")
            cpu_by_pod = {pod: [value for _when, value in samples] for pod, samples in (cpu.get(cname) or {}).items()}
            memory_by_pod = {pod: [value for _when, value in samples]
                             for pod, samples in (memory.get(cname) or {}).items()}
            entry = rec.recommend_container(cpu_by_pod, memory_by_pod, self.settings)
            current = wl.effective_requests(container)
            values = entry["recommended_values"]
            recommended_per_pod["cpu_cores"] += values.get("cpu_request_cores", current["cpu"])
            recommended_per_pod["memory_bytes"] += values.get("memory_request_bytes", current["memory"])
            loads[cname] = rec.total_load(cpu.get(cname))
            basis = current["cpu"] if self.settings["replica_basis"] == "current" else 0.0
            plan_requests[cname] = basis or values.get("cpu_request_cores")
            containers.append(dict({"name": cname, "current": wl.current_resources(container),
                                    "current_values": {"cpu_request_cores": current["cpu"],
                                                       "memory_request_bytes": current["memory"]}}, **entry))
        hpa = wl.hpa_for(kind, name, hpas)
        statuses = {c["status"] for c in containers}
        status = "no_data" if statuses <= {"no_data"} else ("ok" if statuses == {"ok"} else "insufficient_data")
        messages = [f"container {c['name']}: {c['message']}" for c in containers if c["message"]]
        workload = {
            "kind": kind, "namespace": namespace, "name": name, "status": status,
            "message": f"{object_ref(kind, namespace, name)}: {'; '.join(messages)}." if messages else "",
            "replicas": wl.replicas(kind, obj), "live_pods": len(live), "hpa": hpa, "containers": containers,
            "replica_plan": rec.plan_replicas(kind, wl.replicas(kind, obj), loads, plan_requests, self.settings, hpa),
            "requested": wl.requested_totals(live),
            "used": self._used(cpu, memory),
            "recommended": {"cpu_cores": recommended_per_pod["cpu_cores"] * len(live),
                            "memory_bytes": recommended_per_pod["memory_bytes"] * len(live), "pods": len(live)},
        }
        if hpa and set(hpa["metrics"]) & {"cpu", "memory"}:
            workload["message"] = (workload["message"] + " " if workload["message"] else "") + (
                f"HorizontalPodAutoscaler {hpa['name']} scales on {' and '.join(hpa['metrics'])} utilisation of the "
                "requests, so changing them changes when it scales.")
        if self.prices:
            used = workload["used"] if status != "no_data" else None
            recommended = workload["recommended"] if status != "no_data" else None
            workload["cost"] = costs.workload_cost(workload["requested"], used, recommended, self.prices)
        return workload

    @staticmethod
    def _used(cpu, memory):
        """Mean over the window of the workload's total CPU cores and memory bytes (None without history)."""
        result = {}
        for key, grouped in (("cpu_cores", cpu), ("memory_bytes", memory)):
            totals = {}
            for by_pod in grouped.values():
                for when, value in rec.total_load(by_pod).items():
                    totals[when] = totals.get(when, 0.0) + value
            result[key] = sum(totals.values()) / len(totals) if totals else 0.0
        return result

    def _result(self, entries):
        summary = {"workloads": len(entries)}
        for status in ("ok", "insufficient_data", "no_data"):
            summary[status] = sum(1 for entry in entries if entry["status"] == status)
        result = {
            "changed": False, "evaluated_at": iso(self.end), "window": self.params["window"],
            "step": self.params["step"], "rate_window": self.params.get("rate_window") or self.params["step"],
            "settings": self.settings, "workloads": entries, "summary": summary,
            "queries": self.prometheus.queries,
        }
        if self.prices:
            result["namespaces"], result["totals"] = costs.summarize(entries, self.prices)
            result["prices"] = self.prices
        return result

    def no_data_failure(self, result):
        """The one sentence to fail with when no_data=fail and a workload has no history, else None."""
        empty = [entry for entry in result["workloads"] if entry["status"] == "no_data"]
        if not empty:
            return None
        first = empty[0]
        others = f" (and {len(empty) - 1} more workloads)" if len(empty) > 1 else ""
        return (f"Prometheus at {self.prometheus.where} has no {self.params['cpu_metric']} or "
                f"{self.params['memory_metric']} samples for {object_ref(first['kind'], first['namespace'], first['name'])}"
                f"{others} in the {self.params['window']} before {result['evaluated_at']}; check that cAdvisor "
                "metrics of its containers are scraped, or set no_data=report.")


def checked_options(params):
    """{"settings", "span", "end", "prices"} from the options; CapacityError or PrometheusError (one sentence)."""
    settings, span = check_options(params)
    end = parse_time(params.get("evaluation_time")) or time.time()
    prices = costs.check_prices(params["prices"]) if params.get("prices") else None
    return {"settings": settings, "span": span, "end": end, "prices": prices}


def run_module(module):
    """Check the options (before any connection), plan, and exit (or fail with one sentence)."""
    params = module.params
    try:
        plan = checked_options(params)
    except (rec.CapacityError, PrometheusError) as exc:
        module.fail_json(msg=str(exc))
        return
    planner = Planner(params, connect(module), PrometheusClient(params), plan)
    try:
        result = planner.run()
    except (rec.CapacityError, PrometheusError, KubeError) as exc:
        module.fail_json(msg=str(exc))
        return
    failure = planner.no_data_failure(result) if params["no_data"] == "fail" else None
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)
