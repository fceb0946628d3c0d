# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The diagnostics bundle (I1): what is wrong first, and the files an SRE reads next. Pure functions.

The rows come from the health check's own judges (``_k8s/health.py``, ``pods.py``, ``nodes.py``), so
the bundle and the morning check never disagree on what a broken pod is. Added here: Services whose
selector matches no pod or that have no ready endpoint (I6), the rollout history from ReplicaSets,
``kubectl describe``-like text, and the index that ranks the findings (critical first, then the
workload whose pods crash before the pods themselves). Pod specs are copied without managedFields;
env entries from Secrets keep their reference only (the bundle never reads a Secret).
"""

from __future__ import annotations

import json

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
LOG_LINES_IN_INDEX = 5


def finding(severity, kind, name, reason, message, evidence=None):
    return {"severity": severity, "object": f"{kind}/{name}", "reason": reason, "message": message or "",
            "evidence": evidence or []}


def _labels_match(selector, labels):
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def _ready(pod):
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.get("status") or {}).get("conditions") or [])


def service_rows(services, slices, pods):
    """I6: per Service, the pods its selector matches, how many of them are ready, and what its EndpointSlices publish.

    Ready endpoints are counted from the pods, as the EndpointSlice controller counts them (matching,
    Ready, not terminating; every matching pod with publishNotReadyAddresses): the published slices
    lag behind, and a controller that cannot write them (invalid addresses) must not hide the verdict.
    """
    published = {}
    for item in slices:
        owner = ((item.get("metadata") or {}).get("labels") or {}).get("kubernetes.io/service-name")
        for endpoint in item.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready", True):
                published[owner] = published.get(owner, 0) + len(endpoint.get("addresses") or [])
    rows = []
    for service in services:
        meta, spec = service.get("metadata") or {}, service.get("spec") or {}
        selector = spec.get("selector") or {}
        matched = [p for p in pods if _labels_match(selector, (p.get("metadata") or {}).get("labels") or {})]
        ready = len(matched) if spec.get("publishNotReadyAddresses") else sum(1 for p in matched if _ready(p))
        rows.append({"name": meta.get("name"), "type": spec.get("type") or "ClusterIP", "selector": selector,
                     "ports": [{"port": port.get("port"), "target": port.get("targetPort")} for port in spec.get("ports") or []],
                     "matching_pods": len(matched), "ready_endpoints": ready,
                     "published_endpoints": published.get(meta.get("name"), 0),
                     "headless_or_external": spec.get("type") == "ExternalName" or not selector})
    return rows


def service_findings(rows):
    found = []
    for row in rows:
        if row["headless_or_external"]:
            continue
        if row["matching_pods"] == 0:
            found.append(finding("critical", "Service", row["name"], "SelectorMatchesNoPod",
                                 f"selector {json.dumps(row['selector'], sort_keys=True)} matches no pod: every request gets 503"))
        elif row["ready_endpoints"] == 0:
            found.append(finding("critical", "Service", row["name"], "NoReadyEndpoints",
                                 f"{row['matching_pods']} pods match its selector but none is a ready endpoint"))
    return found


def _backends(ingress):
    """(where, service name, port) of every backend of an Ingress: the default one and each rule path's."""
    spec = ingress.get("spec") or {}
    found = []
    default = (spec.get("defaultBackend") or {}).get("service")
    if default:
        found.append(("default backend", default.get("name"), default.get("port") or {}))
    for rule in spec.get("rules") or []:
        for path in ((rule.get("http") or {}).get("paths")) or []:
            service = (path.get("backend") or {}).get("service")
            if service:
                found.append((f"{rule.get('host') or '*'}{path.get('path') or '/'}", service.get("name"), service.get("port") or {}))
    return found


def _port_matches(service, port):
    ports = (service.get("spec") or {}).get("ports") or []
    if "number" in port:
        return any(p.get("port") == port["number"] for p in ports)
    return any(p.get("name") == port.get("name") for p in ports)


def ingress_findings(ingresses, services, rows):
    """I6: Ingress backends that point nowhere (no such Service or port), or at a Service without ready endpoints."""
    by_name = {(s.get("metadata") or {}).get("name"): s for s in services}
    ready = {row["name"]: row["ready_endpoints"] for row in rows}
    found = []
    for ingress in ingresses:
        name = (ingress.get("metadata") or {}).get("name")
        for where, service, port in _backends(ingress):
            if service not in by_name:
                found.append(finding("critical", "Ingress", name, "BackendServiceMissing",
                                     f"{where} points at Service {service}, which does not exist"))
            elif not _port_matches(by_name[service], port):
                found.append(finding("critical", "Ingress", name, "BackendPortMissing",
                                     f"{where} points at port {port.get('number', port.get('name'))} of Service {service}, "
                                     "which has no such port"))
            elif ready.get(service) == 0:
                found.append(finding("critical", "Ingress", name, "BackendWithoutEndpoints",
                                     f"{where} points at Service {service}, which has no ready endpoint"))
    return found


