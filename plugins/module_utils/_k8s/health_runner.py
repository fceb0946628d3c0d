# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_health_info's runner: list what the sections need, in parallel, and classify it per namespace.

The classification is the pure functions of _k8s/health.py; this file only fetches and groups.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import health
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import KubeError, connect
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.health_args import check_options

MAX_WORKERS = 8
# Answers of the metrics API that mean "no metrics here", not "the check failed".
METRICS_UNAVAILABLE = {
    404: "the metrics API (metrics.k8s.io) is not served by this cluster (no metrics-server)",
    503: "the metrics API (metrics.k8s.io) is registered but its server does not answer",
    403: "reading the metrics API (metrics.k8s.io) is forbidden for this user",
}


def group_by_namespace(fetched, kinds, namespaces, existing):
    """{namespace: {kind: items}} from ``fetch``'s answer.

    Asked namespaces come back in the order asked, each with every kind (empty when it does not exist);
    cluster-wide lists are split by their items' namespace, plus the existing namespaces without items.
    """
    if namespaces:
        return {ns: {kind: fetched.get((ns, kind), []) for kind in kinds} for ns in namespaces}
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

    def _list(self, kind, namespace):
        field_selector = "type=Warning" if kind == "Event" else None
        return self.api.list(kind, namespace, field_selector=field_selector)["items"]

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

    def fetch(self, namespaces, kinds):
        """{(namespace or None, kind): items}; PodMetrics failures that mean "no metrics" become RV(metrics)."""
        jobs = [(ns, kind) for ns in (namespaces or [None]) for kind in kinds]
        self.calls += len(jobs)
        results = {}
        with ThreadPoolExecutor(max_workers=max(1, min(MAX_WORKERS, len(jobs)))) as pool:
            futures = [(job, pool.submit(self._list, job[1], job[0])) for job in jobs]
            first_error = None
            for job, future in futures:
                try:
                    results[job] = future.result()
                except KubeError as exc:
                    if job[1] == "PodMetrics" and exc.status in METRICS_UNAVAILABLE:
                        self.metrics = {"available": False, "reason": METRICS_UNAVAILABLE[exc.status]}
                        results[job] = []
                    elif first_error is None:
                        first_error = exc
        if first_error is not None:
            raise first_error
        if "PodMetrics" in kinds and self.metrics["available"] is None:
            self.metrics["available"] = True
        return results

    def run(self):
        options = self.options
        started = time.monotonic()
        now = time.time()
        namespaces = options["namespaces"]
        existing = self.existing_namespaces()
        kinds = health.kinds_for(options["sections"])
        wanted = [ns for ns in namespaces if existing is None or ns in existing]
        fetched = self.fetch(wanted, kinds) if (wanted or not namespaces) else {}
        grouped = group_by_namespace(fetched, kinds, namespaces, existing)
        reports, problems = {}, []
        for ns, objects in grouped.items():
            exists = None if existing is None else ns in existing
            report, found = health.namespace_report(
                ns, objects, now, options["thresholds"], options["sections"], exists=exists,
                all_pods=self.params["all_pods"], events_max_age=options["events_max_age"],
                events_limit=self.params["events_limit"], metrics_available=bool(self.metrics["available"]))
            reports[ns] = report
            problems.extend(found)
        problems = health.sort_problems(problems)
        return {"changed": False, "namespaces": reports, "problems": problems,
                "summary": health.summary(reports, problems), "metrics": self.metrics,
                "api_calls": self.calls, "duration_seconds": round(time.monotonic() - started, 3)}


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
