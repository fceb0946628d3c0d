"""Config-change decisions without a server: key and env changes, consumers, checksums, patches, masking."""

from __future__ import annotations

import hashlib
import json

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import config_plan as plan

ANNOTATION = "checksum.sre.runbooks/app-config"


def workload(name, spec, annotations=None):
    metadata = {"labels": {"app": name}}
    if annotations is not None:
        metadata["annotations"] = annotations
    return {"metadata": {"name": name, "namespace": "ns"},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": {"metadata": metadata, "spec": spec}}}


ENV_REF = {"containers": [{"name": "app", "env": [
    {"name": "WORKERS", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "WORKERS"}}}]}]}
ENV_FROM = {"containers": [{"name": "app", "envFrom": [{"configMapRef": {"name": "app-config"}}]}]}
VOLUME = {"containers": [{"name": "app"}], "volumes": [{"name": "cfg", "configMap": {"name": "app-config"}}]}
PROJECTED = {"containers": [{"name": "app"}], "volumes": [{"name": "all", "projected": {"sources": [
    {"secret": {"name": "s"}}, {"configMap": {"name": "app-config"}}]}}]}
INIT = {"initContainers": [{"name": "setup", "envFrom": [{"configMapRef": {"name": "app-config"}}]}],
        "containers": [{"name": "app"}]}
OTHER = {"containers": [{"name": "app", "envFrom": [{"configMapRef": {"name": "other"}}]}],
         "volumes": [{"name": "cfg", "configMap": {"name": "other"}}, {"name": "tmp", "emptyDir": {}}]}


def test_checksum_is_the_documented_sha256_of_sorted_compact_json():
    data = {"b": "2", "a": "é"}
    text = '{"binaryData":{},"data":{"a":"é","b":"2"}}'
    assert plan.checksum(data) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert plan.checksum(data) == plan.checksum(dict(reversed(list(data.items()))))
    assert plan.checksum(data) != plan.checksum(data, {"blob": "AA=="})
    assert plan.checksum(None) == plan.checksum({}, {})


def test_checksum_annotation_fits_the_63_character_name_limit():
    assert plan.checksum_annotation("app-config") == ANNOTATION
    long = "x" * 100
    key = plan.checksum_annotation(long)
    name = key.split("/", 1)[1]
    assert len(name) <= 63 and name.startswith("x" * 40)
    assert key != plan.checksum_annotation("x" * 99)  # long names stay distinct


@pytest.mark.parametrize("spec, expected", [
    (ENV_REF, ["env WORKERS of container app"]),
    (ENV_FROM, ["envFrom of container app"]),
    (VOLUME, ["volume cfg"]),
    (PROJECTED, ["projected volume all"]),
    (INIT, ["envFrom of container setup"]),
    (OTHER, []),
    ({}, []),
])
def test_references_find_every_way_a_pod_uses_the_configmap(spec, expected):
    assert plan.references({"spec": spec}, "app-config") == expected


def test_consumers_roll_unless_their_checksum_is_current():
    workloads = [
        ("Deployment", workload("fresh", ENV_FROM)),
        ("Deployment", workload("stale", VOLUME, {ANNOTATION: "old"})),
        ("StatefulSet", workload("current", PROJECTED, {ANNOTATION: "new"})),
        ("Deployment", workload("unrelated", OTHER)),
    ]
    found = plan.consumers(workloads, "app-config", ANNOTATION, "new")
    assert [(c["kind"], c["name"], c["rolls"], c["checksum_before"]) for c in found] == [
        ("Deployment", "fresh", True, None), ("Deployment", "stale", True, "old"), ("StatefulSet", "current", False, "new")]
    assert not any(c["rolls"] for c in plan.consumers(workloads, "app-config", ANNOTATION, "new", rollout=False))


def test_plan_data_sets_changes_and_removes_only_what_differs():
    current = {"WORKERS": "2", "LOG_LEVEL": "info", "OLD": "x"}
    changes = plan.plan_data(current, {"WORKERS": 4, "LOG_LEVEL": "info", "DEBUG": True, "OLD": None, "GONE": None})
    assert changes == [
        {"key": "DEBUG", "action": "add", "before": None, "after": "true"},
        {"key": "OLD", "action": "remove", "before": "x", "after": None},
        {"key": "WORKERS", "action": "change", "before": "2", "after": "4"},
    ]
    assert plan.data_after(current, changes) == {"WORKERS": "4", "LOG_LEVEL": "info", "DEBUG": "true"}
    assert plan.plan_data(current, {"WORKERS": "2"}) == []


@pytest.mark.parametrize("wanted, words", [
    ({"bad key": "1"}, "not a valid ConfigMap key"),
    ({"": "1"}, "not a valid ConfigMap key"),
    ({"k" * 254: "1"}, "not a valid ConfigMap key"),
    ({"NESTED": {"a": 1}}, "data key NESTED must be text"),
    ({"LIST": [1]}, "must be text, a number or a boolean"),
])
def test_plan_data_refuses_bad_keys_and_values_in_one_sentence(wanted, words):
    with pytest.raises(plan.ConfigError, match=words):
        plan.plan_data({}, wanted)


