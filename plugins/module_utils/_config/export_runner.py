# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_config_backup's runner (B1/B2): check the input, list, clean, encrypt Secrets, write, upload, prune.

Every kind is listed once per namespace, or once across all namespaces (filtered here) when more
than a few namespaces are asked, as the API's JSON (no model classes). A Secret's YAML exists only
in memory: the archive receives its Ansible Vault text. Everything that can refuse the run (an
unknown kind, a missing namespace, no vault key while Secrets are selected, an existing backup of
the same name) is checked before anything is written.
"""

from __future__ import annotations

import os
import traceback

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.sre.runbooks.plugins.module_utils._backup.retention import RetentionError, normalize_policy
from ansible_collections.sre.runbooks.plugins.module_utils._backup.store import utc_now, write_atomic
from ansible_collections.sre.runbooks.plugins.module_utils._common.checks import InputError, plain_text
from ansible_collections.sre.runbooks.plugins.module_utils._config import backups as bk
from ansible_collections.sre.runbooks.plugins.module_utils._config import clean
from ansible_collections.sre.runbooks.plugins.module_utils._config import vault, yaml_text
from ansible_collections.sre.runbooks.plugins.module_utils._config.archive import (
    ArchiveError,
    ArchiveWriter,
    dumps,
    member_path,
)
from ansible_collections.sre.runbooks.plugins.module_utils._config.encrypt_pool import KeyPool, threads_for
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import KubeError, connect
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.health import HealthInputError, check_namespace_name
from ansible_collections.sre.runbooks.plugins.module_utils._s3.store import S3Error, S3Store, ensure_boto3

try:
    import yaml
    try:
        from yaml import CSafeDumper as YamlDumper
    except ImportError:  # PyYAML without libyaml
        from yaml import SafeDumper as YamlDumper
    YAML_IMPORT_ERROR = None
except ImportError:
    YAML_IMPORT_ERROR = traceback.format_exc()

MAX_EXCLUDED_SHOWN = 50


class ExportFailed(Exception):
    """The task fails with this sentence."""


def default_name(now):
    return "config-" + now.strftime("%Y%m%dT%H%M%SZ")


def check_options(params, now):
    """The export's selection from the module options; InputError (one sentence) for bad input."""
    namespaces = params["namespaces"] or []
    if not namespaces:
        raise InputError("namespaces must name at least one namespace.")
    for namespace in namespaces:
        try:
            check_namespace_name(namespace)
        except HealthInputError as exc:
            raise InputError(str(exc)) from None
    try:
        clean.check_kinds(params["kinds"], params["cluster_kinds"])
        custom = [clean.check_custom_resource(entry) for entry in params["custom_resources"] or []]
    except clean.SelectionError as exc:
        raise InputError(str(exc)) from None
    name = params["name"] or default_name(now)
    if not bk.valid_name(name):
        raise InputError(f"name {name[:80]!r} cannot name a backup (letters, digits, '.', '_' and '-', "
                         "without the .tar.gz or .json suffix).")
    if params["label_selector"] is not None:
        plain_text(params["label_selector"], "label_selector")
    try:
        normalize_policy(params["retention"])
    except RetentionError as exc:
        raise InputError(str(exc)) from None
    return {"namespaces": sorted(set(namespaces)), "kinds": list(dict.fromkeys(params["kinds"])),
            "cluster_kinds": list(dict.fromkeys(params["cluster_kinds"])), "custom": list(dict.fromkeys(custom)),
            "name": name}


def vault_password(params, kinds):
    """The vault password (bytes) when Secrets are selected; InputError when it is missing, None otherwise."""
    if "Secret" not in kinds:
        return None
    if params["vault_password_file"]:
        try:
            return vault.read_password_file(params["vault_password_file"])
        except vault.VaultError as exc:
            raise InputError(str(exc)) from None
    if params["vault_password"]:
        return params["vault_password"].encode("utf-8")
    raise InputError("Secrets are selected but no vault key was given: set vault_password_file, vault_password "
                     "or SRE_RUNBOOKS_VAULT_PASSWORD (or leave Secret out of kinds); nothing was written.")


