# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Applying retention to the sets of a pg_backup run, locally and in S3, and the set inventory for --diff.

Which backups go is decided by the pure :func:`retention.select_prunable`; this file feeds it the
manifests of each set and deletes what it chose (not in check mode).
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._backup import manifest as manifests
from ansible_collections.sre.runbooks.plugins.module_utils._backup import naming
from ansible_collections.sre.runbooks.plugins.module_utils._backup.retention import normalize_policy, select_prunable
from ansible_collections.sre.runbooks.plugins.module_utils._backup.store import iso, utc_now


class Retention:
    """Prunes and lists the backup sets of the module's label and database."""

    def __init__(self, session):
        self.session = session
        self.params = session.params

    def policy(self, which):
        """The normalised ``retention`` or ``s3_retention`` policy (S3 falls back to the local one)."""
        policy = self.params.get(which)
        if which == "s3_retention" and not policy:
            policy = self.params.get("retention")
        return normalize_policy(policy)

    def set_key(self, unit):
        return naming.set_key(self.params["label"], self.params["database"], unit["scope_id"])

    def apply(self, units, existing, policies, protect, result, include_local=True, skip_s3=False):
        """Prune each set the units belong to; ``protect`` names are never pruned; pruned items go into ``result``."""
        session = self.session
        repos = []
        if include_local and session.local and policies.get("local"):
            repos.append((session.local, policies["local"], existing["local"]))
        if session.s3 and policies.get("s3") and not skip_s3:
            repos.append((session.s3, policies["s3"], existing["s3"]))
        now = iso(utc_now())
        for repo, policy, found in repos:
            for key in sorted({self.set_key(unit) for unit in units}):
                members = {m["name"]: m for m in found if m.get("set_key") == key}
                for choice in select_prunable(self.ranked(members, units, key, now), policy, protect=protect):
                    manifest = members[choice["name"]]
                    if not session.check_mode:
                        repo.delete(manifest)
                    result["pruned"].append(self.pruned_item(repo, manifest, choice, key))
                    result["changed"] = True

    def ranked(self, members, units, key, now):
        """The summaries retention ranks: the set's backups, plus this run's as the newest (in check mode they do
        not exist yet)."""
        summaries = [{"name": m["name"], "finished_at": m["finished_at"],
                      "verification_status": manifests.verification_status(m)} for m in members.values()]
        summaries += [{"name": unit["name"], "finished_at": now, "verification_status": "passed"}
                      for unit in units if unit.get("name") and self.set_key(unit) == key and unit["name"] not in members]
        return summaries

    @staticmethod
    def pruned_item(repo, manifest, choice, key):
        item = {"name": choice["name"], "location": repo.location, "set_key": key,
                "reason": choice["reason"], "rank": choice["rank"], "age_days": choice["age_days"],
                "finished_at": manifest["finished_at"], "size": manifest.get("size")}
        if repo.location == "local":
            item["path"] = repo.data_path(manifest)
        else:
            item.update(bucket=repo.store.bucket, key=repo.data_key(manifest))
        return item

    def inventory(self, existing, units, pruned=(), added=()):
        """Backup names of the affected sets per location, for --diff."""
        keys = {self.set_key(unit) for unit in units}
        gone = {(item["location"], item["name"]) for item in pruned}
        view = {}
        locations = (["local"] if self.session.local else []) + (["s3"] if self.params.get("s3") else [])
        for location in locations:
            names = {m["name"] for m in existing.get(location) or []
                     if m.get("set_key") in keys and (location, m["name"]) not in gone}
            if location == "s3" or self.params["keep_local"]:
                names |= set(added)
            view[location] = sorted(names)
        return view
