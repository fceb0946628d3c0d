# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""slo_check's three ways of counting events: Prometheus, the platform's SLO endpoint, HTTP probes.

Every source is built from the module's params and the evaluation time, and offers the same
three things, so slo_check can pick one from a table:

* ``measure(prepared)`` takes the ``(raw option, normalized objective, alerts)`` triples of
  :func:`slo_args.prepare_objectives` and returns ``(objective, counts by window, alerts)``
  triples ready for :func:`evaluate.evaluate_objective`;
* ``queries``, the number of queries or requests it made;
* ``extra``, result keys of its own (the probe report).

Sources only count; whether an objective holds is decided in :mod:`evaluate`.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.sre.runbooks.plugins.module_utils._http.client import TransportError, describe_url, exchange
from ansible_collections.sre.runbooks.plugins.module_utils._slo.evaluate import (
    SloError,
    histogram_quantile,
    histogram_share_above,
    prometheus_duration,
    sample_quantile,
    windows_needed,
)
from ansible_collections.sre.runbooks.plugins.module_utils._slo.prometheus import PrometheusClient, single_value

WINDOW_PLACEHOLDER = "${window}"
RAW_QUERIES = ("total_query", "error_query", "bucket_query", "value_query")


class SourceError(Exception):
    """A source could not deliver the counts; the message is one sentence."""


def _matchers(*parts):
    """'{a="1",b="2"}' from selector texts written with or without braces ('' when there are none)."""
    inner = ",".join(p.strip().strip("{}").strip() for p in parts if p and p.strip().strip("{}").strip())
    return "{" + inner + "}" if inner else ""


class PrometheusSource:
    """Counts per window with instant queries at ``at`` (None: now), each distinct query run once."""

    def __init__(self, params, at):
        self.params = params
        self.client = PrometheusClient(params)
        self.at = at
        self.extra = {}
        self.cache = {}

    @property
    def queries(self):
        return self.client.queries

    def measure(self, prepared):
        return [(objective, self.counts(objective, raw, windows_needed(objective, alerts)), alerts)
                for raw, objective, alerts in prepared]

    def counts(self, objective, raw, windows):
        s = self._settings(raw)
        data = {}
        if objective["sli"] == "threshold":
            expr = s["value_query"].replace(WINDOW_PLACEHOLDER, prometheus_duration(objective["window"]))
            return {objective["window"]: {"series": [{"labels": sample["metric"], "value": sample["value"]}
                                                     for sample in self._query(expr)]}}
        for label in windows:
            window = prometheus_duration(label)
            if objective["sli"] == "latency":
                data[label] = self._latency(objective, s, window, main=label == objective["window"])
            else:
                data[label] = self._events(s, window)
        return data

    def _query(self, expr):
        # Objectives share windows (and often selectors): the cache keeps the query count honest.
        if expr not in self.cache:
            self.cache[expr] = self.client.query(expr, self.at)
        return self.cache[expr]

    def _scalar(self, expr):
        return single_value(self._query(expr), expr, self.client.where)

    def _settings(self, raw):
        """The objective's own query settings, the module-level selectors filling the gaps."""
        own = raw.get("prometheus") or {}
        p = self.params
        return {
            "metric": own.get("metric"),
            "selector": own.get("selector") if own.get("selector") is not None else p["selector"],
            "error_selector": own.get("error_selector") if own.get("error_selector") is not None else p["error_selector"],
            **{k: own.get(k) for k in RAW_QUERIES},
        }

    def _events(self, s, window):
        metric = s["metric"] or self.params["requests_metric"]
        total_q = s["total_query"] or f"sum(increase({metric}{_matchers(s['selector'])}[{WINDOW_PLACEHOLDER}]))"
        error_q = (s["error_query"] or
                   f"sum(increase({metric}{_matchers(s['selector'], s['error_selector'])}[{WINDOW_PLACEHOLDER}]))")
        total = self._scalar(total_q.replace(WINDOW_PLACEHOLDER, window))
        bad = self._scalar(error_q.replace(WINDOW_PLACEHOLDER, window)) if total is not None else None
        # A counter has no error series until the first failure: no series next to requests means none failed.
        return {"total": total, "bad": 0.0 if total is not None and bad is None else bad}

    def _latency(self, objective, s, window, main):
        metric = s["metric"] or self.params["latency_metric"]
        buckets_q = s["bucket_query"] or f"sum by (le) (increase({metric}_bucket{_matchers(s['selector'])}[{WINDOW_PLACEHOLDER}]))"
        result = {"total": None, "bad": None}
        if s["bucket_query"] or not s["value_query"]:
            buckets = []
            for sample in self._query(buckets_q.replace(WINDOW_PLACEHOLDER, window)):
                le = sample["metric"].get("le")
                if le is None or sample["value"] is None:
                    continue
                buckets.append((float(le), sample["value"]))
            if buckets:
                total, bad = histogram_share_above(objective["target"], buckets)
                result.update(total=total, bad=bad, buckets=buckets)
        if main:
            if s["value_query"]:
                result["value"] = self._scalar(s["value_query"].replace(WINDOW_PLACEHOLDER, window))
            elif result["total"]:
                # Generated buckets can be asked for the quantile directly; raw ones are interpolated here.
                expr = (f"histogram_quantile({objective['quantile']:g}, sum by (le) "
                        f"(rate({metric}_bucket{_matchers(s['selector'])}[{window}])))") if not s["bucket_query"] else None
                result["value"] = self._scalar(expr) if expr else histogram_quantile(objective["quantile"], result["buckets"])
        result.pop("buckets", None)
        return result


