#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_security_info
short_description: Read-only security and compliance controls of Kubernetes namespaces (network isolation, RBAC, workloads, secret age)
version_added: 0.1.0
description:
  - Reads the cluster with one cluster-wide list request per kind (namespaces, NetworkPolicies, pods, workloads,
    RBAC objects, service accounts, Secret metadata), never one per object, and evaluates the controls of the
    runbooks' security section as data. It changes nothing.
  - Every control yields one C(check) per object with a status V(passed), V(failed) or V(warning) and a one-line
    message; the C(sre.runbooks.security_checks) role turns them into JUnit, JSON and Markdown for CI.
  - V(network) (runbook-coverage C3) - C(C3.default-deny-ingress) per namespace, failed when no NetworkPolicy
    selects every pod for Ingress with no rules; and C(C3.isolation) per entry of O(isolation_matrix), which
    answers whether a connection from a source to a destination pod and port is allowed, and by which policies,
    with the NetworkPolicy semantics (pod and namespace selectors with C(matchExpressions), both in one peer,
    C(ipBlock) with C(except), numeric, named and C(endPort) ports, C(policyTypes) including the implicit
    Ingress; a pod no policy selects is not isolated). The verdict needs the source's egress and the
    destination's ingress.
  - V(workloads) - Deployments, StatefulSets, DaemonSets and CronJobs, the checks Polaris and kube-score make -
    C(C8.resources) (CPU and memory requests and limits), C(C8.probes) (liveness and readiness; not for
    CronJobs), C(C8.run-as-non-root), C(C8.privileged), C(C8.image-tag) (no C(:latest), no missing tag) and
    C(C8.read-only-root-fs), which is a V(warning) only.
  - V(rbac) (C2) - an inventory of service accounts, Roles and bindings per namespace, and the checks
    C(C2.service-account-privileges) (a service account bound to C(cluster-admin) or to a role with C(*) verbs
    or resources), C(C2.default-sa-secrets) (the C(default) service account can read Secrets) and
    C(C2.binding-subjects) (a binding whose service account or role does not exist).
  - V(secrets) (C5) - C(C5.secret-age) per Secret, failed when older than O(secret_max_age_days), counted from
    the annotation C(sre.runbooks/rotated-at) (written by the secret rotation) or else C(creationTimestamp).
    Service-account tokens and Helm release Secrets are left out. Only metadata is read, never a value.
author:
  - sre.runbooks maintainers (@sre-runbooks)
extends_documentation_fragment:
  - sre.runbooks.k8s
  - sre.runbooks.attributes
  - sre.runbooks.attributes.actiongroup_k8s
  - sre.runbooks.attributes.info_module
