# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_health_info's runner: list what the sections need, in parallel, and classify it per namespace.

The classification is the pure functions of _k8s/health.py (nodes.py, volumes.py, logs.py); this
file only fetches and groups. Many listed namespaces are read with one cluster-wide request per kind
(the namespaces that were not asked for left out by field selector), as ``kubectl get -A`` does,
rather than one request per namespace and kind.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import health
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import KubeError, connect
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.health_args import check_options
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.log_reader import LogReader
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.logs import targets
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.nodes import TERMINAL_PHASES, nodes_report

MAX_WORKERS = 8
# Answers of the metrics API that mean "no metrics here", not "the check failed".
METRICS_UNAVAILABLE = {
    404: "the metrics API (metrics.k8s.io) is not served by this cluster (no metrics-server)",
    503: "the metrics API (metrics.k8s.io) is registered but its server does not answer",
    403: "reading the metrics API (metrics.k8s.io) is forbidden for this user",
}
# From this many listed namespaces on, each kind is read with one cluster-wide request ...
CLUSTER_WIDE_MIN = 4
# ... leaving out up to this many namespaces that were not asked for by field selector (more are dropped here).
MAX_EXCLUDED = 25
# Pods that still hold resources on their node.
ACTIVE_PODS = ",".join(f"status.phase!={phase}" for phase in TERMINAL_PHASES)


def list_scope(namespaces, wanted, existing):
    """(``namespaced`` or ``cluster``, namespaces to leave out by field selector) for the lists to make.

    Every namespace, or at least CLUSTER_WIDE_MIN listed ones that are not outnumbered by the others,
    are read cluster-wide; a few listed namespaces, or any when the namespaces cannot be listed
    (a namespaced service account), one by one.
    """
    if not namespaces:
        return "cluster", []
    if existing is None or len(wanted) < CLUSTER_WIDE_MIN:
        return "namespaced", []
    others = sorted(name for name in existing if name not in set(wanted))
    if len(others) > len(wanted):
        return "namespaced", []
    return "cluster", others if len(others) <= MAX_EXCLUDED else []


def field_selector(kind, excluded, all_pods):
    """The field selector of a cluster-wide list: Warning events only, minus the namespaces left out."""
    parts = ["type=Warning"] if kind == "Event" else []
    # The metrics API takes no field selectors; the node check needs the pods of every namespace.
    if kind != "PodMetrics" and not (kind == "Pod" and all_pods):
        parts += [f"metadata.namespace!={name}" for name in excluded]
    return ",".join(parts) or None


def group_by_namespace(fetched, kinds, namespaces, existing):
    """{namespace: {kind: items}} from ``fetch``'s answer.

    Asked namespaces come back in the order asked, each with every kind (empty when it does not exist),
    filled from per-namespace lists or from cluster-wide ones (items of other namespaces dropped);
    without asked namespaces, cluster-wide lists are split by their items' namespace, plus the existing
    namespaces without items.
    """
    if namespaces:
        grouped = {ns: {kind: list(fetched.get((ns, kind), [])) for kind in kinds} for ns in namespaces}
        for (ns, kind), items in fetched.items():
            if ns is None:
                for item in items:
                    owner = (item.get("metadata") or {}).get("namespace")
                    if owner in grouped:
                        grouped[owner][kind].append(item)
        return grouped
    names = set(existing or ())
    for (_ns, kind), items in fetched.items():
        names.update((item.get("metadata") or {}).get("namespace") for item in items)
    names.discard(None)
    grouped = {ns: {kind: [] for kind in kinds} for ns in sorted(names)}
    for (_ns, kind), items in fetched.items():
        for item in items:
            ns = (item.get("metadata") or {}).get("namespace")
            if ns in grouped:
                grouped[ns][kind].append(item)
    return grouped


