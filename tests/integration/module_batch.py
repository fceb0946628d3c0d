"""Several calls of one module in a single ansible-playbook run (module_runner.run_module, batched).

Each ansible-playbook start costs about a second before the first task runs; a scenario that
runs a module four times (check, real, check, real) pays it once here. Every call is its own
task with its own check/diff mode and ``ignore_errors``, so a failing call does not stop the
ones after it; results come back in order as module_runner.ModuleResult objects.

    check, real = run_module_batch("sre.runbooks.experiment_promote",
                                   [{"args": args, "check": True}, {"args": args}])
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.integration.module_runner import COLLECTIONS, ModuleResult, ensure_collection_link


def run_module_batch(module: str, calls: list[dict], env: dict | None = None, timeout: float = 600) -> list[ModuleResult]:
    """Run ``module`` once per entry of ``calls`` ({"args", "check"?, "diff"?}) and return the results in order."""
    ensure_collection_link()
    tasks = [{"name": f"{module} call {i}", module: call["args"], "check_mode": bool(call.get("check")),
              "diff": bool(call.get("diff")), "ignore_errors": True} for i, call in enumerate(calls)]
    play = [{"name": f"run {module}", "hosts": "localhost", "gather_facts": False,
             "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}, "tasks": tasks}]
    with tempfile.TemporaryDirectory(prefix="sre-module-batch-") as tmp:
        playbook = Path(tmp) / "playbook.json"
        fd = os.open(playbook, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(play, handle)
        run_env = dict(os.environ)
        run_env.update({
            "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
            "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
            "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCAL_TEMP": str(Path(tmp) / "local"),
            "ANSIBLE_REMOTE_TEMP": str(Path(tmp) / "remote"),
        })
        run_env.update(env or {})
        command = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", str(playbook)]
        proc = subprocess.run(command, cwd=tmp, env=run_env, capture_output=True, text=True, timeout=timeout, check=False)
    output = proc.stdout + proc.stderr
    try:
        document = json.loads(proc.stdout[proc.stdout.index("{"):])
    except ValueError:
        raise RuntimeError(f"ansible-playbook printed no JSON result (rc={proc.returncode}):\n{output}") from None
    results = []
    for play_result in document.get("plays", []):
        for task in play_result.get("tasks", []):
            if "localhost" in task.get("hosts", {}):
                results.append(ModuleResult(task["hosts"]["localhost"], proc.returncode, output))
    if len(results) != len(calls):
        raise RuntimeError(f"expected {len(calls)} results from {module}, got {len(results)} (rc={proc.returncode}):\n{output}")
    return results
