"""The collection as a user gets it: installed from its tarball with only its declared dependencies.

Galaxy is unreachable here, so the dependencies come from the copies the `ansible` package ships
(installed as `dir` sources, offline): ansible-galaxy still checks galaxy.yml's version ranges
against them. ansible then sees nothing but that collections path (no repo ansible.cfg, no
site-packages scan), and every playbook must pass --syntax-check, which resolves every role and
every module the playbooks name statically.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.ansible_run import run_playbook
from tests.integration.release.release_files import REPO, galaxy_metadata, install_offline, isolated_env

pytestmark = pytest.mark.slow


def _syntax_check(tmp: Path, collections: Path, playbooks: list[Path]):
    return run_playbook(str(playbooks[0]), inventory="localhost,", cwd=tmp, timeout=300,
                        options=[*map(str, playbooks[1:]), "--syntax-check"], env=isolated_env(tmp, collections))


@pytest.fixture(scope="module")
def installed(collection_tarball, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("installed")
    return tmp, install_offline(tmp, collection_tarball, sorted(galaxy_metadata()["dependencies"]))


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
    collections = install_offline(tmp_path, collection_tarball, [], no_deps=True)
    playbook = collections / "ansible_collections" / "sre" / "runbooks" / "playbooks" / "db_maintenance.yml"
    proc = _syntax_check(tmp_path, collections, [playbook])
    assert proc.returncode != 0
    assert "community.postgresql.postgresql_alter_system" in proc.stdout + proc.stderr
