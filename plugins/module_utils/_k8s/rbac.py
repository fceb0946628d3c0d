# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""RBAC inventory and findings (C2), pure: who is bound to what, per namespace.

Findings, as check entries (see hygiene.py):

- ``C2.service-account-privileges``: a service account bound to ``cluster-admin`` or to a role with a
  ``*`` verb or ``*`` resource (anywhere: a RoleBinding in any namespace or a ClusterRoleBinding).
- ``C2.default-sa-secrets``: the namespace's ``default`` service account can get, list or watch Secrets
  in its namespace (the account every pod without ``serviceAccountName`` runs as).
- ``C2.binding-subjects``: a binding whose service account subject, or whose role, does not exist.

Service accounts are also covered by the groups ``system:serviceaccounts``,
``system:serviceaccounts:<namespace>`` and ``system:authenticated``, and by the user name
``system:serviceaccount:<namespace>:<name>``.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._k8s.hygiene import entry

READ_VERBS = {"get", "list", "watch", "*"}


def _meta(obj):
    return obj.get("metadata") or {}


def _key(obj):
    return (_meta(obj).get("namespace"), _meta(obj).get("name"))


class RbacIndex:
    """The cluster's RBAC objects and service accounts, indexed for the checks."""

    def __init__(self, roles, cluster_roles, role_bindings, cluster_role_bindings, service_accounts):
        self.roles = {_key(r): r for r in roles}
        self.cluster_roles = {_meta(r).get("name"): r for r in cluster_roles}
        self.bindings = [("RoleBinding", b) for b in role_bindings] + [("ClusterRoleBinding", b)
                                                                       for b in cluster_role_bindings]
        self.service_accounts = {_key(sa) for sa in service_accounts}

    def role_of(self, kind, binding):
        """(``Kind name`` of the binding's role, its rules or None when the role does not exist)."""
        ref = binding.get("roleRef") or {}
        if ref.get("kind") == "Role":
            role = self.roles.get((_meta(binding).get("namespace"), ref.get("name")))
        else:
            role = self.cluster_roles.get(ref.get("name"))
        return f"{ref.get('kind')} {ref.get('name')}", None if role is None else role.get("rules") or []

    def bindings_of(self, namespace, name):
        """(binding kind, binding) pairs whose subjects include the service account."""
        return [(kind, b) for kind, b in self.bindings
                if any(covers(s, _meta(b).get("namespace"), namespace, name) for s in b.get("subjects") or [])]


def covers(subject, binding_namespace, namespace, name):
    """Whether a binding subject includes the service account ``namespace/name``."""
    kind, subject_name = subject.get("kind"), subject.get("name")
    if kind == "ServiceAccount":
        return subject_name == name and (subject.get("namespace") or binding_namespace) == namespace
    if kind == "Group":
        return subject_name in ("system:serviceaccounts", f"system:serviceaccounts:{namespace}",
                                "system:authenticated")
    if kind == "User":
        return subject_name == f"system:serviceaccount:{namespace}:{name}"
    return False


def wildcard_grant(role_name, rules):
    """Why a role is admin-like (cluster-admin, ``*`` verbs or resources), or None."""
    if role_name == "ClusterRole cluster-admin":
        return "cluster-admin"
    for rule in rules or []:
        if not rule.get("resources"):
            continue  # nonResourceURLs rules grant no object access
        if "*" in (rule.get("verbs") or []):
            return "verbs *"
        if "*" in rule["resources"]:
            return "resources *"
    return None


def reads_secrets(rules):
    """Whether any rule allows get, list or watch on core Secrets."""
    for rule in rules or []:
        groups = rule.get("apiGroups") or []
        if ("" in groups or "*" in groups) and ({"secrets", "*"} & set(rule.get("resources") or [])) \
                and READ_VERBS & set(rule.get("verbs") or []):
            return True
    return False


def _privilege_check(index, namespace, name):
    problems = []
    for kind, binding in index.bindings_of(namespace, name):
        role, rules = index.role_of(kind, binding)
        grant = wildcard_grant(role, rules)
        if grant:
            where = f"{kind} {_meta(binding).get('namespace')}/{_meta(binding).get('name')}" \
                if kind == "RoleBinding" else f"{kind} {_meta(binding).get('name')}"
            problems.append(f"bound to {role} ({grant}) by {where}")
    return entry("C2.service-account-privileges", "ServiceAccount", namespace, name, problems)


def _default_secrets_check(index, namespace):
    problems = []
    for kind, binding in index.bindings_of(namespace, "default"):
        if kind == "RoleBinding" and _meta(binding).get("namespace") != namespace:
            continue  # grants in another namespace only
        role, rules = index.role_of(kind, binding)
        if reads_secrets(rules):
            problems.append(f"can read Secrets through {kind} {_meta(binding).get('name')} ({role})")
    return entry("C2.default-sa-secrets", "ServiceAccount", namespace, "default", problems)


def _subjects_check(index, kind, binding):
    problems = []
    role, rules = index.role_of(kind, binding)
    if rules is None:
        problems.append(f"its role {role} does not exist")
    for subject in binding.get("subjects") or []:
        if subject.get("kind") != "ServiceAccount":
            continue  # users and groups live outside the cluster
        sa_ns = subject.get("namespace") or _meta(binding).get("namespace")
        if (sa_ns, subject.get("name")) not in index.service_accounts:
            problems.append(f"its subject ServiceAccount {sa_ns}/{subject.get('name')} does not exist")
    return entry("C2.binding-subjects", kind, _meta(binding).get("namespace"), _meta(binding).get("name"),
                 problems)


def _sa_namespaces(binding, kind):
    return {s.get("namespace") or (_meta(binding).get("namespace") if kind == "RoleBinding" else None)
            for s in binding.get("subjects") or [] if s.get("kind") == "ServiceAccount"}


def rbac_checks(index, namespaces):
    """(check entries, inventory per namespace) for the ``namespaces``.

    Per namespace: every service account's privileges, the default account's access to Secrets, and every
    RoleBinding of the namespace and ClusterRoleBinding naming one of its service accounts.
    """
    checks, inventory = [], {}
    wanted = set(namespaces)
    for namespace in namespaces:
        accounts = sorted(name for ns, name in index.service_accounts if ns == namespace)
        for name in accounts:
            checks.append(_privilege_check(index, namespace, name))
        checks.append(_default_secrets_check(index, namespace))
        inventory[namespace] = {
            "service_accounts": accounts,
            "roles": sorted(name for (ns, name) in index.roles if ns == namespace),
            "bindings": [],
        }
    for kind, binding in index.bindings:
        namespace = _meta(binding).get("namespace")
        if kind == "RoleBinding" and namespace not in wanted:
            continue
        if kind == "ClusterRoleBinding" and not _sa_namespaces(binding, kind) & wanted:
            continue
        checks.append(_subjects_check(index, kind, binding))
        role, rules = index.role_of(kind, binding)
        row = {"kind": kind, "name": _meta(binding).get("name"), "role": role, "role_exists": rules is not None,
               "admin_like": wildcard_grant(role, rules), "reads_secrets": reads_secrets(rules),
               "subjects": [f"{s.get('kind')} {s.get('namespace') or namespace or ''}/{s.get('name')}".replace(" /", " ")
                            for s in binding.get("subjects") or []]}
        for ns in ([namespace] if kind == "RoleBinding" else sorted(_sa_namespaces(binding, kind) & wanted)):
            inventory[ns]["bindings"].append(row)
    return checks, inventory
