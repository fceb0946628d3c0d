# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_blue_green's smoke tests: HTTP requests to every Ready pod behind the preview Service, or to a URL.

A test with ``path`` goes to each pod the preview Service selects, at the pod port its Service port
targets (what kube-proxy would pick), so one bad replica cannot hide behind load balancing; that needs
the pod network (an execution environment in the cluster, or pod IPs routed to the controller). A
test with ``url`` sends one request there (a preview Ingress host, a port-forward). Requests run
concurrently, each bounded by the test's timeout; the verdicts are blue_green_plan.judge_smoke.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.sre.runbooks.plugins.module_utils._http.client import TransportError, exchange
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import blue_green_plan as plan

# Requests in flight at once.
MAX_PARALLEL = 8
# Characters of an answer's body read for body_contains.
BODY_LIMIT = 65536


def _host(ip):
    return f"[{ip}]" if ":" in ip else ip


def requests(tests, service, pods, slot_label):
    """One request per (test, pod) for path tests and per test for url tests: dicts with test, target and url."""
    selector = (service.get("spec") or {}).get("selector")
    serving = {row["name"]: row for row in plan.serving_pods(selector, pods, slot_label)}
    by_name = {(pod.get("metadata") or {}).get("name"): pod for pod in pods}
    result = []
    for test in tests:
        if test.get("url"):
            result.append({"test": test, "target": test["url"], "url": test["url"]})
            continue
        for name, row in sorted(serving.items()):
            port = plan.target_port(service, by_name[name], test.get("port"))
            result.append({"test": test, "target": f"pod {name}",
                           "url": f"http://{_host(row['ip'])}:{port}{test['path']}"})
    return result


def _send(request):
    test = request["test"]
    row = {"name": test["name"], "target": request["target"], "url": request["url"], "status": None,
           "passed": False, "message": "", "elapsed": 0.0}
    try:
        answer = exchange(test["method"], request["url"], headers=test.get("headers"), timeout=test["timeout"])
    except TransportError as exc:
        row["message"] = exc.cause
        return row
    body = (answer.body or b"")[:BODY_LIMIT].decode("utf-8", errors="replace")
    row["status"] = answer.status
    row["elapsed"] = round(answer.elapsed, 3)
    row["passed"], row["message"] = plan.judge_smoke(answer.status, body, test["status"], test.get("body_contains"))
    return row


def run(tests, service, pods, slot_label):
    """Every smoke test's answers, in request order: name, target, url, status, passed, message, elapsed."""
    todo = requests(tests, service, pods, slot_label)
    if not todo:
        return []
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(todo))) as pool:
        return list(pool.map(_send, todo))


def failure_summary(rows, limit=3):
    """``health on pod web-green-x: HTTP 500, expected 200; and 2 more`` for a message."""
    failed = [row for row in rows if not row["passed"]]
    parts = [f"{row['name']} on {row['target']}: {row['message']}" for row in failed[:limit]]
    if len(failed) > limit:
        parts.append(f"and {len(failed) - limit} more")
    return "; ".join(parts)
