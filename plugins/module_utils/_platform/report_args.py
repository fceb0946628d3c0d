# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The platform_report_info module's argument spec: the platform connection, the SLO window and the thresholds."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._platform.client import PLATFORM_COMMON_ARGS, PLATFORM_RANGES

# Each threshold: (option, report it reads, what is compared, "min" or "max").
THRESHOLDS = {
    "min_availability_percent": ("slo_compliance", "availability_percent", "min"),
    "min_daily_availability_percent": ("slo_compliance", "daily availability_percent", "min"),
    "min_error_budget_remaining": ("slo_compliance", "error_budget_remaining", "min"),
    "max_quarantine_rate_percent": ("quarantine_statistics", "quarantine_rate_percent", "max"),
    "max_quarantined_last_24h": ("quarantine_statistics", "last_24h", "max"),
    "max_quarantined_last_7d": ("quarantine_statistics", "last_7d", "max"),
    "min_accuracy": ("model_performance", "avg_accuracy", "min"),
    "max_error_rate": ("model_performance", "avg_error_rate", "max"),
    "max_latency_p95_ms": ("model_performance", "avg_latency_p95_ms", "max"),
}

RANGES = dict(PLATFORM_RANGES, **{
    "thresholds.min_availability_percent": (0, 100),
    "thresholds.min_daily_availability_percent": (0, 100),
    "thresholds.min_error_budget_remaining": (-10 ** 6, 1),
    "thresholds.max_quarantine_rate_percent": (0, 100),
    "thresholds.max_quarantined_last_24h": (0, 10 ** 9),
    "thresholds.max_quarantined_last_7d": (0, 10 ** 9),
    "thresholds.min_accuracy": (0, 1),
    "thresholds.max_error_rate": (0, 1),
    "thresholds.max_latency_p95_ms": (0, 10 ** 9),
})


def argument_spec():
    threshold_options = {name: {"type": "int" if "quarantined" in name else "float"} for name in THRESHOLDS}
    threshold_options["breached_objectives"] = {"type": "bool", "default": False}
    return merge_argspecs(
        PLATFORM_COMMON_ARGS,
        slo_window={"type": "str", "default": "30d"},
        thresholds={"type": "dict", "default": {}, "options": threshold_options},
    )
