"""Fixtures of the release tests: the collection tarball as `make build` makes it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.release.release_files import ANSIBLE_GALAXY, REPO, galaxy_metadata


@pytest.fixture(scope="session")
def collection_tarball(tmp_path_factory) -> Path:
    """A fresh tarball of the checkout, built like `make build` (galaxy.yml's build_ignore)."""
    out = tmp_path_factory.mktemp("build")
    proc = subprocess.run([ANSIBLE_GALAXY, "collection", "build", "--output-path", str(out), str(REPO)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    meta = galaxy_metadata()
    tarball = out / f"{meta['namespace']}-{meta['name']}-{meta['version']}.tar.gz"
    assert tarball.is_file(), proc.stdout
    return tarball
