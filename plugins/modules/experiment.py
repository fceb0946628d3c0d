#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: experiment
short_description: Create an experiment on the platform by name and run it to completion
version_added: 0.1.0
description:
  - The EXP runbook's "Creating a New Experiment" steps (create via the API, run, monitor progress) as one
    idempotent task against the platform's V1 experiments API.
  - Experiments are identified by O(name), which the platform keeps unique. An existing experiment is never
    changed; when its definition differs from the options the differences are returned in RV(differences)
    and reported as a warning.
  - With O(state=completed) the module also starts a run over O(code_samples) unless the experiment already has
    a completed run (or is promoted or quarantined), and waits for the run to finish. A failed run fails the task.
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
      - Nothing is created or run; RV(created) and RV(run_started) say what would happen.
  diff_mode:
    support: full
    details:
      - Shows the experiment's status before and after.
  idempotent:
    support: full
    details:
      - A second run finds the experiment by name and its completed run, and changes nothing.
        O(rerun=true) starts a new run every time.
options:
  name:
    description: Experiment name, unique on the platform.
    type: str
    required: true
  state:
    description:
      - V(present) makes sure the experiment exists.
      - V(completed) also makes sure it has a completed run, starting one if needed and waiting for it.
    type: str
    choices: [present, completed]
    default: present
  description:
    description: What the experiment tests (its hypothesis).
    type: str
  primary_model:
    description: Model under test, such as V(gpt-4). Required to create the experiment.
    type: str
  secondary_model:
    description: Secondary (fallback or comparison) model.
    type: str
  prompt_template:
    description: Prompt template under test. Required to create the experiment.
    type: str
  routing_strategy:
    description: How requests are routed between the models.
    type: str
    choices: [primary, secondary, fallback, ab_split, ensemble]
    default: primary
  tags:
    description: Tags of the experiment.
    type: list
    elements: str
    default: []
  code_samples:
    description: Code samples the run evaluates; required with O(state=completed) when a run has to start.
    type: list
    elements: str
  language:
    description: Language of O(code_samples).
    type: str
    default: python
  iterations:
    description:
      - Evaluations per code sample; the run's C(sample_count) is the number of samples times this.
      - The platform's default (100) when not set.
    type: int
  rerun:
    description: Start a new run even when the experiment already has a completed run.
    type: bool
    default: false
  wait:
    description: With O(state=completed), wait for a running run to finish.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the run to finish before failing.
    type: float
    default: 600
  poll_interval:
    description: Seconds between two status reads while waiting.
    type: float
    default: 2
seealso:
  - module: sre.runbooks.experiment_promote
"""

EXAMPLES = r"""
---
- name: Create the experiment and run it to completion (EXP runbook, steps 2-4)
  sre.runbooks.experiment:
    name: Test new prompt v3
    description: Improved prompt with examples
    primary_model: gpt-4
    secondary_model: claude-3-opus-20240229
    prompt_template: Review this code...
    routing_strategy: primary
    tags: [prompt-v3, gpt-4]
    state: completed
    code_samples:
      - "def test(): pass"
    language: python
  register: exp

- name: Show its metrics
  ansible.builtin.debug:
    var: exp.experiment.metrics
"""

RETURN = r"""
experiment:
  description: The experiment as the V1 API returns it (null in check mode when it would be created).
  returned: always
  type: dict
  sample: {id: exp-3f2a9c1b7d4e, name: Test new prompt v3, status: completed, metrics: {accuracy: 0.97}}
created:
  description: Whether the experiment was created (or would be, in check mode).
  returned: always
  type: bool
run_started:
  description: Whether a run was started (or would be, in check mode).
  returned: always
  type: bool
run:
  description: The latest run (id, status, started_at, completed_at, metrics, error).
  returned: when the experiment has a run
  type: dict
metrics:
  description: Metrics of the latest completed run, or null.
  returned: always
  type: dict
waited_seconds:
  description: Time spent waiting for the run.
  returned: always
  type: float
differences:
  description: Fields whose value on the platform differs from the options (the platform cannot update them).
  returned: always
  type: list
  elements: str
  sample: [prompt_template]
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sre.runbooks.plugins.module_utils._platform.client import (
    PLATFORM_COMMON_ARGS,
    PlatformClient,
    PlatformError,
    experiment_path,
    find_experiment,
    get_experiment,
)

