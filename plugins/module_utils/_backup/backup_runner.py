# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""One pg_backup task: state=present makes, verifies, uploads and prunes backups; state=pruned only prunes.

The runner orchestrates; each step lives in its own file (dump, verify, upload, prune) and works
on the shared :class:`BackupSession`.
"""

from __future__ import annotations

import os

from ansible_collections.sre.runbooks.plugins.module_utils._backup import manifest as manifests
from ansible_collections.sre.runbooks.plugins.module_utils._backup import naming
from ansible_collections.sre.runbooks.plugins.module_utils._backup.dump import Dumper, check_extra_args
from ansible_collections.sre.runbooks.plugins.module_utils._backup.errors import BackupError
from ansible_collections.sre.runbooks.plugins.module_utils._backup.prune import Retention
from ansible_collections.sre.runbooks.plugins.module_utils._backup.queries import (
    RELATIONS_SQL,
    SCHEMAS_SQL,
    countable_tables,
    database_encoding,
)
from ansible_collections.sre.runbooks.plugins.module_utils._backup.session import BackupSession
from ansible_collections.sre.runbooks.plugins.module_utils._backup.store import remove_path, utc_now
from ansible_collections.sre.runbooks.plugins.module_utils._backup.transport import check_transport, open_dump_transport
from ansible_collections.sre.runbooks.plugins.module_utils._backup.upload import upload
from ansible_collections.sre.runbooks.plugins.module_utils._backup.verify import Verifier
from ansible_collections.sre.runbooks.plugins.module_utils._common.intervals import parse_interval
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.vacuum_selection import (
    display_name,
    resolve_relations,
    resolve_schemas,
)
from ansible_collections.sre.runbooks.plugins.module_utils._s3.store import S3Error


def check_present_options(params):
    """Option combinations state=present refuses before connecting anywhere."""
    if not params.get("dest"):
        raise BackupError("state=present needs dest, the local directory that receives the backups.")
    if params["jobs"] < 1:
        raise BackupError("jobs must be at least 1.")
    if params["verify"] == "restore" and params["scope"] == "globals":
        raise BackupError("verify=restore is not available for scope=globals (roles and tablespaces would be "
                          "created in the live cluster); use verify=archive.")
    if not params["keep_local"] and not params.get("s3"):
        raise BackupError("keep_local=false needs s3: without an upload the backup would be deleted.")
    check_extra_args(params.get("extra_args"))


def dump_options(params):
    """How every unit of the run is dumped (``compress_mode`` is added once pg_dump's version is known)."""
    return {
        "format": "plain" if params["scope"] == "globals" else params["format"],
        "compression": params["compression"],
        "level": naming.compression_level(params["compression"], params.get("compression_level")),
        "jobs": params["jobs"], "extra_args": list(params.get("extra_args") or []),
        "lock_wait": parse_interval(params["lock_wait_timeout"], "lock_wait_timeout")
        if params.get("lock_wait_timeout") else None,
        "count_rows": params["count_rows"], "label": params["label"], "database": params["database"],
    }


class BackupRunner:
    """Runs one pg_backup task and collects its result."""

    def __init__(self, module):
        self.session = BackupSession(module)
        self.params = module.params
        self.warnings = self.session.warnings
        self.result = {"changed": False, "state": self.params["state"], "backups": [], "pruned": [],
                       "commands": self.session.commands}
        self.diff = {"before": {}, "after": {}}
        self.retention = Retention(self.session)
        self.verifier = Verifier(self.session)
        self.dumper = None
        self.s3_error = None
        self.states = {"present": self.present, "pruned": self.pruned}

    def execute(self):
        self.states[self.params["state"]]()
        if self.session.module._diff:
            self.result["diff"] = self.diff
        return self.result

    def units(self):
        """The backups the scope options ask for (one per schema with per_schema), not yet named."""
        params = self.params
        return naming.plan_units(params["scope"], params.get("schemas"), params.get("tables"), params["per_schema"])

    # -- state=present --------------------------------------------------------------------------

    def present(self):
        params = self.params
        check_present_options(params)
        opts = dump_options(params)
        policies = {"local": self.retention.policy("retention"),
                    "s3": self.retention.policy("s3_retention") if params.get("s3") else None}
        units = self.units()
        naming.check_template(params["name_template"])
        self.session.s3  # builds the S3 client now, so bad S3 settings fail before any dump
        conn = self.session.connect()
        try:
            tools = self.session.load_tools(conn)
            opts["compress_mode"] = naming.check_format(params["scope"], opts["format"], opts["compression"],
                                                        tools["version"][0])
            plan = self.resolve_units(conn, units)
        finally:
            conn.close()
        remote = check_transport(params.get("transport"), opts["format"])
        self.dumper = Dumper(self.session, (lambda: open_dump_transport(self.session.module, params["transport"]))
                             if remote else None)
        self.name_units(plan, opts)
        existing = {"local": self.session.local.manifests(self.warnings), "s3": self.s3_manifests()}
        new_names = {unit["name"] for unit in plan}
        self.diff["before"] = self.retention.inventory(existing, plan)
        self.result["changed"] = True
        if self.session.check_mode:
            self.result["backups"] = [self.planned(unit, opts) for unit in plan]
        else:
            self.session.local.ensure()
            for stale in self.session.local.stale_partials():
                remove_path(stale)
                self.warnings.append(f"Removed {stale}, left behind by a backup that was killed.")
            self.make_all(plan, opts)
        self.retention.apply(plan, existing, policies, new_names, self.result, include_local=params["keep_local"],
                             skip_s3=bool(self.s3_error))
        self.diff["after"] = self.retention.inventory(existing, plan, pruned=self.result["pruned"], added=new_names)

    def name_units(self, plan, opts):
        """Give each unit its file name, unique in dest (-2, -3... when the name is taken)."""
        params = self.params
        started = utc_now()
        taken = self.session.local.names()
        for unit in plan:
            name = naming.unique_name(naming.render_name(params["name_template"], params["label"], params["database"],
                                                         unit["scope_part"], started), taken)
            taken.add(name)
            unit["name"] = name
            unit["file"] = name + naming.extension(opts["format"], opts["compression"], unit["scope"])

    def make_all(self, plan, opts):
        """Dump every unit in one shared snapshot, then verify each, then upload the verified ones."""
        made = []
        snapshot_conn = snapshot = None
        try:
            if any(unit["scope"] != "globals" for unit in plan):
                snapshot_conn, snapshot = self.dumper.open_snapshot(opts["database"])
            for unit in plan:
                manifest = self.dumper.make_backup(unit, opts, self.session.local, snapshot_conn, snapshot)
                made.append(manifest)
                self.result["backups"].append(self.entry(manifest))
        finally:
            if snapshot_conn is not None:
                snapshot_conn.close()
        failures = []
        for manifest, entry in zip(made, self.result["backups"]):
            try:
                self.verifier.verify_backup(manifest, self.params["verify"], entry)
            except BackupError as exc:
                failures.append(str(exc))
        if failures:
            more = f" ({len(failures) - 1} more backup(s) failed verification too)" if len(failures) > 1 else ""
            raise BackupError(failures[0].rstrip(".") + more + ".")
        if self.session.s3:
            for manifest, entry in zip(made, self.result["backups"]):
                upload(self.session, manifest, entry)
                if not self.params["keep_local"]:
                    self.session.local.delete(manifest)
                    entry["local"] = None

    def s3_manifests(self):
        """The manifests in S3; an unreachable S3 only warns here, so the local backup is still made."""
        if not self.session.s3:
            return []
        try:
            return self.session.s3.manifests(self.warnings)
        except S3Error as exc:
            self.s3_error = str(exc)
            self.warnings.append(f"Could not list the backups in S3 ({str(exc).rstrip('.')}); S3 retention is skipped.")
            return []

    def resolve_units(self, conn, units):
        """Check that schemas and tables exist; attach the tables whose rows each unit counts."""
        cursor = conn.cursor()
        cursor.execute(SCHEMAS_SQL)
        known = [row[0] for row in cursor.fetchall()]
        countable = countable_tables(cursor)
        encoding = database_encoding(cursor)
        database = self.params["database"]
        for unit in units:
            unit["table_rows"] = []
            unit["encoding"] = encoding
            if unit["scope"] == "schemas":
                unit["resolved_schemas"] = resolve_schemas(unit["schemas"], known, database)
                unit["table_rows"] = [row for row in countable if row["schema"] in unit["resolved_schemas"]]
            elif unit["scope"] == "tables":
                cursor.execute(RELATIONS_SQL)
                rows = [{"schema": s, "table": n} for s, n, _k in cursor.fetchall()]
                resolved = resolve_relations(unit["tables"], rows, database)
                unit["resolved_tables"] = [(row["schema"], row["table"]) for row in resolved]
                wanted = set(unit["resolved_tables"])
                unit["table_rows"] = [row for row in countable if (row["schema"], row["table"]) in wanted]
            elif unit["scope"] == "database":
                unit["table_rows"] = countable
        cursor.close()
        return units

    def planned(self, unit, opts):
        """The result entry of a backup check mode would make, with the planner's row estimate."""
        local = self.session.local
        entry = {"name": unit["name"], "label": opts["label"], "database": opts["database"],
                 "scope": unit["scope"], "schemas": unit.get("resolved_schemas", []),
                 "tables": [display_name(s, t) for s, t in unit.get("resolved_tables", [])],
                 "set_key": self.retention.set_key(unit), "format": opts["format"], "compression": opts["compression"],
                 "compression_level": opts["level"], "file": unit["file"], "size": None, "sha256": None,
                 "started_at": None, "finished_at": None, "duration_seconds": None,
                 "tables_counted": len(unit["table_rows"]),
                 "rows_estimate": sum(max(0, int(row["estimate"] or 0)) for row in unit["table_rows"]),
                 "verification": {"level": self.params["verify"], "status": "skipped"}, "verification_status": "skipped",
                 "local": {"path": os.path.join(local.path, unit["file"]), "manifest_path": local.manifest_path(unit["name"]),
                           "exists": False},
                 "s3": None}
        if self.session.s3:
            s3 = self.session.s3
            entry["s3"] = {"bucket": s3.store.bucket, "key": s3.store.key(unit["file"]),
                           "manifest_key": s3.manifest_key(unit["name"])}
        return entry

    def entry(self, manifest):
        """The result entry of a backup just made (with its row counts)."""
        entry = manifests.summary(manifest)
        entry["local"] = self.session.local.describe(manifest)
        entry["s3"] = None
        entry["row_counts"] = manifest.get("row_counts") or {}
        return entry

    # -- state=pruned ---------------------------------------------------------------------------

    def pruned(self):
        session = self.session
        policies = {"local": self.retention.policy("retention") if session.local else None,
                    "s3": self.retention.policy("s3_retention") if self.params.get("s3") else None}
        if not policies["local"] and not policies["s3"]:
            raise BackupError("state=pruned needs retention (with keep_last or max_age_days) and dest, or s3 with "
                              "retention or s3_retention.")
        units = self.units()
        existing = {"local": session.local.manifests(self.warnings) if session.local else [],
                    "s3": session.s3.manifests(self.warnings) if session.s3 else []}
        self.diff["before"] = self.retention.inventory(existing, units)
        self.retention.apply(units, existing, policies, set(), self.result)
        self.diff["after"] = self.retention.inventory(existing, units, pruned=self.result["pruned"])
