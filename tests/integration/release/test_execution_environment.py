"""The execution environment: `ansible-builder create` on execution-environment.yml, and what it puts in the context.

No container engine runs here, so the image is not built; the build context is checked instead:
our Python libraries, our system packages and the collection tarball are in it, and the
Containerfile installs them. ansible-builder's own introspection of the installed collection
shows what an EE that merely includes the collection gets (meta/execution-environment.yml).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from tests.integration.release.release_files import ANSIBLE_GALAXY, BIN, REPO, galaxy_metadata

PYTHON_LIBRARIES = {"kubernetes", "psycopg2-binary", "redis", "boto3", "cryptography", "confluent-kafka"}
# What bindep picks for this Debian machine (platform:dpkg) from bindep.txt.
DEBIAN_PACKAGES = {"postgresql-client", "zstd", "gzip", "redis-tools"}


def _run(command: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, f"{command[0]} failed:\n{proc.stdout}{proc.stderr}"
    return proc


def _requirements(lines: list[str]) -> list[Requirement]:
    """The requirements of pip requirement lines (comments and blanks skipped)."""
    return [Requirement(line.split("#")[0]) for line in lines if line.split("#")[0].strip()]


def _names(lines: list[str]) -> set[str]:
    return {req.name for req in _requirements(lines)}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def context(collection_tarball, tmp_path_factory) -> Path:
    """`ansible-builder create` on a copy of the EE files, with the tarball where `make build` puts it."""
    root = tmp_path_factory.mktemp("ee")
    for name in ("execution-environment.yml", "requirements.txt", "bindep.txt"):
        shutil.copy(REPO / name, root / name)
    (root / ".cache" / "build").mkdir(parents=True)
    shutil.copy(collection_tarball, root / ".cache" / "build" / collection_tarball.name)
    _run([str(BIN / "ansible-builder"), "create", "-f", "execution-environment.yml", "-c", "context",
          "--output-filename", "Containerfile"], cwd=root)
    return root / "context"


def test_context_has_our_python_libraries(context):
    lines = (context / "_build" / "requirements.txt").read_text().splitlines()
    assert _names(lines) == PYTHON_LIBRARIES
    # Ranges for consumers, never exact pins (those live in constraints.txt for CI).
    for req in _requirements(lines):
        assert req.specifier and all(s.operator != "==" for s in req.specifier), f"{req} is not a version range"


def test_context_has_our_system_packages(context):
    bindep = context / "_build" / "bindep.txt"
    listed = _run([str(BIN / "bindep"), "--file", str(bindep), "--list_all", "newline"], cwd=context)
    assert set(listed.stdout.split()) == DEBIAN_PACKAGES
    text = bindep.read_text()
    for rpm in ("postgresql [platform:rpm]", "redis [platform:rpm]"):
        assert rpm in text


def test_context_installs_the_collection_and_its_dependencies(context, collection_tarball):
    copied = context / "_build" / "collections" / collection_tarball.name
    assert _sha256(copied) == _sha256(collection_tarball)
    with tarfile.open(copied) as tar:
        info = json.load(tar.extractfile("MANIFEST.json"))["collection_info"]
    meta = galaxy_metadata()
    assert (info["namespace"], info["name"], info["version"]) == (meta["namespace"], meta["name"], meta["version"])
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert {c["name"]: c["version"] for c in galaxy["collections"]} == meta["dependencies"]
    containerfile = (context / "Containerfile").read_text()
    assert "ansible-galaxy collection install" in containerfile
    assert "/build/collections/sre-runbooks-*.tar.gz" in containerfile
    pinned = {Requirement(line).name: line for line in (REPO / "constraints.txt").read_text().splitlines()
              if line and not line.startswith("#")}
    assert pinned["ansible-core"] in containerfile, "the EE's ansible-core is not the one CI tests"
    assert "COPY _build/requirements.txt" in containerfile and "COPY _build/bindep.txt" in containerfile


def test_an_ee_including_the_collection_gets_its_dependencies(collection_tarball, tmp_path):
    """ansible-builder's introspection of the installed collection (what every EE build runs)."""
    # Only this directory is searched: `make test` exports ANSIBLE_COLLECTIONS_PATH (the checkout's
    # link), where ansible-galaxy would find sre.runbooks 1.0.0 "already installed" and skip it.
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    env = dict(os.environ, ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "collections"))
    _run([ANSIBLE_GALAXY, "collection", "install", "--offline", "--no-deps", "-p", "collections",
          str(collection_tarball)], cwd=tmp_path, env=env)
    assert (tmp_path / "collections" / "ansible_collections" / "sre" / "runbooks" / "MANIFEST.json").is_file()
    proc = _run([str(BIN / "ansible-builder"), "introspect", "--sanitize", "collections"], cwd=tmp_path)
    data = yaml.safe_load(proc.stdout.split("\n", 1)[1])
    ours = [line.split("#")[0].strip() for line in data["python"] if "from collection sre.runbooks" in line]
    assert _names(ours) == PYTHON_LIBRARIES
    system = [line for line in data["system"] if "from collection sre.runbooks" in line]
    assert {line.split()[0] for line in system} >= DEBIAN_PACKAGES