class EndpointSource:
    """The platform's /api/v1/health/slo: event counts and latency buckets per window, read in one request."""

    def __init__(self, params, at=None):
        # The endpoint always measures now; ``at`` is accepted so every source is built alike.
        self.params = params
        self.url = params["endpoint_url"] or params["platform_v2_url"].rstrip("/") + "/api/v1/health/slo"
        self.payload = None
        self.queries = 0
        self.extra = {}

    def measure(self, prepared):
        needed = []
        for _raw, objective, alerts in prepared:
            needed += [w for w in windows_needed(objective, alerts) if w not in needed]
        self.load(needed, prepared[0][1]["window"])
        return [(objective, self.counts(objective, windows_needed(objective, alerts)), alerts)
                for _raw, objective, alerts in prepared]

    def load(self, windows, main_window):
        p = self.params
        sep = "&" if "?" in self.url else "?"
        url = f"{self.url}{sep}windows={','.join(prometheus_duration(w) for w in windows)}&window={prometheus_duration(main_window)}"
        try:
            resp = exchange("GET", url, timeout=p["platform_timeout"], validate_certs=p["platform_validate_certs"],
                            ca_path=p["platform_ca_path"], token=p["platform_token"])
        except TransportError as exc:
            raise SourceError(f"Cannot reach the platform SLO endpoint at {describe_url(self.url)}: {exc.cause}.") from None
        self.queries += 1
        body = resp.json if isinstance(resp.json, dict) else None
        if resp.status != 200:
            detail = ((body or {}).get("error") or {}).get("message") if isinstance((body or {}).get("error"), dict) else None
            raise SourceError(f"The platform SLO endpoint {self.url} answered HTTP {resp.status}"
                              f"{': ' + detail.rstrip('.') if detail else ''}.")
        if body is None or not isinstance(body.get("windows"), dict):
            raise SourceError(f"The platform SLO endpoint {self.url} did not return the windows of docs/platform-api.md.")
        self.payload = body

    def counts(self, objective, windows):
        # The endpoint may spell a window differently ('60m' for '1h'): match them by length.
        by_seconds = {}
        for label, data in self.payload["windows"].items():
            try:
                by_seconds[prometheus_duration(label)] = data
            except SloError:
                continue
        result = {}
        for label in windows:
            data = by_seconds.get(prometheus_duration(label))
            if not data:
                continue
            if objective["sli"] == "latency":
                result[label] = _endpoint_latency(objective, data, main=label == objective["window"])
            else:
                result[label] = {"total": float(data.get("requests") or 0), "bad": float(data.get("errors") or 0)}
        return result


