from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._common.intervals import (
    IntervalError,
    format_seconds,
    parse_interval,
)


@pytest.mark.parametrize("text, seconds", [
    ("90s", 90),
    ("30m", 1800),
    ("1h", 3600),
    ("7d", 604800),
    ("2w", 1209600),
    ("250ms", 0.25),
    ("1.5h", 5400),
    ("1h30m", 5400),
    ("1 hour", 3600),
    ("2 days", 172800),
    ("5 mins", 300),
    ("1 hour 30 minutes", 5400),
    ("  10 Seconds ", 10),
    ("00:05:00", 300),
    ("01:30", 5400),
    ("0", 0),
])
def test_parse_interval_accepts_ops_and_postgres_spellings(text, seconds):
    assert parse_interval(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5000", "5", "1x", "h", "1 fortnight", "-5s", "1h,30m", "5s garbage", None])
def test_parse_interval_refuses_text_without_a_known_unit(text):
    with pytest.raises(IntervalError) as caught:
        parse_interval(text, "lock_timeout")
    message = str(caught.value)
    assert message.startswith("Invalid lock_timeout ") and message.endswith(".")
    assert "\n" not in message


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (59.9, "59s"), (60, "1m"), (7200, "2h"), (86400 * 9 + 5, "9d"), (-3, "0s")])
def test_format_seconds_rounds_down_to_largest_unit(seconds, text):
    assert format_seconds(seconds) == text


@pytest.mark.parametrize("text", ["9" * 400 + "d", "99999999h", "1e400s", "9" * 70])
def test_parse_interval_refuses_what_would_overflow(text):
    with pytest.raises(IntervalError, match=r"^Invalid window"):
        parse_interval(text, "window")
