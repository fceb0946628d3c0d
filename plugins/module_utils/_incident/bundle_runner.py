# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The k8s_diagnostics module's I/O: one list per kind, the logs in parallel, one .tar.gz.

Each kind of the namespace is listed once (pods, workloads, ReplicaSets, HPAs, Services,
EndpointSlices, events; the nodes; the pod metrics where the metrics API is served), then the
current and previous logs of the pods (broken ones first, at most ``max_pods``) are read by a small
thread pool. Judgments are bundle_plan's and the health check's. The archive is written to a
temporary file in ``dest`` and renamed into place; its ``manifest.json`` lists every member's sha256.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._common.intervals import IntervalError, parse_interval
from ansible_collections.sre.runbooks.plugins.module_utils._incident import bundle_plan as plan
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import health
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import K8S_COMMON_ARGS, K8S_RANGES, KubeError, connect
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.nodes import nodes_report
from ansible_collections.sre.runbooks.plugins.module_utils._s3.store import S3_COMMON_ARGS, S3_RANGES, S3Error, S3Store

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
OPTIONS = {
    "namespace": {"type": "str", "required": True},
    "workload": {"type": "dict", "options": {
        "kind": {"type": "str", "default": "Deployment", "choices": list(WORKLOAD_KINDS)},
        "name": {"type": "str", "required": True}}},
    "since": {"type": "str", "default": "1h"},
    "tail_lines": {"type": "int", "default": 200},
    "previous_logs": {"type": "bool", "default": True},
    "max_pods": {"type": "int", "default": 200},
    "log_workers": {"type": "int", "default": 8},
    "dest": {"type": "path", "required": True},
    "name": {"type": "str"},
}


def module_args():
    return {"argument_spec": merge_argspecs(K8S_COMMON_ARGS, S3_COMMON_ARGS, **OPTIONS), "supports_check_mode": True,
            "ranges": dict(K8S_RANGES, **S3_RANGES, tail_lines=(1, 100000), max_pods=(0, 10000), log_workers=(1, 32))}


