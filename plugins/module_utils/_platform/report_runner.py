# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The platform_report_info module once its options are parsed: read the three reports, judge the thresholds."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._platform.client import PlatformClient, PlatformError
from ansible_collections.sre.runbooks.plugins.module_utils._platform.report_checks import (
    ReportShapeError,
    check_model_performance,
    check_quarantine_statistics,
    check_slo_compliance,
    evaluate,
    summarize,
)

AGENT = "sre.runbooks/platform_report_info"

# Report name -> (API, path, shape check).
REPORTS = {
    "slo_compliance": ("v2", "/api/v1/metrics/slo-compliance", check_slo_compliance),
    "quarantine_statistics": ("v3", "/api/v1/quarantine/statistics", check_quarantine_statistics),
    "model_performance": ("v2", "/api/v1/metrics/models", check_model_performance),
}


def read_report(client, name, query=None):
    """One report, checked for the fields the findings read; PlatformError (one sentence) otherwise."""
    api, path, check = REPORTS[name]
    data = client.request(api, "GET", path, query=query)[1]
    try:
        return check(data)
    except ReportShapeError as exc:
        where = client.where(api)
        raise PlatformError(f"{where[:1].upper()}{where[1:]} answered GET {path} with a report whose {exc}.") from None


def collect(client, params):
    """The task's result: the three reports, their summary, findings and what had no data."""
    slo = read_report(client, "slo_compliance", {"window": params["slo_window"]})
    quarantine = read_report(client, "quarantine_statistics")
    models = read_report(client, "model_performance")
    findings, no_data = evaluate(slo, quarantine, models, params["thresholds"])
    return {"changed": False, "slo_compliance": slo, "quarantine_statistics": quarantine, "model_performance": models,
            "summary": summarize(slo, quarantine, models), "findings": findings, "breached": bool(findings),
            "no_data": no_data}


def run_module(module):
    """Read the reports named in ``module.params`` and end the task through ``module``."""
    client = PlatformClient(module.params, agent=AGENT)
    try:
        result = collect(client, module.params)
    except PlatformError as exc:
        module.fail_json(msg=str(exc), requests=client.requests)
    module.exit_json(requests=client.requests, **result)
