# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The experiment module's decisions, with no I/O: what differs, whether to start a run, the status to show."""

from __future__ import annotations

# The fields that define an experiment; the platform sets them at creation and never updates them.
DEFINITION = ("description", "primary_model", "secondary_model", "prompt_template", "routing_strategy", "tags")


def differences(experiment, params):
    """Definition fields given as options that differ from the experiment on the platform."""
    found = []
    for field in DEFINITION:
        wanted = params.get(field)
        # Options left at their default say nothing about the experiment, so they cannot differ.
        if wanted is None or (field == "tags" and not wanted):
            continue
        if field == "routing_strategy" and wanted == "primary" and experiment.get(field) in (None, "primary"):
            continue
        if experiment.get(field) != wanted:
            found.append(field)
    return found


def needs_run(state, status, rerun):
    """Whether ``state`` asks for a run that an experiment in platform ``status`` does not have yet."""
    if state != "completed":
        return False
    return status in ("created", "failed") or (rerun and status == "completed")


def status_after(experiment, run_planned, wait):
    """The status the diff shows once the task is done; a run planned in check mode shows as it would end."""
    if run_planned:
        return "completed" if wait else "running"
    return experiment.get("status") if experiment else "created"