def _quoted(text):
    """A double-quoted YAML scalar by PyYAML, for the rare strings yaml_text leaves to it."""
    return yaml.dump(text, Dumper=YamlDumper, default_style='"', width=1 << 20).strip()


def to_yaml(obj):
    return yaml_text.dump(obj, _quoted).encode("utf-8")


class Exporter:
    """One export run; ``result`` holds what is known so far."""

    def __init__(self, module, api, selection, keys):
        self.module = module
        self.params = module.params
        self.api = api
        self.sel = selection
        self.keys = keys  # a KeyPool deriving the Secrets' vault keys (None in check mode)
        self.name = selection["name"]
        self.dest = self.params["dest"]
        self.archive = os.path.join(self.dest, self.name + bk.ARCHIVE_SUFFIX)
        self.sidecar_path = os.path.join(self.dest, self.name + bk.SIDECAR_SUFFIX)
        self.store = None
        self.result = {"changed": False, "name": self.name, "archive": self.archive, "sidecar": self.sidecar_path,
                       "counts": {}, "objects": 0, "sha256": None, "secrets_encrypted": 0, "s3_keys": [],
                       "pruned": [], "excluded": []}

    # -- reading ----------------------------------------------------------------------------

    def targets(self):
        """(kind, apiVersion, plural, namespaced) of every kind to list; custom resources resolved by discovery."""
        found = [(kind,) + clean.BUILTIN_KINDS[kind] for kind in self.sel["kinds"] + self.sel["cluster_kinds"]]
        for api_version, kind in self.sel["custom"]:
            try:
                discovery = self.api.get_path(f"/apis/{api_version}")
            except KubeError as exc:
                if exc.not_found:
                    raise InputError(f"custom_resources: the API server does not serve {api_version} "
                                     f"(is the CustomResourceDefinition of {kind} installed?).") from None
                raise
            try:
                plural, namespaced = clean.find_resource(discovery, api_version, kind)
            except clean.SelectionError as exc:
                raise InputError(str(exc)) from None
            found.append((kind, api_version, plural, namespaced))
        return found

    def namespace_objects(self):
        """The Namespace objects asked for; InputError names the first that does not exist."""
        wanted = self.sel["namespaces"]
        found = None
        if clean.use_cluster_wide_lists(len(wanted)):
            # One list instead of a GET per namespace, as for the other kinds; a token that may
            # only get its namespaces (403 on the list) still gets them one by one.
            try:
                found = {(item.get("metadata") or {}).get("name"): item
                         for item in self.api.list_path(clean.api_path("v1", "namespaces"))}
            except KubeError as exc:
                if exc.status != 403:
                    raise
        objects = []
        for namespace in wanted:
            obj = found.get(namespace) if found is not None else self.api.find("Namespace", None, namespace)
            if obj is None:
                raise InputError(f"The namespace {namespace} does not exist; nothing was written.")
            objects.append(obj)
        return objects

    def _list(self, api_version, plural, namespaced):
        selector = self.params["label_selector"]
        if not namespaced:
            return self.api.list_path(clean.api_path(api_version, plural), selector)
        namespaces = self.sel["namespaces"]
        if clean.use_cluster_wide_lists(len(namespaces)):
            wanted = set(namespaces)
            return [item for item in self.api.list_path(clean.api_path(api_version, plural), selector)
                    if clean.selected(item, wanted)]
        items = []
        for namespace in namespaces:
            items.extend(self.api.list_path(clean.api_path(api_version, plural, namespace), selector))
        return items

    def _choose(self, kind, api_version, items, chosen, skipped):
        """Clean ``items`` of ``kind`` into ``chosen`` ({path: entry}); the paths added."""
        added = []
        for item in items:
            meta = item.get("metadata") or {}
            reason = clean.skip_reason(item, kind)
            if reason:
                skipped.append(f"{kind} {meta.get('namespace') + '/' if meta.get('namespace') else ''}"
                               f"{meta.get('name')}: {reason}")
                continue
            namespace = meta.get("namespace") if kind != "Namespace" else None
            try:
                path = member_path(namespace, kind, meta.get("name"), encrypted=kind == "Secret")
            except ArchiveError as exc:
                raise ExportFailed(str(exc)) from None
            chosen[path] = (kind, api_version, namespace, meta.get("name"), clean.clean_object(item, kind, api_version))
            added.append(path)
        return added

    def collect(self, targets, namespaces):
        """[(member path, cleaned object)] in member order, plus the counts; skipped objects are noted.

        Secrets are read first and counted for the key pool as soon as they are cleaned, so it
        derives the keys they need (and no more) while the other kinds are read.
        """
        chosen = {}
        skipped = []
        self._choose("Namespace", "v1", namespaces, chosen, skipped)
        for kind, api_version, plural, namespaced in sorted(targets, key=lambda target: target[0] != "Secret"):
            paths = self._choose(kind, api_version, self._list(api_version, plural, namespaced), chosen, skipped)
            if kind == "Secret" and self.keys is not None:
                self.keys.expect(len(paths))
        self.result["excluded"] = skipped[:MAX_EXCLUDED_SHOWN]
        counts = {}
        for kind, *_rest in chosen.values():
            counts[kind] = counts.get(kind, 0) + 1
        self.result["counts"] = dict(sorted(counts.items()))
        self.result["objects"] = len(chosen)
        return [(path, chosen[path]) for path in sorted(chosen)]

    # -- writing ----------------------------------------------------------------------------

    def prepare_dest(self):
        if os.path.lexists(self.dest) and not os.path.isdir(self.dest):
            raise ExportFailed(f"dest {self.dest} exists and is not a directory.")
        for path in (self.archive, self.sidecar_path):
            if os.path.lexists(path):
                raise ExportFailed(f"{path} already exists; choose another name (backups are never overwritten).")

    def manifest(self, created, kinds):
        version = {}
        try:
            version = self.api.get_path("/version")
        except KubeError:
            pass  # a cluster that hides /version still gets its backup
        return {"name": self.name, "created": created, "namespaces": self.sel["namespaces"], "kinds": kinds,
                "cluster": {"server_version": version.get("gitVersion"), "server": self.api.host},
                "custom_resources": [{"api_version": av, "kind": kind} for av, kind in self.sel["custom"]],
                "label_selector": self.params["label_selector"],
                "counts": self.result["counts"], "objects": self.result["objects"]}

    def write(self, members, manifest):
        """Write the archive: the other objects first, then each Secret sealed with a vault key of its own.

        A Secret's YAML exists only in memory: the archive receives its vault text. The keys were
        being derived on the pool's threads since the module started; the Secrets come last so that
        this thread writes the other objects meanwhile. The archive's member order does not matter
        to a reader (the manifest lists them).
        """
        os.makedirs(self.dest, mode=0o700, exist_ok=True)
        writer = ArchiveWriter(self.archive)
        try:
            for path, entry in members:
                if entry[0] != "Secret":
                    self._add(writer, path, entry, to_yaml(entry[4]))
            for path, entry in members:
                if entry[0] == "Secret":
                    self._add(writer, path, entry, vault.seal(to_yaml(entry[4]), self.keys.take()))
            record = writer.commit(manifest)
        except BaseException:
            writer.abort()
            raise
        write_atomic(self.sidecar_path, dumps(record).encode("utf-8"))
        self.result.update(changed=True, sha256=record["archive_sha256"], size=record["archive_size"])
        return record

    def _add(self, writer, path, entry, data):
        kind, api_version, namespace, name, _obj = entry
        encrypted = kind == "Secret"
        writer.add(path, data, {"apiVersion": api_version, "kind": kind, "namespace": namespace,
                                "name": name, "encrypted": encrypted})
        self.result["secrets_encrypted"] += int(encrypted)

    def upload(self, record):
        keys = []
        archive_key = self.store.key(self.name + bk.ARCHIVE_SUFFIX)
        self.store.upload_file(self.archive, archive_key, sha256_hex=record["archive_sha256"],
                               content_type="application/gzip")
        keys.append(archive_key)
        sidecar_key = self.store.key(self.name + bk.SIDECAR_SUFFIX)
        # The sidecar goes last: a listed sidecar always has its archive beside it.
        self.store.put_bytes(dumps(record).encode("utf-8"), sidecar_key)
        keys.append(sidecar_key)
        self.result["s3_keys"] = keys

    # -- retention --------------------------------------------------------------------------

    def prune(self, created, apply):
        policy = self.params["retention"]
        if not normalize_policy(policy):
            return []
        namespaces = self.sel["namespaces"]
        current = {"name": self.name, "created": created, "namespaces": namespaces}
        local = [r for r in bk.scan_folder(self.dest) if r["name"] != self.name] + [current]
        pruned = []
        for choice in bk.choose_prunable(local, namespaces, policy, protect=[self.name]):
            if apply:
                bk.remove_from_folder(self.dest, choice["name"])
            pruned.append(dict(choice, where="local"))
        if self.store is not None:
            remote = [r for r in bk.scan_store(self.store) if r["name"] != self.name] + [current]
            for choice in bk.choose_prunable(remote, namespaces, policy, protect=[self.name]):
                if apply:
                    bk.remove_from_store(self.store, choice["name"])
                pruned.append(dict(choice, where="s3"))
        return pruned

    def run(self):
        created = utc_now().strftime("%Y-%m-%dT%H:%M:%SZ")
        targets = self.targets()
        namespaces = self.namespace_objects()
        self.prepare_dest()
        if self.params["s3"]:
            self.store = S3Store(self.params["s3"])
        kinds = ["Namespace"] + [target[0] for target in targets]
        check = self.module.check_mode
        members = self.collect(targets, namespaces)
        local_before = sorted(r["name"] for r in bk.scan_folder(self.dest)
                              if bk.same_set(r, self.sel["namespaces"]))
        if not check:
            record = self.write(members, self.manifest(created, kinds))
            if self.store is not None:
                self.upload(record)
        else:
            self.result["secrets_encrypted"] = self.result["counts"].get("Secret", 0)
        pruned = self.prune(created, apply=not check)
        self.result["pruned"] = pruned
        gone = {p["name"] for p in pruned if p["where"] == "local"}
        after = sorted(n for n in local_before + [self.name] if n not in gone)
        self.result["diff"] = {"before": {"backups": local_before}, "after": {"backups": after}}
        return self.result


def run_module(module):
    if YAML_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    params = module.params
    try:
        selection = check_options(params, utc_now())
        password = vault_password(params, selection["kinds"])
    except InputError as exc:
        module.fail_json(msg=str(exc))
    if params["s3"]:
        ensure_boto3(module)
    # Key derivation starts before the kubernetes library is even imported: it needs only the password.
    keys = None if module.check_mode or password is None else KeyPool(password, threads_for(os.cpu_count()))
    try:
        exporter = Exporter(module, connect(module), selection, keys)
        try:
            result = exporter.run()
        except (InputError, ExportFailed, KubeError, S3Error, ArchiveError, vault.VaultError, RetentionError) as exc:
            module.fail_json(msg=str(exc), **exporter.result)
        except OSError as exc:
            where = exc.filename or params["dest"]
            module.fail_json(msg=f"Writing the backup in {where} failed: {exc.strerror or exc}.", **exporter.result)
    finally:
        if keys is not None:
            keys.close()
    module.exit_json(**result)
