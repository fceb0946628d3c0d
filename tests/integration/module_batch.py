"""Several calls of one module in a single ansible-playbook run (module_runner.run_module, batched).

Each ansible-playbook start costs about a second before the first task runs; a scenario that
runs a module four times (check, real, check, real) pays it once here. Every call is its own
task with its own check/diff mode and ``ignore_errors``, so a failing call does not stop the
ones after it; results come back in order as module_runner.ModuleResult objects.

    check, real = run_module_batch("sre.runbooks.experiment_promote",
                                   [{"args": args, "check": True}, {"args": args}])
"""

from __future__ import annotations

from tests.integration.module_runner import ModuleResult, run_module_tasks


def run_module_batch(module: str, calls: list[dict], env: dict | None = None, timeout: float = 600) -> list[ModuleResult]:
    """Run ``module`` once per entry of ``calls`` ({"args", "check"?, "diff"?}) and return the results in order."""
    tasks = [{"name": f"{module} call {i}", module: call["args"], "check_mode": bool(call.get("check")),
              "diff": bool(call.get("diff")), "ignore_errors": True} for i, call in enumerate(calls)]
    results, proc = run_module_tasks(module, tasks, env=env, timeout=timeout)
    if len(results) != len(calls):
        raise RuntimeError(f"expected {len(calls)} results from {module}, got {len(results)} "
                           f"(rc={proc.returncode}):\n{proc.stdout + proc.stderr}")
    return results
