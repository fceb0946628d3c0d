# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_rollout's pause and resume of a Deployment's rollout."""

from __future__ import annotations

import copy

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import rollout_plan as ro


class PauseResumeActions:
    """Mixin for RolloutBase: pause, and resume followed by a judged wait."""

    def _set_paused(self, obj, paused):
        current = bool((obj.get("spec") or {}).get("paused"))
        if current == paused:
            self._set_status(obj)
            return False
        self._entry["changed"] = True
        preview = copy.deepcopy(obj)
        preview["spec"]["paused"] = paused
        self._record_diff(ro.summary(self.kind, obj), ro.summary(self.kind, preview))
        if self.check_mode:
            self._set_status(preview)
            return True
        self._set_status(self._patch({"spec": {"paused": paused}}, "merge"))
        return True

    def do_pause(self, obj, revs):
        self._set_paused(obj, True)

    def do_resume(self, obj, revs):
        self._set_paused(obj, False)
        if self.params["wait"] and not self.check_mode:
            self._wait_and_judge(template_changed=False)
