"""Paths and metadata the release tests share."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
ANSIBLE_GALAXY = str(BIN / "ansible-galaxy")


def galaxy_metadata() -> dict:
    return yaml.safe_load((REPO / "galaxy.yml").read_text())
