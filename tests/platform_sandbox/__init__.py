"""The reference platform sandbox: the EXP runbook's V2 / V1 / V3 APIs as one local process.

It implements docs/platform-api.md (and docs/platform-api.openapi.yaml) for tests, molecule
and the demo: SQLite persistence, server-side promotion rules with ``force``, quarantine
records and statistics, an audit log, SLO data for ``/api/v1/health/slo`` and a Prometheus
``/metrics`` endpoint on every port. Test controls under ``/_sandbox/`` make experiment
outcomes, injected faults and SLO traffic deterministic (see README.md beside this file).

It is a test fixture of the customer's service, not part of the built collection.

    from tests.platform_sandbox import start_sandbox, stop_sandbox
    sandbox = start_sandbox(tmp_path)          # free 127.0.0.1 ports, waits for /health/ready
    sandbox.set_outcome("my experiment", accuracy=0.97, run_polls=1)
    ...
    stop_sandbox(sandbox)
"""

from __future__ import annotations

from tests.platform_sandbox.control import Sandbox, SandboxError, start_sandbox, stop_sandbox

__all__ = ["Sandbox", "SandboxError", "start_sandbox", "stop_sandbox"]
