# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Human time intervals ('90s', '30m', '1h', '7d', '1 hour 30 minutes', '00:05:00') as seconds."""

from __future__ import annotations

import re

# Every spelling maps to seconds. Short forms follow common ops usage ('30m' is minutes);
# long forms follow PostgreSQL's interval input ('1 hour', '2 days', '5 mins').
_UNIT_SPELLINGS = (
    (("ms", "msec", "msecs", "millisecond", "milliseconds"), 0.001),
    (("s", "sec", "secs", "second", "seconds"), 1),
    (("m", "min", "mins", "minute", "minutes"), 60),
    (("h", "hr", "hrs", "hour", "hours"), 3600),
    (("d", "day", "days"), 86400),
    (("w", "week", "weeks"), 604800),
)
_UNIT_SECONDS = {name: seconds for names, seconds in _UNIT_SPELLINGS for name in names}

_TERM = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*")
_CLOCK = re.compile(r"^(\d+):([0-5]\d)(?::([0-5]\d(?:\.\d+)?))?$")
EXAMPLES_HINT = "for example 90s, 30m, 1h, 7d, '1 hour' or 00:05:00"
# Longer than any timeout, window or retention an operator means; past it float arithmetic
# (and datetime, and PostgreSQL's interval) overflow, and '999...9d' would become infinity.
MAX_SECONDS = 3650 * 86400


class IntervalError(ValueError):
    """The text is not an interval we understand; the message is one sentence."""


def parse_interval(text, option="interval"):
    """Return the interval ``text`` as seconds (float); raise IntervalError naming ``option``.

    A bare ``0`` is accepted (it means "no timeout" for the PostgreSQL timeouts); any other
    bare number is refused because its unit would be a guess (PostgreSQL reads ms, people read s).
    """
    raw = "" if text is None else str(text)
    if len(raw) > 64:
        raise IntervalError(f"Invalid {option}: {len(raw)} characters is not an interval, {EXAMPLES_HINT}.")
    value = raw.strip().lower()
    if value in ("0", "0.0"):
        return 0.0
    clock = _CLOCK.match(value)
    if clock:
        hours, minutes, seconds = clock.group(1), clock.group(2), clock.group(3) or "0"
        return _bounded(int(hours) * 3600 + int(minutes) * 60 + float(seconds), option, raw)
    total = 0.0
    position = 0
    while position < len(value):
        term = _TERM.match(value, position)
        if not term or term.group(2) not in _UNIT_SECONDS:
            raise IntervalError(f"Invalid {option} {raw!r}: use a number with a unit, {EXAMPLES_HINT}.")
        total += float(term.group(1)) * _UNIT_SECONDS[term.group(2)]
        position = term.end()
    if position == 0:
        raise IntervalError(f"Invalid {option} {raw!r}: use a number with a unit, {EXAMPLES_HINT}.")
    return _bounded(total, option, raw)


def _bounded(seconds, option, raw):
    if not seconds <= MAX_SECONDS:  # also true for NaN and infinity
        raise IntervalError(f"Invalid {option} {raw!r}: longer than {MAX_SECONDS // 86400} days.")
    return seconds


def format_seconds(seconds):
    """Short human form used in reasons: 45s, 12m, 3h, 9d (rounded down to the largest unit)."""
    seconds = max(0.0, float(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"
