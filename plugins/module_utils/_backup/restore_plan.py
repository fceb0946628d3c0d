# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What pg_restore does with a target, decided from its state alone: nothing, restore, replace, or refuse.

Pure functions over the state :func:`restore_target.target_state` reads; unit-tested without a server.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._backup.errors import BackupError


def describe_objects(state):
    """A short phrase naming what the target holds, for the refusal sentence."""
    parts = []
    if state["relations"]:
        parts.append(f"{len(state['relations'])} relation(s) such as {', '.join(state['relations'][:3])}")
    if state["schemas"]:
        parts.append(f"schema(s) {', '.join(state['schemas'][:5])}")
    return " and ".join(parts) or "objects"


def choose_action(manifest, target, state, force, maintenance_database):
    """``none`` (the target already holds this backup), ``restore`` (missing or empty target) or ``replace``.

    Raises BackupError when the target holds the backup's objects and ``force`` is off, or when a
    whole-database restore would have to drop the database the module itself connects to.
    """
    if state["identical"]:
        return "none"
    if state["objects"] and not force:
        raise BackupError(f"Refusing to restore {manifest['name']} into database \"{target}\": it already holds "
                          f"{describe_objects(state)}; set force=true to replace them (a safety dump of the "
                          "target is taken first).")
    if manifest["scope"] == "database" and state["objects"] and target == maintenance_database:
        raise BackupError(f"Cannot replace database \"{target}\" while it is the maintenance_database; set "
                          "maintenance_database to another database.")
    return "replace" if state["objects"] else "restore"