AGENT = "sre.runbooks/experiment"
DEFINITION = ("description", "primary_model", "secondary_model", "prompt_template", "routing_strategy", "tags")
DONE = ("completed", "promoted", "quarantined")


def differences(experiment, params):
    """Definition fields given as options that differ from the experiment on the platform."""
    found = []
    for field in DEFINITION:
        wanted = params.get(field)
        if wanted is None or (field == "tags" and not wanted):
            continue
        if field == "routing_strategy" and wanted == "primary" and experiment.get(field) in (None, "primary"):
            continue
        if experiment.get(field) != wanted:
            found.append(field)
    return found


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


def main():
    spec = dict(PLATFORM_COMMON_ARGS)
    spec.update(
        name={"type": "str", "required": True},
        state={"type": "str", "choices": ["present", "completed"], "default": "present"},
        description={"type": "str"},
        primary_model={"type": "str"},
        secondary_model={"type": "str"},
        prompt_template={"type": "str"},
        routing_strategy={"type": "str", "choices": ["primary", "secondary", "fallback", "ab_split", "ensemble"],
                          "default": "primary"},
        tags={"type": "list", "elements": "str", "default": []},
        code_samples={"type": "list", "elements": "str"},
        language={"type": "str", "default": "python"},
        iterations={"type": "int"},
        rerun={"type": "bool", "default": False},
        wait={"type": "bool", "default": True},
        wait_timeout={"type": "float", "default": 600},
        poll_interval={"type": "float", "default": 2},
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    client = PlatformClient(p, agent=AGENT)
    result = {"changed": False, "created": False, "run_started": False, "experiment": None, "metrics": None,
              "waited_seconds": 0.0, "differences": []}
    try:
        experiment = find_experiment(client, p["name"])
        before = experiment.get("status") if experiment else "absent"
        if experiment is None:
            missing = [f for f in ("primary_model", "prompt_template") if not p[f]]
            if missing:
                module.fail_json(msg=f"Experiment {p['name']!r} does not exist on {client.where('v1')} and cannot be "
                                     f"created without {' and '.join(missing)}.", **result)
            if not module.check_mode:
                body = {k: p[k] for k in ("name", *DEFINITION) if p[k] is not None}
                experiment = client.request("v1", "POST", "/api/v1/experiments/create", body=body, expect=(201,))[1]
            result.update(changed=True, created=True)
        else:
            result["differences"] = differences(experiment, p)
            if result["differences"]:
                module.warn(f"Experiment {p['name']!r} exists with a different {', '.join(result['differences'])}; "
                            "the platform cannot update an experiment, so it was left as it is.")

        status = experiment.get("status") if experiment else "created"
        needs_run = p["state"] == "completed" and (status in ("created", "failed") or (p["rerun"] and status == "completed"))
        if needs_run:
            if not p["code_samples"]:
                module.fail_json(msg=f"Experiment {p['name']!r} needs a run, and code_samples is empty.", **result)
            if not module.check_mode:
                body = {"code_samples": p["code_samples"], "language": p["language"]}
                if p["iterations"] is not None:
                    body["iterations"] = p["iterations"]
                client.request("v1", "POST", experiment_path(experiment["id"], "/api/v1/experiments/run/{id}"),
                               body=body, expect=(202,))
            result.update(changed=True, run_started=True)
            if not module.check_mode:
                experiment = get_experiment(client, experiment["id"])
        if experiment and p["state"] == "completed" and p["wait"] and not module.check_mode:
            experiment, waited = wait_for_run(client, experiment, p["wait_timeout"], p["poll_interval"])
            result["waited_seconds"] = round(waited, 3)
            if experiment.get("status") == "failed" and (result["run_started"] or before == "running"):
                run = experiment.get("latest_run") or {}
                result.update(experiment=experiment, run=run)
                module.fail_json(msg=f"The run {run.get('id')} of experiment {p['name']!r} failed: "
                                     f"{(run.get('error') or 'no reason given').rstrip('.')}.", **result)
    except PlatformError as exc:
        module.fail_json(msg=str(exc), **result)

    if experiment:
        result["experiment"] = experiment
        result["metrics"] = experiment.get("metrics")
        if experiment.get("latest_run"):
            result["run"] = experiment["latest_run"]
    after = experiment.get("status") if experiment else "created"
    if module.check_mode and result["run_started"]:
        after = "completed" if p["wait"] else "running"
    if module._diff:
        result["diff"] = {"before": {"name": p["name"], "status": before}, "after": {"name": p["name"], "status": after}}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
