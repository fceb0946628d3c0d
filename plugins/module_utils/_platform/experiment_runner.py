# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The experiment module once its options are parsed: find or create the experiment, run it, wait for it."""

from __future__ import annotations

import time

from ansible_collections.sre.runbooks.plugins.module_utils._platform.client import (
    PlatformClient,
    PlatformError,
    experiment_path,
    find_experiment,
    get_experiment,
)
from ansible_collections.sre.runbooks.plugins.module_utils._platform.experiment_plan import (
    DEFINITION,
    differences,
    needs_run,
    status_after,
)

AGENT = "sre.runbooks/experiment"


class ExperimentError(Exception):
    """The options cannot bring the experiment to the state asked for; the message is one sentence."""


def wait_for_run(client, experiment, timeout, interval, clock=time.monotonic, sleep=time.sleep):
    """Poll until the experiment leaves ``running``; return (experiment, seconds waited) or raise PlatformError."""
    started = clock()
    while experiment.get("status") == "running":
        if clock() - started >= timeout:
            raise PlatformError(f"The run of experiment {experiment['name']!r} ({experiment['id']}) did not finish "
                                f"within {timeout:g}s.")
        sleep(min(interval, max(0.0, timeout - (clock() - started))))
        experiment = get_experiment(client, experiment["id"])
    return experiment, clock() - started


class ExperimentRunner:
    """Brings the experiment named in the options to ``state``; ``result`` holds what was done so far."""

    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.p = module.params
        self.result = {"changed": False, "created": False, "run_started": False, "experiment": None, "metrics": None,
                       "waited_seconds": 0.0, "differences": []}

    def run(self):
        p = self.p
        experiment = find_experiment(self.client, p["name"])
        before = experiment.get("status") if experiment else "absent"
        if experiment is None:
            experiment = self._create()
        else:
            self._compare(experiment)
        # In check mode a would-be-created experiment is None, and starts like a new one.
        if needs_run(p["state"], experiment.get("status") if experiment else "created", p["rerun"]):
            experiment = self._start_run(experiment)
        if experiment and p["state"] == "completed" and p["wait"] and not self.module.check_mode:
            experiment = self._wait(experiment, before)
        self._report(experiment, before)
        return self.result

    def _create(self):
        p = self.p
        missing = [f for f in ("primary_model", "prompt_template") if not p[f]]
        if missing:
            raise ExperimentError(f"Experiment {p['name']!r} does not exist on {self.client.where('v1')} and cannot be "
                                  f"created without {' and '.join(missing)}.")
        experiment = None
        if not self.module.check_mode:
            body = {k: p[k] for k in ("name", *DEFINITION) if p[k] is not None}
            experiment = self.client.request("v1", "POST", "/api/v1/experiments/create", body=body, expect=(201,))[1]
        self.result.update(changed=True, created=True)
        return experiment

    def _compare(self, experiment):
        found = differences(experiment, self.p)
        self.result["differences"] = found
        if found:
            self.module.warn(f"Experiment {self.p['name']!r} exists with a different {', '.join(found)}; "
                             "the platform cannot update an experiment, so it was left as it is.")

    def _start_run(self, experiment):
        p = self.p
        if not p["code_samples"]:
            raise ExperimentError(f"Experiment {p['name']!r} needs a run, and code_samples is empty.")
        if self.module.check_mode:
            self.result.update(changed=True, run_started=True)
            return experiment
        body = {"code_samples": p["code_samples"], "language": p["language"]}
        if p["iterations"] is not None:
            body["iterations"] = p["iterations"]
        self.client.request("v1", "POST", experiment_path(experiment["id"], "/api/v1/experiments/run/{id}"),
                            body=body, expect=(202,))
        self.result.update(changed=True, run_started=True)
        return get_experiment(self.client, experiment["id"])

    def _wait(self, experiment, before):
        experiment, waited = wait_for_run(self.client, experiment, self.p["wait_timeout"], self.p["poll_interval"])
        self.result["waited_seconds"] = round(waited, 3)
        if experiment.get("status") == "failed" and (self.result["run_started"] or before == "running"):
            run = experiment.get("latest_run") or {}
            self.result.update(experiment=experiment, run=run)
            raise ExperimentError(f"The run {run.get('id')} of experiment {self.p['name']!r} failed: "
                                  f"{(run.get('error') or 'no reason given').rstrip('.')}.")
        return experiment

    def _report(self, experiment, before):
        if experiment:
            self.result["experiment"] = experiment
            self.result["metrics"] = experiment.get("metrics")
            if experiment.get("latest_run"):
                self.result["run"] = experiment["latest_run"]
        if self.module._diff:
            after = status_after(experiment, self.module.check_mode and self.result["run_started"], self.p["wait"])
            self.result["diff"] = {"before": {"name": self.p["name"], "status": before},
                                   "after": {"name": self.p["name"], "status": after}}


def run_module(module):
    """Create and run the experiment in ``module.params`` and end the task through ``module``."""
    runner = ExperimentRunner(module, PlatformClient(module.params, agent=AGENT))
    try:
        result = runner.run()
    except (ExperimentError, PlatformError) as exc:
        module.fail_json(msg=str(exc), **runner.result)
    module.exit_json(**result)
