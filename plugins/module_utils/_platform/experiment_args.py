# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The experiment module's argument spec: the platform connection plus the experiment's definition and run."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._platform.client import PLATFORM_COMMON_ARGS, PLATFORM_RANGES

ROUTING_STRATEGIES = ["primary", "secondary", "fallback", "ab_split", "ensemble"]


# Bounds on numbers (RunbookModule ranges): NaN, infinity and runaway values are refused in one sentence.
RANGES = dict(PLATFORM_RANGES, **{
    "wait_timeout": (0, 86400),
    "poll_interval": (0.01, 3600),
    "iterations": (1, 10 ** 9),
})


def argument_spec():
    return merge_argspecs(
        PLATFORM_COMMON_ARGS,
        name={"type": "str", "required": True},
        state={"type": "str", "choices": ["present", "completed"], "default": "present"},
        description={"type": "str"},
        primary_model={"type": "str"},
        secondary_model={"type": "str"},
        prompt_template={"type": "str"},
        routing_strategy={"type": "str", "choices": ROUTING_STRATEGIES, "default": "primary"},
        tags={"type": "list", "elements": "str", "default": []},
        code_samples={"type": "list", "elements": "str"},
        language={"type": "str", "default": "python"},
        iterations={"type": "int"},
        rerun={"type": "bool", "default": False},
        wait={"type": "bool", "default": True},
        wait_timeout={"type": "float", "default": 600},
        poll_interval={"type": "float", "default": 2},
    )
