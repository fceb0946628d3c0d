"""Run ansible-playbook from a test as an operator would, and return the finished process.

Every integration and playbook test goes through ``run_playbook``: the venv's ansible-playbook
(so the interpreter has the modules' libraries), the collection found through ``.collections``,
colour off so play recaps parse, and extra vars and generated playbooks in mode-0600 files,
never on the command line, so passwords stay out of the process list.

    proc = run_playbook("playbooks/redis_maintenance.yml", {"redis_maintenance_db": 13}, check=True, diff=True,
                        env=service_env(services))
    assert proc.returncode == 0, proc.stdout + proc.stderr
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
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))


def ensure_collection_link() -> None:
    """Make .collections/ansible_collections/sre/runbooks point at the checkout (as `make collection` does)."""
    link = COLLECTIONS / "ansible_collections" / "sre" / "runbooks"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(Path("../../.."))


def write_private(path: Path, data) -> Path:
    """``data`` as JSON in a new file only its owner can read (arguments may hold passwords)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle)
    return path


def run_playbook(playbook: str | Path | list, extra_vars: dict | None = None, *, inventory: str = "inventories/local",
                 check: bool = False, diff: bool = False, env: dict | None = None, cwd: str | Path = REPO,
                 options: tuple | list = (), timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``playbook`` (a path relative to ``cwd``, or a list of plays) and return the finished process.

    ``extra_vars`` go in with ``-e @file``; ``check``/``diff`` add --check/--diff; ``env`` adds to
    this process's environment; ``options`` are further ansible-playbook arguments. The run's exit
    status is the caller's to judge (``returncode``, ``stdout``, ``stderr``; text).
    """
    ensure_collection_link()
    with tempfile.TemporaryDirectory(prefix="sre-playbook-") as tmp:
        if isinstance(playbook, list):
            playbook = write_private(Path(tmp) / "playbook.json", playbook)
        command = [ANSIBLE_PLAYBOOK, "-i", inventory, str(playbook), *options]
        if extra_vars is not None:
            command += ["-e", f"@{write_private(Path(tmp) / 'extra_vars.json', extra_vars)}"]
        command += ["--check"] if check else []
        command += ["--diff"] if diff else []
        run_env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_NOCOLOR="1",
                       ANSIBLE_FORCE_COLOR="0")
        run_env.update(env or {})
        return subprocess.run(command, cwd=cwd, env=run_env, capture_output=True, text=True, timeout=timeout,
                              check=False)
