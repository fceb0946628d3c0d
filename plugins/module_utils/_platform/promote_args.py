# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""experiment_promote's options: the argument spec, and the combinations it cannot express."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._platform.client import PLATFORM_COMMON_ARGS, PLATFORM_RANGES
from ansible_collections.sre.runbooks.plugins.module_utils._platform.gates import (
    DEFAULT_MIN_SAMPLES,
    DEFAULT_REASON,
    ON_FAIL,
    ON_INCONCLUSIVE,
)

GATE_OPTIONS = {
    "metric": {"type": "str", "required": True},
    "min": {"type": "float"},
    "max": {"type": "float"},
    "name": {"type": "str"},
}


class OptionError(ValueError):
    """Options that cannot go together; the message is one sentence."""


RANGES = PLATFORM_RANGES  # gate bounds are checked by gates.normalize_gates, min_samples by check_option_combinations


def argument_spec():
    return merge_argspecs(
        PLATFORM_COMMON_ARGS,
        experiment_id={"type": "str"},
        experiment_name={"type": "str"},
        state={"type": "str", "choices": ["promoted", "quarantined"], "default": "promoted"},
        gates={"type": "list", "elements": "dict", "options": GATE_OPTIONS},
        min_samples={"type": "int", "default": DEFAULT_MIN_SAMPLES},
        on_fail={"type": "str", "choices": list(ON_FAIL), "default": "quarantine"},
        on_inconclusive={"type": "str", "choices": list(ON_INCONCLUSIVE), "default": "fail"},
        force={"type": "bool", "default": False},
        reason={"type": "str", "default": DEFAULT_REASON},
        impact_analysis={"type": "dict", "default": {}},
    )


def check_option_combinations(params):
    """Raise OptionError for values the argument spec lets through but no run can honour."""
    if params["min_samples"] < 0:
        raise OptionError("min_samples cannot be negative.")
    if params["state"] == "quarantined" and params["force"]:
        raise OptionError("force applies to promotions; it cannot be combined with state=quarantined.")
