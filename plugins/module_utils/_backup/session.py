# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What the steps of one pg_backup or pg_restore task share: options, connections, client programs, logs.

Dumping, verifying, uploading, pruning and restoring each get this session instead of a runner
object, so each step lives in its own small file and the runners only orchestrate.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._backup.store import LocalRepo, S3Repo
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.connection import ensure_psycopg2, is_superuser, server_version_text
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.tools import connect_database, find_tools, run_chain, tool_env
from ansible_collections.sre.runbooks.plugins.module_utils._s3.store import S3Store, ensure_boto3

BACKUP_APP = "sre.runbooks pg_backup"
RESTORE_APP = "sre.runbooks pg_restore"


class BackupSession:
    """The module's params and the state its steps build up: client programs, server version, commands, warnings."""

    def __init__(self, module, application_name=BACKUP_APP):
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode
        self.application_name = application_name
        self.warnings = []
        self.commands = []
        self.local = LocalRepo(self.params["dest"]) if self.params.get("dest") else None
        self._s3 = None
        self.tools = None
        self.server_major = None
        self.server_version = None
        self.superuser = None

    @property
    def s3(self):
        """The S3 repository, built on first use so that boto3 is imported only when S3 is configured."""
        if self._s3 is None and self.params.get("s3"):
            ensure_boto3(self.module)
            self._s3 = S3Repo(S3Store(self.params["s3"]))
        return self._s3

    def connect(self, database=None, autocommit=True):
        ensure_psycopg2(self.module)
        return connect_database(self.params, database or self.params["database"], self.application_name, autocommit)

    def load_tools(self, conn):
        """Find the client programs that match the server behind ``conn`` (once per task)."""
        self.server_major = conn.server_version // 10000
        self.server_version = server_version_text(conn)
        self.superuser = is_superuser(conn)
        if self.tools is None:
            self.tools = find_tools(self.server_major, self.params.get("bin_dir"))
        return self.tools

    def current_tools(self):
        """The client programs; when none were chosen yet (a restore of a file), ask the server for its version."""
        if self.tools:
            return self.tools
        conn = self.connect(self.params["maintenance_database"])
        try:
            return self.load_tools(conn)
        finally:
            conn.close()

    def env(self, tool, database=None):
        return tool_env(self.params, database, f"{self.application_name} ({tool})")

    def log_pipeline(self, commands):
        """Record a pipeline for RV(commands); secrets never appear in argv (they travel in the environment)."""
        self.commands.append(" | ".join(" ".join(argv) for argv in commands))

    def run(self, commands, tool, database=None, consumer=None, transports=None):
        self.log_pipeline(commands)
        return run_chain(commands, self.env(tool, database), consumer=consumer, transports=transports)
