"""NetworkPolicy semantics (C3): a table of connections, each with the verdict and the deciding policies."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import netpol

NS_LABELS = {
    "platform-v2-stable": {"app.kubernetes.io/part-of": "platform", "tier": "stable"},
    "platform-v1-exp": {"app.kubernetes.io/part-of": "platform", "tier": "exp"},
    "monitoring": {"team": "sre"},
}


def pod(namespace, labels=None, ip="10.0.0.1", ports=None, name="p"):
    return {"namespace": namespace, "name": name, "labels": labels or {}, "ip": ip, "ports": ports or []}


def policy(namespace, name, pod_selector=None, ingress=None, egress=None, types=None):
    spec = {"podSelector": pod_selector or {}}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    if types is not None:
        spec["policyTypes"] = types
    return {"metadata": {"namespace": namespace, "name": name}, "spec": spec}


V2_API = pod("platform-v2-stable", {"app": "api"}, "10.0.2.1",
             [{"name": "http", "containerPort": 8000}, {"name": "dns", "containerPort": 53, "protocol": "UDP"}])
V2_DB = pod("platform-v2-stable", {"app": "db"}, "10.0.2.2")
V1_API = pod("platform-v1-exp", {"app": "api"}, "10.0.1.1")
PROM = pod("monitoring", {"app": "prometheus"}, "10.0.9.1")
OUTSIDE = {"ip": "203.0.113.7"}

DENY_ALL = policy("platform-v2-stable", "default-deny", types=["Ingress"])
FROM_STABLE_TIER = policy("platform-v2-stable", "from-stable", ingress=[
    {"from": [{"namespaceSelector": {"matchLabels": {"tier": "stable"}}}]}])
FROM_MONITORING_PROM = policy("platform-v2-stable", "from-prometheus", {"matchLabels": {"app": "api"}}, ingress=[
    {"from": [{"namespaceSelector": {"matchLabels": {"team": "sre"}},
               "podSelector": {"matchLabels": {"app": "prometheus"}}}],
     "ports": [{"port": "http"}]}])
SAME_NS_PODS = policy("platform-v2-stable", "api-to-db", {"matchLabels": {"app": "db"}}, ingress=[
    {"from": [{"podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["api", "worker"]}]}}],
     "ports": [{"port": 5432}]}])
PORT_RANGE = policy("platform-v2-stable", "range", {"matchLabels": {"app": "api"}}, ingress=[
    {"ports": [{"port": 9000, "endPort": 9100}]}])
FROM_OFFICE = policy("platform-v2-stable", "office", {"matchLabels": {"app": "api"}}, ingress=[
    {"from": [{"ipBlock": {"cidr": "203.0.113.0/24", "except": ["203.0.113.128/25"]}}]}])
EGRESS_ONLY = policy("platform-v1-exp", "exp-egress", egress=[
    {"to": [{"namespaceSelector": {"matchLabels": {"tier": "exp"}}}]}])
EGRESS_TYPES_ONLY = policy("platform-v1-exp", "exp-egress-typed", types=["Egress"], ingress=[{}])
LOCKDOWN = policy("platform-v2-stable", "lockdown", types=["Ingress", "Egress"], ingress=[{}])
INGRESS_UDP_DNS = policy("platform-v2-stable", "dns", {"matchLabels": {"app": "api"}}, ingress=[
    {"ports": [{"protocol": "UDP", "port": "dns"}]}])
ALL_TCP = policy("platform-v2-stable", "all-tcp", {"matchLabels": {"app": "api"}}, ingress=[
    {"ports": [{"protocol": "TCP"}]}])
NOT_IN_EXP = policy("platform-v2-stable", "not-exp", ingress=[
    {"from": [{"namespaceSelector": {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["exp"]}]}}]}])
BY_NAME = policy("platform-v2-stable", "by-ns-name", ingress=[
    {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]}])

CASES = [
    # id, policies, source, destination, port, protocol, allowed, ingress allowed_by, egress allowed_by
    ("no policy selects the pod", [], V1_API, V2_API, 8000, "TCP", True, [], []),
    ("policy in another namespace does not select", [policy("monitoring", "deny")], V1_API, V2_API, 80, "TCP",
     True, [], []),
    ("default deny blocks", [DENY_ALL], V2_DB, V2_API, 8000, "TCP", False, [], []),
    ("namespaceSelector admits own tier", [DENY_ALL, FROM_STABLE_TIER], V2_DB, V2_API, 8000, "TCP", True,
     ["platform-v2-stable/from-stable"], []),
    ("namespaceSelector excludes exp", [DENY_ALL, FROM_STABLE_TIER], V1_API, V2_API, 8000, "TCP", False, [], []),
    ("ns+pod selector in one peer: both match", [DENY_ALL, FROM_MONITORING_PROM], PROM, V2_API, 8000, "TCP", True,
     ["platform-v2-stable/from-prometheus"], []),
    ("ns+pod selector in one peer: pod label misses",
     [DENY_ALL, FROM_MONITORING_PROM], pod("monitoring", {"app": "grafana"}), V2_API, 8000, "TCP", False, [], []),
    ("ns+pod selector in one peer: namespace misses",
     [DENY_ALL, FROM_MONITORING_PROM], pod("platform-v1-exp", {"app": "prometheus"}), V2_API, 8000, "TCP", False,
     [], []),
    ("named port resolves on destination", [DENY_ALL, FROM_MONITORING_PROM], PROM, V2_API, "http", "TCP", True,
     ["platform-v2-stable/from-prometheus"], []),
    ("named port rule, other port", [DENY_ALL, FROM_MONITORING_PROM], PROM, V2_API, 9090, "TCP", False, [], []),
    ("podSelector only: same namespace matchExpressions In", [SAME_NS_PODS], V2_API, V2_DB, 5432, "TCP", True,
     ["platform-v2-stable/api-to-db"], []),
    ("podSelector only: other namespace with same labels", [SAME_NS_PODS], V1_API, V2_DB, 5432, "TCP", False,
     [], []),
    ("podSelector only: wrong port", [SAME_NS_PODS], V2_API, V2_DB, 5433, "TCP", False, [], []),
    ("endPort range start", [PORT_RANGE], V1_API, V2_API, 9000, "TCP", True, ["platform-v2-stable/range"], []),
    ("endPort range end", [PORT_RANGE], V1_API, V2_API, 9100, "TCP", True, ["platform-v2-stable/range"], []),
    ("endPort range past end", [PORT_RANGE], V1_API, V2_API, 9101, "TCP", False, [], []),
    ("protocol defaults to TCP: UDP misses", [PORT_RANGE], V1_API, V2_API, 9000, "UDP", False, [], []),
    ("ipBlock admits address in cidr", [FROM_OFFICE], {"ip": "203.0.113.7"}, V2_API, 443, "TCP", True,
     ["platform-v2-stable/office"], []),
    ("ipBlock except excludes", [FROM_OFFICE], {"ip": "203.0.113.200"}, V2_API, 443, "TCP", False, [], []),
    ("ipBlock outside cidr", [FROM_OFFICE], {"ip": "198.51.100.1"}, V2_API, 443, "TCP", False, [], []),
    ("ipBlock by pod IP", [FROM_OFFICE], pod("platform-v1-exp", ip="203.0.113.9"), V2_API, 443, "TCP", True,
     ["platform-v2-stable/office"], []),
    ("ipBlock: other IP version", [FROM_OFFICE], {"ip": "2001:db8::1"}, V2_API, 443, "TCP", False, [], []),
    ("outside source and namespaceSelector", [DENY_ALL, FROM_STABLE_TIER], OUTSIDE, V2_API, 80, "TCP", False,
     [], []),
    ("egress rules imply Egress: other namespace denied", [EGRESS_ONLY], V1_API, V2_API, 8000, "TCP", False,
     [], []),
    ("egress rules imply Egress; implicit Ingress isolates the peer too",
     [EGRESS_ONLY], V1_API, pod("platform-v1-exp", {"app": "db"}), 5432, "TCP", False, [],
     ["platform-v1-exp/exp-egress"]),
    ("policyTypes Egress without egress rules blocks egress", [LOCKDOWN], V2_API, PROM, 9090, "TCP", False,
     [], []),
    ("same policy admits ingress by its rule", [LOCKDOWN], PROM, V2_API, 9090, "TCP", True,
     ["platform-v2-stable/lockdown"], []),
    ("egress rules also imply Ingress isolation", [EGRESS_ONLY], V2_API, V1_API, 8000, "TCP", False, [], []),
    ("policyTypes Egress only: ingress not isolated", [EGRESS_TYPES_ONLY], V2_API, V1_API, 8000, "TCP", True,
     [], []),
    ("policyTypes Egress only: its ingress rules are ignored, egress denied",
     [EGRESS_TYPES_ONLY], pod("platform-v1-exp", {"x": "y"}), V1_API, 8000, "TCP", False, [], []),
    ("UDP named port", [INGRESS_UDP_DNS], V1_API, V2_API, "dns", "UDP", True, ["platform-v2-stable/dns"], []),
    ("UDP named port does not match TCP", [INGRESS_UDP_DNS], V1_API, V2_API, 53, "TCP", False, [], []),
    ("port entry without port: all TCP ports", [ALL_TCP], V1_API, V2_API, 31337, "TCP", True,
     ["platform-v2-stable/all-tcp"], []),
    ("NotIn namespace expression excludes exp", [NOT_IN_EXP], V1_API, V2_API, 80, "TCP", False, [], []),
    ("NotIn admits a namespace without the key", [NOT_IN_EXP], PROM, V2_API, 80, "TCP", True,
     ["platform-v2-stable/not-exp"], []),
    ("automatic kubernetes.io/metadata.name label", [BY_NAME], PROM, V2_API, 80, "TCP", True,
     ["platform-v2-stable/by-ns-name"], []),
    ("union: one of two policies admits", [DENY_ALL, FROM_STABLE_TIER, SAME_NS_PODS], V2_API, V2_DB, 5432, "TCP",
     True, ["platform-v2-stable/api-to-db", "platform-v2-stable/from-stable"], []),
    ("empty rule admits everything", [policy("platform-v2-stable", "allow-all", ingress=[{}])], V1_API, V2_API,
     1, "TCP", True, ["platform-v2-stable/allow-all"], []),
]


@pytest.mark.parametrize("policies, source, destination, port, protocol, allowed, ingress_by, egress_by",
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_evaluate(policies, source, destination, port, protocol, allowed, ingress_by, egress_by):
    verdict = netpol.evaluate(policies, NS_LABELS, source, destination, port, protocol)
    assert verdict["allowed"] is allowed, verdict
    assert verdict["ingress"]["allowed_by"] == ingress_by
    assert verdict["egress"]["allowed_by"] == egress_by


def test_reason_names_the_deciding_policies():
    verdict = netpol.evaluate([DENY_ALL, FROM_STABLE_TIER], NS_LABELS, V1_API, V2_API, 8000)
    assert verdict["reason"] == ("egress allowed: no policy selects the pod; ingress denied: no rule of "
                                 "platform-v2-stable/default-deny, platform-v2-stable/from-stable admits it.")
    verdict = netpol.evaluate([FROM_STABLE_TIER], NS_LABELS, V2_DB, V2_API, 8000)
    assert verdict["reason"].endswith("ingress allowed by platform-v2-stable/from-stable.")


def test_unknown_named_port_is_denied_by_a_port_rule_and_reported_as_none():
    verdict = netpol.evaluate([FROM_MONITORING_PROM], NS_LABELS, PROM, V2_API, "grpc")
    assert verdict["port"] is None
    assert verdict["allowed"] is False


@pytest.mark.parametrize("spec, types", [
    ({}, ["Ingress"]),
    ({"egress": [{}]}, ["Ingress", "Egress"]),
    ({"egress": []}, ["Ingress"]),
    ({"policyTypes": ["Egress"], "ingress": [{}]}, ["Egress"]),
])
def test_policy_types(spec, types):
    assert netpol.policy_types({"spec": spec}) == types


@pytest.mark.parametrize("pol, expected", [
    (DENY_ALL, True),
    (policy("ns", "implicit"), True),
    (policy("ns", "with-rule", ingress=[{}]), False),
    (policy("ns", "narrow", {"matchLabels": {"app": "x"}}), False),
    (policy("ns", "egress-only", types=["Egress"]), False),
    (policy("ns", "both", types=["Ingress", "Egress"]), True),
])
def test_is_default_deny_ingress(pol, expected):
    assert netpol.is_default_deny_ingress(pol) is expected


def test_default_deny_ingress_per_namespace():
    policies = [DENY_ALL, FROM_STABLE_TIER, policy("platform-v1-exp", "default-deny-egress", types=["Egress"])]
    assert netpol.default_deny_ingress(policies, "platform-v2-stable") == ["default-deny"]
    assert netpol.default_deny_ingress(policies, "platform-v1-exp") == []


@pytest.mark.parametrize("selector, labels, expected", [
    ({}, {}, True),
    (None, {"a": "1"}, False),
    ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
    ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"a": ""}, True),
    ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": ""}, False),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, {}, False),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {}, True),
    ({"matchLabels": {"a": "1"}, "matchExpressions": [{"key": "b", "operator": "Exists"}]}, {"a": "1"}, False),
])
def test_selector_matches(selector, labels, expected):
    assert netpol.selector_matches(selector, labels) is expected


@pytest.mark.parametrize("selector, message", [
    ({"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["1"]}]}, "Unknown label selector operator"),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}, "needs at least one value"),
    ("app=x", "must be a mapping"),
])
def test_bad_selectors_raise_one_sentence(selector, message):
    with pytest.raises(netpol.PolicyError, match=message):
        netpol.selector_matches(selector, {"a": "1"})


def test_bad_ip_block_raises_one_sentence():
    bad = policy("platform-v2-stable", "bad", ingress=[{"from": [{"ipBlock": {"cidr": "not-a-cidr"}}]}])
    with pytest.raises(netpol.PolicyError, match="Cannot evaluate the ipBlock"):
        netpol.evaluate([bad], NS_LABELS, {"ip": "10.0.0.1"}, V2_API, 80)


@pytest.mark.parametrize("text, selector", [
    ("app=web", {"matchLabels": {"app": "web"}, "matchExpressions": []}),
    ("app==web,tier!=db", {"matchLabels": {"app": "web"},
                           "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]}),
    ("env in (a, b),!legacy,team", {"matchLabels": {}, "matchExpressions": [
        {"key": "env", "operator": "In", "values": ["a", "b"]},
        {"key": "legacy", "operator": "DoesNotExist"}, {"key": "team", "operator": "Exists"}]}),
    ("env notin (x)", {"matchLabels": {}, "matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["x"]}]}),
    ("", {"matchLabels": {}, "matchExpressions": []}),
])
def test_parse_selector(text, selector):
    assert netpol.parse_selector(text) == selector


@pytest.mark.parametrize("text", ["env in a,b", "env in (a", "=x", "a b"])
def test_parse_selector_refuses_bad_text(text):
    with pytest.raises(netpol.PolicyError):
        netpol.parse_selector(text)


def test_pod_endpoint_collects_container_ports():
    api_pod = {"metadata": {"namespace": "n", "name": "p", "labels": {"a": "1"}},
               "spec": {"containers": [{"ports": [{"name": "http", "containerPort": 80}]},
                                       {"ports": [{"containerPort": 9090}]}]},
               "status": {"podIP": "10.1.1.1"}}
    assert netpol.pod_endpoint(api_pod) == {"namespace": "n", "name": "p", "labels": {"a": "1"}, "ip": "10.1.1.1",
                                            "ports": [{"name": "http", "containerPort": 80}, {"containerPort": 9090}]}
