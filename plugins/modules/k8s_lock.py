#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_lock
short_description: Take or release a run lock on a target, as a Kubernetes Lease
version_added: 1.0.0
description:
  - Two on-call engineers must not restart and restore the same thing at once. Every playbook of this collection
    that changes a namespace or the cluster takes the lock of its target first and releases it at the end; this
    module is that lock, a C(coordination.k8s.io/v1) C(Lease) named O(name) in O(namespace).
  - O(state=held) creates the Lease with O(holder) as its C(holderIdentity) for O(duration) seconds. A Lease another
    holder renewed less than its duration ago refuses the run, in one sentence naming the holder and since when.
    A Lease whose duration passed (its run died without releasing it) is taken over, and its C(leaseTransitions)
    counts the takeover. A Lease the same O(holder) already holds is kept as it is (O(renew=true) extends it).
  - O(state=released) deletes the Lease when O(holder) holds it (or it expired, or O(force=true)); another holder's
    lock is refused.
  - Every write is conditional on the Lease's C(resourceVersion) as read, so of two runs acquiring at the same
    moment exactly one wins; the other fails saying the lock was taken meanwhile.
  - Check mode reads the Lease and reports what would happen (a lock held by another run still fails).
author:
  - sre.runbooks maintainers (@sre-runbooks)
requirements:
  - kubernetes
extends_documentation_fragment:
  - sre.runbooks.k8s
  - sre.runbooks.attributes
  - sre.runbooks.attributes.actiongroup_k8s
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The holder before and after.
  idempotent:
    support: full
    details: Taking a lock the same holder holds, or releasing one that does not exist, changes nothing.
options:
  name:
    description:
      - Name of the Lease, conventionally C(sre-runbooks-<what>) (the playbooks use the target's name).
    type: str
    required: true
  namespace:
    description:
      - Namespace of the Lease, normally the target's namespace (a cluster-wide target uses C(kube-system) or
        C(default)).
    type: str
    required: true
  holder:
    description:
      - Identity of this run, shown to anyone refused, such as C(alice@ops-laptop run 20261205T031500-4711) or an
        AWX job id. Each run must have its own, or two runs of one person would share the lock.
    type: str
    required: true
  state:
    description:
      - V(held) takes (or keeps) the lock, V(released) gives it back.
    type: str
    choices: [held, released]
    default: held
  duration:
    description:
      - Seconds the lock stays valid without renewal (the Lease's C(leaseDurationSeconds)). Choose more than the
        longest expected run; a run that dies leaves the target locked this long.
    type: int
    default: 3600
  renew:
    description:
      - With O(state=held) and a lock this O(holder) already holds, write a new C(renewTime) (and O(duration)).
    type: bool
    default: false
  force:
    description:
      - Take over or release a lock another holder holds and has not let expire. Only for a run known to be gone.
    type: bool
    default: false
  purpose:
    description:
      - What the run does (V(restart platform-v2-api)), kept as the Lease's C(sre.runbooks/purpose) annotation.
    type: str
seealso:
  - name: Leases
    description: The Kubernetes object used as the lock.
    link: https://kubernetes.io/docs/concepts/architecture/leases/
"""

EXAMPLES = r"""
- name: Take the lock of the deployment to restart
  sre.runbooks.k8s_lock:
    name: sre-runbooks-platform-v2-api
    namespace: platform-v2-stable
    holder: "{{ lookup('ansible.builtin.env', 'USER') }}@{{ lookup('ansible.builtin.pipe', 'hostname') }} run {{ run_id }}"
    duration: 1800
    purpose: restart platform-v2-api

- name: Release it at the end, whatever happened
  sre.runbooks.k8s_lock:
    name: sre-runbooks-platform-v2-api
    namespace: platform-v2-stable
    holder: "{{ lookup('ansible.builtin.env', 'USER') }}@{{ lookup('ansible.builtin.pipe', 'hostname') }} run {{ run_id }}"
    state: released
"""

RETURN = r"""
outcome:
  description: What was (or in check mode would be) done - V(create), V(take_over), V(renew), V(keep), V(delete)
    or V(none).
  returned: success
  type: str
  sample: create
previous_holder:
  description: The holder of the Lease found, or null when there was none (set on a takeover of an expired lock).
  returned: success
  type: str
lease:
  description: The Lease after the task (null once released) - C(name), C(namespace), C(holder), C(acquired_at),
    C(renewed_at), C(duration), C(expires_at), C(transitions), C(resource_version).
  returned: success, and when another holder's lock refused the run
  type: dict
  sample: {name: sre-runbooks-platform-v2-api, namespace: platform-v2-stable, holder: "alice@ops run 4711",
           acquired_at: "2026-12-05T03:15:00.000000Z", renewed_at: "2026-12-05T03:15:00.000000Z", duration: 1800,
           expires_at: "2026-12-05T03:45:00.000000Z", transitions: 0, resource_version: "4711"}
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.lease_runner import module_args, run_module


def main():
    module = RunbookModule(**module_args())
    module.run(lambda: run_module(module), "k8s_lock")


if __name__ == "__main__":
    main()
