# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_rollout's runner: the action table over the action mixins, and the module's run from options to exit."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import rollout_plan as ro
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import KubeError, connect
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_args import OptionError, check_options
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_base import RolloutBase, TaskFailed
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_image_restart import ImageRestartActions
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_pause_resume import PauseResumeActions
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_rollback import AutoRollback
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_scale_hpa import ScaleHpaActions
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_undo_history import UndoHistoryActions


class Rollout(ImageRestartActions, UndoHistoryActions, ScaleHpaActions, PauseResumeActions, AutoRollback,
              RolloutBase):
    """Every k8s_rollout action; ``actions`` maps each value of the action option to its handler."""

    def __init__(self, module, api):
        super().__init__(module, api)
        self.actions = {
            "status": self.do_status,
            "set_image": self.do_set_image,
            "restart": self.do_restart,
            "undo": self.do_undo,
            "history": self.do_history,
            "scale": self.do_scale,
            "pause": self.do_pause,
            "resume": self.do_resume,
            "hpa": self.do_hpa,
        }

    def do_status(self, obj, revs):
        if not self.params["wait"]:
            self._set_status(obj)
            self._snapshot_pods(obj)
            return
        self._wait_and_judge(template_changed=False)


def run_module(module):
    """Check the options, run the action on every object, and exit (failing with one sentence and the results so far)."""
    try:
        check_options(module.params)
    except OptionError as exc:
        module.fail_json(msg=str(exc))
    rollout = Rollout(module, connect(module))
    failure = None
    try:
        result = rollout.run()
    except (TaskFailed, KubeError, ro.RolloutError) as exc:  # expected failures: one sentence, results so far
        failure = str(exc)
        result = rollout.result()
    for warning in rollout.warnings:
        module.warn(warning)
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)
