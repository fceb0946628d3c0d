"""When health_check_info runs in a fork of the controller's worker, and how long the action waits for it.

The fork itself runs in every playbook test on the local inventory; tests/integration/health compares it with
the usual module run. The plugins are imported through controller_import.
"""

from __future__ import annotations

import os
import sys

import pytest

from ..controller_code import controller_import


@pytest.fixture(scope="module")
def forked():
    with controller_import("ansible_collections.sre.runbooks.plugins.plugin_utils._forked_module") as module:
        yield module


@pytest.fixture(scope="module")
def action():
    with controller_import("ansible_collections.sre.runbooks.plugins.action.health_check_info") as module:
        yield module


def test_runs_here_only_on_the_controller_with_its_own_python(forked, tmp_path):
    python = sys.executable
    link = tmp_path / "python"
    link.symlink_to(os.path.realpath(python))
    assert forked.runs_here("local", False, 0, python, python, False)
    assert forked.runs_here("local", False, 0, str(link), python, False)  # the same interpreter by another path
    assert not forked.runs_here("ssh", False, 0, python, python, False)
    assert not forked.runs_here("local", True, 0, python, python, False)  # become: another user
    assert not forked.runs_here("local", False, 30, python, python, False)  # async
    assert not forked.runs_here("local", False, 0, "/usr/bin/false", python, False)
    assert not forked.runs_here("local", False, 0, None, python, False)  # interpreter discovery decides
    assert not forked.runs_here("local", False, 0, python, python, True)  # kept remote files: debugging the module


def test_the_entry_point_is_there_on_this_ansible_core(forked):
    loader, encoder = forked.fork_entry_point()
    assert callable(loader.run_module) and encoder is not None


@pytest.mark.parametrize(("timeout", "seconds"), [
    (None, 360.0), (60, 120.0), ("90", 150.0), (3600, 3660.0), (0, 360.0), ("nan", 360.0), ("soon", 360.0),
    (10 ** 9, 360.0), ([1], 360.0),
])
def test_the_wait_is_the_modules_own_timeout_and_a_grace_period(action, timeout, seconds):
    assert action.deadline(timeout) == seconds
