"""group_by_namespace: how k8s_health_info's list answers become one bucket per namespace."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._k8s.health_runner import group_by_namespace


def item(namespace, name):
    return {"metadata": {"namespace": namespace, "name": name}}


def test_asked_namespaces_keep_their_order_and_every_kind():
    fetched = {("b", "Pod"): [item("b", "p")], ("b", "Deployment"): []}
    grouped = group_by_namespace(fetched, ["Pod", "Deployment"], ["b", "a"], existing={"b"})
    assert list(grouped) == ["b", "a"]
    assert grouped == {"b": {"Pod": [item("b", "p")], "Deployment": []}, "a": {"Pod": [], "Deployment": []}}


def test_cluster_wide_lists_are_split_by_namespace_with_empty_namespaces_too():
    fetched = {(None, "Pod"): [item("z", "p1"), item("a", "p2"), {"metadata": {"name": "cluster-scoped"}}]}
    grouped = group_by_namespace(fetched, ["Pod"], [], existing={"empty", "a"})
    assert list(grouped) == ["a", "empty", "z"]
    assert grouped["a"]["Pod"] == [item("a", "p2")] and grouped["empty"]["Pod"] == []


def test_cluster_wide_without_namespace_list_permission_uses_the_items_only():
    grouped = group_by_namespace({(None, "Pod"): [item("x", "p")]}, ["Pod"], [], existing=None)
    assert grouped == {"x": {"Pod": [item("x", "p")]}}
