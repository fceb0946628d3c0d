# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""health_check's verdict on the anomaly-detection model and data thresholds (H16), from one slo_check result.

The ENT runbook watches the model's accuracy, inference time and false-positive rate, the data's
quality score and processing lag, each with a warning threshold; the role checks them as slo_check
threshold objectives against Prometheus. A breached threshold is what the runbook calls it (a
warning by default); one without data is unavailable.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._health.entries import (
    CRITICAL, OK, UNAVAILABLE, WARNING, entry)
from ansible_collections.sre.runbooks.plugins.module_utils._health.slo import named

ROW_KEYS = ("name", "actual", "target", "bound", "unit", "message")


def worst_known(statuses):
    """critical, warning or ok over the statuses that are not unavailable; unavailable when all are."""
    statuses = [status for status in statuses if status != UNAVAILABLE]
    if not statuses:
        return UNAVAILABLE
    return CRITICAL if CRITICAL in statuses else (WARNING if WARNING in statuses else OK)


def threshold_row(objective, breach_status):
    """One threshold's row: slo_check's verdict in the report's words."""
    status = {"ok": OK, "breached": breach_status}.get(objective.get("status"), UNAVAILABLE)
    row = {key: objective.get(key) for key in ROW_KEYS}
    row.update(status=status, error=objective.get("error"))
    return row


def thresholds_verdict(slo, names, breach_status, prometheus_url):
    """H16: the worst threshold row (a breach counts as ``breach_status``); unavailable without Prometheus,
    without thresholds, or when none had data."""
    rows = [threshold_row(objective, breach_status) for objective in named(slo, names)]
    status = worst_known(row["status"] for row in rows)
    if not prometheus_url:
        summary = "no Prometheus configured (health_check_prometheus_url)"
    elif not names:
        summary = "no model or data thresholds configured (health_check_model_thresholds)"
    elif not rows or all(row["error"] for row in rows):
        summary = f"cannot evaluate the thresholds: {rows[0]['error'] if rows else slo.get('msg', 'no answer')}"
    else:
        within = sum(1 for row in rows if row["status"] == OK)
        missing = [row for row in rows if row["status"] == UNAVAILABLE]
        summary = f"{within} of {len(rows)} thresholds within their limits"
        if missing:
            summary += f", {len(missing)} without data ({', '.join(row['name'] for row in missing)})"
        breached = [row["message"] for row in rows if row["status"] not in (OK, UNAVAILABLE)]
        if breached:
            summary += "; " + " ".join(breached)
    return entry("H16", "model", "Model and data thresholds", status, summary, {"thresholds": rows})
