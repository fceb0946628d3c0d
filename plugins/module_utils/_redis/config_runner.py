# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""redis_maintain's operation=config: CONFIG SET what differs, CONFIG REWRITE on request, read back.

The comparison is the pure config.py's (values normalised, so ``1gb`` equals ``1073741824``);
this file talks to the server. Secret settings are registered as no_log values before any
call, and shown hidden in results, diffs and warnings.
"""

from __future__ import annotations

import os

from ansible_collections.sre.runbooks.plugins.module_utils._redis.config import (
    SECRET_SETTINGS,
    ConfigError,
    canonical_name,
    config_reply,
    diff_for,
    file_differs,
    normalise,
    parse_config_file,
    plan_changes,
    shown,
    value_text,
)
from ansible_collections.sre.runbooks.plugins.module_utils._redis.connection import (
    RedisModuleError,
    is_local_server,
    refusal_message,
)
from ansible_collections.sre.runbooks.plugins.module_utils._redis.operation import MaintainerOperation


class ConfigRun(MaintainerOperation):
    """One operation=config: plan, set, optionally rewrite the file, then report what the server says now."""

    def run(self):
        wanted = self.params["settings"] or {}
        if not wanted:
            raise RedisModuleError("operation=config needs at least one entry in settings.")
        for name, value in wanted.items():
            if canonical_name(name) in SECRET_SETTINGS and value not in (None, ""):
                self.module.no_log_values.add(value_text(value))
        current = {}
        for name in wanted:
            current.update(self.config_get(str(name)))
        try:
            changes = plan_changes(current, wanted)
        except ConfigError as exc:
            raise RedisModuleError(f"Cannot apply settings to Redis at {self.address}: {exc}") from exc
        if changes and not self.check_mode:
            self.config_set(changes)
        config_file = str(self.maintainer.info.get("config_file", "") or "")
        rewritten, file_checked = False, False
        if self.params["rewrite"]:
            rewritten, file_checked = self.rewrite(config_file, changes, wanted)
        after = self.settings_now(wanted, current, changes)
        if changes and not self.check_mode:
            self.warn_about_unapplied(changes, after)
        self.maintainer.result["config"] = {
            "settings": after,
            "changes": [{"name": c["name"], "before": shown(c["name"], c["before"]), "after": shown(c["name"], c["after"])}
                        for c in changes],
            "rewritten": rewritten,
            "config_file": config_file,
            "file_checked": file_checked,
        }
        self.maintainer.result["changed"] = bool(changes) or rewritten
        diff = diff_for(changes)
        if rewritten and not changes:
            diff = {"before": {"config_file": config_file + " (differs)"}, "after": {"config_file": config_file + " (rewritten)"}}
        self.maintainer.set_diff(diff["before"], diff["after"])

    def config_get(self, name):
        return config_reply(self.maintainer.command(f"CONFIG GET {name}", "CONFIG", "GET", name))

    def config_set(self, changes):
        args = []
        for change in changes:
            args.extend([change["name"], change["after"]])
        try:
            self.maintainer.client.execute_command("CONFIG", "SET", *args)
            return
        except self.maintainer.redis.exceptions.ResponseError as exc:
            multi_unsupported = len(changes) > 1 and "wrong number of arguments" in str(exc).lower()
            if not multi_unsupported:
                detail = ", ".join(f"{c['name']}={shown(c['name'], c['after'])}" for c in changes)
                raise RedisModuleError(refusal_message(self.address, f"CONFIG SET {detail}", exc)) from exc
        for change in changes:  # Redis < 7 sets one parameter per call
            self.maintainer.command(f"CONFIG SET {change['name']}={shown(change['name'], change['after'])}",
                                    "CONFIG", "SET", change["name"], change["after"])

    def rewrite(self, config_file, changes, wanted):
        """CONFIG REWRITE when a setting changed or the file differs; returns (rewritten, file_checked)."""
        if not config_file:
            raise RedisModuleError(f"Cannot rewrite the configuration of Redis at {self.address}: it runs without a "
                                   "configuration file.")
        needed = bool(changes)
        file_checked = False
        file_settings = self.read_config_file(config_file)
        if file_settings is not None:
            file_checked = True
            needed = needed or bool(file_differs(file_settings, wanted))
        elif not changes:
            self.module.warn(f"The configuration file {config_file} of Redis at {self.address} cannot be read here; "
                             "CONFIG REWRITE runs only when settings change.")
        if needed and not self.check_mode:
            self.maintainer.command("CONFIG REWRITE", "CONFIG", "REWRITE")
        return needed, file_checked

    def read_config_file(self, path):
        """The config file's settings when the server is on this host and the file is readable, else None."""
        if not is_local_server(self.params) or not os.access(path, os.R_OK):
            return None
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as handle:
                return parse_config_file(handle.read())
        except OSError:
            return None

    def settings_now(self, wanted, current, changes):
        """Each wanted setting as the server reports it after the run (in check mode: as it would be)."""
        after = {}
        for name in wanted:
            key = canonical_name(name)
            changed_to = next((c["after"] for c in changes if c["name"] == key), None)
            if changed_to is not None and self.check_mode:
                after[key] = shown(key, changed_to)
            else:
                value = next((v for k, v in current.items() if canonical_name(k) == key), "")
                if changed_to is not None:
                    value = self.config_get(key).get(key, changed_to)
                after[key] = shown(key, value)
        return after

    def warn_about_unapplied(self, changes, after):
        # A server may accept CONFIG SET yet keep another value (rounded sizes, clamped limits).
        for change in changes:
            if normalise(change["name"], after[change["name"]]) != normalise(change["name"], change["after"]) \
                    and change["name"] not in SECRET_SETTINGS:
                self.module.warn(f"Redis at {self.address} reports {change['name']}={after[change['name']]} after "
                                 f"CONFIG SET {change['after']}.")
