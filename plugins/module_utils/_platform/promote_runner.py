# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""experiment_promote once its options are parsed: read the experiment, decide with the gates, act, audit."""

from __future__ import annotations

from datetime import datetime, timezone

from ansible_collections.sre.runbooks.plugins.module_utils._platform.client import (
    PlatformClient,
    PlatformError,
    experiment_path,
    get_experiment,
    resolve_experiment,
)
from ansible_collections.sre.runbooks.plugins.module_utils._platform.gates import (
    DEFAULT_REASON,
    GateError,
    decide,
    evaluate,
    impact_analysis,
    normalize_gates,
    render_reason,
)
from ansible_collections.sre.runbooks.plugins.module_utils._platform.promote_args import (
    OptionError,
    check_option_combinations,
)

AGENT = "sre.runbooks/experiment_promote"
# How the final message words each decision.
OUTCOMES = {
    "promote": "promoted to V2",
    "quarantine": "quarantined",
    "reject": "not promoted (gates failed)",
    "inconclusive": "not promoted (inconclusive)",
    "already_promoted": "already promoted",
    "already_quarantined": "already quarantined",
}


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
        self.actions = {"promote": self._promote, "quarantine": self._quarantine, "none": self._leave}

    def run(self):
        """Act on the experiment; return a refusal sentence when the task must fail without acting, else None."""
        p = self.p
        gates = normalize_gates(p["gates"])
        experiment = resolve_experiment(self.client, p["experiment_id"], p["experiment_name"])
        evaluation = evaluate(gates, experiment.get("metrics") or {}, p["min_samples"])
        plan = decide(experiment.get("status"), evaluation, state=p["state"], force=p["force"],
                      on_fail=p["on_fail"], on_inconclusive=p["on_inconclusive"])
        self._record_reading(experiment, evaluation, plan)
        if plan["fail"]:
            return f"Not acting on experiment {experiment.get('name')!r} ({experiment.get('id')}): {plan['why']}."
        self.actions[plan["action"]](experiment, evaluation)
        before = experiment.get("status")
        after = self.result["experiment"].get("status")
        if self.module.check_mode and self.result["changed"]:
            after = "promoted" if self.result["promoted"] else "quarantined"
        self.audit["status_after"] = after
        if self.module._diff:
            self.result["diff"] = {"before": {"id": experiment.get("id"), "status": before},
                                   "after": {"id": experiment.get("id"), "status": after}}
        return None

    def _record_reading(self, experiment, evaluation, plan):
        """What was read and decided, in the result and the audit, before anything is done."""
        metrics = experiment.get("metrics") or {}
        status = experiment.get("status")
        self.result.update(decision=plan["decision"], evaluation=evaluation["result"], gates=evaluation["gates"],
                           failed_gates=evaluation["failed"], metrics=metrics, experiment=experiment)
        self.audit.update(decision=plan["decision"], why=plan["why"], experiment_id=experiment.get("id"),
                          experiment_name=experiment.get("name"), status_before=status, status_after=status,
                          forced=False, evaluation=evaluation["result"], failed_gates=evaluation["failed"],
                          metrics=metrics)
        if experiment.get("promotion"):
            self.result["promotion"] = experiment["promotion"]
            self.audit["promotion_id"] = experiment["promotion"].get("id")
        if experiment.get("quarantine"):
            self.result["quarantine_record"] = experiment["quarantine"]
            self.audit["quarantine_id"] = experiment["quarantine"].get("id")

    def _leave(self, experiment, evaluation):
        """Nothing to do: the experiment is in a final state, or the policy says not to act."""

    def _promote(self, experiment, evaluation):
        forced = self.p["force"]
        if self.module.check_mode:
            self.result.update(changed=True, promoted=True, forced=forced)
            self.audit["forced"] = forced
            return
        try:
            path = experiment_path(experiment["id"], "/api/v1/evaluation/promote/{id}")
            body = self.client.request("v1", "POST", path, query={"force": "true"} if forced else None,
                                       expect=(200, 201))[1]
        except PlatformError as exc:
            if exc.status == 422:
                raise PlatformError(f"The platform refused to promote experiment {experiment.get('name')!r} "
                                    f"({experiment['id']}) although the gates passed: "
                                    f"{((exc.payload or {}).get('error') or {}).get('message', str(exc)).rstrip('.')}.",
                                    status=422, code=exc.code, payload=exc.payload) from None
            raise
        promotion = body.get("promotion") or {}
        self._settle(body, "promoted", "already_promoted")
        self.result["promotion"] = promotion
        self.result["forced"] = bool(promotion.get("forced", forced))
        self.audit.update(promotion_id=promotion.get("id"), forced=self.result["forced"])
        self.result["experiment"] = body.get("experiment") or get_experiment(self.client, experiment["id"])

    def _quarantine(self, experiment, evaluation):
        reason = render_reason(self.p["reason"] or DEFAULT_REASON, experiment, evaluation)
        if self.p["state"] == "quarantined" and self.p["reason"] == DEFAULT_REASON and evaluation["result"] == "pass":
            # No failed gate to summarise: say why it was quarantined anyway.
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
        self._settle(body, "quarantined", "already_quarantined")
        self.result["quarantine_record"] = record
        self.audit["quarantine_id"] = record.get("id")
        self.result["experiment"] = body.get("experiment") or get_experiment(self.client, experiment["id"])

    def _settle(self, body, done, already):
        """Record that the platform did ``done``, unless it says someone else did it since we read the experiment."""
        self.result.update(changed=True, **{done: True})
        if body.get(already):
            self.result.update(changed=False, decision=already, **{done: False})
            self.audit["decision"] = already

    def finish(self):
        self.audit["finished_at"] = _now()
        self.audit["requests"] = self.client.requests
        self.result["audit"] = self.audit
        return self.result


def run_module(module):
    """Promote or quarantine the experiment in ``module.params`` and end the task through ``module``."""
    try:
        check_option_combinations(module.params)
    except OptionError as exc:
        module.fail_json(msg=str(exc))
    promoter = Promoter(module, PlatformClient(module.params, agent=AGENT))
    try:
        refusal = promoter.run()
    except (GateError, PlatformError) as exc:
        module.fail_json(msg=str(exc), **promoter.finish())
    result = promoter.finish()
    if refusal:
        module.fail_json(msg=refusal, **result)
    prefix = "would be " if module.check_mode and result["changed"] else ""
    result["msg"] = (f"Experiment {result['experiment'].get('name')!r} {prefix}{OUTCOMES[result['decision']]}: "
                     f"{promoter.audit['why']}.")
    module.exit_json(**result)
