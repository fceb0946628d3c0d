"""Prometheus exposition for the sandbox: a request counter and a latency histogram per route and status.

Series (text format 0.0.4), each with ``api`` (v1, v2, v3), ``method``, ``route`` (the path
template, such as ``/api/v1/experiments/{experiment_id}``) and ``code``:

* ``platform_http_requests_total`` (counter)
* ``platform_http_request_duration_seconds`` (histogram, buckets from store.LATENCY_BUCKETS)

plus gauges from the database: ``platform_experiments{status}`` on V1,
``platform_quarantine_records`` on V3 and ``platform_active_deployment_info`` on V2.
"""

from __future__ import annotations

import threading

from tests.platform_sandbox.store import LATENCY_BUCKETS

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs):
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs) + "}"


class Registry:
    """Thread-safe request counters and latency histograms, keyed by (api, method, route, code)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.histograms = {}

    def observe(self, api, method, route, code, seconds):
        key = (api, method, route, str(code))
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            hist = self.histograms.setdefault(key, {"buckets": [0] * len(LATENCY_BUCKETS), "sum": 0.0, "count": 0})
            for i, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    hist["buckets"][i] += 1
            hist["sum"] += seconds
            hist["count"] += 1

    def render(self, api, gauges):
        lines = [
            "# HELP platform_http_requests_total HTTP requests served, by API, method, route template and status code.",
            "# TYPE platform_http_requests_total counter",
        ]
        with self.lock:
            counts = sorted((k, v) for k, v in self.counts.items() if k[0] == api)
            hists = sorted((k, dict(v, buckets=list(v["buckets"]))) for k, v in self.histograms.items() if k[0] == api)
        for (a, method, route, code), value in counts:
            labels = _labels((("api", a), ("method", method), ("route", route), ("code", code)))
            lines.append(f"platform_http_requests_total{labels} {value}")
        lines += [
            "# HELP platform_http_request_duration_seconds Time to serve HTTP requests, by API, method, route template and status code.",
            "# TYPE platform_http_request_duration_seconds histogram",
        ]
        for (a, method, route, code), hist in hists:
            base = (("api", a), ("method", method), ("route", route), ("code", code))
            for bound, count in zip(LATENCY_BUCKETS, hist["buckets"]):
                lines.append(f"platform_http_request_duration_seconds_bucket{_labels(base + (('le', f'{bound:g}'),))} {count}")
            lines.append(f"platform_http_request_duration_seconds_bucket{_labels(base + (('le', '+Inf'),))} {hist['count']}")
            lines.append(f"platform_http_request_duration_seconds_sum{_labels(base)} {hist['sum']:.6f}")
            lines.append(f"platform_http_request_duration_seconds_count{_labels(base)} {hist['count']}")
        if api == "v1":
            lines += ["# HELP platform_experiments Experiments by status.", "# TYPE platform_experiments gauge"]
            for status, value in sorted(gauges["experiments"].items()):
                lines.append(f"platform_experiments{_labels((('status', status),))} {value}")
        if api == "v3":
            lines += ["# HELP platform_quarantine_records Quarantine records held by the V3 API.",
                      "# TYPE platform_quarantine_records gauge",
                      f"platform_quarantine_records {gauges['quarantine_records']}"]
        if api == "v2":
            lines += ["# HELP platform_active_deployment_info The experiment V2 serves (1 while one is promoted).",
                      "# TYPE platform_active_deployment_info gauge"]
            if gauges["active_experiment"]:
                lines.append(f"platform_active_deployment_info{_labels((('experiment_id', gauges['active_experiment']),))} 1")
        return "\n".join(lines) + "\n"
