"""The export's YAML writer: what it writes reads back as the same object, with PyYAML's safe loader."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.sre.runbooks.plugins.module_utils._config import yaml_text

AWKWARD = ["yes", "No", "ON", "off", "y", "n", "true", "False", "null", "~", "", " ", " lead", "trail ", "123", "0x1F",
           "1_000", "0o17", "1.0", "1e-05", ".inf", "-.nan", "2026-12-04", "2026-12-04T10:00:00Z", "1:20", "a: b", "#x",
           "a #b", "-", "- a", "-x", "?", "&anchor", "*ref", "!tag", "%TAG", "@at", "`tick", "{a}", "[a]", "'q'", '"q"',
           "multi\nline\n", "no final newline\nend", "two\n\n", "\nleading empty line", "  indented\nfirst", "trailing  \nspace",
           "\ttab", "tab\tinside\nline", "cr\r\nlf", "\n", "\n\n", "émoji 😀", "del\x7fchar", "ctl\x01x", "nbsp\u00a0x",
           "line\u2028sep", "/path/to/file", "/", "app.kubernetes.io/name", "image:1.0", "key=value", "a,b", "--- doc",
           "...", "|", ">", "x\n---\ny", "x\n...\n", "ünïcode\nlines\n"]


def roundtrip(data):
    text = yaml_text.dump(data, fallback=lambda s: yaml.safe_dump(s, default_style='"', width=1 << 20).rstrip("\n").rstrip("."))
    return yaml.safe_load(text), text


@pytest.mark.parametrize("value", AWKWARD)
def test_strings_read_back_as_themselves(value):
    data = {"v": value, value or "empty": 1, "list": [value, {"k": value}], "nested": {"deeper": {"x": value}}}
    loaded, text = roundtrip(data)
    assert loaded == data, text


@pytest.mark.parametrize("value", [0, -1, 10 ** 20, 1.5, -0.25, 1e-05, 1e300, float("inf"), float("-inf"), True, False,
                                   None, {}, [], [[]], [{}], [[1, 2], [3]], [{"a": 1, "b": [1, {"c": "d"}]}]])
def test_other_values_read_back_as_themselves(value):
    loaded, text = roundtrip({"v": value, "l": [value]})
    assert loaded == {"v": value, "l": [value]}, text


def test_nan_reads_back_as_nan():
    loaded, _text = roundtrip({"v": float("nan")})
    assert loaded["v"] != loaded["v"]


def test_a_kubernetes_object_reads_like_kubectl_output():
    container = {"name": "app", "image": "app:1.0", "args": ["--port", "8080"]}
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
           "spec": {"replicas": 2, "template": {"spec": {"containers": [container]}}},
           "data": {"config.yaml": "a: 1\nb:\n  - 2\n"}}
    loaded, text = roundtrip(obj)
    assert loaded == obj
    assert text.startswith("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n")
    assert "      containers:\n      - name: app\n        image: \"app:1.0\"\n" in text
    assert "config.yaml: |\n    a: 1\n    b:\n      - 2\n" in text


def test_unknown_types_are_refused():
    with pytest.raises(TypeError):
        yaml_text.dump({"v": object()}, fallback=str)
