#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: slo_check
short_description: Check SLOs now, with error budgets and multi-window burn rates, from Prometheus, the platform or HTTP probes
version_added: 0.1.0
description:
  - Answers the runbooks' "check SLO compliance" as data a playbook can branch on, where Sloth and Pyrra only
    generate alert rules.
  - Each objective in O(objectives) is an availability, error-rate or latency SLI with a target over a window
    (30 days by default). For each one the module returns the measured value, the error budget consumed and
    remaining, the burn rate over the SRE Workbook's alert windows (1h/5m at 14.4, 6h/30m at 6, 1d/2h at 3,
    3d/6h at 1 for a 30-day window) with the alerts that would fire, and a status.
  - C(ok) means the objective holds and no burn-rate alert fires; C(warning) means it holds but an alert fires or
    less than O(budget_warning) of the budget is left; C(breached) means the objective is missed over its window;
    C(inconclusive) means there was no data or fewer events than O(min_samples) (see O(no_data)).
  - O(source=prometheus) counts events with PromQL, from a request counter and a latency histogram or from your own
    queries. O(source=endpoint) reads the event counts of the platform's C(/api/v1/health/slo) and applies these
    objectives to them. O(source=probe) sends O(probe.count) HTTP requests and judges the answers (no burn rates,
    as a probe has no history).
  - The task fails according to O(fail_on); RV(passed) is true when every objective is C(ok) or C(warning).
author:
  - sre.runbooks maintainers (@sre-runbooks)
extends_documentation_fragment:
  - sre.runbooks.prometheus
  - sre.runbooks.platform
  - sre.runbooks.attributes
  - sre.runbooks.attributes.actiongroup_prometheus_platform
  - sre.runbooks.attributes.info_module
