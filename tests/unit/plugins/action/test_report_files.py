"""report_files' helpers: modes, names and atomic writes (the action itself runs in the playbook tests).

The action is imported through controller_import (tests/unit/plugins/controller_code.py).
"""

from __future__ import annotations

import importlib
import os

import pytest

from ..controller_code import controller_import


@pytest.fixture(scope="module")
def action():
    with controller_import("ansible_collections.sre.runbooks.plugins.action.report_files") as module:
        yield module


@pytest.fixture(scope="module")
def fail(action):
    return importlib.import_module("ansible.errors").AnsibleActionFail


@pytest.mark.parametrize(("text", "mode"), [("0640", 0o640), ("750", 0o750), ("0", 0)])
def test_octal_modes(action, text, mode):
    assert action.octal_mode(text, "mode") == mode


@pytest.mark.parametrize("text", ["rw-r-----", "9999", "-1", "77777"])
def test_bad_modes_are_one_sentence(action, fail, text):
    with pytest.raises(fail) as caught:
        action.octal_mode(text, "mode")
    assert caught.value.message == f"mode must be an octal file mode such as 0640, not {text!r}."


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "/etc/passwd", "a\0b", 7])
def test_names_with_a_directory_part_or_none_are_refused(action, fail, name):
    with pytest.raises(fail, match="is not a plain file name"):
        action.check_name(name)


def test_names_longer_than_the_file_system_takes_are_refused(action, fail):
    assert action.check_name("x" * 255) == "x" * 255
    with pytest.raises(fail, match="is longer than 255 bytes"):
        action.check_name("é" * 128)


def test_atomic_write_replaces_the_file_and_leaves_no_temporary(action, fail, tmp_path):
    path = tmp_path / "report.md"
    path.write_text("old")
    action.write_atomically(str(path), "new ✓\n", 0o640)
    assert action.read_text(str(path)) == "new ✓\n" and (path.stat().st_mode & 0o777) == 0o640
    assert os.listdir(tmp_path) == ["report.md"]
    assert action.read_text(str(tmp_path / "missing")) is None
    with pytest.raises(fail, match=r"^Cannot read .*: Not a directory\.$"):
        action.read_text(str(path / "below"))
