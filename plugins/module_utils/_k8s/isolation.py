# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Network isolation controls (C3) over listed objects, pure: default-deny per namespace and the isolation matrix.

A matrix entry names a flow and, optionally, what the runbook expects of it::

    {"name": "exp must not reach stable",
     "from": {"namespace": "platform-v1-exp", "selector": "app=platform-v1-api"},
     "to": {"namespace": "platform-v2-stable", "pod": "platform-v2-api-0"},
     "port": 8000, "protocol": "TCP", "expect": "denied"}

An endpoint is a pod by ``pod`` name, the first pod (by name) matching ``selector``, a pod that need not
exist with ``labels``, or an address (``ip``, a source outside the cluster when it has no namespace).
"""

from __future__ import annotations

import ipaddress

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import netpol
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.hygiene import entry

EXPECTATIONS = ("allowed", "denied")


class IsolationInputError(ValueError):
    """A matrix entry that cannot be evaluated; ``str()`` is one sentence."""


def default_deny_checks(policies, namespaces, existing):
    """One C3.default-deny-ingress entry per namespace; a namespace that does not exist fails too."""
    checks = []
    for namespace in namespaces:
        names = netpol.default_deny_ingress(policies, namespace)
        if existing is not None and namespace not in existing:
            problems = ["the namespace does not exist"]
        elif not names:
            problems = ["no default-deny ingress NetworkPolicy (podSelector {}, policyTypes Ingress, no rules)"]
        else:
            problems = []
        checks.append(entry("C3.default-deny-ingress", "Namespace", None, namespace, problems,
                            passed_message=f"default deny by {', '.join(names)}" if names else "ok"))
    return checks


def resolve_endpoint(spec, pods, role, check_only=False):
    """The netpol endpoint for a matrix ``from``/``to`` spec; raise IsolationInputError.

    ``check_only`` checks the spec's shape and selector without looking for pods (and returns None).
    """
    if not isinstance(spec, dict):
        raise IsolationInputError(f"The matrix entry's {role} must be a mapping with namespace and pod, selector, "
                                  "labels or ip.")
    namespace, ip = spec.get("namespace"), spec.get("ip")
    if ip:
        try:
            ipaddress.ip_address(str(ip))
        except ValueError:
            raise IsolationInputError(f"The matrix entry's {role} ip {str(ip)[:60]!r} is not an IP address.") from None
    if not namespace:
        if role == "from" and ip:
            return {"ip": str(ip), "name": str(ip)}
        raise IsolationInputError(f"The matrix entry's {role} needs a namespace"
                                  + (" (only a source may be an address outside the cluster)." if ip else "."))
    chosen = [k for k in ("pod", "selector", "labels") if spec.get(k) not in (None, "", {})]
    if len(chosen) > 1:
        raise IsolationInputError(f"The matrix entry's {role} takes one of pod, selector or labels, not "
                                  f"{' and '.join(chosen)}.")
    if spec.get("selector"):
        try:
            selector = netpol.parse_selector(spec["selector"])
        except netpol.PolicyError as exc:
            raise IsolationInputError(f"The matrix entry's {role} selector: {exc}") from None
    if spec.get("labels") and not isinstance(spec["labels"], dict):
        raise IsolationInputError(f"The matrix entry's {role} labels must be a mapping.")
    if check_only:
        return None
    in_namespace = sorted((p for p in pods if p["namespace"] == namespace), key=lambda p: p["name"] or "")
    if spec.get("pod"):
        found = [p for p in in_namespace if p["name"] == spec["pod"]]
        if not found:
            raise IsolationInputError(f"The pod {namespace}/{spec['pod']} ({role}) does not exist.")
        endpoint = dict(found[0])
    elif spec.get("selector"):
        try:
            found = [p for p in in_namespace if netpol.selector_matches(selector, p["labels"])]
        except netpol.PolicyError as exc:
            raise IsolationInputError(f"The matrix entry's {role} selector: {exc}") from None
        if not found:
            raise IsolationInputError(f"No pod in {namespace} matches the selector {spec['selector']!r} ({role}).")
        endpoint = dict(found[0])
    else:
        labels = spec.get("labels") or {}
        endpoint = {"namespace": namespace, "name": None, "labels": {str(k): str(v) for k, v in labels.items()},
                    "ip": None, "ports": []}
    if ip:
        endpoint["ip"] = str(ip)
    return endpoint


def _endpoint_text(endpoint):
    if not endpoint.get("namespace"):
        return endpoint["ip"]
    if endpoint.get("name"):
        return f"{endpoint['namespace']}/{endpoint['name']}"
    labels = ",".join(f"{k}={v}" for k, v in sorted(endpoint["labels"].items()))
    return f"{endpoint['namespace']}/{{{labels}}}"


def check_entry(index, item):
    """(port, protocol, expect) of matrix entry ``index``, checked without the cluster; raise IsolationInputError."""
    if not isinstance(item, dict):
        raise IsolationInputError(f"Matrix entry {index + 1} must be a mapping.")
    expect = item.get("expect")
    if expect not in (None, "") + EXPECTATIONS:
        raise IsolationInputError(f"Matrix entry {index + 1}: expect must be allowed or denied, not {expect!r}.")
    port = item.get("port")
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    if isinstance(port, bool) or not isinstance(port, (int, str)) or port == "" \
            or (isinstance(port, int) and not 1 <= port <= 65535):
        raise IsolationInputError(f"Matrix entry {index + 1} needs a port from 1 to 65535 or a port name.")
    protocol = str(item.get("protocol") or "TCP").upper()
    if protocol not in ("TCP", "UDP", "SCTP"):
        raise IsolationInputError(f"Matrix entry {index + 1}: protocol must be TCP, UDP or SCTP.")
    for role in ("from", "to"):
        resolve_endpoint(item.get(role), [], role, check_only=True)
    return port, protocol, expect


def matrix_checks(policies, namespace_labels, pods, matrix):
    """(check entries, verdict rows): one C3.isolation entry per matrix entry."""
    checks, rows = [], []
    for index, item in enumerate(matrix):
        port, protocol, expect = check_entry(index, item)
        source = resolve_endpoint(item.get("from"), pods, "from")
        destination = resolve_endpoint(item.get("to"), pods, "to")
        try:
            verdict = netpol.evaluate(policies, namespace_labels, source, destination, port, protocol)
        except netpol.PolicyError as exc:
            raise IsolationInputError(f"Matrix entry {index + 1}: {exc}") from None
        name = item.get("name") or f"{_endpoint_text(source)} -> {_endpoint_text(destination)}:{port}/{protocol}"
        outcome = "allowed" if verdict["allowed"] else "denied"
        problems = [f"expected {expect}, but {outcome}: {verdict['reason']}"] if expect and expect != outcome else []
        checks.append({"control": "C3.isolation", "object": f"Flow {name}", "namespace": destination["namespace"],
                       "status": "failed" if problems else "passed",
                       "message": problems[0] if problems else f"{outcome}: {verdict['reason']}"})
        rows.append({"name": name, "from": _endpoint_text(source), "to": _endpoint_text(destination),
                     "port": port, "resolved_port": verdict["port"], "protocol": protocol, "allowed": verdict["allowed"],
                     "expect": expect or None, "as_expected": not problems if expect else None,
                     "reason": verdict["reason"], "ingress": verdict["ingress"], "egress": verdict["egress"]})
    return checks, rows
