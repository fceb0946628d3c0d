"""Waiting on a condition with a deadline: the one polling helper of the integration tests."""

from __future__ import annotations

import time

import pytest


def wait_until(predicate, what: str, timeout: float = 60.0, interval: float = 0.1):
    """Poll ``predicate`` until it returns a truthy value and return it; fail the test with the
    last value seen once ``timeout`` seconds have passed. The interval only paces the polling."""
    deadline = time.monotonic() + timeout
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; last value: {last!r}")
        time.sleep(interval)
