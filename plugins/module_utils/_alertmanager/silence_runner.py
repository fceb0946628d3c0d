# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The alertmanager_silence module's I/O: read the silences, then create, extend or expire one.

Decisions are silence_plan's.
"""

from __future__ import annotations

from datetime import datetime, timezone

from ansible_collections.sre.runbooks.plugins.module_utils._alertmanager import silence_plan as plan
from ansible_collections.sre.runbooks.plugins.module_utils._alertmanager.client import (
    ALERTMANAGER_COMMON_ARGS,
    ALERTMANAGER_MUTUALLY_EXCLUSIVE,
    ALERTMANAGER_RANGES,
    ALERTMANAGER_REQUIRED_TOGETHER,
    AlertmanagerClient,
    AlertmanagerError,
)
from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._common.intervals import IntervalError, parse_interval

OPTIONS = {
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "id": {"type": "str"},
    "matchers": {"type": "list", "elements": "dict", "options": {
        "name": {"type": "str", "required": True},
        "value": {"type": "str", "required": True},
        "is_regex": {"type": "bool", "default": False},
        "is_equal": {"type": "bool", "default": True},
    }},
    "duration": {"type": "str"},
    "ends_at": {"type": "str"},
    "comment": {"type": "str"},
    "created_by": {"type": "str", "default": "sre.runbooks"},
    "extend": {"type": "bool", "default": False},
}


def module_args():
    """Keyword arguments of RunbookModule for alertmanager_silence."""
    return {"argument_spec": merge_argspecs(ALERTMANAGER_COMMON_ARGS, **OPTIONS), "supports_check_mode": True,
            "ranges": ALERTMANAGER_RANGES,
            "mutually_exclusive": ALERTMANAGER_MUTUALLY_EXCLUSIVE + [("duration", "ends_at")],
            "required_together": ALERTMANAGER_REQUIRED_TOGETHER,
            "required_if": [("state", "present", ("matchers", "comment")),
                            ("state", "present", ("duration", "ends_at"), True),
                            ("state", "absent", ("id", "matchers"), True)]}


def _wanted(params, now):
    """Matchers (Alertmanager's form) and end of the wanted silence; SilenceInputError / IntervalError."""
    matchers = plan.normalize_matchers(params["matchers"]) if params["matchers"] else None
    if params["state"] == "absent":
        if matchers is not None and params["comment"] is None:
            raise plan.SilenceInputError("state=absent with matchers also needs the comment that names the silence.")
        return matchers, None
    if not params["comment"].strip():
        raise plan.SilenceInputError("The comment must not be empty: it says why the alerts are silenced.")
    seconds = parse_interval(params["duration"], "duration") if params["duration"] else None
    if seconds is not None and seconds < 60:
        raise plan.SilenceInputError(f"The duration {params['duration']!r} is shorter than a minute.")
    return matchers, plan.window_end(now, seconds, params["ends_at"])


def _present(client, params, matchers, end, check_mode, now):
    found = plan.find_same(client.list_silences(), matchers, params["comment"], params["created_by"])
    action, current = plan.plan_present(found, end, params["extend"])
    if action == "keep":
        return action, current, current
    body = plan.silence_body(matchers, now, end, params["comment"], params["created_by"],
                             silence_id=current and current.get("id"))
    if current is not None:
        # The same start: Alertmanager then updates the active silence in place, keeping its ID.
        body["startsAt"] = current.get("startsAt") or body["startsAt"]
    wanted = dict(body, status={"state": "active"}, id=current and current.get("id"))
    if check_mode:
        return action, current, wanted
    silence_id = client.post_silence(body)
    return action, current, client.get_silence(silence_id) or dict(wanted, id=silence_id)


def _absent(client, params, matchers, check_mode):
    if params["id"]:
        silence = client.get_silence(params["id"])
        targets = [silence] if silence and plan.is_live(silence) else []
    else:
        targets = plan.find_same(client.list_silences(), matchers, params["comment"], params["created_by"])
    if not check_mode:
        for silence in targets:
            client.expire_silence(silence["id"])
    return targets


def run_module(module):
    params = module.params
    now = datetime.now(timezone.utc)
    try:
        matchers, end = _wanted(params, now)
    except (plan.SilenceInputError, IntervalError) as exc:
        module.fail_json(msg=str(exc))
    client = AlertmanagerClient(params)
    try:
        if params["state"] == "present":
            action, before, after = _present(client, params, matchers, end, module.check_mode, now)
            changed = action != "keep"
            result = {"outcome": action, "silence": plan.public(after), "expired": []}
        else:
            targets = _absent(client, params, matchers, module.check_mode)
            changed = bool(targets)
            before, after = (targets[0] if targets else None), None
            gone = dict(before, status={"state": "expired"}) if before and not module.check_mode else before
            result = {"outcome": "expire" if targets else "none", "silence": plan.public(gone),
                      "expired": [silence["id"] for silence in targets]}
    except (AlertmanagerError, plan.SilenceInputError) as exc:
        module.fail_json(msg=str(exc))
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = {"before": plan.public(before) or {}, "after": plan.public(after) or {}}
    module.exit_json(changed=changed, **result)
