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

from datetime import datetime, timezone

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sre.runbooks.plugins.module_utils._platform.gates import (
    DEFAULT_MIN_SAMPLES,
    DEFAULT_REASON,
    GateError,
    decide,
    evaluate,
    impact_analysis,
    normalize_gates,
    render_reason,
)
from ansible_collections.sre.runbooks.plugins.module_utils._platform.client import (
    PLATFORM_COMMON_ARGS,
    PlatformClient,
    PlatformError,
    experiment_path,
    get_experiment,
    resolve_experiment,
)

AGENT = "sre.runbooks/experiment_promote"


def _now():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Promoter:
    """Reads the experiment, decides, and (outside check mode) calls the platform; fills ``result``."""

    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.p = module.params
        self.result = {"changed": False, "promoted": False, "quarantined": False, "forced": False}
        self.audit = {"started_at": _now(), "check_mode": module.check_mode, "promotion_id": None, "quarantine_id": None}

    def run(self):
        p = self.p
        gates = normalize_gates(p["gates"])
        experiment = resolve_experiment(self.client, p["experiment_id"], p["experiment_name"])
        label = f"experiment {experiment.get('name')!r} ({experiment.get('id')})"
        metrics = experiment.get("metrics") or {}
        evaluation = evaluate(gates, metrics, p["min_samples"])
        plan = decide(experiment.get("status"), evaluation, state=p["state"], force=p["force"],
                      on_fail=p["on_fail"], on_inconclusive=p["on_inconclusive"])
        before = experiment.get("status")
        self.result.update(decision=plan["decision"], evaluation=evaluation["result"], gates=evaluation["gates"],
                           failed_gates=evaluation["failed"], metrics=metrics, experiment=experiment)
        self.audit.update(decision=plan["decision"], why=plan["why"], experiment_id=experiment.get("id"),
                          experiment_name=experiment.get("name"), status_before=before, status_after=before,
                          forced=False, evaluation=evaluation["result"], failed_gates=evaluation["failed"],
                          metrics=metrics)
        if experiment.get("promotion"):
            self.result["promotion"] = experiment["promotion"]
            self.audit["promotion_id"] = experiment["promotion"].get("id")
        if experiment.get("quarantine"):
            self.result["quarantine_record"] = experiment["quarantine"]
            self.audit["quarantine_id"] = experiment["quarantine"].get("id")

        if plan["fail"]:
            return f"Not acting on {label}: {plan['why']}."
        if plan["action"] == "promote":
            self._promote(experiment, evaluation, forced=p["force"])
        elif plan["action"] == "quarantine":
            self._quarantine(experiment, evaluation)
        after = self.result["experiment"].get("status")
        if self.module.check_mode and self.result["changed"]:
            after = "promoted" if self.result["promoted"] else "quarantined"
        self.audit["status_after"] = after
        if self.module._diff:
            self.result["diff"] = {"before": {"id": experiment.get("id"), "status": before},
                                   "after": {"id": experiment.get("id"), "status": after}}
        return None

    def _promote(self, experiment, evaluation, forced):
        if self.module.check_mode:
            self.result.update(changed=True, promoted=True, forced=forced)
            self.audit["forced"] = forced
            return
        try:
            path = experiment_path(experiment["id"], "/api/v1/evaluation/promote/{id}")
            body = self.client.request("v1", "POST", path, query={"force": "true"} if self.p["force"] else None,
                                       expect=(200, 201))[1]
        except PlatformError as exc:
            if exc.status == 422:
                raise PlatformError(f"The platform refused to promote experiment {experiment.get('name')!r} "
                                    f"({experiment['id']}) although the gates passed: "
                                    f"{((exc.payload or {}).get('error') or {}).get('message', str(exc)).rstrip('.')}.",
                                    status=422, code=exc.code, payload=exc.payload) from None
            raise
        promotion = body.get("promotion") or {}
        self.result.update(changed=True, promoted=True)
        if body.get("already_promoted"):  # promoted by someone else since we read it
            self.result.update(changed=False, promoted=False, decision="already_promoted")
            self.audit["decision"] = "already_promoted"
        self.result["promotion"] = promotion
        self.result["forced"] = bool(promotion.get("forced", forced))
        self.audit.update(promotion_id=promotion.get("id"), forced=self.result["forced"])
        self.result["experiment"] = body.get("experiment") or get_experiment(self.client, experiment["id"])

    def _quarantine(self, experiment, evaluation):
        reason = render_reason(self.p["reason"] or DEFAULT_REASON, experiment, evaluation)
        if self.p["state"] == "quarantined" and self.p["reason"] == DEFAULT_REASON and evaluation["result"] == "pass":
            reason = "Quarantined by request"
        analysis = impact_analysis(experiment, evaluation, self.p["impact_analysis"])
        self.result.update(reason=reason, impact_analysis=analysis)
        if self.module.check_mode:
            self.result.update(changed=True, quarantined=True)
            return
        path = experiment_path(experiment["id"], "/api/v1/evaluation/quarantine/{id}")
        body = self.client.request("v1", "POST", path, body={"reason": reason, "impact_analysis": analysis},
                                   expect=(200, 201))[1]
        record = body.get("record") or {}
        self.result.update(changed=True, quarantined=True)
        if body.get("already_quarantined"):  # quarantined by someone else since we read it
            self.result.update(changed=False, quarantined=False, decision="already_quarantined")
            self.audit["decision"] = "already_quarantined"
        self.result["quarantine_record"] = record
        self.audit["quarantine_id"] = record.get("id")
        self.result["experiment"] = body.get("experiment") or get_experiment(self.client, experiment["id"])

    def finish(self):
        self.audit["finished_at"] = _now()
        self.audit["requests"] = self.client.requests
        self.result["audit"] = self.audit
        return self.result


