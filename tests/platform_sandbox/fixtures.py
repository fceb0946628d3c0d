"""pytest fixtures for the platform sandbox, imported by the conftest files that need them.

    # tests/integration/<area>/conftest.py
    from tests.platform_sandbox.fixtures import platform_sandbox  # noqa: F401  (re-exported fixture)

``platform_sandbox`` is a fresh sandbox per test (about 0.1 s to start): its own SQLite file
in the test's tmp_path, free loopback ports, stopped at the end even when the test fails.
"""

from __future__ import annotations

import pytest

from tests.platform_sandbox.control import SandboxError, start_sandbox, stop_sandbox


@pytest.fixture
def platform_sandbox(tmp_path):
    """A running :class:`tests.platform_sandbox.control.Sandbox` (URLs, module_args(), test controls)."""
    try:
        sandbox = start_sandbox(tmp_path / "sandbox", run_seconds=30.0)
    except SandboxError as exc:
        pytest.fail(f"platform sandbox could not start: {exc}")
    try:
        yield sandbox
    finally:
        stop_sandbox(sandbox)
