"""Run one sre.runbooks module through ansible-playbook, the way users run it, and return its result.

Integration tests of every module share this: the module runs in its own process, with the
collection found through ``.collections`` and the venv's Python (which has the module's
libraries) as the interpreter. Arguments go into a temporary playbook file (mode 0600),
never onto a command line, so passwords stay out of the process list (ansible_run.run_playbook).

    result = run_module("sre.runbooks.pg_vacuum", {"operation": "report", **pg_args}, check=True)
    assert not result.failed and result["changed"] is False
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.integration.ansible_run import COLLECTIONS, ensure_collection_link, run_playbook

__all__ = ["COLLECTIONS", "ModuleResult", "ensure_collection_link", "run_module", "run_module_tasks"]

# Results as data: the ansible.posix.json callback prints one JSON document for the whole run.
JSON_OUTPUT = {
    "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
    "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
    "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
    "ANSIBLE_LOCALHOST_WARNING": "0",
    "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
}


class ModuleResult(dict):
    """The module's result dict, plus what the run printed, for assertion messages."""

    def __init__(self, result: dict, returncode: int, output: str):
        super().__init__(result)
        self.returncode = returncode
        self.output = output

    @property
    def failed(self) -> bool:
        return bool(self.get("failed"))

    @property
    def changed(self) -> bool:
        return bool(self.get("changed"))


def run_module_tasks(module: str, tasks: list[dict], check: bool = False, diff: bool = False, env: dict | None = None,
                     timeout: float = 600) -> tuple[list[ModuleResult], subprocess.CompletedProcess]:
    """Run ``tasks`` in one play on localhost; return each task's result in order, and the finished process.

    A run whose output cannot be parsed raises RuntimeError with everything ansible printed.
    """
    play = [{"name": f"run {module}", "hosts": "localhost", "gather_facts": False,
             "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}, "tasks": tasks}]
    # Run outside the checkout, so its ansible.cfg (yaml results) does not apply, with ansible's
    # temporary files in a directory of this run's own.
    with tempfile.TemporaryDirectory(prefix="sre-module-run-") as tmp:
        run_env = {**JSON_OUTPUT, "ANSIBLE_LOCAL_TEMP": str(Path(tmp) / "local"),
                   "ANSIBLE_REMOTE_TEMP": str(Path(tmp) / "remote"), **(env or {})}
        proc = run_playbook(play, inventory="localhost,", check=check, diff=diff, env=run_env, cwd=tmp,
                            timeout=timeout)
    output = proc.stdout + proc.stderr
    try:
        document = json.loads(proc.stdout[proc.stdout.index("{"):])
    except ValueError:
        raise RuntimeError(f"ansible-playbook printed no JSON result (rc={proc.returncode}):\n{output}") from None
    results = [ModuleResult(task["hosts"]["localhost"], proc.returncode, output)
               for play_result in document.get("plays", []) for task in play_result.get("tasks", [])
               if "localhost" in task.get("hosts", {})]
    return results, proc


def run_module(module: str, args: dict, check: bool = False, diff: bool = False,
               env: dict | None = None, timeout: float = 600) -> ModuleResult:
    """Run ``module`` with ``args`` on localhost and return its result (failed runs included).

    ``check``/``diff`` add --check/--diff; ``env`` adds environment variables (for example
    PGPASSWORD for the module's env fallbacks). A run whose output cannot be parsed raises
    RuntimeError with everything ansible printed.
    """
    results, proc = run_module_tasks(module, [{"name": module, module: args}], check=check, diff=diff, env=env,
                                     timeout=timeout)
    if not results:
        raise RuntimeError(f"ansible-playbook returned no result for {module} (rc={proc.returncode}):\n"
                           f"{proc.stdout + proc.stderr}")
    return results[0]
