"""report_files' helpers: modes, names and atomic writes (the action itself runs in the playbook tests)."""

from __future__ import annotations

import os

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.sre.runbooks.plugins.action.report_files import (
    check_name, octal_mode, read_text, write_atomically)


@pytest.mark.parametrize(("text", "mode"), [("0640", 0o640), ("750", 0o750), ("0", 0)])
def test_octal_modes(text, mode):
    assert octal_mode(text, "mode") == mode


@pytest.mark.parametrize("text", ["rw-r-----", "9999", "-1", "77777"])
def test_bad_modes_are_one_sentence(text):
    with pytest.raises(AnsibleActionFail) as caught:
        octal_mode(text, "mode")
    assert caught.value.message == f"mode must be an octal file mode such as 0640, not {text!r}."


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "/etc/passwd", "a\0b", 7])
def test_names_with_a_directory_part_or_none_are_refused(name):
    with pytest.raises(AnsibleActionFail, match="is not a plain file name"):
        check_name(name)


def test_names_longer_than_the_file_system_takes_are_refused():
    assert check_name("x" * 255) == "x" * 255
    with pytest.raises(AnsibleActionFail, match="is longer than 255 bytes"):
        check_name("é" * 128)


def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "report.md"
    path.write_text("old")
    write_atomically(str(path), "new ✓\n", 0o640)
    assert read_text(str(path)) == "new ✓\n" and (path.stat().st_mode & 0o777) == 0o640
    assert os.listdir(tmp_path) == ["report.md"]
    assert read_text(str(tmp_path / "missing")) is None
    with pytest.raises(AnsibleActionFail, match=r"^Cannot read .*: Not a directory\.$"):
        read_text(str(path / "below"))