def rollout_history(deployment, replicasets):
    """The Deployment's revisions (newest first) from its ReplicaSets: revision, images, replicas, cause."""
    uid = (deployment.get("metadata") or {}).get("uid")
    history = []
    for rs in replicasets:
        meta = rs.get("metadata") or {}
        if not any(ref.get("uid") == uid for ref in meta.get("ownerReferences") or []):
            continue
        annotations = meta.get("annotations") or {}
        containers = (((rs.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
        history.append({"revision": int(annotations.get("deployment.kubernetes.io/revision") or 0),
                        "replicaset": meta.get("name"), "images": {c.get("name"): c.get("image") for c in containers},
                        "replicas": (rs.get("status") or {}).get("replicas") or 0,
                        "change_cause": annotations.get("kubernetes.io/change-cause") or ""})
    return sorted(history, key=lambda row: row["revision"], reverse=True)


def redact_env(containers):
    """Container env as name -> literal value, or the reference of a value from a Secret/ConfigMap/field."""
    shown = {}
    for container in containers or []:
        env = {}
        for entry in container.get("env") or []:
            source = entry.get("valueFrom")
            if source:
                kind, ref = next(iter(source.items()), ("valueFrom", {}))
                env[entry.get("name")] = f"<from {kind} {ref.get('name', '')}{'/' + ref['key'] if ref.get('key') else ''}>"
            else:
                env[entry.get("name")] = entry.get("value", "")
        for source in container.get("envFrom") or []:
            for kind in ("secretRef", "configMapRef"):
                if kind in source:
                    env[f"<all keys of {kind} {source[kind].get('name')}>"] = "<reference>"
        shown[container.get("name")] = env
    return shown


def pod_copy(pod):
    """The pod as the bundle keeps it: no managedFields, env values from Secrets as references."""
    meta = dict(pod.get("metadata") or {})
    meta.pop("managedFields", None)
    spec = dict(pod.get("spec") or {})
    for key in ("containers", "initContainers"):
        if spec.get(key):
            env = redact_env(spec[key])
            spec[key] = [dict({k: v for k, v in c.items() if k not in ("env", "envFrom")}, env=env.get(c.get("name"), {}))
                         for c in spec[key]]
    return {"metadata": meta, "spec": spec, "status": pod.get("status") or {}}


def describe(kind, obj, events, extra_lines=()):
    """A ``kubectl describe``-like text of one object: metadata, the spec's essentials, conditions, events."""
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    lines = [f"Name:         {meta.get('name')}", f"Namespace:    {meta.get('namespace')}", f"Kind:         {kind}",
             f"Created:      {meta.get('creationTimestamp')}",
             f"Labels:       {json.dumps(meta.get('labels') or {}, sort_keys=True)}"]
    template = (spec.get("template") or {}).get("spec") or (spec if kind == "Pod" else {})
    for container in template.get("containers") or []:
        resources = container.get("resources") or {}
        lines.append(f"Container {container.get('name')}: image {container.get('image')}, "
                     f"requests {json.dumps(resources.get('requests') or {})}, limits {json.dumps(resources.get('limits') or {})}")
    if kind != "Pod" and "replicas" in spec:
        lines.append(f"Replicas:     {spec.get('replicas')} desired | {status.get('updatedReplicas', 0)} updated | "
                     f"{status.get('readyReplicas', 0)} ready | {status.get('availableReplicas', 0)} available")
    if kind == "Pod":
        lines.append(f"Node:         {spec.get('nodeName')}")
        lines.append(f"Phase:        {status.get('phase')}")
        for state in status.get("containerStatuses") or []:
            lines.append(f"  {state.get('name')}: ready={state.get('ready')} restarts={state.get('restartCount')} "
                         f"state={json.dumps(state.get('state') or {}, sort_keys=True)} "
                         f"last={json.dumps(state.get('lastState') or {}, sort_keys=True)}")
    lines.extend(extra_lines)
    lines.append("Conditions:")
    for cond in status.get("conditions") or []:
        lines.append(f"  {cond.get('type')}={cond.get('status')} {cond.get('reason') or ''} {cond.get('message') or ''}".rstrip())
    lines.append("Events:")
    mine = [e for e in events if e.get("object") == f"{kind}/{meta.get('name')}"]
    lines.extend(f"  {e.get('last_seen')} {e.get('type')} {e.get('reason')} x{e.get('count')}: {e.get('message')}"
                 for e in mine) if mine else lines.append("  <none>")
    return "\n".join(lines) + "\n"


def rank(findings):
    """Critical first; within a severity, workloads before their pods, then by object name."""
    kinds = {"Deployment": 0, "StatefulSet": 0, "DaemonSet": 0, "Ingress": 1, "Service": 1, "HorizontalPodAutoscaler": 2,
             "Pod": 3, "Node": 4, "Event": 5}
    return sorted(findings, key=lambda f: (SEVERITY_ORDER.get(f["severity"], 3), kinds.get(f["object"].split("/")[0], 9),
                                           f["object"]))


def index_markdown(namespace, window, findings, counts, notes, files):
    """The bundle's index.md: the verdict and what is wrong first, then what the bundle holds."""
    worst = findings[0]["severity"] if findings else "ok"
    lines = [f"# Diagnostics of namespace {namespace}", "",
             f"Window: {window}. Verdict: **{worst.upper()}** ({len(findings)} findings).", "",
             "## What is wrong (most severe first)", ""]
    if not findings:
        lines.append("Nothing: every pod is running and ready, every workload available, every Service has endpoints.")
    for number, item in enumerate(findings, 1):
        lines.append(f"{number}. **{item['severity']}** `{item['object']}` {item['reason']}: {item['message']}")
        for evidence in item["evidence"][:LOG_LINES_IN_INDEX]:
            lines.append(f"    > {evidence}")
    lines += ["", "## Counts", ""]
    lines += [f"- {key}: {value}" for key, value in sorted(counts.items())]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in notes]
    lines += ["", "## Files", ""] + [f"- `{name}`" for name in sorted(files)]
    return "\n".join(lines) + "\n"