options:
  source:
    description:
      - Where the events come from.
      - V(prometheus) queries O(prometheus_url).
      - V(endpoint) reads O(endpoint_url), by default the C(/api/v1/health/slo) of O(platform_v2_url).
      - V(probe) sends requests to O(probe.url).
    type: str
    choices: [prometheus, endpoint, probe]
    default: prometheus
  objectives:
    description:
      - The objectives to check. The default is the runbooks' three SLOs, C(availability) 99.9 %, C(error_rate)
        below 0.1 % and C(latency_p95) below 2 seconds, over O(window).
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the objective, unique in the list; it names the objective in the results and messages.
        type: str
        required: true
      sli:
        description:
          - V(availability) is the share of requests that did not fail; V(error_rate) the share that failed;
            V(latency) the time within which O(objectives[].quantile) of the requests were served.
          - A request fails when it matches the error selector (Prometheus), counts as an error at the endpoint
            (status 500 and above) or, for probes, gets no answer or a status outside O(probe.ok_status).
        type: str
        choices: [availability, error_rate, latency]
        default: availability
      target:
        description:
          - For V(availability), the lowest acceptable percentage (default V(99.9)).
          - For V(error_rate), the highest acceptable error percentage (default V(0.1)).
          - For V(latency), the highest acceptable latency in seconds at O(objectives[].quantile) (default V(2.0)).
        type: float
      quantile:
        description:
          - For V(latency), the share of requests that must be faster than O(objectives[].target), between 0 and 1.
            The error budget is the rest (5 % at the default V(0.95)).
        type: float
      window:
        description: The SLO window, such as V(30d) or V(7d). Defaults to O(window).
        type: str
      min_samples:
        description: Fewest events in the window for a verdict. Defaults to O(min_samples).
        type: int
      no_data:
        description: What no data (or too few events) means for this objective. Defaults to O(no_data).
        type: str
        choices: [fail, pass, inconclusive]
      prometheus:
        description:
          - How to count events in Prometheus, for O(source=prometheus). Keys left out come from the module-level
            O(requests_metric), O(latency_metric), O(selector) and O(error_selector).
          - Raw queries may contain the placeholder C(${window}), replaced by each window in Prometheus syntax
            (V(30d), V(1h)); do not use Jinja braces for it.
        type: dict
        suboptions:
          metric:
            description:
              - Counter of requests for V(availability) and V(error_rate), or histogram base name (without
                C(_bucket)) for V(latency).
            type: str
          selector:
            description: Label matchers added to every query, such as C(job="platform-v2",route!="/metrics").
            type: str
          error_selector:
            description: Label matchers that select failed requests among them, such as C(code=~"5..").
            type: str
          total_query:
            description: PromQL giving the number of requests in C(${window}), replacing the generated one.
            type: str
          error_query:
            description: PromQL giving the number of failed requests in C(${window}), replacing the generated one.
            type: str
          bucket_query:
            description:
              - For V(latency), PromQL returning cumulative request counts in C(${window}) by C(le) label,
                replacing C(sum by (le) (increase(<metric>_bucket{<selector>}[${window}]))).
            type: str
          value_query:
            description:
              - For V(latency), PromQL returning the latency in seconds over C(${window}), replacing the generated
                C(histogram_quantile()). Without a bucket query too, no error budget is computed.
            type: str
  window:
    description: Default SLO window of the objectives.
    type: str
    default: 30d
  min_samples:
    description: Default fewest events an objective needs in its window for a verdict.
    type: int
    default: 1
  no_data:
    description:
      - Default meaning of no data or too few events. V(inconclusive) reports it without failing, V(fail) counts
        the objective as breached, V(pass) as met.
    type: str
    choices: [fail, pass, inconclusive]
    default: inconclusive
  fail_on:
    description:
      - Fail the task when an objective is V(breached), when one is at least at V(warning), or V(never).
    type: str
    choices: [breached, warning, never]
    default: breached
  budget_warning:
    description: An objective that holds is a C(warning) when less than this share of its error budget is left.
    type: float
    default: 0.25
  burn_rate_alerts:
    description:
      - The multi-window burn-rate alerts. The default is the SRE Workbook's table; the factor of each alert is
        O(burn_rate_alerts[].budget_consumed) times the SLO window divided by the long window.
      - An alert fires when the burn rate over both of its windows exceeds its factor.
    type: list
    elements: dict
    suboptions:
      severity:
        description: Label of the alert, such as V(page) or V(ticket).
        type: str
        default: page
      long_window:
        description: Long window, such as V(1h).
        type: str
        required: true
      short_window:
        description: Short window, shorter than the long one, such as V(5m).
        type: str
        required: true
      factor:
        description: Burn-rate threshold; overrides O(burn_rate_alerts[].budget_consumed).
        type: float
      budget_consumed:
        description: Share of the SLO window's error budget the alert allows to burn within its long window.
        type: float
  requests_metric:
    description: Default request counter for V(availability) and V(error_rate) objectives (the platform's).
    type: str
    default: platform_http_requests_total
  latency_metric:
    description: Default latency histogram (base name) for V(latency) objectives (the platform's).
    type: str
    default: platform_http_request_duration_seconds
  selector:
    description: Default label matchers of every generated query, such as C(api="v2").
    type: str
    default: ""
  error_selector:
    description: Default label matchers that select failed requests.
    type: str
    default: code=~"5.."
  evaluation_time:
    description:
      - Evaluate the windows ending at this time instead of now (O(source=prometheus) only), as unix seconds or
        RFC 3339 such as V(2025-01-31T00:00:00Z). Useful for monthly reports.
    type: str
  endpoint_url:
    description:
      - Full URL of the platform's SLO endpoint for O(source=endpoint).
      - Defaults to O(platform_v2_url) followed by C(/api/v1/health/slo).
    type: str
  probe:
    description: The requests to send for O(source=probe).
    type: dict
    suboptions:
      url:
        description: URL to request.
        type: str
        required: true
      method:
        description: HTTP method.
        type: str
        default: GET
      count:
        description: Number of requests.
        type: int
        default: 20
      concurrency:
        description: Requests in flight at most at once.
        type: int
        default: 4
      timeout:
        description: Seconds each request may take before it counts as failed.
        type: float
        default: 5.0
      ok_status:
        description: Status codes that count as good; empty means every status below 500.
        type: list
        elements: int
        default: []
      headers:
        description: Extra request headers.
        type: dict
        default: {}
      validate_certs:
        description: Whether to verify the TLS certificate.
        type: bool
        default: true
notes:
  - Counts come from C(increase()) over each window, so the first and last scrape intervals are extrapolated as
    Prometheus does; over a 30-day window that moves ratios by far less than a per mille.
  - A burn rate is the window's bad-event ratio divided by the ratio the objective allows; 1 spends the budget
    exactly over the SLO window. Budget exhaustion is estimated at the 1-hour burn rate.
seealso:
  - name: Google SRE Workbook, Alerting on SLOs
    description: The multiwindow, multi-burn-rate alerts this module evaluates on demand.
    link: https://sre.google/workbook/alerting-on-slos/
  - module: sre.runbooks.experiment_promote
"""

EXAMPLES = r"""
---
- name: Check the runbook SLOs of the V2 API from Prometheus
  sre.runbooks.slo_check:
    prometheus_url: "{{ sre_prometheus_url }}"
    selector: api="v2"
  register: slo

- name: Stop the rollout when the budget burns fast
  ansible.builtin.fail:
    msg: "Burn-rate alerts firing: {{ slo.objectives | map(attribute='alerts_firing') | flatten }}"
  when: slo.status == 'warning'

- name: Own SLIs with raw PromQL, failing on warnings too
  sre.runbooks.slo_check:
    fail_on: warning
    min_samples: 1000
    objectives:
      - name: checkout-availability
        sli: availability
        target: 99.95
        window: 28d
        prometheus:
          total_query: sum(increase(http_requests_total{job="checkout"}[${window}]))
          error_query: sum(increase(http_requests_total{job="checkout",code=~"5.."}[${window}]))
      - name: checkout-p99
        sli: latency
        quantile: 0.99
        target: 0.5
        prometheus:
          metric: http_request_duration_seconds
          selector: job="checkout"

- name: Apply our objectives to the platform's own SLO endpoint (EXP runbook, morning check)
  sre.runbooks.slo_check:
    source: endpoint
    platform_v2_url: http://localhost:8001
    fail_on: never
  register: platform_slo

- name: Probe the V2 status endpoint 50 times, 5 at a time
  sre.runbooks.slo_check:
    source: probe
    probe:
      url: http://localhost:8001/api/v1/health/status
      count: 50
      concurrency: 5
    objectives:
      - {name: probe-availability, sli: availability, target: 99}
      - {name: probe-p95, sli: latency, quantile: 0.95, target: 0.5}
"""

RETURN = r"""
status:
  description: Worst status over the objectives (C(breached) > C(warning) > C(inconclusive) > C(ok)).
  returned: always
  type: str
  sample: warning
passed:
  description: Whether every objective is C(ok) or C(warning).
  returned: always
  type: bool
  sample: true
failed_objectives:
  description: Names of the objectives that fail the task under O(fail_on).
  returned: always
  type: list
  elements: str
  sample: []
summary:
  description: Number of objectives per status.
  returned: always
  type: dict
  sample: {ok: 2, warning: 1, inconclusive: 0, breached: 0}
source:
  description: The source used.
  returned: always
  type: str
  sample: prometheus
evaluated_at:
  description: End of the windows, RFC 3339 UTC.
  returned: always
  type: str
  sample: "2025-01-31T00:00:00Z"
queries:
  description: Number of PromQL queries (Prometheus) or HTTP requests (endpoint, probe) made.
  returned: always
  type: int
  sample: 17
objectives:
  description: One entry per objective, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Objective name.
      type: str
    sli:
      description: SLI kind.
      type: str
    target:
      description: Target (percent, or seconds for latency).
      type: float
    quantile:
      description: Quantile of a latency objective.
      type: float
      returned: for latency objectives
    unit:
      description: Unit of RV(objectives[].actual) and RV(objectives[].target), C(percent) or C(seconds).
      type: str
    window:
      description: SLO window.
      type: str
    actual:
      description: Measured SLI over the window (availability or error percentage, latency in seconds); null without data.
      type: float
    status:
      description: C(ok), C(warning), C(breached) or C(inconclusive).
      type: str
    message:
      description: One sentence with the value, the target, the budget left and the alerts firing.
      type: str
    no_data:
      description: Whether the window had no data or fewer events than RV(objectives[].min_samples).
      type: bool
    min_samples:
      description: Fewest events needed for a verdict.
      type: int
    events:
      description: Events counted in the SLO window, C(total) and C(bad) (failed, or slower than the target).
      type: dict
    error_ratio:
      description: Bad events divided by all events in the SLO window.
      type: float
    error_budget:
      description:
        - C(allowed_ratio) (the bad-event ratio the objective allows), C(consumed) and C(remaining) (fractions of the
          budget; remaining is negative once the objective is missed), C(remaining_percent), C(allowed_bad_events),
          C(bad_events) and C(exhaustion_hours) (time left at the 1-hour burn rate, null when not burning).
      type: dict
    burn_rates:
      description:
        - One entry per alert, C(severity), C(long_window), C(short_window), C(factor), C(budget_consumed),
          C(long_burn_rate), C(short_burn_rate) and C(firing). Empty for probes.
      type: list
      elements: dict
    alerts_firing:
      description: The alerts that fire, as C(severity:long/short).
      type: list
      elements: str
      sample: ["page:1h/5m"]
probe:
  description: What the probes saw.
  returned: when O(source=probe)
  type: dict
  contains:
    url:
      description: URL probed.
      type: str
    count:
      description: Requests sent.
      type: int
    errors:
      description: Requests that failed (no answer, or a status that does not count as good).
      type: int
    status_codes:
      description: Number of answers per status code; C(error) counts requests without an answer.
      type: dict
    latency_p50:
      description: Median latency in seconds of the answered requests.
      type: float
    latency_p95:
      description: 95th percentile latency in seconds.
      type: float
    latency_p99:
      description: 99th percentile latency in seconds.
      type: float
    duration_seconds:
      description: Wall time of the whole probe.
      type: float
"""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sre.runbooks.plugins.module_utils._http.client import TransportError, describe_url, exchange
from ansible_collections.sre.runbooks.plugins.module_utils._platform.client import PLATFORM_COMMON_ARGS
from ansible_collections.sre.runbooks.plugins.module_utils._slo.prometheus import (
    PROMETHEUS_COMMON_ARGS,
    PROMETHEUS_MUTUALLY_EXCLUSIVE,
    PROMETHEUS_REQUIRED_TOGETHER,
    PrometheusClient,
    PrometheusError,
    parse_time,
)
from ansible_collections.sre.runbooks.plugins.module_utils._slo.evaluate import (
    SloError,
    alert_windows,
    evaluate_objective,
    histogram_quantile,
    histogram_share_above,
    normalize_objective,
    overall_status,
    prometheus_duration,
    sample_quantile,
    should_fail,
    summarize,
    windows_needed,
)

DEFAULT_OBJECTIVES = [
    {"name": "availability", "sli": "availability", "target": 99.9},
    {"name": "error_rate", "sli": "error_rate", "target": 0.1},
    {"name": "latency_p95", "sli": "latency", "quantile": 0.95, "target": 2.0},
]
WINDOW_PLACEHOLDER = "${window}"


class SourceError(Exception):
    """A source could not deliver the counts; the message is one sentence."""


def _iso(ts):
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _matchers(*parts):
    """'{a="1",b="2"}' from selector texts written with or without braces ('' when there are none)."""
    inner = ",".join(p.strip().strip("{}").strip() for p in parts if p and p.strip().strip("{}").strip())
    return "{" + inner + "}" if inner else ""


class PrometheusSource:
    """Counts per window with instant queries, each query run once."""

    def __init__(self, module, at):
        self.params = module.params
        self.client = PrometheusClient(module.params)
        self.at = at
        self.cache = {}

    def _query(self, expr):
        if expr not in self.cache:
            self.cache[expr] = self.client.query(expr, self.at)
        return self.cache[expr]

    def _scalar(self, expr):
        samples = self._query(expr)
        if len(samples) > 1:
            raise PrometheusError(f"The query {expr!r} returned {len(samples)} series from Prometheus at "
                                  f"{self.client.where}; wrap it in sum() so it returns one.")
        return samples[0]["value"] if samples else None

    def _settings(self, raw):
        own = raw.get("prometheus") or {}
        p = self.params
        return {
            "metric": own.get("metric"),
            "selector": own.get("selector") if own.get("selector") is not None else p["selector"],
            "error_selector": own.get("error_selector") if own.get("error_selector") is not None else p["error_selector"],
            **{k: own.get(k) for k in ("total_query", "error_query", "bucket_query", "value_query")},
        }

    def counts(self, objective, raw, windows):
        s = self._settings(raw)
        data = {}
        for label in windows:
            window = prometheus_duration(label)
            if objective["sli"] == "latency":
                data[label] = self._latency(objective, s, window, main=label == objective["window"])
            else:
                metric = s["metric"] or self.params["requests_metric"]
                total_q = (s["total_query"] or f"sum(increase({metric}{_matchers(s['selector'])}[{WINDOW_PLACEHOLDER}]))")
                error_q = (s["error_query"] or
                           f"sum(increase({metric}{_matchers(s['selector'], s['error_selector'])}[{WINDOW_PLACEHOLDER}]))")
                total = self._scalar(total_q.replace(WINDOW_PLACEHOLDER, window))
                bad = self._scalar(error_q.replace(WINDOW_PLACEHOLDER, window)) if total is not None else None
                data[label] = {"total": total, "bad": 0.0 if total is not None and bad is None else bad}
        return data

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
                expr = (f"histogram_quantile({objective['quantile']:g}, sum by (le) "
                        f"(rate({metric}_bucket{_matchers(s['selector'])}[{window}])))") if not s["bucket_query"] else None
                result["value"] = self._scalar(expr) if expr else histogram_quantile(objective["quantile"], result["buckets"])
        result.pop("buckets", None)
        return result

    @property
    def queries(self):
        return self.client.queries


class EndpointSource:
    """The platform's /api/v1/health/slo: event counts and latency buckets per window."""

    def __init__(self, module):
        p = module.params
        self.params = p
        self.url = p["endpoint_url"] or p["platform_v2_url"].rstrip("/") + "/api/v1/health/slo"
        self.payload = None
        self.queries = 0

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
            total = float(data.get("requests") or 0)
            if objective["sli"] == "latency":
                buckets = [(float("inf") if b["le"] in ("+Inf", "Inf", "inf") else float(b["le"]), float(b["count"]))
                           for b in data.get("latency_buckets") or []]
                entry = {"total": None, "bad": None}
                if buckets:
                    count, bad = histogram_share_above(objective["target"], buckets)
                    entry.update(total=count, bad=bad)
                    if label == objective["window"]:
                        entry["value"] = histogram_quantile(objective["quantile"], buckets)
                result[label] = entry
            else:
                result[label] = {"total": total, "bad": float(data.get("errors") or 0)}
        return result


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
            slow = sum(1 for status, seconds in results if status is None or seconds > objective["target"])
            return {"total": total, "bad": float(slow), "value": sample_quantile(objective["quantile"], latencies)}
        return {"total": total, "bad": float(errors)}

    return report, counts


def _r(value):
    return None if value is None else round(value, 6)


def argument_spec():
    spec = dict(PROMETHEUS_COMMON_ARGS)
    spec.update(PLATFORM_COMMON_ARGS)
    spec.update(
        source={"type": "str", "choices": ["prometheus", "endpoint", "probe"], "default": "prometheus"},
        objectives={"type": "list", "elements": "dict", "options": {
            "name": {"type": "str", "required": True},
            "sli": {"type": "str", "choices": ["availability", "error_rate", "latency"], "default": "availability"},
            "target": {"type": "float"},
            "quantile": {"type": "float"},
            "window": {"type": "str"},
            "min_samples": {"type": "int"},
            "no_data": {"type": "str", "choices": ["fail", "pass", "inconclusive"]},
            "prometheus": {"type": "dict", "options": {
                "metric": {"type": "str"},
                "selector": {"type": "str"},
                "error_selector": {"type": "str"},
                "total_query": {"type": "str"},
                "error_query": {"type": "str"},
                "bucket_query": {"type": "str"},
                "value_query": {"type": "str"},
            }},
        }},
        window={"type": "str", "default": "30d"},
        min_samples={"type": "int", "default": 1},
        no_data={"type": "str", "choices": ["fail", "pass", "inconclusive"], "default": "inconclusive"},
        fail_on={"type": "str", "choices": ["breached", "warning", "never"], "default": "breached"},
        budget_warning={"type": "float", "default": 0.25},
        burn_rate_alerts={"type": "list", "elements": "dict", "options": {
            "severity": {"type": "str", "default": "page"},
            "long_window": {"type": "str", "required": True},
            "short_window": {"type": "str", "required": True},
            "factor": {"type": "float"},
            "budget_consumed": {"type": "float"},
        }},
        requests_metric={"type": "str", "default": "platform_http_requests_total"},
        latency_metric={"type": "str", "default": "platform_http_request_duration_seconds"},
        selector={"type": "str", "default": ""},
        error_selector={"type": "str", "default": 'code=~"5.."'},
        evaluation_time={"type": "str"},
        endpoint_url={"type": "str"},
        probe={"type": "dict", "options": {
            "url": {"type": "str", "required": True},
            "method": {"type": "str", "default": "GET"},
            "count": {"type": "int", "default": 20},
            "concurrency": {"type": "int", "default": 4},
            "timeout": {"type": "float", "default": 5.0},
            "ok_status": {"type": "list", "elements": "int", "default": []},
            "headers": {"type": "dict", "default": {}},
            "validate_certs": {"type": "bool", "default": True},
        }},
    )
    return spec


def prepare(params):
    """Normalized objectives and their alerts, or SloError."""
    raw_objectives = params["objectives"] or DEFAULT_OBJECTIVES
    names = [o["name"] for o in raw_objectives]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SloError(f"Objective names must be unique; {', '.join(duplicates)} appears more than once.")
    defaults = {"window": params["window"], "min_samples": params["min_samples"], "no_data": params["no_data"]}
    if params["min_samples"] < 0:
        raise SloError("min_samples cannot be negative.")
    if not 0 <= params["budget_warning"] <= 1:
        raise SloError(f"budget_warning is a share of the budget between 0 and 1, not {params['budget_warning']:g}.")
    prepared = []
    for raw in raw_objectives:
        objective = normalize_objective(raw, defaults)
        alerts = [] if params["source"] == "probe" else alert_windows(objective["window_seconds"], params["burn_rate_alerts"])
        prepared.append((raw, objective, alerts))
    if params["source"] == "probe":
        probe = params["probe"]
        if probe["count"] < 1 or probe["concurrency"] < 1:
            raise SloError("probe.count and probe.concurrency must be at least 1.")
    return prepared


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        mutually_exclusive=PROMETHEUS_MUTUALLY_EXCLUSIVE,
        required_together=PROMETHEUS_REQUIRED_TOGETHER,
        required_if=[("source", "probe", ["probe"])],
    )
    p = module.params
    try:
        prepared = prepare(p)
        at = parse_time(p["evaluation_time"]) if p["source"] == "prometheus" else None
    except (SloError, PrometheusError) as exc:
        module.fail_json(msg=str(exc))
    if p["evaluation_time"] and p["source"] != "prometheus":
        module.warn(f"evaluation_time only applies to source=prometheus; source={p['source']} measures now.")
    evaluated = at if at is not None else time.time()
    result = {"changed": False, "source": p["source"], "evaluated_at": _iso(evaluated), "queries": 0}
    objectives = []
    try:
        if p["source"] == "prometheus":
            source = PrometheusSource(module, at)
            for raw, objective, alerts in prepared:
                counts = source.counts(objective, raw, windows_needed(objective, alerts))
                objectives.append(evaluate_objective(objective, counts, alerts, p["budget_warning"]))
            result["queries"] = source.queries
        elif p["source"] == "endpoint":
            source = EndpointSource(module)
            needed = []
            for _raw, objective, alerts in prepared:
                needed += [w for w in windows_needed(objective, alerts) if w not in needed]
            source.load(needed, prepared[0][1]["window"])
            for _raw, objective, alerts in prepared:
                counts = source.counts(objective, windows_needed(objective, alerts))
                objectives.append(evaluate_objective(objective, counts, alerts, p["budget_warning"]))
            result["queries"] = source.queries
        else:
            results, elapsed = run_probe(p["probe"])
            report, counts = probe_counts(p["probe"], results, elapsed)
            result["probe"] = report
            result["queries"] = report["count"]
            for _raw, objective, _alerts in prepared:
                # A probe is one sample now, not a window of history.
                objective = dict(objective, window=f"{report['count']} probes")
                objectives.append(evaluate_objective(objective, {objective["window"]: counts(objective)}, [],
                                                     p["budget_warning"]))
    except (PrometheusError, SourceError, SloError) as exc:
        module.fail_json(msg=str(exc), **result)

    status = overall_status(objectives)
    failing = should_fail(objectives, p["fail_on"])
    result.update(
        status=status,
        passed=all(o["status"] in ("ok", "warning") for o in objectives),
        objectives=objectives,
        summary=summarize(objectives),
        failed_objectives=[o["name"] for o in failing],
    )
    if failing:
        module.fail_json(msg="SLO check failed: " + " ".join(o["message"] for o in failing), **result)
    result["msg"] = " ".join(o["message"] for o in objectives)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
