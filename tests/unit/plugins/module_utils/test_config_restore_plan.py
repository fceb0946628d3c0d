"""B3 restore planning: filters, label selectors, namespace mapping, order and actions, cleaning for diffs."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._config import restore_plan as rp


def entry(kind, namespace, name, encrypted=False, api_version="v1"):
    scope = namespace or "_cluster"
    member = f"resources/{scope}/{kind}/{name}.yaml" + (".vault" if encrypted else "")
    return member, {"apiVersion": api_version, "kind": kind, "namespace": namespace, "name": name,
                    "encrypted": encrypted, "sha256": "0" * 64, "size": 1}


MANIFEST = {"namespaces": ["shop", "ops"], "files": dict([
    entry("Namespace", None, "shop"), entry("Namespace", None, "ops"),
    entry("ConfigMap", "shop", "app-config"), entry("Secret", "shop", "app-secret", encrypted=True),
    entry("Deployment", "shop", "web", api_version="apps/v1"), entry("ConfigMap", "ops", "ops-config"),
    entry("ClusterRole", None, "reader", api_version="rbac.authorization.k8s.io/v1"),
    entry("Widget", "shop", "w1", api_version="example.com/v1"),
])}


def members(selected):
    return [member.split("/", 1)[1] for member, _meta in selected]


@pytest.mark.parametrize("text, labels, expected", [
    ("app=web", {"app": "web"}, True),
    ("app==web", {"app": "db"}, False),
    ("app!=web", {}, True),
    ("app!=web", {"app": "web"}, False),
    ("tier in (a, b),app", {"tier": "b", "app": "x"}, True),
    ("tier notin (a,b)", {"tier": "a"}, False),
    ("!legacy", {"legacy": "1"}, False),
    ("!legacy,app=web", {"app": "web"}, True),
    ("", {"x": "y"}, True),
])
def test_label_selectors(text, labels, expected):
    assert rp.selector_matches(rp.parse_selector(text), labels) is expected


@pytest.mark.parametrize("text", ["app=(web", "=web", "a b c"])
def test_bad_label_selector_is_one_sentence(text):
    with pytest.raises(rp.PlanError, match="label_selector"):
        rp.parse_selector(text)


def test_default_selection_is_everything():
    selected = rp.select_members(MANIFEST)
    assert len(selected) == len(MANIFEST["files"])
    assert rp.needs_key(selected) == ["resources/shop/Secret/app-secret.yaml.vault"]


def test_namespace_filter_keeps_cluster_objects_and_the_namespace_object():
    selected = members(rp.select_members(MANIFEST, namespaces=["ops"]))
    assert selected == ["_cluster/ClusterRole/reader.yaml", "_cluster/Namespace/ops.yaml", "ops/ConfigMap/ops-config.yaml"]


def test_kind_and_name_filters_keep_the_namespace_objects_they_need():
    selected = members(rp.select_members(MANIFEST, kinds=["ConfigMap"], names=["app-config"]))
    assert selected == ["_cluster/Namespace/shop.yaml", "shop/ConfigMap/app-config.yaml"]
    assert rp.needs_key(rp.select_members(MANIFEST, kinds=["ConfigMap"])) == []


def test_label_filter_uses_the_parsed_labels():
    labels = {"resources/shop/Deployment/web.yaml": {"app": "web"}}
    selected = rp.select_members(MANIFEST, namespaces=["shop"], label_selector="app=web",
                                 labels_of=labels.get)
    assert members(selected) == ["_cluster/Namespace/shop.yaml", "shop/Deployment/web.yaml"]


@pytest.mark.parametrize("namespaces, kinds, mapping, message", [
    (["nope"], None, {}, "holds no namespace 'nope'"),
    (None, ["Widgett"], {}, "kinds: 'Widgett'"),
    (None, None, {"nope": "x"}, "namespace_map: the archive holds no namespace 'nope'"),
    (None, None, {"shop": "ops"}, "more than one namespace would be restored into 'ops'"),
])
def test_filters_refused(namespaces, kinds, mapping, message):
    with pytest.raises(rp.PlanError, match=message):
        rp.check_filters(MANIFEST, namespaces, kinds, mapping)


def test_filters_accepted():
    assert rp.check_filters(MANIFEST, None, ["Widget", "Ingress"], {"shop": "shop2"}) == ["ops", "shop"]
    assert rp.check_filters(MANIFEST, ["shop"], None, {}) == ["shop"]


def test_namespace_mapping():
    binding = {"kind": "RoleBinding", "metadata": {"name": "b", "namespace": "shop"},
               "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": "shop"},
                            {"kind": "ServiceAccount", "name": "x", "namespace": "other"},
                            {"kind": "User", "name": "alice"}]}
    mapped = rp.map_namespace(binding, {"shop": "shop2"})
    assert mapped["metadata"]["namespace"] == "shop2"
    assert [s.get("namespace") for s in mapped["subjects"]] == ["shop2", "other", None]
    assert binding["metadata"]["namespace"] == "shop"  # a copy
    namespace = {"kind": "Namespace", "metadata": {"name": "shop", "labels": {"kubernetes.io/metadata.name": "shop"}}}
    mapped = rp.map_namespace(namespace, {"shop": "shop2"})
    assert mapped["metadata"] == {"name": "shop2", "labels": {"kubernetes.io/metadata.name": "shop2"}}
    assert rp.map_namespace(binding, {}) is binding


def obj(kind, name, namespace="shop"):
    return {"kind": kind, "apiVersion": "v1", "metadata": {"name": name, "namespace": namespace}}


def test_steps_follow_the_dependency_order():
    objects = [obj("Widget", "w"), obj("NetworkPolicy", "n"), obj("Service", "s"), obj("Deployment", "d"),
               obj("RoleBinding", "rb"), obj("ClusterRole", "cr", None), obj("Role", "r"),
               obj("PersistentVolumeClaim", "p"), obj("ConfigMap", "c"), obj("Secret", "x"),
               obj("ServiceAccount", "sa"), obj("Namespace", "shop", None), obj("Ingress", "i"),
               obj("HorizontalPodAutoscaler", "h"), obj("PodDisruptionBudget", "pdb"), obj("CronJob", "cj")]
    order = [[rp.object_ref(o) for o in step] for step in rp.steps(objects)]
    assert order == [
        ["Namespace/shop"], ["ServiceAccount/shop/sa"], ["ConfigMap/shop/c", "Secret/shop/x"],
        ["PersistentVolumeClaim/shop/p"], ["ClusterRole/cr", "Role/shop/r"], ["RoleBinding/shop/rb"],
        ["CronJob/shop/cj", "Deployment/shop/d"], ["Service/shop/s"], ["Ingress/shop/i"],
        ["HorizontalPodAutoscaler/shop/h"], ["PodDisruptionBudget/shop/pdb"], ["NetworkPolicy/shop/n"],
        ["Widget/shop/w"]]


@pytest.mark.parametrize("exists, update, expected", [
    (False, False, "create"), (False, True, "create"), (True, False, "exists"), (True, True, "apply")])
def test_action(exists, update, expected):
    assert rp.action(exists, update) == expected


def test_clean_and_redacted_diff():
    live = {"kind": "Secret", "apiVersion": "v1", "data": {"token": "c2VjcmV0"}, "status": {},
            "metadata": {"name": "s", "namespace": "shop", "uid": "u", "resourceVersion": "1", "managedFields": [],
                         "creationTimestamp": "t",
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}}}
    assert rp.clean(live) == {"kind": "Secret", "apiVersion": "v1", "data": {"token": "c2VjcmV0"},
                              "metadata": {"name": "s", "namespace": "shop"}}
    entry_ = rp.diff_entry("Secret/shop/s", None, live)
    assert entry_["before"] == {} and entry_["after"]["data"] == {"token": "<redacted>"}
    assert "c2VjcmV0" not in str(entry_)
    assert live["data"]["token"] == "c2VjcmV0"


def test_check_object_refuses_a_member_that_is_not_its_manifest_entry():
    member, meta = entry("ConfigMap", "shop", "app-config")
    good = obj("ConfigMap", "app-config")
    assert rp.check_object(good, meta, member) is good
    with pytest.raises(rp.PlanError, match="not the ConfigMap shop/app-config"):
        rp.check_object(obj("ConfigMap", "other"), meta, member)
    with pytest.raises(rp.PlanError, match="is not a Kubernetes object"):
        rp.check_object(["x"], meta, member)


def test_paths_and_waits():
    assert rp.api_path("v1", "configmaps", "shop", "c") == "/api/v1/namespaces/shop/configmaps/c"
    assert rp.api_path("apps/v1", "deployments", "shop") == "/apis/apps/v1/namespaces/shop/deployments"
    assert rp.api_path("v1", "namespaces") == "/api/v1/namespaces"
    assert rp.workloads_to_wait([obj("Deployment", "d"), obj("ConfigMap", "c"), obj("StatefulSet", "s")]) == [
        ("Deployment", "shop", "d"), ("StatefulSet", "shop", "s")]


def test_terminating_namespaces():
    objects = [obj("Namespace", "shop", None), obj("ConfigMap", "c", "shop"), obj("ConfigMap", "c", "ops")]
    existing = {("Namespace", "", "shop"): {"metadata": {"name": "shop", "deletionTimestamp": "t"}},
                ("Namespace", "", "ops"): {"metadata": {"name": "ops"}}}
    assert rp.terminating_namespaces(objects, existing) == ["shop"]
    assert rp.terminating_namespaces(objects[2:], existing) == []


def test_a_service_moved_to_another_namespace_leaves_its_node_ports_to_the_original():
    service = {"kind": "Service", "metadata": {"name": "edge", "namespace": "shop"},
               "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}}
    assert rp.map_namespace(service, {"shop": "shop2"})["spec"]["ports"] == [{"port": 80}]
    assert rp.map_namespace(service, {"other": "x"})["spec"]["ports"] == [{"port": 80, "nodePort": 30080}]
