#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_isolate
short_description: Isolate a compromised workload or Service, and undo exactly that
version_added: 1.0.0
description:
  - The security runbooks' incident isolation (C7). O(mode=service) turns a NodePort or LoadBalancer Service into a
    ClusterIP one (nothing outside the cluster reaches it), O(mode=scale) scales a Deployment or StatefulSet to 0, and
    O(mode=network) puts a deny-all NetworkPolicy (no ingress, no egress) on the workload's pods, selected by its
    selector's C(matchLabels) or by O(labels).
  - The previous state is recorded on the object changed - the Service's type, ports (with their nodePorts) and
    external fields, or the workload's replicas, as JSON in the annotation C(sre.runbooks/isolated); the
    NetworkPolicy C(sre-runbooks-isolate-<name>) is its own record. O(state=restored) puts back exactly that
    and removes the record (or the policy).
  - Refuses unless O(confirm) is C(<namespace>/<name>), before any request.
  - Idempotent - an object already isolated (recorded) or already restored is left as it is. Check mode sends the
    patch as a server-side dry run and creates or deletes nothing; diff shows the type and ports, the replicas, or
    the policy.
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
  idempotent:
    support: full
options:
  namespace:
    description: Namespace of the Service or workload.
    type: str
    required: true
  name:
    description: Name of the Service (O(mode=service)) or of the workload.
    type: str
    required: true
  mode:
    description: V(service) to ClusterIP, V(scale) to 0 replicas, or V(network) behind a deny-all NetworkPolicy.
    type: str
    required: true
    choices: [service, scale, network]
  kind:
    description: Kind of the workload (O(mode=scale) and O(mode=network)).
    type: str
    choices: [Deployment, StatefulSet]
    default: Deployment
  labels:
    description: With O(mode=network), the labels of the pods to isolate instead of the workload's C(matchLabels).
    type: dict
  state:
    description: V(isolated) isolates, V(restored) undoes what the isolation recorded.
    type: str
    choices: [isolated, restored]
    default: isolated
  confirm:
    description: Must be C(<namespace>/<name>), or nothing is done.
    type: str
    default: ""
  reason:
    description: Why (the incident), kept in the record.
    type: str
    default: ""
seealso:
  - module: sre.runbooks.k8s_security_info
"""

EXAMPLES = r"""
- name: C7 - Cut the compromised API off from the outside
  sre.runbooks.k8s_isolate:
    namespace: production
    name: public-api
    mode: service
    confirm: production/public-api
    reason: INC-2041 credential stuffing

- name: C7 - Put its pods behind a deny-all policy
  sre.runbooks.k8s_isolate:
    namespace: production
    name: public-api
    mode: network
    confirm: production/public-api

- name: C7 - Undo the Service isolation exactly
  sre.runbooks.k8s_isolate:
    namespace: production
    name: public-api
    mode: service
    state: restored
    confirm: production/public-api
"""

RETURN = r"""
mode:
  description: The isolation mode.
  returned: success
  type: str
state:
  description: The state asked for.
  returned: success
  type: str
object:
  description: The object changed (or that would be), as C(Kind namespace/name).
  returned: success
  type: str
  sample: Service production/public-api
diff:
  description: Before and after - the Service's C(type) and C(ports), the workload's C(replicas), or the policy.
  returned: success
  type: dict
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.isolate_runner import module_args, run_module


def main():
    module = RunbookModule(**module_args())
    module.run(lambda: run_module(module), "k8s_isolate")


if __name__ == "__main__":
    main()
