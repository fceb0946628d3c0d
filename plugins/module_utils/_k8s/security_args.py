# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_security_info's argument spec, and which kinds each control lists."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._compliance.reports import REPORT_FORMATS
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import K8S_COMMON_ARGS, K8S_RANGES
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.health import HealthInputError, check_namespace_name
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.isolation import IsolationInputError, check_entry

# control -> the kinds it lists (each with one cluster-wide list request)
CONTROLS = {
    "network": ("NetworkPolicy", "Pod"),
    "workloads": ("Deployment", "StatefulSet", "DaemonSet", "CronJob"),
    "rbac": ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "ServiceAccount"),
    "secrets": ("Secret",),
}
# Namespaces left out when none are named: the control plane's own.
SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")

RANGES = dict(K8S_RANGES, secret_max_age_days=(0, 36500))


def argument_spec():
    """k8s_security_info's options after the connection options of the k8s doc fragment."""
    return merge_argspecs(
        K8S_COMMON_ARGS,
        namespaces={"type": "list", "elements": "str", "default": []},
        controls={"type": "list", "elements": "str", "choices": list(CONTROLS),
                  "default": list(CONTROLS)},
        isolation_matrix={"type": "list", "elements": "dict", "default": []},
        # An age in days, not a secret (validate-modules guesses from the name).
        secret_max_age_days={"type": "int", "default": 90, "no_log": False},
        waivers={"type": "list", "elements": "dict", "default": []},
        today={"type": "str"},
        extra_checks={"type": "list", "elements": "dict", "default": []},
        reports={"type": "list", "elements": "str", "choices": list(REPORT_FORMATS), "default": []},
        report_name={"type": "str", "default": "compliance"},
    )


def check_options(params):
    """(namespaces, controls) normalised; raise HealthInputError in one sentence."""
    namespaces = []
    for name in params["namespaces"] or []:
        name = check_namespace_name(name.strip() if isinstance(name, str) else name)
        if name not in namespaces:
            namespaces.append(name)
    controls = [c for c in CONTROLS if c in (params["controls"] or [])]
    if not controls:
        raise HealthInputError("controls must name at least one of " + ", ".join(CONTROLS) + ".")
    if params["isolation_matrix"] and "network" not in controls:
        raise HealthInputError("isolation_matrix needs the network control in controls.")
    for index, item in enumerate(params["isolation_matrix"] or []):
        try:
            check_entry(index, item)
        except IsolationInputError as exc:
            raise HealthInputError(str(exc)) from None
    return namespaces, controls
