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
    GRACE_SECONDS, fork_entry, run_forked)

MODULE = "sre.runbooks.health_check_info"
MODULE_FQN = "ansible_collections.sre.runbooks.plugins.modules.health_check_info"


def deadline(timeout):
    """How long to wait for the forked module: its own ``timeout`` (in its range; the module refuses others in
    one sentence, which comes back at once, and they wait for its default) and a grace period."""
    # The module's code, imported only here: the fork's child inherits it, the usual module run never needs it.
    from ansible_collections.sre.runbooks.plugins.module_utils._health.read_runner import (  # pylint: disable=import-outside-toplevel
        DEFAULT_TIMEOUT, RANGES)
    lowest, highest = RANGES["timeout"]
    try:
        seconds = float(timeout)
    except (TypeError, ValueError):
        seconds = DEFAULT_TIMEOUT
    if not lowest <= seconds <= highest:  # also NaN
        seconds = DEFAULT_TIMEOUT
    return seconds + GRACE_SECONDS


class ActionModule(ActionBase):
    """Runs health_check_info in a fork when it can, else as any module runs."""

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        entry = fork_entry(self, task_vars)
        if entry:
            result.update(run_forked(self, entry, MODULE, MODULE_FQN, task_vars, deadline(self._task.args.get("timeout"))))
        else:
            result.update(self._execute_module(module_name=MODULE, task_vars=task_vars))
        return result
