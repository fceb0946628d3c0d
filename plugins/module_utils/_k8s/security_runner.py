# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_security_info's runner: one cluster-wide list per kind, in parallel, then the pure controls.

The decisions are netpol.py / isolation.py (C3), rbac.py (C2) and hygiene.py (workloads, C5).
Secrets are listed as metadata only: their values never reach this process.
"""

from __future__ import annotations

import datetime
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.sre.runbooks.plugins.module_utils._compliance import reports
from ansible_collections.sre.runbooks.plugins.module_utils._compliance.report import ReportError, check_waivers
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import hygiene, isolation, netpol, rbac
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import KubeError, connect
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.health import HealthInputError
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.security_args import (
    CONTROLS, SYSTEM_NAMESPACES, check_options)

MAX_WORKERS = 8
# Secrets the platform does not rotate by hand are left out by the server.
SECRET_FIELD_SELECTOR = ",".join(f"type!={t}" for t in hygiene.UNMANAGED_SECRET_TYPES)


class SecurityReader:
    """Lists what the controls need (one request per kind) and runs them."""

    def __init__(self, api):
        self.api = api
        self.calls = 0

    def _list(self, kind):
        if kind == "Secret":
            return self.api.list(kind, field_selector=SECRET_FIELD_SELECTOR, metadata_only=True)["items"]
        return self.api.list(kind)["items"]

    def fetch(self, kinds):
        """{kind: items}, every kind cluster-wide, in parallel; the first failure is raised."""
        self.calls += len(kinds)
        with ThreadPoolExecutor(max_workers=max(1, min(MAX_WORKERS, len(kinds)))) as pool:
            futures = {kind: pool.submit(self._list, kind) for kind in kinds}
            results, first_error = {}, None
            for kind, future in futures.items():
                try:
                    results[kind] = future.result()
                except KubeError as exc:
                    first_error = first_error or KubeError(f"Cannot list {kind} objects: {exc}", exc.status,
                                                           exc.reason)
        if first_error is not None:
            raise first_error
        return results


def in_namespaces(items, namespaces):
    wanted = set(namespaces)
    return [item for item in items if (item.get("metadata") or {}).get("namespace") in wanted]


def run_controls(fetched, namespaces, controls, params, now):
    """The controls over the listed objects: (checks, details). Pure apart from ``now``."""
    existing = {(ns.get("metadata") or {}).get("name"): (ns.get("metadata") or {}).get("labels") or {}
                for ns in fetched["Namespace"]}
    if not namespaces:
        namespaces = sorted(name for name in existing if name not in SYSTEM_NAMESPACES)
    checks, details = [], {"namespaces": namespaces}
    if "network" in controls:
        policies = fetched["NetworkPolicy"]
        pods = [netpol.pod_endpoint(p) for p in fetched["Pod"]]
        checks += isolation.default_deny_checks(policies, namespaces, existing)
        matrix_checks, details["isolation"] = isolation.matrix_checks(policies, existing, pods,
                                                                      params["isolation_matrix"])
        checks += matrix_checks
        details["missing_default_deny"] = [c["object"].split(" ", 1)[1] for c in checks
                                           if c["control"] == "C3.default-deny-ingress" and c["status"] != "passed"]
    if "workloads" in controls:
        workloads = [w for kind in CONTROLS["workloads"] for w in in_namespaces(fetched[kind], namespaces)]
        checks += hygiene.workload_checks(workloads)
    if "rbac" in controls:
        index = rbac.RbacIndex(fetched["Role"], fetched["ClusterRole"], fetched["RoleBinding"],
                               fetched["ClusterRoleBinding"], fetched["ServiceAccount"])
        rbac_checks, details["rbac"] = rbac.rbac_checks(index, [ns for ns in namespaces if ns in existing])
        checks += rbac_checks
    if "secrets" in controls:
        secret_checks, details["secrets"] = hygiene.secret_checks(in_namespaces(fetched["Secret"], namespaces), now,
                                                                  params["secret_max_age_days"])
        checks += secret_checks
    return checks, details


def run_module(module):
    """Read the cluster once per kind, run the controls, waive, count and render; exit with it all (or one sentence)."""
    try:
        namespaces, controls = check_options(module.params)
        today = reports.check_today(module.params["today"])
        extra = reports.check_extra_checks(module.params["extra_checks"])
        waivers = check_waivers(module.params["waivers"])  # before any request: a bad waiver is bad input
    except (HealthInputError, ReportError) as exc:
        module.fail_json(msg=str(exc))
    api = connect(module)
    reader = SecurityReader(api)
    started = time.monotonic()
    kinds = ["Namespace"] + [kind for control in controls for kind in CONTROLS[control]]
    try:
        fetched = reader.fetch(kinds)
        checks, details = run_controls(fetched, namespaces, controls, module.params,
                                       datetime.datetime.now(datetime.timezone.utc))
        result = reports.assemble(checks + extra, dict(details, api_calls=reader.calls), waivers, today, module.check_mode)
        texts = reports.render(result, module.params["reports"], module.params["report_name"])
    except (KubeError, isolation.IsolationInputError, netpol.PolicyError, ReportError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, failed_checks=result["summary"]["failed"], reports=texts,
                     duration_seconds=round(time.monotonic() - started, 3), **result)
