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

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule

from ansible_collections.sre.runbooks.plugins.module_utils._platform.experiment_args import RANGES, argument_spec
from ansible_collections.sre.runbooks.plugins.module_utils._platform.experiment_runner import run_module


def main():
    module = RunbookModule(argument_spec=argument_spec(), supports_check_mode=True, ranges=RANGES)
    module.run(lambda: run_module(module), "experiment")


if __name__ == "__main__":
    main()
