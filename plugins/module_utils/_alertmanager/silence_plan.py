# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Pure decisions of alertmanager_silence: which silence is "the same", and what to do with it.

A silence is identified by its matchers (as a set, in any order), its comment and its author,
like an operator would recognise it in Alertmanager's UI. Only active and pending silences
count: an expired one cannot be reused, Alertmanager keeps it for its retention only.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

LIVE_STATES = ("active", "pending")
_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", re.IGNORECASE)
# Alertmanager's label names follow Prometheus's rule (UTF-8 names only came with 0.27).
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class SilenceInputError(ValueError):
    """Input that cannot become a silence; the message is one sentence."""


def parse_time(text, option="ends_at"):
    """An RFC 3339 time ('2026-12-05T03:00:00Z', fractions and offsets allowed) as an aware datetime."""
    match = _RFC3339.match(str(text or "").strip())
    if not match:
        raise SilenceInputError(f"Invalid {option} {str(text)[:60]!r}: use RFC 3339 such as 2026-12-05T03:00:00Z.")
    base, fraction, zone = match.groups()
    zone = "+00:00" if zone.upper() == "Z" else zone
    micros = (fraction or ".0")[1:7].ljust(6, "0")
    try:
        return datetime.fromisoformat(f"{base}.{micros}{zone}").astimezone(timezone.utc)
    except ValueError:
        raise SilenceInputError(f"Invalid {option} {str(text)[:60]!r}: not a real date and time.") from None


def format_time(moment):
    """RFC 3339 in UTC with milliseconds, as Alertmanager writes its own times."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def normalize_matchers(matchers):
    """The module's matchers ({name, value, is_regex, is_equal}) in Alertmanager's form, sorted; checked."""
    if not matchers:
        raise SilenceInputError("A silence needs at least one matcher.")
    result = []
    for index, matcher in enumerate(matchers):
        name = str(matcher.get("name") or "")
        if not _LABEL_NAME.match(name):
            raise SilenceInputError(f"matchers[{index}].name {name[:60]!r} is not a label name (letters, digits and _).")
        value = "" if matcher.get("value") is None else str(matcher["value"])
        is_regex = bool(matcher.get("is_regex"))
        is_equal = matcher.get("is_equal") is not False
        if is_regex:
            try:
                re.compile(value)
            except re.error as exc:
                raise SilenceInputError(f"matchers[{index}].value {value[:60]!r} is not a valid regular expression "
                                        f"({exc}).") from None
        result.append({"name": name, "value": value, "isRegex": is_regex, "isEqual": is_equal})
    if all(not item["isEqual"] or _matches_empty(item) for item in result):
        # Alertmanager refuses it too, with a message that does not say which silence.
        raise SilenceInputError("The matchers would silence every alert: at least one must match a non-empty value.")
    return sorted(result, key=matcher_key)


def _matches_empty(matcher):
    if matcher["isRegex"]:
        return re.fullmatch(matcher["value"], "") is not None
    return matcher["value"] == ""


def matcher_key(matcher):
    """Sort and compare key of one matcher in Alertmanager's form (isEqual defaults to true there)."""
    return (str(matcher.get("name")), str(matcher.get("value")), bool(matcher.get("isRegex")),
            matcher.get("isEqual") is not False)


def same_matchers(left, right):
    if not all(isinstance(m, dict) for m in list(left or []) + list(right or [])):
        return False
    return sorted(map(matcher_key, left or [])) == sorted(map(matcher_key, right or []))


def is_live(silence):
    return ((silence.get("status") or {}).get("state") in LIVE_STATES)


def find_same(silences, matchers, comment, created_by):
    """The live silences with these matchers, comment and author (newest end first)."""
    found = [s for s in silences if isinstance(s, dict) and is_live(s) and same_matchers(s.get("matchers"), matchers)
             and (s.get("comment") or "") == (comment or "") and (s.get("createdBy") or "") == (created_by or "")]
    return sorted(found, key=lambda s: str(s.get("endsAt") or ""), reverse=True)


def window_end(now, duration_seconds=None, ends_at=None):
    """When the silence must end: ``ends_at`` or now + duration; refused when it is not in the future."""
    end = parse_time(ends_at) if ends_at else now + timedelta(seconds=duration_seconds)
    if end <= now:
        raise SilenceInputError(f"The silence would end at {format_time(end)}, which is not in the future.")
    return end


def plan_present(found, end, extend):
    """('create' | 'keep' | 'extend', the existing silence or None)."""
    if not found:
        return "create", None
    current = found[0]
    if extend and parse_time(current.get("endsAt"), "the silence's endsAt") < end:
        return "extend", current
    return "keep", current


def silence_body(matchers, starts_at, ends_at, comment, created_by, silence_id=None):
    """The JSON of POST /api/v2/silences (with ``id`` it updates that silence)."""
    body = {"matchers": matchers, "startsAt": format_time(starts_at), "endsAt": format_time(ends_at),
            "comment": comment, "createdBy": created_by}
    if silence_id:
        body["id"] = silence_id
    return body


def public(silence):
    """A silence as the module returns it (snake_case, only what an operator reads)."""
    if not silence:
        return None
    return {
        "id": silence.get("id"),
        "matchers": [{"name": m.get("name"), "value": m.get("value"), "is_regex": bool(m.get("isRegex")),
                      "is_equal": m.get("isEqual") is not False} for m in silence.get("matchers") or []],
        "starts_at": silence.get("startsAt"),
        "ends_at": silence.get("endsAt"),
        "comment": silence.get("comment"),
        "created_by": silence.get("createdBy"),
        "status": (silence.get("status") or {}).get("state"),
    }
