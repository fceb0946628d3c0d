# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_config_restore's runner (B3): check the archive, decrypt and parse what is selected, then apply it in order.

Everything that can refuse the restore happens before the first write: the sidecar checksum of the
whole archive, every member's sha256, the format version, the filters, the vault key (every selected
Secret is decrypted in memory), the objects themselves and the API discovery of their kinds. Then
one LIST per kind and namespace tells which objects exist, and the steps of restore_plan.ORDER run
one after the other, the objects of a step concurrently on one API client.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import traceback
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.sre.runbooks.plugins.module_utils._common.checks import InputError
from ansible_collections.sre.runbooks.plugins.module_utils._config import archive
from ansible_collections.sre.runbooks.plugins.module_utils._config import restore_plan as plan
from ansible_collections.sre.runbooks.plugins.module_utils._config import vault
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import METADATA_ONLY, KubeError, connect, object_ref
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.health import HealthInputError, check_namespace_name
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_base import failure_sentence
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.wait import RolloutWaiter
from ansible_collections.sre.runbooks.plugins.module_utils._s3.store import S3Error, S3Store, ensure_boto3

try:
    import yaml
    YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    YAML_IMPORT_ERROR = None
except ImportError:
    yaml = None
    YAML_IMPORT_ERROR = traceback.format_exc()

FIELD_MANAGER = "sre.runbooks"
APPLY_PATCH = "application/apply-patch+yaml"


class RestoreFailed(Exception):
    """The task fails with this sentence, after the result gathered so far."""


def check_options(params):
    for namespace in params["namespaces"] or []:
        _namespace_name(namespace, "namespaces")
    for old, new in (params["namespace_map"] or {}).items():
        _namespace_name(old, "namespace_map")
        _namespace_name(new, "namespace_map")
    if params["s3_key"] and not params["s3_key"].endswith(".tar.gz"):
        raise InputError(f"s3_key {params['s3_key'][:80]!r} must name a .tar.gz archive.")


def _namespace_name(name, option):
    try:
        check_namespace_name(name)
    except HealthInputError as exc:
        raise InputError(str(exc).replace("namespaces:", f"{option}:", 1)) from None


def default_sidecar(path):
    return (path[:-len(".tar.gz")] if path.endswith(".tar.gz") else path) + ".json"


def load_sidecar(data, source):
    try:
        record = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise archive.ArchiveError(f"The sidecar {source} is not JSON.") from None
    return record


