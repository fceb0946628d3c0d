# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""NetworkPolicy semantics (networking.k8s.io/v1) as pure functions: is traffic allowed, and by which policy.

The rules, as the API reference states them:

- A pod that no policy selects for a direction (``podSelector`` in the pod's namespace and the direction in
  ``policyTypes``) is not isolated in that direction: everything is allowed.
- A selected pod accepts only what at least one selecting policy's rules allow (the union of the rules).
- ``policyTypes`` defaults to ``["Ingress"]``, plus ``"Egress"`` when the policy has egress rules.
- A rule's peers (``from`` / ``to``) and ports are each "any" when empty or absent; otherwise the
  connection must match one peer AND one port.
- A peer with ``podSelector`` only selects pods of the policy's namespace; with ``namespaceSelector`` only,
  every pod of the matching namespaces; with both in ONE peer, the pods matching both; ``ipBlock`` an IP
  range (CIDR) minus its ``except`` ranges.
- A port is a number (with ``endPort``: a range) or a container port name, resolved on the destination
  pod; ``protocol`` defaults to TCP; a port entry without ``port`` matches every port of its protocol.
- Traffic between two pods needs the source's egress AND the destination's ingress.

Endpoints are dicts: ``{"namespace", "name", "labels", "ip", "ports": [containerPort dicts]}``; a source may
also be an address outside the cluster (``{"ip": ...}`` without namespace). Namespace labels come in a dict
``{namespace name: labels}``.
"""

from __future__ import annotations

import ipaddress

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


class PolicyError(ValueError):
    """A selector or policy that cannot be evaluated; ``str()`` is one sentence."""


def selector_matches(selector, labels):
    """Whether a metav1.LabelSelector matches ``labels``. ``{}`` matches everything; None matches nothing."""
    if selector is None:
        return False
    if not isinstance(selector, dict):
        raise PolicyError(f"A label selector must be a mapping, not {type(selector).__name__}.")
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        if not _expression_matches(expression, labels):
            return False
    return True


def _expression_matches(expression, labels):
    operator = expression.get("operator")
    key = expression.get("key")
    values = expression.get("values") or []
    if operator not in OPERATORS:
        raise PolicyError(f"Unknown label selector operator {operator!r} (one of {', '.join(OPERATORS)}).")
    if operator in ("In", "NotIn") and not values:
        raise PolicyError(f"The selector operator {operator} on {key!r} needs at least one value.")
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    return key not in labels


def parse_selector(text):
    """A LabelSelector from kubectl's text form: ``app=web,tier!=db,env in (a,b),!legacy,team``."""
    if isinstance(text, dict):
        return text
    selector = {"matchLabels": {}, "matchExpressions": []}
    for term in _split_terms(str(text or "")):
        term = term.strip()
        if not term:
            continue
        for word, operator in ((" notin ", "NotIn"), (" in ", "In")):
            if word in term:
                key, rest = term.split(word, 1)
                rest = rest.strip()
                if not (rest.startswith("(") and rest.endswith(")")):
                    raise PolicyError(f"The selector term {term!r} needs its values in parentheses.")
                values = [v.strip() for v in rest[1:-1].split(",") if v.strip()]
                selector["matchExpressions"].append({"key": key.strip(), "operator": operator, "values": values})
                break
        else:
            if "!=" in term:
                key, value = term.split("!=", 1)
                selector["matchExpressions"].append({"key": key.strip(), "operator": "NotIn",
                                                     "values": [value.strip()]})
            elif "=" in term:
                key, value = term.replace("==", "=").split("=", 1)
                selector["matchLabels"][key.strip()] = value.strip()
            elif term.startswith("!"):
                selector["matchExpressions"].append({"key": term[1:].strip(), "operator": "DoesNotExist"})
            else:
                selector["matchExpressions"].append({"key": term, "operator": "Exists"})
    for key in list(selector["matchLabels"]) + [e["key"] for e in selector["matchExpressions"]]:
        if not key or any(c in key for c in " ()!=,"):
            raise PolicyError(f"The label selector {text!r} is not valid (bad key {key!r}).")
    return selector


def _split_terms(text):
    """Split on commas outside parentheses."""
    terms, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    if depth:
        raise PolicyError(f"The label selector {text!r} has unbalanced parentheses.")
    return terms


def policy_types(policy):
    """The directions a policy governs; absent ``policyTypes`` means Ingress, plus Egress with egress rules."""
    spec = policy.get("spec") or {}
    types = spec.get("policyTypes")
    if types:
        return list(types)
    return ["Ingress"] + (["Egress"] if spec.get("egress") else [])


def _meta(obj):
    return obj.get("metadata") or {}


def policy_name(policy):
    return f"{_meta(policy).get('namespace')}/{_meta(policy).get('name')}"


def selects(policy, pod, direction):
    """Whether ``policy`` isolates ``pod`` in ``direction`` (``Ingress`` or ``Egress``)."""
    if not pod.get("namespace") or _meta(policy).get("namespace") != pod["namespace"]:
        return False
    if direction not in policy_types(policy):
        return False
    return selector_matches((policy.get("spec") or {}).get("podSelector") or {}, pod.get("labels"))


def _ip_in_block(ip, block):
    try:
        address = ipaddress.ip_address(ip)
        network = ipaddress.ip_network(block.get("cidr"), strict=False)
        excepted = [ipaddress.ip_network(cidr, strict=False) for cidr in block.get("except") or []]
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"Cannot evaluate the ipBlock {block!r}: {exc}.") from None
    if address.version != network.version or address not in network:
        return False
    return not any(address.version == net.version and address in net for net in excepted)


