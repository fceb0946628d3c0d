#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: alertmanager_silence
short_description: Create, extend or expire an Alertmanager silence, idempotently
version_added: 0.1.0
description:
  - Silences the alerts of a maintenance window (runbook row M2) through Alertmanager's v2 API, and expires the
    silence when the window ends.
  - A silence is recognised by its matchers (in any order), its O(comment) and its O(created_by); only active and
    pending silences count. With O(state=present), such a silence is kept as it is, so running the task twice
    creates one silence; with O(extend=true) its end is moved to the new end when that is later.
  - With O(state=absent) the silence given by O(id), or every live silence with these O(matchers), O(comment) and
    O(created_by), is expired. A silence that does not exist or has already expired is not a change.
author:
  - sre.runbooks maintainers (@sre-runbooks)
extends_documentation_fragment:
  - sre.runbooks.alertmanager
  - sre.runbooks.attributes
  - sre.runbooks.attributes.actiongroup_alertmanager
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  state:
    description:
      - V(present) makes sure a live silence with these matchers, comment and author exists.
      - V(absent) expires it.
    type: str
    choices: [present, absent]
    default: present
  id:
    description:
      - ID of the silence to expire, for O(state=absent) (instead of O(matchers) and O(comment)).
    type: str
  matchers:
    description:
      - The label matchers of the silence; required with O(state=present). An alert is silenced when it matches
        all of them.
    type: list
    elements: dict
    suboptions:
      name:
        description: Label name, such as C(namespace) or C(alertname).
        type: str
        required: true
      value:
        description: Label value, or a regular expression (fully anchored, as in Alertmanager) with O(matchers[].is_regex).
        type: str
        required: true
      is_regex:
        description: Whether O(matchers[].value) is a regular expression (C(=~) or C(!~)).
        type: bool
        default: false
      is_equal:
        description: V(false) negates the matcher (C(!=) or C(!~)).
        type: bool
        default: true
  duration:
    description:
      - Length of the silence from now, such as V(2h) or V(90m); at least a minute.
      - With O(state=present), one of O(duration) and O(ends_at) is required.
    type: str
  ends_at:
    description:
      - End of the silence as an RFC 3339 time, such as V(2026-12-05T03:00:00Z); it must be in the future.
    type: str
  comment:
    description:
      - Why the alerts are silenced; it names the silence, with O(matchers) and O(created_by).
      - Required with O(state=present), and with O(state=absent) when O(matchers) is used.
    type: str
  created_by:
    description: Author of the silence.
    type: str
    default: sre.runbooks
  extend:
    description:
      - When the silence exists and ends before the wanted end, move its end (the silence keeps its ID).
      - When V(false), an existing silence is kept with its own end.
    type: bool
    default: false
notes:
  - Alertmanager applies a new silence within a second; an expired silence stays visible (state C(expired)) for
    Alertmanager's retention.
seealso:
  - name: Alertmanager silences
    description: How Alertmanager matches and stores silences.
    link: https://prometheus.io/docs/alerting/latest/alertmanager/#silences
"""

EXAMPLES = r"""
- name: M2 | Silence the alerts of the namespaces in maintenance for two hours
  sre.runbooks.alertmanager_silence:
    alertmanager_url: http://alertmanager.monitoring:9093
    matchers:
      - name: namespace
        value: "platform-v2-stable|microservices"
        is_regex: true
    duration: 2h
    comment: "Maintenance window CHG-1234"
    created_by: "{{ lookup('ansible.builtin.env', 'USER') }}"
  register: silence

- name: M2 | Expire it when the window ends
  sre.runbooks.alertmanager_silence:
    alertmanager_url: http://alertmanager.monitoring:9093
    id: "{{ silence.silence.id }}"
    state: absent
"""

RETURN = r"""
outcome:
  description: What was (or in check mode would be) done - V(create), V(extend), V(keep), V(expire) or V(none).
  returned: success
  type: str
  sample: create
silence:
  description:
    - The silence after the task (for O(state=absent), the one expired, or null when there was none).
    - C(id) is null in check mode when the silence would be created.
  returned: success
  type: dict
  contains:
    id:
      description: ID of the silence in Alertmanager.
      type: str
      sample: 2b2b7d9e-58f8-4bb8-9b77-0c1b8f0a8d4e
    matchers:
      description: The matchers, as in O(matchers).
      type: list
      elements: dict
      sample: [{name: namespace, value: "platform-v2-stable|microservices", is_regex: true, is_equal: true}]
    starts_at:
      description: Start, RFC 3339.
      type: str
      sample: "2026-12-05T01:00:00.000Z"
    ends_at:
      description: End, RFC 3339.
      type: str
      sample: "2026-12-05T03:00:00.000Z"
    comment:
      description: The comment.
      type: str
    created_by:
      description: The author.
      type: str
    status:
      description: V(active), V(pending) or V(expired).
      type: str
      sample: active
expired:
  description: IDs of the silences expired (or that would be) by O(state=absent).
  returned: success
  type: list
  elements: str
"""

from ansible_collections.sre.runbooks.plugins.module_utils._alertmanager.silence_runner import module_args, run_module
from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule


def main():
    module = RunbookModule(**module_args())
    module.run(lambda: run_module(module), "alertmanager_silence")


if __name__ == "__main__":
    main()
