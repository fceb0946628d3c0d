"""Scaffolding the module unit tests share: drive a module's ``main()`` and get its result back.

Modelled on community.internal_test_tools' ``tests/unit/plugins/modules/utils.py``, for pytest and
ansible-core 2.19: ``AnsibleModule.exit_json``/``fail_json`` raise instead of printing and exiting,
so a test reads the result as a dict, and arguments go in through ``patch_module_args``.
"""

from __future__ import annotations

import contextlib
from unittest import mock

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class AnsibleExitJson(Exception):
    """Raised by the patched exit_json(); ``args[0]`` is the module's result."""


class AnsibleFailJson(Exception):
    """Raised by the patched fail_json(); ``args[0]`` is the result with ``msg`` and ``failed``."""


def exit_json(module, **result):
    raise AnsibleExitJson(result)


def fail_json(module, msg, **result):
    # The same keys Ansible reports for a failed task, so tests assert on result["failed"].
    raise AnsibleFailJson(dict(result, msg=msg, failed=True))


@contextlib.contextmanager
def module_exits():
    """While active, a module's exit_json()/fail_json() raise AnsibleExitJson/AnsibleFailJson."""
    with mock.patch.multiple(basic.AnsibleModule, exit_json=exit_json, fail_json=fail_json):
        yield


def run_module(module, args, check=False, diff=False, expect=None):
    """Run ``module.main()`` with ``args`` as its task arguments and return its result dict.

    ``check``/``diff`` are what ``--check``/``--diff`` would set; ``expect`` (AnsibleExitJson or
    AnsibleFailJson) asserts how the module ended, showing the result when it ended otherwise.
    """
    with patch_module_args(dict(args, _ansible_check_mode=check, _ansible_diff=diff)), module_exits():
        with pytest.raises((AnsibleExitJson, AnsibleFailJson)) as outcome:
            module.main()
    if expect is not None:
        assert isinstance(outcome.value, expect), outcome.value.args[0]
    return outcome.value.args[0]
