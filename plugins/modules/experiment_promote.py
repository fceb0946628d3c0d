#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: experiment_promote
short_description: Promote an experiment to V2 when its metrics pass the gates, else quarantine it, through the platform API
version_added: 0.1.0
description:
  - The EXP runbook's "Promoting to V2" and "Quarantining Failed Experiments" as one idempotent, audited step.
  - Reads the experiment and its metrics from the V1 experiments API, evaluates O(gates) and the minimum sample
    size client-side (reported gate by gate), then promotes it (C(POST /api/v1/evaluation/promote/{id})) when they
    pass or when O(force=true), or quarantines it (C(POST /api/v1/evaluation/quarantine/{id})) with a reason and
    an impact analysis built from the failed gates.
  - Too few samples, a missing metric or a run still in progress make the evaluation C(inconclusive); the
    experiment is then neither promoted nor quarantined, and O(on_inconclusive) decides whether the task fails.
  - With O(state=quarantined) the experiment is quarantined whatever its metrics (the runbook's manual quarantine);
    the gates are still evaluated and recorded in the impact analysis.
  - An experiment that is already promoted or already quarantined is left alone and the task reports no change.
  - The platform applies its own promotion criteria too. When it refuses a promotion the gates allowed, the task
    fails with the platform's reason.
author:
  - sre.runbooks maintainers (@sre-runbooks)
extends_documentation_fragment:
  - sre.runbooks.platform
  - sre.runbooks.attributes
  - sre.runbooks.attributes.actiongroup_platform
attributes:
  check_mode:
    support: full
    details:
      - The experiment is read and the gates evaluated; neither promote nor quarantine is called.
        RV(decision) and RV(gates) are what a real run would act on.
  diff_mode:
    support: full
    details:
      - Shows the experiment's status before and after.
  idempotent:
    support: full
options:
  experiment_id:
    description:
      - Id of the experiment, as the platform assigned it (C(exp-) followed by 12 hexadecimal digits).
      - Exactly one of O(experiment_id) and O(experiment_name) is required.
    type: str
  experiment_name:
    description: Name of the experiment (names are unique on the platform).
    type: str
  state:
    description:
      - V(promoted) promotes the experiment when the gates pass (or O(force=true)) and otherwise applies O(on_fail)
        or O(on_inconclusive).
      - V(quarantined) quarantines it whatever the gates say.
    type: str
    choices: [promoted, quarantined]
    default: promoted
  gates:
    description:
      - Bounds on the experiment's metrics, all of which must hold for a promotion.
      - The default is the runbook's C(accuracy >= 0.95), C(error_rate <= 0.01) and C(latency_p95_ms <= 2000).
      - A gate whose metric is missing or not a number is C(inconclusive), never passed.
    type: list
    elements: dict
    suboptions:
      metric:
        description: Metric name, as in the experiment's C(metrics) (V(accuracy), V(error_rate), V(latency_p95_ms), ...).
        type: str
        required: true
      min:
        description: Lowest acceptable value (inclusive).
        type: float
      max:
        description: Highest acceptable value (inclusive).
        type: float
      name:
        description: Name of the gate in the results; defaults to the metric.
        type: str
  min_samples:
    description:
      - Fewest samples (the C(sample_count) metric) for a decision; fewer make the evaluation C(inconclusive).
      - V(0) disables the guard.
    type: int
    default: 100
  on_fail:
    description:
      - What to do when a gate fails and the promotion is not forced.
      - V(quarantine) quarantines the experiment (RV(decision=quarantine)); V(fail) fails the task and changes
        nothing; V(none) reports RV(decision=reject) and changes nothing.
    type: str
    choices: [quarantine, fail, none]
    default: quarantine
  on_inconclusive:
    description:
      - What to do when no gate fails but the evaluation is inconclusive (too few samples, missing metric, run in
        progress).
      - V(fail) fails the task, V(none) reports RV(decision=inconclusive), V(quarantine) quarantines the experiment.
    type: str
    choices: [fail, none, quarantine]
    default: fail
  force:
    description:
      - Promote even when gates fail or are inconclusive (the runbook's manual promotion, C(?force=true)). The gates
        are still evaluated, and the promotion is recorded as forced in RV(audit) and on the platform.
      - An experiment with a run in progress is never promoted.
    type: bool
    default: false
  reason:
    description:
      - Quarantine reason. Fields in single braces are filled in by the module; V({failed_summary}) (the default)
        gives for example C(Accuracy below threshold (0.92 < 0.95)).
      - 'Fields: V({failed_summary}), V({failed_gates}), V({inconclusive_gates}), V({experiment_id}), V({experiment_name}),
        V({primary_model}), V({secondary_model}), V({samples}).'
    type: str
    default: "{failed_summary}"
  impact_analysis:
    description:
      - Extra keys for the quarantine record's impact analysis, merged over the generated C(affected_models),
        C(failed_gates), C(metrics) and C(recommendation).
    type: dict
    default: {}
notes:
  - Every API call carries an C(X-Request-Id); the ids are returned in the C(requests) list of RV(audit) and stored by
    the platform with its audit events and records.
seealso:
  - module: sre.runbooks.experiment
  - module: sre.runbooks.slo_check
  - name: Platform API contract
    description: docs/platform-api.md in the collection's source repository.
    link: https://example.invalid/sre/runbooks/docs/platform-api.md
"""

EXAMPLES = r"""
---
- name: Promote when the metrics pass the runbook gates, otherwise quarantine with the reason
  sre.runbooks.experiment_promote:
    experiment_name: Test new prompt v3
  register: promotion

- name: Stricter gates, fail instead of quarantining
  sre.runbooks.experiment_promote:
    experiment_id: exp-3f2a9c1b7d4e
    gates:
      - {metric: accuracy, min: 0.97}
      - {metric: latency_p95_ms, max: 1500}
      - {metric: error_rate, max: 0.005}
    min_samples: 500
    on_fail: fail

- name: Manual promotion (forced), recorded as such
  sre.runbooks.experiment_promote:
    experiment_id: exp-3f2a9c1b7d4e
    force: true

- name: Quarantine by hand with the runbook's reason and impact analysis
  sre.runbooks.experiment_promote:
    experiment_id: exp-3f2a9c1b7d4e
    state: quarantined
    reason: Accuracy below threshold (0.92 < 0.95)
    impact_analysis:
      recommendation: Adjust prompt template
"""

RETURN = r"""
decision:
  description:
    - V(promote), V(quarantine), V(reject) (gates failed, O(on_fail) not quarantine), V(inconclusive),
      V(already_promoted) or V(already_quarantined).
  returned: always
  type: str
  sample: quarantine
promoted:
  description: Whether the experiment was promoted by this task (or would be, in check mode).
  returned: always
  type: bool
quarantined:
  description: Whether the experiment was quarantined by this task (or would be, in check mode).
  returned: always
  type: bool
forced:
  description:
    - Whether the promotion was made with O(force=true), skipping the platform's criteria; the platform records it as
      forced. RV(gates) shows whether the gates would have allowed it.
  returned: always
  type: bool
evaluation:
  description: Overall gate result, V(pass), V(fail) or V(inconclusive).
  returned: always
  type: str
  sample: fail
gates:
  description: Each gate with its bounds, the value found and its verdict; the sample-size guard is the last entry.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Gate name.
      type: str
    metric:
      description: Metric checked.
      type: str
    min:
      description: Lowest acceptable value, or null.
      type: float
    max:
      description: Highest acceptable value, or null.
      type: float
    value:
      description: The experiment's value, or null when missing.
      type: float
    status:
      description: V(pass), V(fail) or V(inconclusive).
      type: str
    message:
      description: The verdict in words, such as C(accuracy below threshold (0.92 < 0.95)).
      type: str
failed_gates:
  description: Names of the gates that failed.
  returned: always
  type: list
  elements: str
metrics:
  description: Snapshot of the experiment's metrics when it was evaluated.
  returned: always
  type: dict
  sample: {accuracy: 0.92, error_rate: 0.004, latency_p95_ms: 1310.0, sample_count: 400}
reason:
  description: The quarantine reason sent (or that would be sent).
  returned: when RV(decision=quarantine)
  type: str
  sample: Accuracy below threshold (0.92 < 0.95)
impact_analysis:
  description: The impact analysis sent with the quarantine.
  returned: when RV(decision=quarantine)
  type: dict
experiment:
  description: The experiment as the V1 API returns it, read again after the action (before it, in check mode).
  returned: always
  type: dict
  sample: {id: exp-3f2a9c1b7d4e, name: Test new prompt v3, status: quarantined}
promotion:
  description: The promotion record returned by the platform.
  returned: when promoted or already promoted
  type: dict
quarantine_record:
  description: The quarantine record returned by the platform.
  returned: when quarantined or already quarantined
  type: dict
audit:
  description:
    - One record of what was decided and done, for change logs and AWX job output.
    - C(decision), C(why), C(experiment_id), C(experiment_name), C(status_before), C(status_after), C(forced),
      C(check_mode), C(evaluation), C(failed_gates), C(metrics), C(promotion_id), C(quarantine_id), C(started_at),
      C(finished_at) and C(requests) (each API call's C(request_id), method, path and status).
  returned: always
  type: dict
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule

from ansible_collections.sre.runbooks.plugins.module_utils._platform.promote_args import RANGES, argument_spec
from ansible_collections.sre.runbooks.plugins.module_utils._platform.promote_runner import run_module


def main():
    module = RunbookModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        ranges=RANGES,
        required_one_of=[("experiment_id", "experiment_name")],
        mutually_exclusive=[("experiment_id", "experiment_name")],
    )
    module.run(lambda: run_module(module), "experiment_promote")


if __name__ == "__main__":
    main()
