# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""health_check_info: the module, run in a fork of the controller's worker when the host is the controller.

See plugins/plugin_utils/_forked_module.py for why and when; anywhere else the module runs as usual.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.sre.runbooks.plugins.plugin_utils._forked_module import (
    GRACE_SECONDS, run_forked, should_fork)

MODULE = "sre.runbooks.health_check_info"
MODULE_FQN = "ansible_collections.sre.runbooks.plugins.modules.health_check_info"
# The module's own default for its ``timeout`` option (module_utils/_health/read_runner.py).
DEFAULT_TIMEOUT = 300.0


def deadline(timeout):
    """How long to wait for the forked module: its own ``timeout`` (1 to 3600 s; the module refuses others in
    one sentence, which comes back at once) and a grace period."""
    try:
        seconds = float(timeout)
    except (TypeError, ValueError):
        seconds = DEFAULT_TIMEOUT
    if not 1 <= seconds <= 3600:  # also NaN
        seconds = DEFAULT_TIMEOUT
    return seconds + GRACE_SECONDS


class ActionModule(ActionBase):
    """Runs health_check_info in a fork when it can, else as any module runs."""

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        if should_fork(self, task_vars):
            result.update(run_forked(self, MODULE, MODULE_FQN, task_vars, deadline(self._task.args.get("timeout"))))
        else:
            result.update(self._execute_module(module_name=MODULE, task_vars=task_vars))
        return result
