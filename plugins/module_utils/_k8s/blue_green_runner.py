# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_blue_green's runner: read the traffic object and both slots, then deploy, promote, abort or clean up.

Every decision (which slot is active, what a release needs, the manifests and patches, whether a
slot's keep time is over) is a pure function of blue_green_plan; this file reads and writes the API
and waits. The switch is one JSON patch guarded by a ``test`` of the slot it moves from, so two
runs cannot both switch.
"""

from __future__ import annotations

import datetime

from ansible_collections.sre.runbooks.plugins.module_utils._common.checks import InputError
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import blue_green_plan as plan
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import blue_green_smoke as smoke
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import pods as k8s_pods
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import rollout_plan as ro
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.blue_green_args import check_options
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import KubeError, connect, object_ref
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.wait import RolloutWaiter


class TaskFailed(Exception):
    """The task fails with this sentence after the results gathered so far."""


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


class BlueGreen:
    """One application's two slots and the object that sends traffic to one of them."""

    def __init__(self, module, api, delay_seconds, clock=_utcnow):
        params = module.params
        self.params = params
        self.api = api
        self.check_mode = module.check_mode
        self.namespace = params["namespace"]
        self.name = params["name"]
        self.slots = tuple(params["slots"])
        self.slot_label = params["slot_label"]
        self.service = params.get("service") or self.name
        self.ingress = params.get("ingress")
        self.delay_seconds = delay_seconds
        self.now = clock()
        self.actions = {"status": self.status, "deploy": self.deploy, "promote": self.promote,
                        "abort": self.abort, "cleanup": self.cleanup}
        self.traffic = None
        self.active = self.idle = None
        self.deps = {}
        self.before = None
        self.changed = False
        self.switched = False
        self.steps = []
        self.warnings = []
        self.release = None
        self.smoke_rows = []
        self.smoke_passed = None
        self.wait_outcome = {"waited": False, "outcome": "skipped", "reason": None, "message": "", "elapsed": 0.0,
                             "failing_pods": []}
        self.kept_until = None
        self.serving = []
        # The Service that carries the users' traffic, and its selector (set by read, moved by a switch).
        self.serving_template = None
        self.serving_selector = {}

    # -------------------------------------------------------------------------- names

    def dep_ref(self, slot):
        return object_ref("Deployment", self.namespace, plan.deployment_name(self.name, slot))

    def traffic_ref(self):
        return object_ref("Ingress" if self.ingress else "Service", self.namespace, self.ingress or self.service)

    def serving_service_name(self):
        """The Service that carries the users' traffic (in Ingress mode, the active slot's own Service)."""
        return plan.deployment_name(self.service, self.active) if self.ingress else self.service

    def preview_service_name(self):
        if self.ingress:
            return plan.deployment_name(self.service, self.idle)
        return self.params.get("preview_service") or f"{self.service}-preview"

    # -------------------------------------------------------------------------- reading

    def _must_find(self, kind, name, why=""):
        obj = self.api.find(kind, self.namespace, name)
        if obj is None:
            raise TaskFailed(f"{object_ref(kind, self.namespace, name)}{why} does not exist.")
        return obj

    def read(self):
        if self.ingress:
            self.traffic = self._must_find("Ingress", self.ingress)
            self.active = plan.active_slot_of_ingress(self.traffic, self.service, self.slots)
        else:
            self.traffic = self._must_find("Service", self.service)
            self.active = plan.active_slot_of_service(self.traffic, self.slot_label, self.slots)
        self.idle = plan.other_slot(self.slots, self.active)
        serving_service = self.traffic
        if self.ingress:
            serving_service = self._must_find("Service", self.serving_service_name(),
                                              f", which {self.traffic_ref()} sends traffic to,")
        for slot in self.slots:
            self.deps[slot] = self.api.find("Deployment", self.namespace, plan.deployment_name(self.name, slot))
        active = self.deps[self.active]
        if active is None:
            raise TaskFailed(f"{self.dep_ref(self.active)}, the active slot {self.traffic_ref()} sends traffic to, "
                             "does not exist.")
        for slot in self.slots:
            if self.deps[slot] is not None:
                plan.check_slot_deployment(self.deps[slot], self.slot_label, slot)
        selector = (serving_service.get("spec") or {}).get("selector") or {}
        labels = (ro.pod_template(active).get("metadata") or {}).get("labels") or {}
        if not plan.selects(selector, labels):
            raise TaskFailed(f"{object_ref('Service', self.namespace, self.serving_service_name())}'s selector "
                             f"({plan.selector_text(selector) or 'none'}) matches no pod of {self.dep_ref(self.active)} "
                             f"(its pods' labels: {plan.selector_text(labels) or 'none'}).")
        self.serving_selector = selector
        self.serving_template = serving_service
        self.before = self.state()

    def state(self):
        return {"active_slot": self.active,
                "slots": {slot: plan.slot_summary(self.deps.get(slot), self.name, slot) for slot in self.slots}}

    # -------------------------------------------------------------------------- writing

    def _patch(self, kind, name, ops, current):
        """JSON patch ``ops`` on the object (in check mode, applied to a copy); returns the object after."""
        if not ops:
            return current
        self.changed = True
        if self.check_mode:
            return plan.apply_ops(current, ops)
        return self.api.patch(kind, self.namespace, name, ops, patch_type="json")

    def _patch_slot(self, slot, ops):
        self.deps[slot] = self._patch("Deployment", plan.deployment_name(self.name, slot), ops, self.deps[slot])

    def _mark(self, slot, role, scale_down_at=None, replicas=None):
        """Set the slot's role (and scale-down time, dropped when None); scale it to ``replicas`` when given."""
        ops = [] if replicas is None else [{"op": "replace", "path": "/spec/replicas", "value": replicas}]
        changes = {plan.ROLE: role, plan.SCALE_DOWN_AT: scale_down_at}
        self._patch_slot(slot, ops + ro.annotation_ops(self.deps[slot], changes))

    def _create(self, kind, manifest):
        self.changed = True
        return manifest if self.check_mode else self.api.create(kind, self.namespace, manifest)

    def _ensure_preview(self):
        """Create the preview Service, or point it at the idle slot."""
        name = self.preview_service_name()
        wanted = plan.slot_service(self.serving_template, name, self.slot_label, self.idle)
        current = self.api.find("Service", self.namespace, name)
        if current is None:
            self._create("Service", wanted)
            self.steps.append(f"created the preview {object_ref('Service', self.namespace, name)}")
            return
        ops = plan.selector_ops(current, wanted["spec"]["selector"])
        if ops:
            self._patch("Service", name, ops, current)
            self.steps.append(f"pointed the preview {object_ref('Service', self.namespace, name)} at slot {self.idle}")

    def _wait_available(self, slot):
        """Wait until the slot's Deployment is available; TaskFailed (traffic untouched) when it is not."""
        if self.check_mode:
            return
        waiter = RolloutWaiter(self.api, "Deployment", self.namespace, plan.deployment_name(self.name, slot),
                               self.params["fail_fast_reasons"])
        outcome = waiter.wait(self.params["wait_timeout"])
        self.deps[slot] = outcome["workload"]
        self.wait_outcome = {"waited": True, "outcome": outcome["outcome"], "reason": outcome["reason"],
                             "message": outcome["message"], "elapsed": outcome["elapsed"],
                             "failing_pods": outcome["failing_pods"]}
        if outcome["outcome"] == "complete":
            return
        pods = outcome["failing_pods"] or outcome["unhealthy_pods"]
        detail = f" ({k8s_pods.summarize(pods)})" if pods else ""
        within = f" within {self.params['wait_timeout']}s" if outcome["outcome"] == "timeout" else ""
        raise TaskFailed(f"{self.dep_ref(slot)} did not become available{within}: {outcome['message'].rstrip('.')}"
                         f"{detail}; traffic stays on slot {self.active}.")

    def _switch(self, to_slot):
        """Send the traffic to ``to_slot``: one guarded JSON patch of the Service's selector or the Ingress's backends."""
        from_slot = self.active
        if self.ingress:
            ops = plan.ingress_switch_ops(self.traffic, plan.deployment_name(self.service, from_slot),
                                          plan.deployment_name(self.service, to_slot))
            kind, name = "Ingress", self.ingress
        else:
            ops = plan.service_switch_ops(self.slot_label, from_slot, to_slot)
            kind, name = "Service", self.service
        try:
            self.traffic = self._patch(kind, name, ops, self.traffic)
        except KubeError as exc:
            if exc.status == 422:  # a test operation failed: someone switched meanwhile
                raise TaskFailed(f"{self.traffic_ref()} changed while switching (it no longer sends traffic to slot "
                                 f"{from_slot}); nothing was switched, read its state and run again.") from None
            raise
        self.switched = True
        self.active, self.idle = to_slot, from_slot
        self.steps.append(f"switched {self.traffic_ref()} from slot {from_slot} to slot {to_slot}")
        if self.ingress:
            # In check mode the idle slot's Service may only be planned: then it is the one that would be made.
            self.serving_template = (self.api.find("Service", self.namespace, self.serving_service_name())
                                     or plan.slot_service(self.serving_template, self.serving_service_name(),
                                                          self.slot_label, to_slot))
            self.serving_selector = (self.serving_template.get("spec") or {}).get("selector") or {}
        else:
            self.serving_selector = (self.traffic.get("spec") or {}).get("selector") or {}

    def _list_pods(self, selector):
        return self.api.list("Pod", self.namespace, label_selector=plan.selector_text(selector))["items"]

    # -------------------------------------------------------------------------- actions

    def status(self):
        self.steps.append(f"slot {self.active} serves")

    def deploy(self):
        """Put the release into the idle slot and wait until it is available. Returns the plan's decision."""
        active = self.deps[self.active]
        replicas = self.params.get("replicas")
        if replicas is None:
            replicas = (active.get("spec") or {}).get("replicas", 1)
        template = plan.release_template(active, self.slot_label, self.idle, self.params.get("images"))
        decision = plan.plan_deploy(active, self.deps[self.idle], template, replicas, self.slot_label)
        self.release = {"slot": self.active if decision == plan.LIVE else self.idle, "decision": decision,
                        "images": ro.images(template)}
        if decision == plan.LIVE:
            self.steps.append(f"slot {self.active} already serves {', '.join(ro.images(template).values())}")
            return decision
        if decision == plan.CREATE:
            manifest = plan.release_deployment(active, self.name, self.idle, self.slot_label, template, replicas)
            self.deps[self.idle] = self._create("Deployment", manifest)
            self.steps.append(f"created {self.dep_ref(self.idle)} with {', '.join(ro.images(template).values())}")
        elif decision == plan.UPDATE:
            if plan.role(self.deps[self.idle]) == "previous" and (self.deps[self.idle].get("spec") or {}).get("replicas"):
                self.warnings.append(f"{self.dep_ref(self.idle)} was kept for a switch back to the previous release; "
                                     "the new release replaces it.")
            self._patch_slot(self.idle, plan.release_ops(self.deps[self.idle], template, replicas))
            self.steps.append(f"deployed {', '.join(ro.images(template).values())} to {self.dep_ref(self.idle)}")
        self._ensure_preview()
        self._wait_available(self.idle)
        if decision == plan.READY:
            self.steps.append(f"slot {self.idle} already holds the release")
        return decision

    def promote(self):
        if self.params.get("images"):
            if self.deploy() == plan.LIVE:
                return
        elif plan.role(self.deps[self.idle]) != "preview":
            self.steps.append("no release waits in the idle slot, nothing to promote")
            return
        else:
            self.release = {"slot": self.idle, "decision": plan.READY,
                            "images": ro.images(ro.pod_template(self.deps[self.idle]))}
            self._wait_available(self.idle)
        self._smoke_tests()
        old = self.active
        self._switch(self.idle)
        self.kept_until = plan.scale_down_at(self.now, self.delay_seconds)
        self._mark(old, "previous", scale_down_at=self.kept_until)
        self._mark(self.active, "active")
        self.steps.append(f"kept slot {old} scaled until {self.kept_until}")

    def _smoke_tests(self):
        tests = self.params.get("smoke_tests") or []
        if not tests or self.check_mode:
            return
        name = self.preview_service_name()
        preview = self._must_find("Service", name)
        selector = (preview.get("spec") or {}).get("selector") or {}
        pods = self._list_pods(selector)
        behind = plan.serving_pods(selector, pods, self.slot_label)
        if any(row["slot"] != self.idle for row in behind) or (not behind and any(t.get("path") for t in tests)):
            raise TaskFailed(f"{object_ref('Service', self.namespace, name)} does not send traffic to the Ready pods of "
                             f"slot {self.idle} only ({len(behind)} Ready pods behind it); traffic stays on slot "
                             f"{self.active}.")
        self.smoke_rows = smoke.run(tests, preview, pods, self.slot_label)
        self.smoke_passed = all(row["passed"] for row in self.smoke_rows)
        if not self.smoke_passed:
            raise TaskFailed(f"Smoke tests of slot {self.idle} failed: {smoke.failure_summary(self.smoke_rows)}; "
                             f"traffic stays on slot {self.active}, and {self.dep_ref(self.idle)} is left running "
                             "for inspection (action=abort discards it).")
        self.steps.append(f"{len(self.smoke_rows)} smoke test requests passed")

    def abort(self):
        idle = self.deps[self.idle]
        state = plan.role(idle)
        if state == "preview":
            self._mark(self.idle, "aborted", replicas=0)
            self.steps.append(f"discarded the release in slot {self.idle} (scaled to 0); slot {self.active} serves")
            return
        if state != "previous":
            self.steps.append(f"nothing to abort: slot {self.active} serves and no previous slot is kept")
            return
        aborted = self.active
        replicas = (self.deps[aborted].get("spec") or {}).get("replicas", 1)
        self._patch_slot(self.idle, ([{"op": "replace", "path": "/spec/replicas", "value": replicas}]
                                     if (idle.get("spec") or {}).get("replicas", 1) != replicas else []))
        self._wait_available(self.idle)
        self._switch(self.idle)
        self._mark(self.active, "active")
        self._mark(aborted, "aborted", replicas=0)
        self.steps.append(f"scaled the aborted slot {aborted} to 0")

    def cleanup(self):
        decision, reason = plan.plan_cleanup(self.deps[self.idle], self.now, self.params["cleanup_mode"])
        ref = self.dep_ref(self.idle)
        if decision == plan.KEEP:
            self.kept_until = (self.deps[self.idle]["metadata"].get("annotations") or {}).get(plan.SCALE_DOWN_AT)
            self.steps.append(f"kept {ref}: {reason}")
        elif decision == plan.LEAVE:
            self.steps.append(f"nothing to clean up in slot {self.idle}: {reason}")
        elif self.params["cleanup_mode"] == "scale_down":
            self._patch_slot(self.idle, plan.cleanup_ops(self.deps[self.idle]))
            self.steps.append(f"scaled {ref} to 0 ({reason})")
        else:
            self.changed = True
            if not self.check_mode:
                self.api.delete("Deployment", self.namespace, plan.deployment_name(self.name, self.idle),
                                uid=self.deps[self.idle]["metadata"].get("uid"), propagation_policy="Background")
            self.deps[self.idle] = None
            self.steps.append(f"deleted {ref} ({reason})")

    # -------------------------------------------------------------------------- result

    def result(self):
        after = self.state()
        message = "; ".join(self.steps)
        result = {
            "changed": self.changed, "action": self.params["action"], "active_slot": self.active,
            "active_slot_before": self.before["active_slot"] if self.before else None, "idle_slot": self.idle,
            "switched": self.switched, "release": self.release, "slots": after["slots"],
            "traffic": {"kind": "Ingress" if self.ingress else "Service", "name": self.ingress or self.service,
                        "service": self.serving_service_name() if self.active else None,
                        "preview_service": self.preview_service_name() if self.idle else None,
                        "serving_pods": self.serving},
            "smoke_tests": self.smoke_rows, "smoke_passed": self.smoke_passed, "wait": self.wait_outcome,
            "kept_until": self.kept_until,
            "message": (message[0].upper() + message[1:] + ".") if message else "",
        }
        if self.before is not None and self.before != after:
            result["diff"] = {"before_header": self.traffic_ref(), "after_header": self.traffic_ref(),
                              "before": plan.diff_view(self.before), "after": plan.diff_view(after)}
        return result

    def observe(self):
        """The Ready pods the serving Service sends traffic to now (not after a change check mode only planned)."""
        if self.active and self.serving_selector and not (self.check_mode and self.changed):
            self.serving = plan.serving_pods(self.serving_selector, self._list_pods(self.serving_selector),
                                             self.slot_label)

    def run(self):
        self.read()
        self.actions[self.params["action"]]()
        self.observe()
        return self.result()


def run_module(module):
    """Check the options, run the action, and exit (failing with one sentence and the results so far)."""
    try:
        delay = check_options(module.params)
    except InputError as exc:
        module.fail_json(msg=str(exc))
        return
    runner = BlueGreen(module, connect(module), delay)
    failure = None
    try:
        result = runner.run()
    except (TaskFailed, KubeError, plan.BlueGreenError, ro.RolloutError) as exc:  # expected: one sentence
        failure = str(exc)
        try:
            runner.observe()  # a failed promotion still shows who serves
        except KubeError:
            pass
        result = runner.result()
    for warning in runner.warnings:
        module.warn(warning)
    if not module._diff:
        result.pop("diff", None)
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)