def argument_spec():
    spec = dict(PLATFORM_COMMON_ARGS)
    spec.update(
        experiment_id={"type": "str"},
        experiment_name={"type": "str"},
        state={"type": "str", "choices": ["promoted", "quarantined"], "default": "promoted"},
        gates={"type": "list", "elements": "dict", "options": {
            "metric": {"type": "str", "required": True},
            "min": {"type": "float"},
            "max": {"type": "float"},
            "name": {"type": "str"},
        }},
        min_samples={"type": "int", "default": DEFAULT_MIN_SAMPLES},
        on_fail={"type": "str", "choices": ["quarantine", "fail", "none"], "default": "quarantine"},
        on_inconclusive={"type": "str", "choices": ["fail", "none", "quarantine"], "default": "fail"},
        force={"type": "bool", "default": False},
        reason={"type": "str", "default": DEFAULT_REASON},
        impact_analysis={"type": "dict", "default": {}},
    )
    return spec


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        required_one_of=[("experiment_id", "experiment_name")],
        mutually_exclusive=[("experiment_id", "experiment_name")],
    )
    if module.params["min_samples"] < 0:
        module.fail_json(msg="min_samples cannot be negative.")
    if module.params["state"] == "quarantined" and module.params["force"]:
        module.fail_json(msg="force applies to promotions; it cannot be combined with state=quarantined.")
    promoter = Promoter(module, PlatformClient(module.params, agent=AGENT))
    try:
        refusal = promoter.run()
    except (GateError, PlatformError) as exc:
        module.fail_json(msg=str(exc), **promoter.finish())
    result = promoter.finish()
    if refusal:
        module.fail_json(msg=refusal, **result)
    decision = result["decision"]
    name = result["experiment"].get("name")
    verbs = {"promote": "promoted to V2", "quarantine": "quarantined", "reject": "not promoted (gates failed)",
             "inconclusive": "not promoted (inconclusive)", "already_promoted": "already promoted",
             "already_quarantined": "already quarantined"}
    prefix = "would be " if module.check_mode and result["changed"] else ""
    result["msg"] = f"Experiment {name!r} {prefix}{verbs[decision]}: {promoter.audit['why']}."
    module.exit_json(**result)


if __name__ == "__main__":
    main()
