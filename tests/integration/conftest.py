"""Fixtures shared by integration tests in several folders (the session-wide services and the
Kubernetes cluster are in tests/conftest.py)."""

from __future__ import annotations

import contextlib

import pytest

from tests.harness import services


@pytest.fixture(scope="module")
def private_prometheus(tmp_path_factory):
    """start(openmetrics) -> a Prometheus of the test module's own on that history ({"url", "pid", ...}).

    Each is stopped when the module's tests are done.
    """
    with contextlib.ExitStack() as stack:
        def start(history: str) -> dict:
            run_dir = tmp_path_factory.mktemp("prometheus")
            try:
                return stack.enter_context(services.private_prometheus(run_dir, history))
            except services.ServiceError as exc:
                pytest.fail(f"a private Prometheus could not start: {exc}")

        yield start