class ConfigRestore:
    """One restore; ``result`` is filled as it goes, so a failure still reports what was done."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode
        self.namespace_map = dict(self.params["namespace_map"] or {})
        self.result = {"changed": False, "created": [], "updated": [], "unchanged": [], "order": [],
                       "archive_sha256": None, "waited": []}
        self.diffs = []
        self._resources = {}
        self.workdir = None
        self.api = None

    # -------------------------------------------------------------------------- the archive

    def _fetch(self):
        """The local archive path and its sidecar record (downloaded from S3 first with s3_key)."""
        if self.params["src"]:
            path = self.params["src"]
            sidecar = self.params["sidecar"] or default_sidecar(path)
            if not os.path.isfile(path):
                raise RestoreFailed(f"The archive {path} does not exist.")
            try:
                with open(sidecar, "rb") as handle:
                    data = handle.read()
            except FileNotFoundError:
                raise RestoreFailed(f"The archive {path} has no sidecar {sidecar}; without it the checksum cannot be "
                                    "verified, so the restore is refused.") from None
            except OSError as exc:
                raise RestoreFailed(f"Cannot read the sidecar {sidecar}: {exc.strerror}.") from None
            return path, load_sidecar(data, sidecar), path
        ensure_boto3(self.module)
        store = S3Store(self.params["s3"])
        key = self.params["s3_key"]
        sidecar_key = self.params["sidecar"] or default_sidecar(key)
        record = load_sidecar(store.get_bytes(sidecar_key), store.url(sidecar_key))
        self.workdir = tempfile.mkdtemp(prefix=".sre-runbooks-restore-")
        path = os.path.join(self.workdir, os.path.basename(key))
        store.download_file(key, path, sha256_hex=record.get("archive_sha256") if isinstance(record, dict) else None)
        return path, record, store.url(key)

    def _load(self, pool):
        """The selected objects, parsed, decrypted (concurrently: a key derivation per Secret) and mapped, in steps."""
        path, record, source = self._fetch()
        archive.check_sidecar(path, record, source)
        manifest, members = archive.read_archive(path, source)
        self.result["archive_sha256"] = record["archive_sha256"]
        params = self.params
        namespaces = plan.check_filters(manifest, params["namespaces"], params["kinds"], self.namespace_map)
        candidates = plan.select_members(manifest, namespaces, params["kinds"], params["names"])
        encrypted = plan.needs_key(candidates)
        password = self._password(encrypted) if encrypted else None
        parsed = dict(zip([member for member, _meta in candidates],
                          pool.map(lambda pair: self._parse(pair[0], pair[1], members[pair[0]], password), candidates)))
        selected = plan.select_members(manifest, namespaces, params["kinds"], params["names"],
                                       params["label_selector"],
                                       labels_of=lambda m: (parsed[m].get("metadata") or {}).get("labels"))
        objects = [plan.map_namespace(parsed[member], self.namespace_map) for member, _meta in selected]
        return plan.steps(objects)

    def _password(self, encrypted):
        if self.params["vault_password_file"]:
            return vault.read_password_file(self.params["vault_password_file"])
        if self.params["vault_password"]:
            return self.params["vault_password"]
        raise RestoreFailed(f"The selection holds {len(encrypted)} encrypted Secret(s) ({encrypted[0]}, ...): give "
                            "vault_password_file or vault_password (or set SRE_RUNBOOKS_VAULT_PASSWORD); "
                            "nothing was applied.")

    def _parse(self, member, meta, data, password):
        if meta.get("encrypted"):
            data = vault.decrypt(data, password, f"The Secret {member} of the archive")
        try:
            obj = yaml.load(data, Loader=YAML_LOADER)  # nosec B506 - a safe loader
        except yaml.YAMLError:
            raise RestoreFailed(f"The archive member {member} is not YAML.") from None
        if meta.get("encrypted"):
            self._secret_values(obj)
        return plan.check_object(obj, meta, member)

    def _secret_values(self, obj):
        """Mask a decrypted Secret's values in everything the module returns (no_log)."""
        for field in ("data", "stringData"):
            values = obj.get(field) if isinstance(obj, dict) else None
            for value in values.values() if isinstance(values, dict) else ():
                if isinstance(value, str) and len(value) >= 4:
                    self.module.no_log_values.add(value)

    # -------------------------------------------------------------------------- API discovery

    def _discover(self, all_objects):
        """(plural, namespaced) of every apiVersion/kind to restore, from API discovery; refuse unknown kinds."""
        for group_version in sorted({obj["apiVersion"] for obj in all_objects}):
            path = "/api/" + group_version if "/" not in group_version else "/apis/" + group_version
            try:
                listing = self.api.request("GET", path)
            except KubeError as exc:
                if not exc.not_found:
                    raise
                listing = {}
            for resource in listing.get("resources") or []:
                if "/" not in resource.get("name", ""):
                    key = (group_version, resource.get("kind"))
                    self._resources[key] = (resource["name"], bool(resource.get("namespaced")))
        for obj in all_objects:
            if (obj["apiVersion"], obj["kind"]) not in self._resources:
                raise RestoreFailed(f"The cluster does not serve kind {obj['kind']} of {obj['apiVersion']} "
                                    f"(needed by {plan.object_ref(obj)}; is its CustomResourceDefinition "
                                    "installed?); nothing was applied.")

    def _path(self, obj, with_name=True):
        plural, namespaced = self._resources[(obj["apiVersion"], obj["kind"])]
        metadata = obj["metadata"]
        return plan.api_path(obj["apiVersion"], plural, metadata.get("namespace") if namespaced else None,
                             metadata["name"] if with_name else None)

    # -------------------------------------------------------------------------- what exists

    def _existing(self, all_objects, pool):
        """``{(kind, namespace, name): live object or metadata}`` from one LIST per kind and namespace."""
        targets = sorted({(obj["apiVersion"], obj["kind"], obj["metadata"].get("namespace") or "") for obj in all_objects})
        full = self.params["update"]

        def listing(target):
            api_version, kind, namespace = target
            plural, namespaced = self._resources[(api_version, kind)]
            path = plan.api_path(api_version, plural, namespace if namespaced else None)
            items = self._list(path, not full)
            return [(kind, (item.get("metadata") or {}).get("namespace") or "", (item.get("metadata") or {}).get("name"),
                     dict(item, kind=kind, apiVersion=api_version)) for item in items]

        found = {}
        for rows in pool.map(listing, targets):
            for kind, namespace, name, item in rows:
                found[(kind, namespace, name)] = item
        return found

    def _list(self, path, metadata_only):
        # Names are all a restore without update needs: PartialObjectMetadataList keeps Secret values off the wire.
        accept = METADATA_ONLY if metadata_only else "application/json"
        return (self.api.request("GET", path, accept=accept) or {}).get("items") or []

    # -------------------------------------------------------------------------- applying

    def _query(self, extra=()):
        query = [("fieldManager", FIELD_MANAGER)] + list(extra)
        if self.check_mode:
            query.append(("dryRun", "All"))
        return query

    def _apply_one(self, obj, live, new_namespaces):
        """Create, leave alone or apply one object; returns (state, ref, diff entry or None)."""
        obj_ref = plan.object_ref(obj)
        act = plan.action(live is not None, self.params["update"])
        if act == "exists":
            return "unchanged", obj_ref, None
        if act == "create":
            namespace = obj["metadata"].get("namespace")
            if not (self.check_mode and namespace in new_namespaces):
                # (a dry run in a namespace that the dry run did not really create would be refused: NotFound)
                try:
                    self.api.request("POST", self._path(obj, with_name=False), self._query(), body=obj,
                                     content_type="application/json", what=f"creating {obj_ref}")
                except KubeError as exc:
                    if exc.status != 409:
                        raise
                    return "unchanged", obj_ref, None
            return "created", obj_ref, plan.diff_entry(obj_ref, None, obj)
        dry = self.api.request("PATCH", self._path(obj), [("fieldManager", FIELD_MANAGER), ("force", "true"),
                                                          ("dryRun", "All")],
                               body=obj, content_type=APPLY_PATCH, what=f"applying {obj_ref}")
        if plan.clean(dry) == plan.clean(live):
            return "unchanged", obj_ref, None
        if not self.check_mode:
            dry = self.api.request("PATCH", self._path(obj), self._query([("force", "true")]), body=obj,
                                   content_type=APPLY_PATCH, what=f"applying {obj_ref}")
        return "updated", obj_ref, plan.diff_entry(obj_ref, live, dry)

    def _run_steps(self, steps, existing, pool):
        new_namespaces = {obj["metadata"]["name"] for obj in (steps[0] if steps else [])
                          if obj["kind"] == "Namespace" and ("Namespace", "", obj["metadata"]["name"]) not in existing}
        restored = []
        for step in steps:
            def one(obj):
                key = plan.identity(obj)
                try:
                    return obj, self._apply_one(obj, existing.get((key[0], key[1] or "", key[2])), new_namespaces), None
                except KubeError as exc:
                    return obj, None, exc
            failures = []
            for obj, outcome, error in pool.map(one, step):
                self.result["order"].append(plan.object_ref(obj))
                if error is not None:
                    failures.append((plan.object_ref(obj), error))
                    continue
                state, obj_ref, diff = outcome
                self.result[state].append(obj_ref)
                if state != "unchanged":
                    self.result["changed"] = True
                    restored.append(obj)
                    if diff is not None:
                        self.diffs.append(diff)
            if failures:
                first_ref, error = failures[0]
                more = f" (and {len(failures) - 1} more object(s) failed)" if len(failures) > 1 else ""
                raise RestoreFailed(f"Restoring {first_ref} failed: {str(error).rstrip('.')}{more}; "
                                    f"{len(self.result['created']) + len(self.result['updated'])} object(s) were "
                                    "restored before, the later steps were not run.")
        return restored

    def _wait(self, restored, pool):
        if not self.params["wait"] or self.check_mode:
            return
        timeout = self.params["wait_timeout"]

        def one(target):
            kind, namespace, name = target
            return target, RolloutWaiter(self.api, kind, namespace, name).wait(timeout)

        failures = []
        for (kind, namespace, name), outcome in pool.map(one, plan.workloads_to_wait(restored)):
            self.result["waited"].append({"object": plan.ref(kind, namespace, name), "outcome": outcome["outcome"],
                                          "elapsed": outcome["elapsed"]})
            if outcome["outcome"] != "complete":
                failures.append(failure_sentence(object_ref(kind, namespace, name), outcome, timeout))
        if failures:
            raise RestoreFailed(failures[0].rstrip(".") + (f" (and {len(failures) - 1} more)" if len(failures) > 1
                                                           else "") + ".")

    # -------------------------------------------------------------------------- the run

    def run(self):
        try:
            with ThreadPoolExecutor(max_workers=self.params["workers"]) as pool:
                steps = self._load(pool)
                all_objects = [obj for step in steps for obj in step]
                self.api = connect(self.module)
                self._discover(all_objects)
                existing = self._existing(all_objects, pool)
                deleting = plan.terminating_namespaces(all_objects, existing)
                if deleting:
                    raise RestoreFailed(f"Namespace {deleting[0]} is being deleted; wait until it is gone and "
                                        "restore again; nothing was applied.")
                restored = self._run_steps(steps, existing, pool)
                self._wait(restored, pool)
        finally:
            if self.workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)
        return self.result


def run_module(module):
    """Restore and end the task: exit_json, or fail_json with one sentence and the results so far."""
    if YAML_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    try:
        check_options(module.params)
    except InputError as exc:
        module.fail_json(msg=str(exc))
    restore = ConfigRestore(module)
    failure = None
    try:
        result = restore.run()
    except (RestoreFailed, KubeError, archive.ArchiveError, vault.VaultError, plan.PlanError, S3Error) as exc:
        failure = str(exc)
        result = restore.result
    if module._diff and restore.diffs:  # pylint: disable=protected-access
        result["diff"] = restore.diffs
    if failure:
        if not (result["created"] or result["updated"]) and "nothing was applied" not in failure:
            failure = failure.rstrip(".") + "; nothing was applied."
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)