options:
  namespaces:
    description:
      - The namespaces to check. Empty means every namespace but C(kube-system), C(kube-public) and
        C(kube-node-lease).
      - A named namespace that does not exist fails C(C3.default-deny-ingress).
      - The lists are cluster-wide either way, which needs cluster-wide C(list) permission.
    type: list
    elements: str
    default: []
  controls:
    description: The controls to run.
    type: list
    elements: str
    choices: [network, workloads, rbac, secrets]
    default: [network, workloads, rbac, secrets]
  isolation_matrix:
    description:
      - Connections to evaluate (the runbooks' isolation tests, such as "platform-v1-exp must not reach
        platform-v2-stable"). Needs V(network) in O(controls).
      - Each entry has C(from) and C(to), each a mapping with C(namespace) and one of C(pod) (a pod's name),
        C(selector) (a label selector such as C(app=api,tier in (web\,api)); the first matching pod by name)
        or C(labels) (a pod that need not exist); C(from) may instead be C(ip) alone, an address outside the
        cluster. C(ip) next to a namespace sets the pod's address for C(ipBlock) peers.
      - C(port) is a number or a container port name of the destination; C(protocol) is C(TCP) (default),
        C(UDP) or C(SCTP); C(name) names the check; C(expect) (V(allowed) or V(denied)) makes the check fail
        when the verdict differs.
    type: list
    elements: dict
    default: []
  secret_max_age_days:
    description: A Secret not rotated for more than this many days fails C(C5.secret-age).
    type: int
    default: 90
  waivers:
    description:
      - Accepted findings. Each has C(control) and C(object) (the check's; shell patterns allowed, such as C(C8.*) or
        C(Deployment legacy/*)), C(reason) and C(expires), the last day it applies (YYYY-MM-DD).
      - A failed or warning check a valid waiver matches becomes V(waived), its message naming the reason. Past its
        date a waiver no longer applies and the check fails, its message naming the expired waiver.
      - Applied to O(extra_checks) too.
    type: list
    elements: dict
    default: []
  today:
    description: The date the waivers are judged against (YYYY-MM-DD). Defaults to today in UTC.
    type: str
  extra_checks:
    description:
      - Checks made elsewhere, counted, waived and reported with these, such as the C6 activity checks that the
        P(sre.runbooks.compliance_activity#filter) filter makes of a M(sre.runbooks.k8s_health_info) result.
      - Each has C(control), C(object), C(status) (V(passed), V(failed) or V(warning)), C(message) and optionally
        C(namespace).
    type: list
    elements: dict
    default: []
  reports:
    description:
      - The report texts to render in RV(reports), from the checks after the waivers. V(junit) is JUnit XML (one test
        suite per control, one test case per object, a failure per failed check, a skip per waived one); V(json) the
        result (the RV(checks), RV(summary) and the controls' details, with C(check_mode)); V(markdown) the failed,
        waived and warning checks as tables; V(html) a self-contained page.
      - Rendered here, in the module's process, because the checks can be tens of thousands; write them with
        M(sre.runbooks.report_files).
    type: list
    elements: str
    choices: [junit, json, markdown, html]
    default: []
  report_name:
    description: Name of the JUnit test suites element.
    type: str
    default: compliance
notes:
  - The checks are the data; the module itself fails only for bad options or when the cluster cannot be read.
"""

EXAMPLES = r"""
- name: EXP runbook isolation tests, answered from the policies
  sre.runbooks.k8s_security_info:
    namespaces: [platform-v2-stable, platform-v1-exp, platform-v3-quarantine]
    controls: [network]
    isolation_matrix:
      - name: platform-v1-exp must not reach platform-v2-stable
        from: {namespace: platform-v1-exp, selector: app=platform-v1-api}
        to: {namespace: platform-v2-stable, selector: app=platform-v2-api}
        port: 8000
        expect: denied
  register: isolation

- name: Namespaces without a default-deny ingress policy
  ansible.builtin.debug:
    var: isolation.missing_default_deny

- name: Every control over the platform namespaces
  sre.runbooks.k8s_security_info:
    namespaces: "{{ sre_namespaces }}"
    secret_max_age_days: 90
  register: security

- name: The CI compliance run - waivers applied, the JUnit report rendered, then written on the controller
  sre.runbooks.k8s_security_info:
    namespaces: "{{ sre_namespaces }}"
    waivers:
      - control: C8.probes
        object: Deployment platform-v2-stable/batch-worker
        reason: no HTTP port, SEC-123
        expires: "2027-03-31"
    reports: [junit]
  register: compliance

- name: Write the JUnit report
  sre.runbooks.report_files:
    dest: "{{ playbook_dir }}/reports"
    files:
      compliance.xml: "{{ compliance.reports.junit }}"

- name: Fail on any failed control
  ansible.builtin.assert:
    that: security.summary.failed == 0
    fail_msg: "{{ security.checks | selectattr('status', '==', 'failed') | map(attribute='message') | list }}"
"""

RETURN = r"""
checks:
  description: One entry per control per object.
  returned: success
  type: list
  elements: dict
  contains:
    control:
      description: Control id, such as C(C3.default-deny-ingress), C(C8.probes) or C(C5.secret-age).
      type: str
    object:
      description: What was checked, C(Kind namespace/name) (C(Namespace name) for namespaces, C(Flow name) for matrix entries).
      type: str
    namespace:
      description: The object's namespace (the destination's for a flow; null for a namespace or a cluster-wide binding).
      type: str
    status:
      description: V(passed), V(failed) or V(warning); V(waived) when a valid waiver matches.
      type: str
    waiver:
      description: The waiver applied (or the expired one that matched) - C(control), C(object), C(reason), C(expires), C(expired); null when none.
      type: dict
    message:
      description: The finding, one line.
      type: str
  sample:
    - control: C3.default-deny-ingress
      object: Namespace platform-v1-exp
      namespace: null
      status: failed
      message: no default-deny ingress NetworkPolicy (podSelector {}, policyTypes Ingress, no rules).
summary:
  description:
    - Counts of checks by status (C(passed), C(failed), C(warning), C(waived)) and C(total), after the waivers; and
      C(failures), one line per failed check (the control, the object and the finding).
  returned: success
  type: dict
reports:
  description: The texts of the O(reports) asked for, by format (V(junit), V(json), V(markdown), V(html)).
  returned: success
  type: dict
  sample: {junit: "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<testsuites name=\"compliance\" ..."}
check_mode:
  description: Whether the module ran in check mode (it changes nothing either way).
  returned: success
  type: bool
  sample: {passed: 40, failed: 2, warning: 7, total: 49}
failed_checks:
  description: Number of failed checks.
  returned: success
  type: int
  sample: 2
namespaces:
  description: The namespaces checked.
  returned: success
  type: list
  elements: str
missing_default_deny:
  description: The checked namespaces without a default-deny ingress policy (or that do not exist).
  returned: with V(network) in O(controls)
  type: list
  elements: str
  sample: [platform-v1-exp]
isolation:
  description:
    - One row per O(isolation_matrix) entry - C(name), C(from), C(to), C(port), C(resolved_port) (null when a port
      name does not resolve), C(protocol), C(allowed), C(expect), C(as_expected), C(reason) (one sentence naming
      the deciding policies), and C(ingress) and C(egress), each with C(allowed), C(isolated), C(selected_by) and
      C(allowed_by) (policy names C(namespace/name)).
  returned: with V(network) in O(controls)
  type: list
  elements: dict
rbac:
  description:
    - Per checked namespace - C(service_accounts), C(roles) and C(bindings) (RoleBindings of the namespace and
      ClusterRoleBindings naming its service accounts, each with C(kind), C(name), C(role), C(role_exists),
      C(admin_like), C(reads_secrets) and C(subjects)).
  returned: with V(rbac) in O(controls)
  type: dict
secrets:
  description: One row per checked Secret - C(namespace), C(name), C(type), C(age_days), C(age_source), C(status).
  returned: with V(secrets) in O(controls)
  type: list
  elements: dict
api_calls:
  description: Number of list requests made (one per kind, whatever the number of objects).
  returned: success
  type: int
  sample: 13
duration_seconds:
  description: Wall time of the requests and the controls, connection set-up excluded.
  returned: success
  type: float
  sample: 0.35
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.security_args import RANGES, argument_spec
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.security_runner import run_module


def main():
    module = RunbookModule(argument_spec=argument_spec(), supports_check_mode=True, ranges=RANGES)
    module.run(lambda: run_module(module), "k8s_security_info")


if __name__ == "__main__":
    main()
