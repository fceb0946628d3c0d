"""The HTML report test renders with the collection's own code, imported as ansible_collections.sre.runbooks."""

from __future__ import annotations

import sys

from tests.integration.module_runner import COLLECTIONS, ensure_collection_link

ensure_collection_link()
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