class Bundle:
    """The files of one bundle in memory (name -> bytes), then packed."""

    def __init__(self):
        self.files = {}

    def add(self, name, data):
        self.files[name] = data.encode("utf-8") if isinstance(data, str) else data

    def add_json(self, name, data):
        self.add(name, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")

    def write(self, path):
        manifest = {"format": "sre.runbooks/diagnostics", "format_version": 1,
                    "files": {name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                              for name, data in sorted(self.files.items())}}
        self.add_json("manifest.json", manifest)
        handle, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=os.path.dirname(path))
        try:
            with os.fdopen(handle, "wb") as raw:
                with tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
                    for name, data in sorted(self.files.items()):
                        info = tarfile.TarInfo(name)
                        info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
                        tar.addfile(info, io.BytesIO(data))
                raw.flush()
                os.fsync(raw.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        with open(path, "rb") as handle_:
            return hashlib.sha256(handle_.read()).hexdigest()


class Collector:
    def __init__(self, module, api):
        self.module = module
        self.api = api
        self.params = module.params
        self.ns = self.params["namespace"]
        self.notes = []

    def list(self, kind, namespace=None, label_selector=None, optional=False):
        try:
            return self.api.list(kind, namespace, label_selector=label_selector)["items"]
        except KubeError as exc:
            if optional and exc.status in (403, 404, 503):
                self.notes.append(f"{kind} not read: {exc}")
                return None
            raise

    def selector(self):
        workload = self.params["workload"]
        if not workload:
            return None, None
        obj = self.api.find(workload["kind"], self.ns, workload["name"])
        if obj is None:
            self.module.fail_json(msg=f"{workload['kind']} {self.ns}/{workload['name']} does not exist.")
        labels = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        return obj, ",".join(f"{key}={value}" for key, value in sorted(labels.items()))

    def logs(self, pods, tail, since):
        """{(pod, container, previous): text or error} for the pods chosen, read in parallel."""
        reads = []
        for pod in pods:
            statuses = (pod.get("status") or {}).get("containerStatuses") or []
            for state in statuses:
                reads.append((pod["metadata"]["name"], state.get("name"), False))
                if self.params["previous_logs"] and (state.get("restartCount") or (state.get("lastState") or {}).get("terminated")):
                    reads.append((pod["metadata"]["name"], state.get("name"), True))

        def read(item):
            pod, container, previous = item
            try:
                # The previous container's log is read whole (up to tail): it ended before the window, perhaps.
                return item, self.api.log(self.ns, pod, container=container, tail_lines=tail,
                                          since_seconds=None if previous else since, previous=previous)
            except KubeError as exc:
                return item, KubeError(str(exc), exc.status)

        with ThreadPoolExecutor(max_workers=self.params["log_workers"]) as pool:
            return dict(pool.map(read, reads))


def _bundle_name(params, now):
    return params["name"] or f"diagnostics-{params['namespace']}-{now.strftime('%Y%m%dT%H%M%SZ')}"


def _check_input(module):
    params = module.params
    try:
        since = parse_interval(params["since"], "since")
    except IntervalError as exc:
        module.fail_json(msg=str(exc))
    if since <= 0:
        module.fail_json(msg="The option since must be a positive interval such as 30m or 2h.")
    if not os.path.isdir(params["dest"]):
        module.fail_json(msg=f"The folder {params['dest']} (dest) does not exist.")
    name = params["name"]
    if name is not None and (not name or "/" in name or name.startswith(".") or "\0" in name):
        module.fail_json(msg=f"The bundle name {name!r} must be a plain file name.")
    return int(since)


def collect(module, api, since):
    """Every read of the bundle, and the bundle (files) with its findings and counts."""
    params, ns = module.params, module.params["namespace"]
    collector = Collector(module, api)
    try:
        exists = api.find("Namespace", None, ns) is not None
    except KubeError as exc:
        if exc.status != 403:
            raise
        # A namespaced Role cannot read Namespace objects: the lists below tell instead.
        exists = True
        collector.notes.append(f"The namespace {ns} itself could not be read (forbidden); its objects were.")
    if not exists:
        module.fail_json(msg=f"The namespace {ns} does not exist.")
    workload, selector = collector.selector()
    now = time.time()
    thresholds = health.merge_thresholds({})
    pods = collector.list("Pod", ns, label_selector=selector)
    workloads = [(params["workload"]["kind"], workload)] if workload else [
        (kind, obj) for kind in WORKLOAD_KINDS for obj in collector.list(kind, ns)]
    replicasets = collector.list("ReplicaSet", ns)
    hpas = collector.list("HorizontalPodAutoscaler", ns)
    services = collector.list("Service", ns)
    ingresses = collector.list("Ingress", ns, optional=True) or []
    slices = collector.list("EndpointSlice", ns, optional=True) or []
    events = collector.list("Event", ns)
    nodes = collector.list("Node", optional=True)
    metrics = collector.list("PodMetrics", ns, optional=True)

    pod_rows = [health.pod_row(pod, now, thresholds) for pod in pods]
    workload_rows = [health.workload_row(kind, obj, pod_rows) for kind, obj in workloads]
    hpa_rows = [health.hpa_row(hpa) for hpa in hpas]
    service_rows = plan.service_rows(services, slices, pods)
    event_rows = [dict(health.event_row(e, now), type=e.get("type") or "Normal") for e in events]
    event_rows = [dict(row, object=f"{row['kind']}/{row['name']}") for row in event_rows
                  if row["age_seconds"] is None or row["age_seconds"] <= since]
    event_rows.sort(key=lambda row: row["last_seen"] or "")
    used_nodes = {pod.get("spec", {}).get("nodeName") for pod in pods}
    node_rows = nodes_report([n for n in nodes if n["metadata"]["name"] in used_nodes], pods, thresholds)["nodes"] \
        if nodes is not None else []

    broken_first = sorted(pods, key=lambda p: (not any(r["name"] == p["metadata"]["name"] and r["severity"]
                                                       for r in pod_rows), p["metadata"]["name"]))
    log_texts = collector.logs(broken_first[:params["max_pods"]], params["tail_lines"], since)
    if len(pods) > params["max_pods"]:
        collector.notes.append(f"logs of {params['max_pods']} of {len(pods)} pods (max_pods), the unhealthy ones first")
    if metrics is None:
        collector.notes.append("The metrics API (metrics.k8s.io) is not served: no kubectl top figures.")

    bundle = Bundle()
    findings = []
    for row in workload_rows:
        if row["severity"]:
            findings.append(plan.finding(row["severity"], row["kind"], row["name"], row["problem"], row["message"]))
    for row in pod_rows:
        if row["severity"]:
            evidence = []
            text = log_texts.get((row["name"], row["container"], True)) if row["container"] else None
            if isinstance(text, str) and text.strip():
                evidence = [f"previous log of {row['container']}: {line}" for line in text.strip().splitlines()[-plan.LOG_LINES_IN_INDEX:]]
            exit_code = f"last exit code {row['last_exit_code']}" if row["last_exit_code"] not in (None, 0) else None
            restarts = f"{row['restarts']} restarts" if row["restarts"] else None
            detail = "; ".join(str(bit) for bit in (row["message"], exit_code, restarts) if bit)
            findings.append(plan.finding(row["severity"], "Pod", row["name"], row["problem"], detail, evidence))
    findings += plan.service_findings(service_rows)
    findings += plan.ingress_findings(ingresses, services, service_rows)
    for row in hpa_rows:
        if row["severity"]:
            findings.append(plan.finding(row["severity"], "HorizontalPodAutoscaler", row["name"], row["problem"], row["message"]))
    for row in node_rows:
        if row.get("severity"):
            findings.append(plan.finding(row["severity"], "Node", row["name"], row.get("problem"), row.get("message")))
    findings = plan.rank(findings)

    bundle.add_json("pods.json", {"pods": pod_rows, "objects": [plan.pod_copy(pod) for pod in pods]})
    bundle.add_json("workloads.json", workload_rows)
    bundle.add_json("hpas.json", hpa_rows)
    bundle.add_json("services.json", service_rows)
    bundle.add_json("ingresses.json", [{"name": i["metadata"]["name"], "spec": i.get("spec") or {}} for i in ingresses])
    bundle.add_json("events.json", event_rows)
    bundle.add_json("nodes.json", node_rows)
    bundle.add_json("top.json", metrics if metrics is not None else {"available": False})
    for kind, obj in workloads:
        extra = []
        if kind == "Deployment":
            history = plan.rollout_history(obj, replicasets)
            extra = ["Rollout history:"] + [f"  revision {h['revision']} {h['replicaset']} {json.dumps(h['images'])} "
                                            f"replicas={h['replicas']} {h['change_cause']}" for h in history]
        bundle.add(f"describe/{kind}-{obj['metadata']['name']}.txt", plan.describe(kind, obj, event_rows, extra))
    for pod in pods:
        bundle.add(f"describe/Pod-{pod['metadata']['name']}.txt", plan.describe("Pod", plan.pod_copy(pod), event_rows))
    for (pod, container, previous), text in sorted(log_texts.items()):
        suffix = ".previous.log" if previous else ".log"
        bundle.add(f"logs/{pod}/{container}{suffix}", text if isinstance(text, str) else f"<not read: {text}>\n")
    counts = {"pods": len(pods), "unhealthy_pods": sum(1 for r in pod_rows if r["severity"]),
              "workloads": len(workloads), "services": len(services), "events": len(event_rows),
              "logs": sum(1 for t in log_texts.values() if isinstance(t, str))}
    window = f"the last {params['since']}"
    bundle.add_json("summary.json", {"namespace": ns, "findings": findings, "counts": counts, "notes": collector.notes})
    bundle.add("index.md", plan.index_markdown(ns, window, findings, counts, collector.notes,
                                               list(bundle.files) + ["index.md", "manifest.json"]))
    return bundle, findings, counts, collector.notes, metrics is not None


def run_module(module):
    since = _check_input(module)
    params = module.params
    api = connect(module)
    try:
        bundle, findings, counts, notes, metrics = collect(module, api, since)
    except KubeError as exc:
        module.fail_json(msg=f"The diagnostics of namespace {params['namespace']} could not be read: {exc}")
    now = datetime.datetime.now(datetime.timezone.utc)
    name = _bundle_name(params, now)
    path = os.path.join(params["dest"], name + ".tar.gz")
    try:
        digest = bundle.write(path)
    except OSError as exc:
        module.fail_json(msg=f"The bundle {path} could not be written: {exc.strerror or exc}.")
    result = {"changed": False, "archive": path, "sha256": digest, "findings": findings, "counts": counts,
              "notes": notes, "metrics_available": metrics, "files": len(bundle.files), "s3_key": None}
    if params["s3"] and not module.check_mode:
        store = S3Store(params["s3"])
        key = store.key(name + ".tar.gz")
        try:
            store.upload_file(path, key, sha256_hex=digest, content_type="application/gzip")
        except S3Error as exc:
            module.fail_json(msg=str(exc), **result)
        result["s3_key"] = key
    module.exit_json(**result)
