#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: platform_report_info
short_description: Read the platform's compliance reports and judge them against thresholds
version_added: 0.1.0
description:
  - The EXP runbook's "Compliance Reports" (coverage row E5) as one task - the SLO compliance report
    (C(GET /api/v1/metrics/slo-compliance) on the V2 production API), the quarantine statistics
    (C(GET /api/v1/quarantine/statistics) on the V3 quarantine API) and the model performance report
    (C(GET /api/v1/metrics/models) on the V2 production API).
  - Each report is returned as the platform answers it, after checking it has the fields the thresholds read;
    RV(summary) adds the figures the thresholds compare (availability over the window, quarantine rate).
  - Every threshold in O(thresholds) that is breached becomes one entry of RV(findings), with the measured
    number and the limit in its message. The module never fails for a breach; the
    C(sre.runbooks.compliance_report) role fails the play on one.
  - An unreachable API, an answer that is not JSON, or a report without the expected fields fails the task
    with one sentence.
author:
  - sre.runbooks maintainers (@sre-runbooks)
extends_documentation_fragment:
  - sre.runbooks.platform
  - sre.runbooks.attributes
  - sre.runbooks.attributes.actiongroup_platform
  - sre.runbooks.attributes.info_module
options:
  slo_window:
    description: Window of the SLO compliance report, as the platform writes windows (V(30d), V(7d), V(24h), V(1h)).
    type: str
    default: 30d
  thresholds:
    description:
      - Limits the reports are judged against. An option left unset is not checked.
      - Figures without data (no traffic in the window, a model without a completed run) are listed in
        RV(no_data), never reported as breaches.
    type: dict
    default: {}
    suboptions:
      min_availability_percent:
        description: Minimum availability of the service over O(slo_window), in percent (requests without a server
          error over all requests, from the report's daily rows).
        type: float
      min_daily_availability_percent:
        description: Minimum availability of each day of the report, in percent.
        type: float
      min_error_budget_remaining:
        description: Minimum error budget remaining of each SLO objective (a fraction; negative means overspent).
        type: float
      breached_objectives:
        description: Report every SLO objective the platform marks V(breached) as a finding.
        type: bool
        default: false
      max_quarantine_rate_percent:
        description: Maximum share of experiments in quarantine, in percent (the model report's C(quarantined)
          over C(experiments), summed over models).
        type: float
      max_quarantined_last_24h:
        description: Maximum number of quarantines in the last 24 hours (quarantine statistics C(last_24h)).
        type: int
      max_quarantined_last_7d:
        description: Maximum number of quarantines in the last 7 days (quarantine statistics C(last_7d)).
        type: int
      min_accuracy:
        description: Minimum average accuracy of each model (C(avg_accuracy), 0 to 1).
        type: float
      max_error_rate:
        description: Maximum average error rate of each model (C(avg_error_rate), 0 to 1).
        type: float
      max_latency_p95_ms:
        description: Maximum average p95 latency of each model, in milliseconds (C(avg_latency_p95_ms)).
        type: float
seealso:
  - module: sre.runbooks.slo_check
  - module: sre.runbooks.experiment_promote
"""

EXAMPLES = r"""
---
- name: Read the compliance reports and judge them (EXP runbook, Compliance Reports)
  sre.runbooks.platform_report_info:
    platform_v2_url: http://localhost:8001
    platform_v3_url: http://localhost:8003
    slo_window: 30d
    thresholds:
      min_availability_percent: 99.9
      breached_objectives: true
      max_quarantine_rate_percent: 20
      min_accuracy: 0.95
      max_error_rate: 0.01
  register: reports

- name: Fail on a breach
  ansible.builtin.fail:
    msg: "{{ reports.findings | map(attribute='message') | join(' ') }}"
  when: reports.breached
"""

RETURN = r"""
slo_compliance:
  description: The SLO compliance report as the V2 API returns it (service, window, objectives, daily rows).
  returned: success
  type: dict
  sample: {service: platform-v2-api, window: 30d, compliant: true, objectives: [], daily: []}
quarantine_statistics:
  description: The quarantine statistics as the V3 API returns them (total_records, last_24h, last_7d, by_model, by_reason).
  returned: success
  type: dict
  sample: {total_records: 2, last_24h: 1, last_7d: 2, by_model: {gpt-4: 2}, by_reason: []}
model_performance:
  description: The model performance report as the V2 API returns it (one entry per model, with averages).
  returned: success
  type: dict
  sample: {models: [{model: gpt-4, experiments: 3, quarantined: 1, avg_accuracy: 0.95}]}
summary:
  description: The figures the thresholds compare.
  returned: success
  type: dict
  sample: {service: platform-v2-api, window: 30d, requests: 1000.0, errors: 1.0, availability_percent: 99.9,
           objectives_breached: [], quarantine_records: 1, quarantined_last_24h: 1, quarantined_last_7d: 1,
           experiments: 4, quarantined_experiments: 1, quarantine_rate_percent: 25.0, models: 2}
findings:
  description: One entry per threshold breached; C(message) is a sentence with the measured number and the limit.
  returned: success
  type: list
  elements: dict
  sample: [{report: model_performance, subject: gpt-4, metric: avg_accuracy, value: 0.92, threshold: 0.95,
            option: min_accuracy,
            message: "Model 'gpt-4' average accuracy is 0.92, below the minimum 0.95 (min_accuracy)."}]
breached:
  description: Whether any threshold is breached (RV(findings) is not empty).
  returned: success
  type: bool
no_data:
  description: Checks that could not be judged for lack of data, one sentence each.
  returned: success
  type: list
  elements: str
requests:
  description: The requests sent (request id, API, method, path, status), for the platform's audit log.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule

from ansible_collections.sre.runbooks.plugins.module_utils._platform.report_args import RANGES, argument_spec
from ansible_collections.sre.runbooks.plugins.module_utils._platform.report_runner import run_module


def main():
    module = RunbookModule(argument_spec=argument_spec(), supports_check_mode=True, ranges=RANGES)
    module.run(lambda: run_module(module), "platform_report_info")


if __name__ == "__main__":
    main()
