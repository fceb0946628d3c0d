"""Run one sre.runbooks module through ansible-playbook, the way users run it, and return its result.

Integration tests of every module share this: the module runs in its own process, with the
collection found through ``.collections`` and the venv's Python (which has the module's
libraries) as the interpreter. Arguments go into a temporary playbook file (mode 0600),
never onto a command line, so passwords stay out of the process list.

    result = run_module("sre.runbooks.pg_vacuum", {"operation": "report", **pg_args}, check=True)
    assert not result.failed and result["changed"] is False
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".collections"


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


def ensure_collection_link() -> None:
    """Make .collections/ansible_collections/sre/runbooks point at the checkout (as `make collection` does)."""
    link = COLLECTIONS / "ansible_collections" / "sre" / "runbooks"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(Path("../../.."))


def _playbook(module: str, args: dict) -> list:
    return [{
        "name": f"run {module}",
        "hosts": "localhost",
        "gather_facts": False,
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        "tasks": [{"name": module, module: args}],
    }]


def _task_result(document: dict) -> dict:
    """The single task's result from the ansible.posix.json callback's document."""
    for play in document.get("plays", []):
        for task in play.get("tasks", []):
            hosts = task.get("hosts", {})
            if "localhost" in hosts:
                return hosts["localhost"]
    return {}


def run_module(module: str, args: dict, check: bool = False, diff: bool = False,
               env: dict | None = None, timeout: float = 600) -> ModuleResult:
    """Run ``module`` with ``args`` on localhost and return its result (failed runs included).

    ``check``/``diff`` add --check/--diff; ``env`` adds environment variables (for example
    PGPASSWORD for the module's env fallbacks). A run whose output cannot be parsed raises
    RuntimeError with everything ansible printed.
    """
    ensure_collection_link()
    with tempfile.TemporaryDirectory(prefix="sre-module-run-") as tmp:
        playbook = Path(tmp) / "playbook.json"
        fd = os.open(playbook, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(_playbook(module, args), handle)
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
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        proc = subprocess.run(command, cwd=tmp, env=run_env, capture_output=True, text=True, timeout=timeout, check=False)
    output = proc.stdout + proc.stderr
    try:
        document = json.loads(proc.stdout[proc.stdout.index("{"):])
    except ValueError:
        raise RuntimeError(f"ansible-playbook printed no JSON result (rc={proc.returncode}):\n{output}") from None
    result = _task_result(document)
    if not result:
        raise RuntimeError(f"ansible-playbook returned no result for {module} (rc={proc.returncode}):\n{output}")
    return ModuleResult(result, proc.returncode, output)
