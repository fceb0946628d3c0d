# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The alert_response role's filters: which responses an alert needs, and what the bundle says of each.

The logic is module_utils/_incident/alerts.py (unit-tested there); each filter is documented in the
.yml file of its name next to this one.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._incident import alerts


def _filter_error(message):
    from ansible.errors import AnsibleFilterError  # pylint: disable=import-outside-toplevel
    return AnsibleFilterError(message)


def alert_plan(alert, payload=None, namespace=None, workload=None, group=None):
    try:
        return alerts.plan(alert=alert or None, payload=payload or None, namespace=namespace or None,
                           workload=workload or None, group=group or None)
    except alerts.AlertError as exc:
        raise _filter_error(str(exc)) from None


def alert_judge(response, findings, revision=None, volumes=None, dependencies=None, lag=None, replicas=None,
                max_replicas=None, lag_threshold=1000):
    try:
        if response["mitigation"] == "scale_consumers":
            return alerts.judge_lag(response, lag or {}, None if replicas in (None, "") else int(replicas),
                                    int(max_replicas) if max_replicas else None, int(lag_threshold))
        return alerts.judge(response, findings or [], int(revision) if revision else None, volumes or [],
                            dependencies or [])
    except (KeyError, TypeError, ValueError):
        raise _filter_error("alert_judge needs a response of alert_plan and the findings of k8s_diagnostics.") from None


class FilterModule:
    """The alert response filters."""

    def filters(self):
        return {"alert_plan": alert_plan, "alert_judge": alert_judge}