def test_data_patch_carries_the_resource_version_and_undo_puts_back_the_before_values():
    changes = plan.plan_data({"A": "1", "B": "2"}, {"A": "9", "B": None, "C": "3"})
    assert plan.data_patch(changes, "42") == {"metadata": {"resourceVersion": "42"},
                                              "data": {"A": "9", "B": None, "C": "3"}}
    assert plan.data_patch(changes, None, undo=True) == {"data": {"A": "1", "B": "2", "C": None}}


def test_plan_env_changes_the_named_containers_and_replaces_value_from():
    template = {"spec": {"containers": [
        {"name": "app", "env": [{"name": "WORKERS", "value": "2"},
                                {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "t"}}},
                                {"name": "KEEP", "value": "k"}]},
        {"name": "proxy", "env": [{"name": "WORKERS", "value": "1"}]}]}}
    changes = plan.plan_env(template, {"WORKERS": 4, "TOKEN": "literal", "JAVA_OPTS": "-Xmx1g", "NOPE": None},
                            ["app"])
    assert changes == [
        {"container": "app", "name": "JAVA_OPTS", "action": "add", "before": None, "after": "-Xmx1g"},
        {"container": "app", "name": "TOKEN", "action": "change", "before": "(from secretKeyRef)", "after": "literal"},
        {"container": "app", "name": "WORKERS", "action": "change", "before": "2", "after": "4"},
    ]
    lists = plan.env_lists(template, changes)
    assert list(lists) == [0]
    assert lists[0] == [{"name": "WORKERS", "value": "4"}, {"name": "TOKEN", "value": "literal"},
                        {"name": "KEEP", "value": "k"}, {"name": "JAVA_OPTS", "value": "-Xmx1g"}]
    everywhere = plan.plan_env(template, {"WORKERS": None})
    assert [(c["container"], c["action"]) for c in everywhere] == [("app", "remove"), ("proxy", "remove")]
    assert plan.env_lists(template, everywhere)[1] == []
    assert plan.plan_env(template, {"KEEP": "k"}) == [
        {"container": "proxy", "name": "KEEP", "action": "add", "before": None, "after": "k"}]


def test_plan_env_names_the_containers_when_one_is_unknown():
    template = {"spec": {"containers": [{"name": "app"}, {"name": "proxy"}]}}
    with pytest.raises(plan.ConfigError, match="no container 'web'; its containers are app, proxy"):
        plan.plan_env(template, {"A": "1"}, ["web"])
    with pytest.raises(plan.ConfigError, match="not a valid environment variable name"):
        plan.plan_env(template, {"A=B": "1"})


def test_template_patch_adds_the_annotation_wherever_the_template_lacks_it():
    bare = {"spec": {"template": {"spec": {"containers": [{"name": "app"}]}}}}
    labelled = workload("w", ENV_FROM)
    annotated = workload("w", ENV_FROM, {"other": "x"})
    assert plan.template_patch(bare, ANNOTATION, "c") == [
        {"op": "add", "path": "/spec/template/metadata", "value": {"annotations": {ANNOTATION: "c"}}}]
    assert plan.template_patch(labelled, ANNOTATION, "c") == [
        {"op": "add", "path": "/spec/template/metadata/annotations", "value": {ANNOTATION: "c"}}]
    path = "/spec/template/metadata/annotations/checksum.sre.runbooks~1app-config"
    assert plan.template_patch(annotated, ANNOTATION, "c") == [{"op": "add", "path": path, "value": "c"}]
    assert plan.template_patch(annotated, ANNOTATION, None) == [{"op": "remove", "path": path}]


def test_template_patch_tests_the_container_name_before_replacing_its_env():
    obj = workload("w", {"containers": [{"name": "app", "env": [{"name": "A", "value": "1"}]}]})
    changes = plan.plan_env(obj["spec"]["template"], {"A": "2"})
    lists = plan.env_lists(obj["spec"]["template"], changes)
    assert plan.template_patch(obj, env=lists) == [
        {"op": "test", "path": "/spec/template/spec/containers/0/name", "value": "app"},
        {"op": "add", "path": "/spec/template/spec/containers/0/env", "value": [{"name": "A", "value": "2"}]}]
    assert plan.env_before(obj["spec"]["template"], lists) == {0: [{"name": "A", "value": "1"}]}


def test_sensitive_values_are_masked_but_a_change_still_shows():
    changes = plan.plan_data({"TOKEN": "old-secret"}, {"TOKEN": "new-secret", "NEW": "s3cr3t-value", "WORKERS": 4})
    public = plan.public_changes(changes, {"TOKEN", "NEW"}, "key")
    assert {c["key"]: (c["before"], c["after"]) for c in public} == {
        "NEW": (None, plan.MASK), "TOKEN": (plan.MASK, plan.MASK_CHANGED), "WORKERS": (None, "4")}
    assert "secret" not in json.dumps(public)
    assert changes[1]["after"] == "new-secret"  # the plan itself is untouched


def test_change_words_name_keys_and_env_never_values():
    data = plan.plan_data({}, {"A": "secret", "B": "x"})
    env = plan.plan_env({"spec": {"containers": [{"name": "app"}, {"name": "b"}]}}, {"JAVA_OPTS": "secret"})
    assert plan.change_words(data, env) == "keys A, B and env JAVA_OPTS"
    assert plan.change_words(data[:1], []) == "key A"
    assert plan.change_words([], []) == "nothing"
