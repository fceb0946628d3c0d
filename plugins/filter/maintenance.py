# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The maintenance_window role's filters (M2): the state snapshot and its comparison with the live state.

The logic is module_utils/_maintenance/snapshot.py (unit-tested there); each filter is documented in the
.yml file of its name next to this one.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._maintenance.snapshot import compare, namespace_regex, snapshot


class FilterModule:
    """maintenance_window's filters."""

    def filters(self):
        return {
            "maintenance_snapshot": snapshot,
            "maintenance_drift": compare,
            "maintenance_namespace_regex": namespace_regex,
        }
