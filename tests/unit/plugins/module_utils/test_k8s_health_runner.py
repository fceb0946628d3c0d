"""group_by_namespace: how k8s_health_info's list answers become one bucket per namespace."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._k8s.health_runner import field_selector, group_by_namespace, list_scope


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


def test_asked_namespaces_from_cluster_wide_lists_keep_only_theirs():
    fetched = {(None, "Pod"): [item("b", "p1"), item("other", "p2"), item("a", "p3")]}
    grouped = group_by_namespace(fetched, ["Pod"], ["a", "b", "gone"], existing={"a", "b", "other"})
    assert list(grouped) == ["a", "b", "gone"]
    assert grouped["a"]["Pod"] == [item("a", "p3")] and grouped["gone"]["Pod"] == []


@pytest.mark.parametrize(("namespaces", "existing", "scope"), [
    ([], {"a"}, ("cluster", [])),
    (["a", "b", "c"], {"a", "b", "c"}, ("namespaced", [])),
    (["a", "b", "c", "d"], None, ("namespaced", [])),
    (["a", "b", "c", "d"], {"a", "b", "c", "d", "x", "y"}, ("cluster", ["x", "y"])),
    (["a", "b", "c", "d"], {"a", "b", "c", "d", "v", "w", "x", "y", "z"}, ("namespaced", [])),
])
def test_list_scope(namespaces, existing, scope):
    wanted = [ns for ns in namespaces if existing is None or ns in existing]
    assert list_scope(namespaces, wanted, existing) == scope


def test_list_scope_leaves_out_by_field_selector_only_a_few_namespaces():
    wanted = [f"n{i}" for i in range(40)]
    existing = set(wanted) | {f"o{i}" for i in range(30)}
    assert list_scope(wanted, wanted, existing) == ("cluster", [])


def test_field_selectors():
    assert field_selector("Event", ["x", "y"], False) == "type=Warning,metadata.namespace!=x,metadata.namespace!=y"
    assert field_selector("Pod", ["x"], False) == "metadata.namespace!=x"
    assert field_selector("Pod", ["x"], True) is None
    assert field_selector("PodMetrics", ["x"], False) is None
    assert field_selector("Deployment", [], False) is None
