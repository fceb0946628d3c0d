# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The security_checks role's report filters: waivers applied to the checks, and the checks as JUnit XML.

The logic is module_utils/_compliance/report.py (unit-tested there); each filter is documented in the
.yml file of its name next to this one.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._compliance import activity, report


def _filter_error(message):
    # Imported when needed: importing ansible.errors switches ansible.module_utils' warnings to the
    # controller's display for the whole process, which the module unit tests that follow would see.
    from ansible.errors import AnsibleFilterError  # pylint: disable=import-outside-toplevel
    return AnsibleFilterError(message)


def compliance_waive(checks, waivers, today):
    try:
        return report.apply_waivers(checks, waivers, today)
    except report.ReportError as exc:
        raise _filter_error(str(exc)) from None


def compliance_summary(checks):
    try:
        return report.summarise(checks)
    except (KeyError, TypeError):
        raise _filter_error("Every check must be a mapping with control, object, status and message.") from None


def compliance_junit(checks, name="compliance", timestamp=None):
    try:
        return report.junit_xml(checks, name, timestamp)
    except report.ReportError as exc:
        raise _filter_error(str(exc)) from None


def compliance_activity(health, max_lines=0, window="24h"):
    try:
        return activity.checks(health, int(max_lines), str(window))
    except (AttributeError, TypeError, ValueError):
        raise _filter_error("compliance_activity needs the result of k8s_health_info read with logs and events.") from None


class FilterModule:
    """The compliance report filters."""

    def filters(self):
        return {"compliance_waive": compliance_waive, "compliance_summary": compliance_summary,
                "compliance_junit": compliance_junit, "compliance_activity": compliance_activity}
