"""Unit tests import the collection as ``ansible_collections.sre.runbooks`` (as ansible-test does).

Plain pytest gets there through ``.collections/ansible_collections/sre/runbooks``, the link
`make collection` creates; it is created here too so a bare ``pytest tests/unit`` works.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".collections"
_LINK = COLLECTIONS / "ansible_collections" / "sre" / "runbooks"

# Under ansible-test the checkout already sits in an ansible_collections tree; leave that alone.
if "ansible_collections" not in REPO.parts:
    if not _LINK.exists():
        _LINK.parent.mkdir(parents=True, exist_ok=True)
        _LINK.symlink_to(Path("../../.."))
    if str(COLLECTIONS) not in sys.path:
        sys.path.insert(0, str(COLLECTIONS))


import pytest  # noqa: E402

from .plugins.modules.utils import module_exits as _module_exits  # noqa: E402


@pytest.fixture
def module_exits():
    """For tests that call a module's main() themselves instead of through run_module()."""
    with _module_exits():
        yield
