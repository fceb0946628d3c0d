"""Paths and metadata the release tests share."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
ANSIBLE_GALAXY = str(BIN / "ansible-galaxy")


def galaxy_metadata() -> dict:
    return yaml.safe_load((REPO / "galaxy.yml").read_text())


BUNDLED = Path(sysconfig.get_paths()["purelib"]) / "ansible_collections"


def isolated_env(tmp: Path, collections: Path) -> dict:
    """Only ``collections`` is searched: an empty ansible.cfg, no site-packages collections."""
    cfg = tmp / "ansible.cfg"
    cfg.write_text("[defaults]\n")
    return {"ANSIBLE_CONFIG": str(cfg), "ANSIBLE_COLLECTIONS_PATH": str(collections),
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false", "ANSIBLE_ROLES_PATH": str(tmp / "no-roles")}


def install_offline(tmp: Path, tarball: Path, dependencies: list[str], no_deps: bool = False) -> Path:
    """Install ``tarball`` and the bundled copies of ``dependencies`` offline; the collections path."""
    collections = tmp / "collections"
    sources = [{"name": str(tarball), "type": "file"}]
    sources += [{"name": str(BUNDLED.joinpath(*fqcn.split("."))), "type": "dir"} for fqcn in dependencies]
    requirements = tmp / "requirements.yml"
    requirements.write_text(yaml.safe_dump({"collections": sources}))
    env = isolated_env(tmp, collections)
    command = [ANSIBLE_GALAXY, "collection", "install", "--offline", "-r", str(requirements), "-p", str(collections)]
    proc = subprocess.run(command + (["--no-deps"] if no_deps else []), env=dict(os.environ, **env), cwd=tmp,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return collections
