"""health_check_report's Markdown rendering: plain Jinja, byte for byte what the template lookup gives.

The action renders the role's report.md.j2 with plain Jinja (the template lookup deep-copies every play
variable first, a tenth of a second per run). These tests hold it to the lookup's output on a full
report (every row of the demo environment, Kafka with lagging groups and an under-replicated partition,
a summary with ``|`` and a newline), and to one sentence for a missing or broken template. The action
itself runs in the playbook and bad-input tests; it is imported through controller_import.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from ..controller_code import controller_import

REPO = Path(__file__).resolve().parents[4]
TEMPLATE = REPO / "roles" / "health_check" / "templates" / "report.md.j2"
RESULT = json.loads((Path(__file__).parent / "health_check_result.json").read_text())


@pytest.fixture(scope="module")
def action():
    with controller_import("ansible_collections.sre.runbooks.plugins.action.health_check_report") as module:
        yield module


@pytest.fixture(scope="module")
def fail(action):
    return importlib.import_module("ansible.errors").AnsibleActionFail


@pytest.fixture(scope="module")
def lookup_rendering(action):
    """What ``lookup('ansible.builtin.template', path)`` gives with health_check_result set.

    The plugin loader installs ansible's collection finder for the whole process; it is removed again
    afterwards, so that the tests after these import the collection's code as before.
    """
    loader_module = importlib.import_module("ansible.plugins.loader")
    finder = importlib.import_module("ansible.utils.collection_loader._collection_finder")._AnsibleCollectionFinder
    installed_before = finder._find_existing_finder()  # pylint: disable=protected-access
    loader_module.init_plugin_loader()
    data_loader = importlib.import_module("ansible.parsing.dataloader").DataLoader()
    templar = importlib.import_module("ansible.template").Templar(loader=data_loader)
    lookup = loader_module.lookup_loader.get("ansible.builtin.template", loader=data_loader, templar=templar)

    def render(path, result):
        return str(lookup.run([str(path)], variables={"health_check_result": result})[0])
    yield render
    if installed_before is None:
        finder._remove()  # pylint: disable=protected-access


def test_the_role_template_renders_as_the_template_lookup_renders_it(action, lookup_rendering):
    rendered = action.render_markdown(str(TEMPLATE), RESULT)
    assert rendered == lookup_rendering(TEMPLATE, RESULT)
    # The report's every section is there (a broken branch would render to nothing rather than fail).
    assert [line.split(":")[0] for line in rendered.splitlines() if line.startswith("## ")] == [
        f"## {check['id']} {check['title']}" for check in RESULT["checks"]]
    assert "| triage | STABLE | 2 | WARN | 1500 | bug-reports/0: 1200 |" in rendered
    assert "| bug-reports | 1 | 2 | 1,2 | 2 |" in rendered
    assert "with a pipe and a newline" in rendered and "\\| with a pipe" in rendered
    assert rendered.endswith("\n")


def test_trailing_newlines_are_kept_as_the_lookup_keeps_them(action, lookup_rendering, tmp_path):
    template = tmp_path / "t.md.j2"
    template.write_text("{% for c in health_check_result.checks %}\n- {{ c.id }}\n{% endfor %}\n\n")
    result = {"checks": [{"id": "H1"}, {"id": "H2"}]}
    assert action.render_markdown(str(template), result) == lookup_rendering(template, result) == "- H1\n- H2\n\n"


def test_a_missing_template_is_one_sentence(action, fail, tmp_path):
    with pytest.raises(fail) as caught:
        action.render_markdown(str(tmp_path / "missing.md.j2"), RESULT)
    assert caught.value.message == f"Cannot read the Markdown template {tmp_path}/missing.md.j2: No such file or directory."


@pytest.mark.parametrize(("text", "reason"), [
    ("{{ health_check_result.nothing.deeper }}", "'dict object' has no attribute 'nothing'"),
    ("{% for c in %}", "Expected an expression, got 'end of statement block'"),
    ("{{ health_check_result | to_nice_json }}", "No filter named 'to_nice_json'"),
])
def test_a_broken_template_is_one_sentence(action, fail, tmp_path, text, reason):
    template = tmp_path / "broken.md.j2"
    template.write_text(text)
    with pytest.raises(fail) as caught:
        action.render_markdown(str(template), RESULT)
    assert caught.value.message.startswith(f"The Markdown template {template} does not render: ")
    assert reason in caught.value.message and caught.value.message.endswith(".")
