# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The notify role's filters: which channels are due, their messages, and one sentence for a channel
that could not be used.

The logic is module_utils/_notify/messages.py (unit-tested there); each filter is documented in the
.yml file of its name next to this one.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._notify import messages


def _filter_error(message):
    # Imported when needed, as in compliance.py: importing ansible.errors at load time changes
    # ansible.module_utils' warnings for the module unit tests that follow.
    from ansible.errors import AnsibleFilterError  # pylint: disable=import-outside-toplevel
    return AnsibleFilterError(message)


def notify_due(status, threshold):
    try:
        return messages.due(status, threshold)
    except messages.NotifyError as exc:
        raise _filter_error(str(exc)) from None


def notify_messages(run, routing_key="", severities=None):
    try:
        return messages.messages(dict(run), routing_key, dict(severities or {}))
    except messages.NotifyError as exc:
        raise _filter_error(str(exc)) from None


def notify_problems(results):
    return messages.delivery_problems([dict(result or {}) for result in results or []])


def notify_missing(settings, channel):
    return messages.missing_credentials(channel, dict(settings or {}))


class FilterModule:
    """The notification filters."""

    def filters(self):
        return {"notify_due": notify_due, "notify_messages": notify_messages, "notify_problems": notify_problems,
                "notify_missing": notify_missing}
