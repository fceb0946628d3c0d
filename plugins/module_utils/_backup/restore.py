# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""One pg_restore task: check the backup's sha256, decide, take a safety dump, load, compare row counts, mark.

The decision is :func:`restore_plan.choose_action`; reading and clearing the target live in
``restore_target``, the safety dump in ``safety``, loading in ``archive_load``.
"""

from __future__ import annotations

import time

from ansible_collections.sre.runbooks.plugins.module_utils._backup import manifest as manifests
from ansible_collections.sre.runbooks.plugins.module_utils._backup.archive_load import (
    create_table_schemas,
    live_counts,
    restore_globals,
    restore_into,
)
from ansible_collections.sre.runbooks.plugins.module_utils._backup.dump import Dumper
from ansible_collections.sre.runbooks.plugins.module_utils._backup.errors import BackupError
from ansible_collections.sre.runbooks.plugins.module_utils._backup.restore_plan import choose_action
from ansible_collections.sre.runbooks.plugins.module_utils._backup.restore_source import fetch_source, load_source
from ansible_collections.sre.runbooks.plugins.module_utils._backup.restore_target import (
    discard_created,
    prepare_target,
    set_marker,
    target_state,
    terminate_sessions,
)
from ansible_collections.sre.runbooks.plugins.module_utils._backup.safety import safety_dump
from ansible_collections.sre.runbooks.plugins.module_utils._backup.session import RESTORE_APP, BackupSession
from ansible_collections.sre.runbooks.plugins.module_utils._backup.store import remove_path
from ansible_collections.sre.runbooks.plugins.module_utils._backup.verify import Verifier
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.tools import ToolError


def kept_at(restore):
    """The clause that tells where the previous data went, for a failure after the safety dump."""
    safety = restore["safety_backup"]
    return f"; the previous data is in {safety['local']['path']}" if safety else ""


class RestoreRunner:
    """Restores one backup into the module's ``database`` and collects the result."""

    def __init__(self, module):
        self.session = BackupSession(module, application_name=RESTORE_APP)
        self.params = module.params
        self.warnings = self.session.warnings
        self.result = {"changed": False, "commands": self.session.commands}
        self.diff = {"before": {}, "after": {}}
        self.verifier = Verifier(self.session)

    def execute(self):
        self.restore()
        if self.session.module._diff:
            self.result["diff"] = self.diff
        return self.result

    def restore(self):
        params = self.params
        if bool(params.get("src")) == bool(params.get("s3_key")):
            raise BackupError("pg_restore needs exactly one of src (a local backup) or s3_key (a backup in S3).")
        manifest, source = load_source(self.session)
        target = params["database"]
        admin = self.session.connect(params["maintenance_database"])
        restore = {"source": source, "backup": manifest["name"], "scope": manifest["scope"], "target_database": target,
                   "safety_backup": None, "row_counts": None, "action": None}
        self.result["restore"] = restore
        try:
            self.session.load_tools(admin)
            state = target_state(self.session, admin, manifest, target)
            restore["target_state"] = dict(state, relations=state["relations"][:20])
            self.diff["before"] = {"database": target, "exists": state["exists"], "objects": state["objects"],
                                   "restored_from": state["marker"]}
            restore["action"] = choose_action(manifest, target, state, params["force"], params["maintenance_database"])
            if restore["action"] == "none":
                self.diff["after"] = dict(self.diff["before"])
                return
            self.result["changed"] = True
            self.diff["after"] = {"database": target, "exists": True, "objects": len(manifest.get("row_counts") or {}),
                                  "restored_from": manifest["sha256"]}
            if self.session.check_mode:
                if params.get("src"):
                    self.verifier.check_checksum(manifest, source["path"])
                return
            self.apply(admin, manifest, source, state, restore)
        finally:
            admin.close()

    def apply(self, admin, manifest, source, state, restore):
        """Fetch and check the artifact, protect and clear the target, load it, then compare and mark."""
        target = restore["target_database"]
        path, cleanup = fetch_source(self.session, manifest, source)
        try:
            self.verifier.check_checksum(manifest, path)
            restore["checksum"] = "passed"
            if state["objects"] and manifest["scope"] != "globals":
                restore["safety_backup"] = safety_dump(self.session, Dumper(self.session), self.verifier, manifest,
                                                       target, state)
            if self.params["terminate_sessions"] and state["exists"]:
                restore["sessions_terminated"] = terminate_sessions(admin, target)
            started = time.monotonic()
            existed = state["exists"]
            try:
                prepare_target(self.session, admin, manifest, target, state)
                create_table_schemas(self.session, manifest, target)
                self.load(manifest, path, restore)
            except BaseException:
                if not existed and manifest["scope"] != "globals":
                    discard_created(admin, target, force=self.session.server_major >= 13)
                raise
            restore["duration_seconds"] = round(time.monotonic() - started, 3)
        finally:
            if cleanup:
                remove_path(cleanup)
        if manifest["scope"] != "globals":
            self.compare_counts(manifest, restore)
            set_marker(self.session, admin, target, manifest)

    def load(self, manifest, path, restore):
        target = restore["target_database"]
        try:
            if manifest["scope"] == "globals":
                restore["errors_ignored"] = restore_globals(self.session, manifest, path)
            else:
                restore_into(self.session, manifest, path, target, jobs=self.params["jobs"])
        except ToolError as exc:
            raise BackupError(f"Restoring {manifest['name']} into \"{target}\" failed: {str(exc).rstrip('.')}"
                              f"{kept_at(restore)}.") from None

    def compare_counts(self, manifest, restore):
        """Every table of the manifest must have its dump-time row count in the target."""
        target = restore["target_database"]
        expected = manifest.get("row_counts") or {}
        comparison = manifests.compare_row_counts(expected, live_counts(self.session, target, expected))
        restore["row_counts"] = comparison
        if not comparison["ok"]:
            raise BackupError(f"The restore of {manifest['name']} into \"{target}\" finished but row counts differ "
                              f"from the manifest: {manifests.describe_count_problems(comparison)}{kept_at(restore)}.")
