"""An in-memory stand-in for module_utils.k8s.KubeApi: get, list, patch, delete and scripted watches.

Patches are applied the way the API server applies them (strategic merge by container name, JSON
merge, JSON patch with ``test``), the generation moves when the spec changes, and an optional
``controller`` callback plays the workload controller by rewriting status after each patch.
Integration tests run against the real control plane; this only feeds unit tests.
"""

from __future__ import annotations

import copy
import threading
import time

from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import KubeError


def _merge(target, patch, strategic):
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            if strategic and value.get("$patch") == "replace":
                target[key] = {k: v for k, v in value.items() if k != "$patch"}
            else:
                _merge(target[key], value, strategic)
        elif (strategic and isinstance(value, list) and isinstance(target.get(key), list)
              and all(isinstance(item, dict) and "name" in item for item in value + target[key])):
            by_name = {item["name"]: item for item in target[key]}
            for item in value:
                if item["name"] in by_name:
                    _merge(by_name[item["name"]], item, strategic)
                else:
                    target[key].append(copy.deepcopy(item))
        else:
            target[key] = copy.deepcopy(value)


def _walk(document, pointer):
    parts = [part.replace("~1", "/").replace("~0", "~") for part in pointer.lstrip("/").split("/")]
    parent = document
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    return parent, parts[-1]


def _json_patch(document, ops):
    for op in ops:
        parent, key = _walk(document, op["path"])
        if op["op"] == "test":
            if parent.get(key) != op["value"]:
                raise KubeError(f"the server rejected our request due to an error in our request: testing value "
                                f"{op['path']} failed", 422, "Invalid")
        elif op["op"] in ("add", "replace"):
            parent[key] = copy.deepcopy(op["value"])
        elif op["op"] == "remove":
            del parent[key]


def matches(labels, selector):
    if not selector:
        return True
    for part in selector.split(","):
        key, _sep, value = part.partition("=")
        if labels.get(key) != value:
            return False
    return True


class FakeKube:
    host = "https://fake:6443"

    def __init__(self, objects=(), controller=None):
        self.objects = {}
        self.controller = controller
        self.calls = []
        self.watch_scripts = {}
        self.resource_version = 100
        for obj in objects:
            self.add(obj)

    # ------------------------------------------------------------------ helpers for tests

    def add(self, obj):
        obj = copy.deepcopy(obj)
        metadata = obj.setdefault("metadata", {})
        metadata.setdefault("namespace", "shop")
        metadata.setdefault("resourceVersion", str(self._next_rv()))
        self.objects[(obj["kind"], metadata["namespace"], metadata["name"])] = obj
        return obj

    def _next_rv(self):
        self.resource_version += 1
        return self.resource_version

    def mutations(self):
        return [call for call in self.calls if call[0] in ("patch", "delete")]

    def script_watch(self, kind, events):
        """Events the next watch of ``kind`` yields (each a (type, obj) pair), once."""
        self.watch_scripts.setdefault(kind, []).extend(events)

    # ------------------------------------------------------------------ KubeApi

    def get(self, kind, namespace, name, subresource=None):
        self.calls.append(("get", kind, name))
        try:
            return copy.deepcopy(self.objects[(kind, namespace, name)])
        except KeyError:
            raise KubeError(f'{kind.lower()}s "{name}" not found.', 404, "NotFound") from None

    def find(self, kind, namespace, name):
        try:
            return self.get(kind, namespace, name)
        except KubeError:
            return None

    def list(self, kind, namespace=None, label_selector=None, field_selector=None):
        self.calls.append(("list", kind, label_selector))
        items = [copy.deepcopy(obj) for (k, ns, _name), obj in sorted(self.objects.items())
                 if k == kind and ns == namespace and matches(obj["metadata"].get("labels") or {}, label_selector)]
        if field_selector:
            name = field_selector.split("=", 1)[1]
            items = [item for item in items if item["metadata"]["name"] == name]
        return {"items": items, "metadata": {"resourceVersion": str(self.resource_version)}}

    def patch(self, kind, namespace, name, body, patch_type="strategic", subresource=None, dry_run=False):
        self.calls.append(("dry-run patch" if dry_run else "patch", kind, name, patch_type, copy.deepcopy(body)))
        obj = self.objects.get((kind, namespace, name))
        if obj is None:
            raise KubeError(f'{kind.lower()}s "{name}" not found.', 404, "NotFound")
        updated = copy.deepcopy(obj)
        if patch_type == "json":
            _json_patch(updated, body)
        else:
            _merge(updated, body, strategic=patch_type == "strategic")
        if updated.get("spec") != obj.get("spec"):
            updated["metadata"]["generation"] = (updated["metadata"].get("generation") or 1) + 1
        if dry_run:  # validated and returned as it would be, never stored (dryRun=All)
            return copy.deepcopy(updated)
        updated["metadata"]["resourceVersion"] = str(self._next_rv())
        if self.controller:
            self.controller(self, kind, updated)
        self.objects[(kind, namespace, name)] = updated
        return copy.deepcopy(updated)

    def delete(self, kind, namespace, name, uid=None, resource_version=None):
        self.calls.append(("delete", kind, name))
        if self.objects.pop((kind, namespace, name), None) is None:
            raise KubeError(f'{kind.lower()}s "{name}" not found.', 404, "NotFound")
        return {}

    def watch(self, kind, namespace, resource_version=None, label_selector=None, field_selector=None,
              timeout_seconds=60, on_response=None):
        self.calls.append(("watch", kind, resource_version))
        script = self.watch_scripts.pop(kind, [])
        for event in script:
            if isinstance(event, Exception):
                raise event
            kind_, obj = event
            if kind_ == "SLEEP":
                time.sleep(obj)
                continue
            yield {"type": kind_, "object": copy.deepcopy(obj)}
        # Nothing more to say: behave like a quiet watch that the server ends after a while.
        threading.Event().wait(min(timeout_seconds, 0.05))