def _endpoint_latency(objective, data, main):
    buckets = [(float("inf") if b["le"] in ("+Inf", "Inf", "inf") else float(b["le"]), float(b["count"]))
               for b in data.get("latency_buckets") or []]
    entry = {"total": None, "bad": None}
    if buckets:
        count, bad = histogram_share_above(objective["target"], buckets)
        entry.update(total=count, bad=bad)
        if main:
            entry["value"] = histogram_quantile(objective["quantile"], buckets)
    return entry


class ProbeSource:
    """``probe.count`` requests now, judged per objective; one sample has no history, so no burn rates."""

    def __init__(self, params, at=None):
        self.spec = params["probe"]
        self.queries = 0
        self.extra = {}

    def measure(self, prepared):
        results, elapsed = run_probe(self.spec)
        report, counts = probe_counts(self.spec, results, elapsed)
        self.queries = report["count"]
        self.extra = {"probe": report}
        measured = []
        for _raw, objective, alerts in prepared:
            # The "window" of a probe is the requests it sent, which is what messages should name.
            objective = dict(objective, window=f"{report['count']} probes")
            measured.append((objective, {objective["window"]: counts(objective)}, alerts))
        return measured


def run_probes(specs):
    """Probe every endpoint of ``specs`` at once; their reports, in order, each with its ``name``."""
    def one(spec):
        results, elapsed = run_probe(spec)
        report, _counts = probe_counts(spec, results, elapsed)
        return dict(name=spec.get("name") or spec["url"], **report)

    if not specs:
        return []
    with ThreadPoolExecutor(max_workers=len(specs)) as pool:
        return list(pool.map(one, specs))


def run_probe(spec):
    """Send the probe requests; return per-request (status or None, seconds) and the wall time."""
    headers = dict(spec.get("headers") or {})

    def one(_index):
        started = time.monotonic()
        try:
            resp = exchange(spec["method"], spec["url"], headers=headers, timeout=spec["timeout"],
                            validate_certs=spec["validate_certs"])
            return resp.status, resp.elapsed
        except TransportError:
            return None, time.monotonic() - started

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, min(spec["concurrency"], spec["count"]))) as pool:
        results = list(pool.map(one, range(spec["count"])))
    return results, time.monotonic() - started


def probe_counts(spec, results, elapsed):
    """(probe report, per-objective counts function) from probe results."""
    ok_status = set(spec.get("ok_status") or [])

    def good(status):
        if status is None:
            return False
        return status in ok_status if ok_status else status < 500

    errors = sum(1 for status, _seconds in results if not good(status))
    latencies = [seconds for status, seconds in results if status is not None]
    codes = {}
    for status, _seconds in results:
        key = "error" if status is None else str(status)
        codes[key] = codes.get(key, 0) + 1
    report = {
        "url": spec["url"], "count": len(results), "errors": errors, "status_codes": codes,
        "latency_p50": _r(sample_quantile(0.5, latencies)), "latency_p95": _r(sample_quantile(0.95, latencies)),
        "latency_p99": _r(sample_quantile(0.99, latencies)), "concurrency": spec["concurrency"],
        "duration_seconds": _r(elapsed),
    }

    def counts(objective):
        total = float(len(results))
        if objective["sli"] == "latency":
            # A request without an answer was not fast either.
            slow = sum(1 for status, seconds in results if status is None or seconds > objective["target"])
            return {"total": total, "bad": float(slow), "value": sample_quantile(objective["quantile"], latencies)}
        return {"total": total, "bad": float(errors)}

    return report, counts


def _r(value):
    return None if value is None else round(value, 6)