class HealthReader:
    """Lists what the sections need, in parallel, and classifies it per namespace."""

    def __init__(self, api, options, params):
        self.api = api
        self.options = options
        self.params = params
        self.calls = 0
        self.metrics = {"available": None, "reason": None}

    def existing_namespaces(self):
        """Names of all namespaces, or None when listing them is forbidden (a namespaced service account)."""
        self.calls += 1
        try:
            items = self.api.list("Namespace")["items"]
        except KubeError as exc:
            if exc.status == 403:
                return None
            raise
        return {(item.get("metadata") or {}).get("name") for item in items}

    def fetch(self, jobs):
        """{key: items or the KubeError} for ``jobs`` ({key: (kind, namespace, field selector)}), in parallel."""
        self.calls += len(jobs)
        results = {}
        if not jobs:
            return results
        with ThreadPoolExecutor(max_workers=max(1, min(MAX_WORKERS, len(jobs)))) as pool:
            futures = {key: pool.submit(self.api.list, kind, namespace, field_selector=selector)
                       for key, (kind, namespace, selector) in jobs.items()}
            for key, future in futures.items():
                try:
                    results[key] = future.result()["items"]
                except KubeError as exc:
                    results[key] = exc
        return results

    def _metrics_answer(self, results):
        """PodMetrics failures that mean "no metrics" become RV(metrics) and empty lists."""
        for key, value in results.items():
            if key[1] == "PodMetrics" and isinstance(value, KubeError) and value.status in METRICS_UNAVAILABLE:
                self.metrics = {"available": False, "reason": METRICS_UNAVAILABLE[value.status]}
                results[key] = []
        if any(key[1] == "PodMetrics" for key in results) and self.metrics["available"] is None:
            self.metrics["available"] = True

    def read(self, namespaces, wanted, existing, kinds, nodes):
        """(objects by (namespace, kind), nodes answer, pods of every namespace or an error) in one parallel round."""
        scope, excluded = list_scope(namespaces, wanted, existing)
        every_pod = nodes and scope == "cluster" and "Pod" in kinds
        if scope == "cluster":
            jobs = {(None, kind): (kind, None, field_selector(kind, excluded, every_pod)) for kind in kinds}
        else:
            jobs = {(ns, kind): (kind, ns, "type=Warning" if kind == "Event" else None) for ns in wanted for kind in kinds}
        if nodes:
            jobs[("nodes", "Node")] = ("Node", None, None)
            if not every_pod:
                jobs[("nodes", "Pod")] = ("Pod", None, ACTIVE_PODS)
        results = self.fetch(jobs)
        self._metrics_answer(results)
        node_answer = results.pop(("nodes", "Node"), None)
        node_pods = results.pop(("nodes", "Pod"), results.get((None, "Pod")))
        failed = [value for value in results.values() if isinstance(value, KubeError)]
        if failed and scope == "cluster" and namespaces and all(value.status == 403 for value in failed):
            # Allowed to list namespaces but not everything cluster-wide: read the asked ones one by one.
            return self.read(namespaces, wanted, None, kinds, nodes)
        if failed:
            raise failed[0]
        return results, node_answer, node_pods

    def nodes(self, answer, pods):
        """The nodes report; forbidden lists make it (or its requests) unavailable rather than fail the check."""
        if isinstance(answer, KubeError):
            if answer.status != 403:
                raise answer
            return {"available": False, "reason": f"listing nodes is forbidden for this user: {answer}",
                    "requests_summed": False, "nodes": [], "ready": 0, "not_ready": 0, "with_pressure": 0,
                    "unschedulable": 0, "over_requests_threshold": 0}
        if isinstance(pods, KubeError):
            if pods.status != 403:
                raise pods
            pods = None
        return nodes_report(answer, pods, self.options["thresholds"])

    def logs(self, grouped, problems):
        """The ``logs`` section's rows: the listed Deployments, else those found (the ones with a problem first),
        read concurrently."""
        opts = self.options["logs"]
        found = [{"namespace": ns, "name": (d.get("metadata") or {}).get("name")}
                 for ns, objects in grouped.items()
                 for d in sorted(objects.get("Deployment") or [], key=lambda o: (o.get("metadata") or {}).get("name") or "")]
        chosen = targets(opts["deployments"], troubled_first(found, problems), opts["max_deployments"])
        pods = {ns: objects.get("Pod") or [] for ns, objects in grouped.items() if "Pod" in objects}
        deployments = {ns: {(d.get("metadata") or {}).get("name") for d in objects.get("Deployment") or []}
                       for ns, objects in grouped.items() if "Deployment" in objects}
        reader = LogReader(self.api, opts, MAX_WORKERS)
        try:
            rows = reader.run(chosen, pods, deployments, listed=bool(opts["deployments"]))
        finally:
            self.calls += reader.calls
        return {"since_seconds": opts["since_seconds"], "pattern": opts["pattern"].pattern, "deployments": rows}

    def run(self):
        options = self.options
        sections = options["sections"]
        started = time.monotonic()
        now = time.time()
        namespaces = options["namespaces"]
        existing = self.existing_namespaces()
        kinds = health.kinds_for(sections)
        wanted = [ns for ns in namespaces if existing is None or ns in existing]
        nodes_wanted = "nodes" in sections
        fetched, node_answer, node_pods = (self.read(namespaces, wanted, existing, kinds, nodes_wanted)
                                           if (wanted or not namespaces) else ({}, None, None))
        if nodes_wanted and node_answer is None:  # every listed namespace is missing: the nodes are still there
            fetched_nodes = self.fetch({("nodes", "Node"): ("Node", None, None), ("nodes", "Pod"): ("Pod", None, ACTIVE_PODS)})
            node_answer, node_pods = fetched_nodes[("nodes", "Node")], fetched_nodes[("nodes", "Pod")]
        grouped = group_by_namespace(fetched, kinds, namespaces, existing)
        reports, problems = {}, []
        for ns, objects in grouped.items():
            exists = None if existing is None else ns in existing
            report, found = health.namespace_report(
                ns, objects, now, options["thresholds"], sections, exists=exists,
                all_pods=self.params["all_pods"], events_max_age=options["events_max_age"],
                events_limit=self.params["events_limit"], metrics_available=bool(self.metrics["available"]))
            reports[ns] = report
            problems.extend(found)
        result = {"changed": False}
        nodes = None
        if nodes_wanted:
            nodes = self.nodes(node_answer, node_pods)
            problems.extend(health.node_problems(nodes))
            result["nodes"] = nodes
        if "logs" in sections:
            result["logs"] = self.logs(grouped, problems)
        problems = health.sort_problems(problems)
        result.update(namespaces=reports, problems=problems, summary=health.summary(reports, problems, nodes),
                      metrics=self.metrics, api_calls=self.calls, duration_seconds=round(time.monotonic() - started, 3))
        return result


def troubled_first(found, problems):
    """The Deployments found, those with a problem (of their own or of a pod) first, each group in its order."""
    troubled = {(p["namespace"], p["workload"]) for p in problems if (p.get("workload") or "").startswith("Deployment/")}
    return sorted(found, key=lambda d: (d["namespace"], f"Deployment/{d['name']}") not in troubled)


def run_module(module):
    """Normalise the options, read the cluster and exit with the report (or one sentence)."""
    try:
        options = check_options(module.params)
    except health.HealthInputError as exc:
        module.fail_json(msg=str(exc))
    api = connect(module)
    try:
        result = HealthReader(api, options, module.params).run()
    except KubeError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)
