"""The collection as a user gets it: installed from its tarball with only its declared dependencies.

Galaxy is unreachable here, so the dependencies come from the copies the `ansible` package ships
(installed as `dir` sources, offline): ansible-galaxy still checks galaxy.yml's version ranges
against them. ansible then sees nothing but that collections path (no repo ansible.cfg, no
site-packages scan), and every playbook must pass --syntax-check, which resolves every role and
every module the playbooks name statically.
"""

from __future__ import annotations

import os
import subprocess
import sysconfig
from pathlib import Path

import pytest
import yaml

from tests.integration.ansible_run import run_playbook
from tests.integration.release.release_files import ANSIBLE_GALAXY, REPO, galaxy_metadata

pytestmark = pytest.mark.slow

BUNDLED = Path(sysconfig.get_paths()["purelib"]) / "ansible_collections"


def _isolated_env(tmp: Path, collections: Path) -> dict:
    """Only ``collections`` is searched: an empty ansible.cfg, no site-packages collections."""
    cfg = tmp / "ansible.cfg"
    cfg.write_text("[defaults]\n")
    return {"ANSIBLE_CONFIG": str(cfg), "ANSIBLE_COLLECTIONS_PATH": str(collections),
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false", "ANSIBLE_ROLES_PATH": str(tmp / "no-roles")}


def _install(tmp: Path, tarball: Path, dependencies: list[str], no_deps: bool = False) -> Path:
    """Install ``tarball`` and the bundled copies of ``dependencies`` offline; the collections path."""
    collections = tmp / "collections"
    sources = [{"name": str(tarball), "type": "file"}]
    sources += [{"name": str(BUNDLED.joinpath(*fqcn.split("."))), "type": "dir"} for fqcn in dependencies]
    requirements = tmp / "requirements.yml"
    requirements.write_text(yaml.safe_dump({"collections": sources}))
    env = _isolated_env(tmp, collections)
    command = [ANSIBLE_GALAXY, "collection", "install", "--offline", "-r", str(requirements), "-p", str(collections)]
    proc = subprocess.run(command + (["--no-deps"] if no_deps else []), env=dict(os.environ, **env), cwd=tmp,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return collections


def _syntax_check(tmp: Path, collections: Path, playbooks: list[Path]):
    return run_playbook(str(playbooks[0]), inventory="localhost,", cwd=tmp, timeout=300,
                        options=[*map(str, playbooks[1:]), "--syntax-check"], env=_isolated_env(tmp, collections))


@pytest.fixture(scope="module")
def installed(collection_tarball, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("installed")
    return tmp, _install(tmp, collection_tarball, sorted(galaxy_metadata()["dependencies"]))


def test_installed_with_declared_dependencies_only(installed):
    tmp, collections = installed
    found = sorted(".".join(p.parts[-2:]) for p in (collections / "ansible_collections").glob("*/*") if p.is_dir())
    assert found == sorted(["sre.runbooks", *galaxy_metadata()["dependencies"]])
    own = collections / "ansible_collections" / "sre" / "runbooks"
    for shipped in ("LICENSE", "README.md", "meta/execution-environment.yml", "requirements.txt", "bindep.txt"):
        assert (own / shipped).is_file(), f"{shipped} is not in the installed collection"
    for role in (own / "roles").iterdir():
        assert (role / "README.md").is_file(), f"role {role.name} has no README"


def test_every_playbook_passes_syntax_check(installed):
    tmp, collections = installed
    playbooks = sorted((collections / "ansible_collections" / "sre" / "runbooks" / "playbooks").glob("*.yml"))
    assert [p.name for p in playbooks] == sorted(p.name for p in (REPO / "playbooks").glob("*.yml"))
    proc = _syntax_check(tmp, collections, playbooks)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    for playbook in playbooks:
        assert f"playbook: {playbook}" in proc.stdout, f"{playbook.name} was not checked:\n{proc.stdout[-3000:]}"


def test_syntax_check_fails_without_a_declared_dependency(collection_tarball, tmp_path):
    """The check above can fail: without community.postgresql, db_maintenance.yml does not parse."""
    collections = _install(tmp_path, collection_tarball, [], no_deps=True)
    playbook = collections / "ansible_collections" / "sre" / "runbooks" / "playbooks" / "db_maintenance.yml"
    proc = _syntax_check(tmp_path, collections, [playbook])
    assert proc.returncode != 0
    assert "community.postgresql.postgresql_alter_system" in proc.stdout + proc.stderr