def peer_matches(peer, policy_namespace, other, namespace_labels):
    """Whether one ``from``/``to`` entry of a policy in ``policy_namespace`` matches the endpoint ``other``."""
    if "ipBlock" in peer:
        return bool(other.get("ip")) and _ip_in_block(other["ip"], peer["ipBlock"] or {})
    if not other.get("namespace"):  # an address outside the cluster matches ipBlock peers only
        return False
    has_ns, has_pod = "namespaceSelector" in peer, "podSelector" in peer
    if not has_ns and not has_pod:
        return False
    if has_ns:
        ns_ok = selector_matches(peer["namespaceSelector"] or {},
                                 _namespace_labels(other["namespace"], namespace_labels))
    else:
        ns_ok = other["namespace"] == policy_namespace
    return ns_ok and (not has_pod or selector_matches(peer["podSelector"] or {}, other.get("labels")))


def _namespace_labels(namespace, namespace_labels):
    labels = dict((namespace_labels or {}).get(namespace) or {})
    labels.setdefault("kubernetes.io/metadata.name", namespace)  # set by the API server on every namespace
    return labels


def resolve_port(port, protocol, destination):
    """A numeric port for ``port`` (number, or a container port name of the destination), or None."""
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return int(port)
    for container_port in destination.get("ports") or []:
        if container_port.get("name") == port and (container_port.get("protocol") or "TCP") == protocol:
            return container_port.get("containerPort")
    return None


def port_matches(entries, port, protocol, destination):
    """Whether a rule's ``ports`` list admits ``port``/``protocol`` to ``destination`` (absent/empty: all)."""
    if not entries:
        return True
    for entry in entries:
        if (entry.get("protocol") or "TCP") != protocol:
            continue
        if entry.get("port") is None:
            return True
        start = resolve_port(entry["port"], protocol, destination)
        if start is None or port is None:
            continue
        end = entry.get("endPort") if isinstance(entry["port"], int) else None
        if start <= port <= (end or start):
            return True
    return False


def _rule_admits(rule, peer_key, policy_namespace, other, port, protocol, destination, namespace_labels):
    peers = rule.get(peer_key)
    peer_ok = not peers or any(peer_matches(p, policy_namespace, other, namespace_labels) for p in peers)
    return peer_ok and port_matches(rule.get("ports"), port, protocol, destination)


def direction_verdict(policies, pod, other, port, protocol, destination, direction, namespace_labels):
    """{"allowed", "isolated", "selected_by", "allowed_by"} for one direction of one pod.

    ``pod`` is the pod whose policies apply (the destination for Ingress, the source for Egress), ``other``
    the peer, ``destination`` the pod whose named ports resolve ``port``.
    """
    if not pod.get("namespace"):  # outside the cluster: no NetworkPolicy applies
        return {"allowed": True, "isolated": False, "selected_by": [], "allowed_by": []}
    selecting = [p for p in policies if selects(p, pod, direction)]
    key, peer_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    allowing = [
        p for p in selecting
        if any(_rule_admits(rule or {}, peer_key, _meta(p).get("namespace"), other, port, protocol, destination,
                            namespace_labels)
               for rule in (p.get("spec") or {}).get(key) or [])
    ]
    return {"allowed": not selecting or bool(allowing), "isolated": bool(selecting),
            "selected_by": sorted(policy_name(p) for p in selecting),
            "allowed_by": sorted(policy_name(p) for p in allowing)}


def evaluate(policies, namespace_labels, source, destination, port, protocol="TCP"):
    """Whether ``source`` may open a connection to ``destination`` on ``port``, and why.

    ``port`` is a number or a container port name of the destination. Returns ``allowed``, ``port``
    (numeric, or None when a name does not resolve), ``egress`` and ``ingress`` (direction_verdict) and
    ``reason``, one sentence naming the deciding policies.
    """
    protocol = (protocol or "TCP").upper()
    number = resolve_port(port, protocol, destination)
    egress = direction_verdict(policies, source, destination, number, protocol, destination, "Egress",
                               namespace_labels)
    ingress = direction_verdict(policies, destination, source, number, protocol, destination, "Ingress",
                                namespace_labels)
    return {"allowed": egress["allowed"] and ingress["allowed"], "port": number, "egress": egress,
            "ingress": ingress, "reason": _reason(egress, ingress)}


def _reason(egress, ingress):
    parts = []
    for word, verdict in (("egress", egress), ("ingress", ingress)):
        if not verdict["isolated"]:
            parts.append(f"{word} allowed: no policy selects the pod")
        elif verdict["allowed"]:
            parts.append(f"{word} allowed by {', '.join(verdict['allowed_by'])}")
        else:
            parts.append(f"{word} denied: no rule of {', '.join(verdict['selected_by'])} admits it")
    return "; ".join(parts) + "."


def is_default_deny_ingress(policy):
    """A policy that selects every pod of its namespace for Ingress and admits nothing."""
    spec = policy.get("spec") or {}
    return ("Ingress" in policy_types(policy) and (spec.get("podSelector") or {}) == {}
            and not spec.get("ingress"))


def default_deny_ingress(policies, namespace):
    """Names of the default-deny ingress policies of ``namespace`` (sorted)."""
    return sorted(_meta(p).get("name") for p in policies
                  if _meta(p).get("namespace") == namespace and is_default_deny_ingress(p))


def pod_endpoint(pod):
    """The endpoint dict of an API Pod object."""
    meta = _meta(pod)
    ports = [port for container in (pod.get("spec") or {}).get("containers") or []
             for port in container.get("ports") or []]
    return {"namespace": meta.get("namespace"), "name": meta.get("name"), "labels": meta.get("labels") or {},
            "ip": (pod.get("status") or {}).get("podIP"), "ports": ports}
