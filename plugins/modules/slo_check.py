#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: slo_check
short_description: Check SLOs and thresholds now, with error budgets and burn rates, from Prometheus, the platform or probes
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
    as a probe has no history). An objective may name its own O(objectives[].source), so one call can judge the
    platform's SLOs and Prometheus thresholds together; the sources are read at the same time.
  - A V(threshold) objective is a value from Prometheus (the ENT runbook's model accuracy, inference time,
    false-positive rate, data quality and processing lag, a volume's fill level) that must stay below or above its
    target, in every series its query returns. It has no error budget; it is C(ok) or C(breached).
  - O(probes) probes several health endpoints at the same time and reports what each answered (RV(probes)),
    alongside the objectives.
  - The task fails according to O(fail_on), and when a source cannot be read (its objectives are then
    C(inconclusive) with the reason in RV(objectives[].error), the others judged as usual); RV(passed) is true
    when every objective is C(ok) or C(warning).
  - With O(analysis), the check becomes a bake period, where the objectives are measured O(analysis.count) times, every
    O(analysis.interval), and the run is judged the way Argo Rollouts judges an AnalysisRun (failure,
    inconclusive and consecutive error limits). It ends early once a limit is exceeded. RV(analysis) holds every
    measurement; RV(passed) is then true only for a C(Successful) run.
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
      - The default of every objective; O(objectives[].source) overrides it.
    type: str
    choices: [prometheus, endpoint, probe]
    default: prometheus
  objectives:
    description:
      - The objectives to check. The default is the runbooks' three SLOs, C(availability) 99.9 %, C(error_rate)
        below 0.1 % and C(latency_p95) below 2 seconds, over O(window); with O(probes) and no objectives, none
        (RV(status) is then C(inconclusive)).
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
          - V(threshold) is the value of O(objectives[].prometheus.value_query) (each series it returns), which
            must not pass O(objectives[].target) in the direction of O(objectives[].bound); O(source=prometheus)
            only.
        type: str
        choices: [availability, error_rate, latency, threshold]
        default: availability
      source:
        description: Where this objective's events or value come from; defaults to O(source).
        type: str
        choices: [prometheus, endpoint, probe]
      target:
        description:
          - For V(availability), the lowest acceptable percentage (default V(99.9)).
          - For V(error_rate), the highest acceptable error percentage (default V(0.1)).
          - For V(latency), the highest acceptable latency in seconds at O(objectives[].quantile) (default V(2.0)).
          - For V(threshold), the limit of the value (required).
        type: float
      bound:
        description:
          - For V(threshold), whether O(objectives[].target) is an V(upper) bound (breached above it) or a V(lower)
            one (breached below it, such as a model's accuracy). The target itself is within.
        type: str
        choices: [upper, lower]
        default: upper
      unit:
        description: For V(threshold), the unit of the value, shown in the messages (such as V(s) or V(%)).
        type: str
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
              - For V(threshold), the PromQL whose value is judged; every series it returns is judged on its own.
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
    suboptions: &probe_suboptions
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
        description:
          - Extra request headers.
          - Treated as secret (an C(Authorization) header carries a token), so their values are masked in results
            and logs.
        type: dict
        default: {}
      validate_certs:
        description: Whether to verify the TLS certificate.
        type: bool
        default: true
  probes:
    description:
      - Health endpoints to probe alongside the objectives, all at the same time; each is reported in RV(probes)
        (answers per status code, errors, latency percentiles), whatever the objectives' sources. The daily health
        check's service endpoints (H2) in the same call as its SLOs.
    type: list
    elements: dict
    default: []
    suboptions:
      # The options of O(probe), and a name.
      <<: *probe_suboptions
      name:
        description: Name of the endpoint in RV(probes); defaults to the URL.
        type: str
  analysis:
    description:
      - Measure repeatedly instead of once (post-deployment validation). Without it the module measures once.
      - Each measurement is C(Successful), C(Failed) (an objective at O(analysis.failed_status) or worse),
        C(Inconclusive) (an objective without data, none failed) or C(Error) (the source could not be read).
      - The run is C(Failed) once more than O(analysis.failure_limit) measurements failed, C(Inconclusive) once more
        than O(analysis.inconclusive_limit) were inconclusive, C(Error) after more than
        O(analysis.consecutive_error_limit) errors in a row; otherwise, after O(analysis.count) measurements,
        C(Successful) (C(Inconclusive) when none succeeded).
      - With O(fail_on) other than V(never), a run that is not C(Successful) fails the task.
      - Cannot be combined with O(evaluation_time). Use short windows (V(5m)) so each measurement sees recent traffic.
    type: dict
    suboptions:
      interval:
        description: Time between the starts of two measurements, such as V(30s) or V(1m).
        type: str
        default: 1m
      count:
        description: Measurements to take when no limit ends the run earlier (V(1) measures once, with the limits).
        type: int
        default: 1
      initial_delay:
        description: Time to wait before the first measurement (let the new pods take traffic).
        type: str
        default: 0s
      failure_limit:
        description: Failed measurements tolerated; one more fails the run.
        type: int
        default: 0
      inconclusive_limit:
        description: Inconclusive measurements tolerated; one more makes the run C(Inconclusive).
        type: int
        default: 0
      consecutive_error_limit:
        description: Errors in a row tolerated (Prometheus unreachable); one more makes the run C(Error).
        type: int
        default: 4
      failed_status:
        description: The objective status from which a measurement counts as failed.
        type: str
        choices: [breached, warning]
        default: breached
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

- name: The ENT runbook's model thresholds from Prometheus, beside the platform's SLOs, and two endpoints probed
  sre.runbooks.slo_check:
    source: endpoint
    platform_v2_url: http://localhost:8001
    fail_on: never
    objectives:
      - {name: availability, sli: availability, target: 99.9}
      - name: model_accuracy
        source: prometheus
        sli: threshold
        bound: lower
        target: 0.85
        prometheus:
          value_query: min(anomaly_detection_accuracy)
      - name: processing_lag
        source: prometheus
        sli: threshold
        target: 300
        unit: s
        prometheus:
          value_query: max(data_processing_lag_seconds)
    probes:
      - {name: v2, url: "http://localhost:8001/api/v1/health/status"}
      - {name: v1, url: "http://localhost:8002/api/v1/health/status"}
  register: morning
- name: Bake for 5 minutes after a deployment, as an Argo Rollouts AnalysisRun would
  sre.runbooks.slo_check:
    prometheus_url: "{{ sre_prometheus_url }}"
    selector: api="v2"
    window: 5m
    objectives:
      - {name: availability, sli: availability, target: 99.9}
      - {name: latency_p95, sli: latency, quantile: 0.95, target: 2.0}
    analysis:
      interval: 1m
      count: 5
      failure_limit: 1
  register: bake

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
      description:
        - Unit of RV(objectives[].actual) and RV(objectives[].target), C(percent) or C(seconds); for a threshold the
          O(objectives[].unit) given, or null.
      type: str
    window:
      description: SLO window.
      type: str
    actual:
      description:
        - Measured SLI over the window (availability or error percentage, latency in seconds); for a threshold the
          worst value among its series; null without data.
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
    source:
      description: Where the objective was measured.
      type: str
      sample: prometheus
    error:
      description: Why its source could not be read (the objective is then C(inconclusive)).
      type: str
      returned: when its source failed
    bound:
      description: Whether the target of a V(threshold) objective is an C(upper) or a C(lower) bound.
      type: str
      returned: for threshold objectives
    series_count:
      description: Series the query of a V(threshold) objective returned (NaN values left out).
      type: int
      returned: for threshold objectives
    breaching:
      description: Series past the target.
      type: int
      returned: for threshold objectives
    series:
      description: The series, worst first (at most 50), each with C(labels), C(value) and C(breached).
      type: list
      elements: dict
      returned: for threshold objectives
analysis:
  description: With O(analysis), the bake period and every measurement.
  returned: when O(analysis) is set
  type: dict
  contains:
    phase:
      description: V(Successful), V(Failed), V(Inconclusive) or V(Error).
      type: str
      sample: Failed
    message:
      description: Why the run ended so, such as V(2 of 3 measurements failed, more than failure_limit 1).
      type: str
    counts:
      description: Measurements per phase, C(successful), C(failed), C(inconclusive), C(error).
      type: dict
      sample: {successful: 1, failed: 2, inconclusive: 0, error: 0}
    measurements:
      description: Each measurement with C(index), C(at) (RFC 3339), C(phase), C(status) (worst objective status,
        null on error), C(summary) (objectives per status) and C(message) (the objectives' sentences, or the error).
      type: list
      elements: dict
    elapsed:
      description: Seconds from the start of the run to its end.
      type: float
    interval:
      description: The settings used, as given (also C(count), C(initial_delay), C(failure_limit), C(inconclusive_limit),
        C(consecutive_error_limit), C(failed_status)).
      type: str
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
probes:
  description: What each endpoint of O(probes) answered, in order; the keys of RV(probe) and C(name).
  returned: when O(probes) is set
  type: list
  elements: dict
  sample:
    - {name: v2, url: "http://localhost:8001/api/v1/health/status", count: 3, errors: 0, status_codes: {"200": 3},
       latency_p50: 0.0021, latency_p95: 0.0034, latency_p99: 0.0035, concurrency: 1, duration_seconds: 0.006}
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule

from ansible_collections.sre.runbooks.plugins.module_utils._slo.prometheus import (
    PROMETHEUS_MUTUALLY_EXCLUSIVE,
    PROMETHEUS_REQUIRED_TOGETHER,
)
from ansible_collections.sre.runbooks.plugins.module_utils._slo.slo_args import RANGES, argument_spec
from ansible_collections.sre.runbooks.plugins.module_utils._slo.slo_runner import run_module


def main():
    module = RunbookModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        ranges=RANGES,
        mutually_exclusive=PROMETHEUS_MUTUALLY_EXCLUSIVE,
        required_together=PROMETHEUS_REQUIRED_TOGETHER,
        required_if=[("source", "probe", ["probe"])],
    )
    module.run(lambda: run_module(module), "slo_check")


if __name__ == "__main__":
    main()
