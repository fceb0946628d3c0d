"""galaxy.yml and requirements.txt say what the collection needs, in a form Galaxy and pip accept.

Every collection whose modules, roles, filters or lookups the shipped content names is a declared
dependency with a version range (and nothing else is declared); the Python requirements are
ranges that CI's exact pins in constraints.txt satisfy. The install test
(tests/integration/release/test_collection_install.py) proves the same against the real content.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())
BUILTIN = {"ansible.builtin", "sre.runbooks"}
# Collections only one role needs, left out of galaxy.yml so other users need not install them; the
# role's README says so and collections/requirements.yml (what an AWX project installs) lists them.
OPTIONAL = {"awx.awx": {"roles/awx_config/tasks/controller.yml"}}
COLLECTION = r"([a-z0-9_]+\.[a-z0-9_]+)\.[a-z0-9_]+"
# A task's module key, a role reference, a filter or test after a pipe or `is`, a lookup.
YAML_USES = re.compile(rf"^\s*(?:- )?\s*{COLLECTION}:|\brole:\s*{COLLECTION}\s*$|\|\s*{COLLECTION}\b"
                       rf"|\bis\s+{COLLECTION}\b|lookup\(['\"]{COLLECTION}['\"]", re.MULTILINE)
PYTHON_USES = re.compile(r"ansible_collections\.([a-z0-9_]+\.[a-z0-9_]+)\.plugins")


def _used_collections() -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for path in [*REPO.glob("roles/*/tasks/*.yml"), *REPO.glob("roles/*/handlers/*.yml"), *REPO.glob("playbooks/*.yml"),
                 *REPO.glob("roles/*/templates/*.j2")]:
        for match in YAML_USES.finditer(path.read_text()):
            name = next(group for group in match.groups() if group)
            used.setdefault(name, set()).add(str(path.relative_to(REPO)))
    for path in REPO.glob("plugins/**/*.py"):
        for name in PYTHON_USES.findall(path.read_text()):
            used.setdefault(name, set()).add(str(path.relative_to(REPO)))
    return {name: paths for name, paths in used.items() if name not in BUILTIN}


def test_every_used_collection_is_declared_and_nothing_else():
    used = _used_collections()
    assert set(used) - set(OPTIONAL) == set(GALAXY["dependencies"]), f"used: {used}"
    for name, allowed in OPTIONAL.items():
        assert used.get(name, set()) <= allowed, f"{name} is optional for {sorted(allowed)} only: {used.get(name)}"
        assert name not in GALAXY["dependencies"]
    # An AWX project pointed at the repository installs every collection the playbooks use.
    awx_requirements = yaml.safe_load((REPO / "collections" / "requirements.yml").read_text())["collections"]
    assert {c["name"] for c in awx_requirements if c.get("type") != "dir"} == set(GALAXY["dependencies"]) | set(OPTIONAL)
    assert {"name": ".", "type": "dir"} in awx_requirements
    # The scan finds the uses the issue named, so it is not blind.
    assert "roles/db_maintenance/tasks/insights.yml" in used["community.postgresql"]
    assert "plugins/module_utils/_k8s/client.py" in used["kubernetes.core"]


@pytest.mark.parametrize("name", sorted(GALAXY["dependencies"]))
def test_dependencies_are_ranges_with_an_upper_bound(name):
    spec = SpecifierSet(GALAXY["dependencies"][name])
    assert {s.operator for s in spec} == {">=", "<"}, f"{name}: {spec} is not a >=,< range"


def test_version_is_publishable_and_links_are_real():
    assert Version(GALAXY["version"]) >= Version("1.0.0"), "Automation Hub refuses versions below 1.0.0"
    text = (REPO / "galaxy.yml").read_text()
    assert "example.invalid" not in text
    for key in ("repository", "documentation", "homepage", "issues"):
        assert key not in GALAXY or GALAXY[key].startswith("https://"), key
    assert "GNU GENERAL PUBLIC LICENSE" in (REPO / "LICENSE").read_text()[:200]
    assert GALAXY["license"] == ["GPL-3.0-or-later"]


def test_every_role_has_a_readme():
    roles = sorted(p.name for p in (REPO / "roles").iterdir() if p.is_dir())
    assert roles and [r for r in roles if not (REPO / "roles" / r / "README.md").is_file()] == []


def test_requirements_are_ranges_that_ci_pins_satisfy():
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            req = Requirement(line)
            pins[req.name.lower()] = Version(next(iter(req.specifier)).version)
    requirements = [Requirement(line) for line in (REPO / "requirements.txt").read_text().splitlines()
                    if line.strip() and not line.startswith("#")]
    assert requirements
    for req in requirements:
        assert req.specifier and all(s.operator != "==" for s in req.specifier), f"{req} is a pin, not a range"
        assert pins[req.name.lower()] in req.specifier, f"constraints.txt pins {req.name} outside {req.specifier}"
