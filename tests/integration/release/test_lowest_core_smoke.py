"""Every playbook, in check mode, on the lowest ansible-core the collection claims to support.

meta/runtime.yml's ``requires_ansible`` is a promise: the suite runs on the pinned (newest) ansible-core,
and this test keeps the lower bound true. A second venv (`make venv-core-min`, pinned in
tests/core-min/requirements.txt) runs each playbook of ``smoke_matrix.yml`` with the extra vars an
operator would pass, against a demo environment of its own: private services seeded by
tests/harness/demo_data.py, the demo's namespaces on the session's cluster, and the platform sandbox.
The collection is installed from its tarball with only its declared dependencies, as a user gets it.
Check mode must also leave the seeded objects exactly as they were.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from tests.integration.release.demo_env import demo_environment, kubectl
from tests.integration.release.release_files import REPO, galaxy_metadata, install_offline, isolated_env

pytestmark = pytest.mark.slow

CORE_MIN = REPO / ".cache" / "venv-core-min"
MATRIX = yaml.safe_load((Path(__file__).parent / "smoke_matrix.yml").read_text())
VAULT_PASSWORD = "smoke-vault-pass"
PARALLEL = 3
# What the check-mode runs must leave untouched: (kind, namespace, name) read before and after.
WATCHED = [("deployment", "platform-v2-stable", "platform-v2-api"), ("deployment", "microservices", "api-gateway"),
           ("deployment", "ai-pipeline", "pipeline-worker"), ("configmap", "platform-v2-stable", "smoke-app-config"),
           ("configmap", "platform-v2-stable", "ai-config"), ("secret", "platform-v2-stable", "smoke-db")]


def required_core() -> str:
    """The lowest version meta/runtime.yml allows (its '>=X.Y.Z' bound)."""
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    found = re.fullmatch(r"\s*>=\s*(\d+\.\d+)(\.\d+)?\s*", runtime["requires_ansible"])
    assert found, f"requires_ansible {runtime['requires_ansible']!r} is not a plain lower bound"
    return found.group(1)


@pytest.fixture(scope="module")
def core_min() -> Path:
    subprocess.run(["make", "--no-print-directory", "venv-core-min"], cwd=REPO, check=True, capture_output=True,
                   timeout=900)
    return CORE_MIN / "bin"


@pytest.fixture(scope="module")
def demo(k8s_cluster, collection_tarball, tmp_path_factory):
    """A demo environment of the module's own: (env for ansible-playbook, collections path, cluster)."""
    with demo_environment(k8s_cluster) as environment:
        tmp = tmp_path_factory.mktemp("smoke")
        collections = install_offline(tmp, collection_tarball, sorted(galaxy_metadata()["dependencies"]))
        env = dict(environment["env"], **isolated_env(tmp, collections),
                   SRE_REPORT_DIR=str(tmp / "reports"), SRE_BACKUP_DIR=str(tmp / "backups"))
        yield {"env": env, "collections": collections, "cluster": k8s_cluster, "tmp": tmp}


def playbook_command(bin_dir: Path, collections: Path, name: str, extra_vars: dict, check: bool = True) -> list:
    playbook = collections / "ansible_collections" / "sre" / "runbooks" / "playbooks" / name
    return [str(bin_dir / "ansible-playbook"), "-i", str(REPO / "inventories" / "local"), str(playbook),
            "-e", json.dumps(extra_vars), *(["--check"] if check else [])]


def smoke_vars(name: str, demo: dict) -> dict:
    spec = MATRIX[name] or {}
    extra = dict(spec.get("extra_vars") or {})
    if spec.get("needs_node"):
        extra["node"] = kubectl(demo["cluster"], "get", "nodes", "-o", "jsonpath={.items[0].metadata.name}")
    if spec.get("needs_archive"):
        extra["config_restore_src"] = demo["archive"]
    return extra


def selected() -> list:
    """The matrix's playbooks, or those SMOKE_PLAYBOOKS names (comma-separated), to re-run one while fixing it."""
    wanted = [name for name in os.environ.get("SMOKE_PLAYBOOKS", "").split(",") if name]
    unknown = sorted(set(wanted) - set(MATRIX))
    assert not unknown, f"SMOKE_PLAYBOOKS names playbooks the matrix does not have: {unknown}"
    return wanted or sorted(MATRIX)


def snapshot(cluster) -> dict:
    """The watched objects' specs and data, for the before/after comparison."""
    seen = {}
    for kind, namespace, name in WATCHED:
        obj = json.loads(kubectl(cluster, "-n", namespace, "get", kind, name, "-o", "json"))
        seen[f"{kind}/{namespace}/{name}"] = {key: obj.get(key) for key in ("spec", "data")}
        seen[f"{kind}/{namespace}/{name}"]["generation"] = obj["metadata"].get("generation")
    return seen


def test_the_smoke_matrix_names_every_playbook():
    assert sorted(MATRIX) == sorted(p.name for p in (REPO / "playbooks").glob("*.yml"))


def test_the_lowest_core_venv_is_the_version_runtime_yml_requires(core_min):
    proc = subprocess.run([str(core_min / "python"), "-c", "import ansible.release as r; print(r.__version__)"],
                          capture_output=True, text=True, check=True)
    version = proc.stdout.strip()
    assert version.startswith(required_core() + "."), (version, required_core())


def test_every_playbook_runs_green_in_check_mode_on_the_lowest_supported_core(core_min, demo):
    env = dict(os.environ, **demo["env"])
    # Two real runs first, on the lowest core too: a database backup (restore.yml restores it in check
    # mode) and a configuration backup (config_restore.yml reads it).
    for name, extra in (("backup.yml", {}), ("config_backup.yml", {
            "config_backup_namespaces": ["platform-v2-stable"], "config_backup_vault_password": VAULT_PASSWORD,
            "config_backup_dest": str(demo["tmp"] / "config-backups")})):
        proc = subprocess.run(playbook_command(core_min, demo["collections"], name, extra, check=False),
                              env=env, capture_output=True, text=True, timeout=600, check=False)
        assert proc.returncode == 0, f"{name}: {proc.stdout[-4000:]}{proc.stderr[-2000:]}"
    demo["archive"] = str(next((demo["tmp"] / "config-backups").glob("*.tar.gz")))
    before = snapshot(demo["cluster"])

    def run(name):
        proc = subprocess.run(playbook_command(core_min, demo["collections"], name, smoke_vars(name, demo)),
                              env=env, capture_output=True, text=True, timeout=900, check=False)
        return name, proc

    failures = []
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        for name, proc in pool.map(run, selected()):
            recap = proc.stdout[proc.stdout.rfind("PLAY RECAP"):]
            if proc.returncode != 0 or "PLAY RECAP" not in proc.stdout or re.search(r"failed=[1-9]", recap):
                fatal = [line[:600] for line in proc.stdout.splitlines() if line.startswith(("fatal:", "ERROR!"))]
                failures.append(f"{name} (rc {proc.returncode}): {' | '.join(fatal) or proc.stderr[-1500:]}")
    assert not failures, "\n".join(failures)
    assert snapshot(demo["cluster"]) == before, "a check-mode run changed a watched object"
