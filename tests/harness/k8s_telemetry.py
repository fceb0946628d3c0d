"""Logs and resource usage for the pods of the local cluster (tests, the demo, the benchmarks).

kwok plays the kubelets, so pods have no processes: what ``kubectl logs`` and the metrics API
return is configured.

* Logs: kwok serves ``pods/log`` (with ``--since``, ``--tail``, ``--previous``) from files named
  by ``ClusterLogs`` objects. The files are in the CRI format kubelet writes
  (``<RFC3339Nano> <stdout|stderr> F <line>``); ``seed_logs`` writes them and points the pods of
  a selector at them. A ClusterLogs selector names pods, not labels, so pods created later (a
  rollout) have no logs until seeded again.
* Usage: kwok emulates a pod's CPU and memory from its annotations ``kwok.x-k8s.io/usage-cpu``
  and ``kwok.x-k8s.io/usage-memory`` (tests/k8s/telemetry/), metrics-server scrapes it every 10 s
  and serves ``metrics.k8s.io``; ``usage_annotations`` builds them for a pod template and
  ``wait_for_pod_metrics`` waits until the metrics API has figures for a selector.

Standard library only: the demo runs it outside pytest.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from tests.harness.procs import wait_for

USAGE_CPU = "kwok.x-k8s.io/usage-cpu"
USAGE_MEMORY = "kwok.x-k8s.io/usage-memory"
LOGS_NAMESPACE_LABEL = "test.sre.runbooks/logs-for-namespace"
# metrics-server needs two scrapes (10 s apart, see tests/harness/k8s.py) before a new pod has a
# CPU figure; allow for a loaded machine.
METRICS_TIMEOUT = 90.0


def cri_log(entries: list[tuple[float, str]], now: dt.datetime | None = None, stream: str = "stdout") -> str:
    """CRI log file text for ``(seconds_ago, line)`` entries, oldest first as kubelet writes them."""
    now = now or dt.datetime.now(dt.timezone.utc)
    out = []
    for seconds_ago, line in sorted(entries, key=lambda entry: -entry[0]):
        stamp = (now - dt.timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
        out.append(f"{stamp} {stream} F {line}\n")
    return "".join(out)


def usage_annotations(cpu: str, memory: str) -> dict[str, str]:
    """Pod annotations that make kwok emulate this CPU (e.g. "450m") and memory ("200Mi") use."""
    return {USAGE_CPU: cpu, USAGE_MEMORY: memory}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:200]


def seed_logs(cluster, namespace: str, selector: str, current: str, previous: str | None = None,
              containers: list[str] | None = None, name: str | None = None) -> list[str]:
    """Serve ``current`` (and ``previous``) CRI log text for the pods ``selector`` matches now.

    Writes the files under the cluster's state dir and creates (or replaces) one ClusterLogs
    object named ``name`` (default: derived from namespace and selector). Returns the pod names.
    """
    pods = json.loads(cluster.kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json").stdout)
    names = sorted(p["metadata"]["name"] for p in pods["items"])
    if not names:
        raise RuntimeError(f"no pods match {selector!r} in namespace {namespace}")
    name = name or _slug(f"logs-{namespace}-{selector}")
    folder = Path(cluster.state_dir) / "podlogs" / name
    folder.mkdir(parents=True, exist_ok=True)
    log = {"logsFile": str(folder / "current.log")}
    (folder / "current.log").write_text(current)
    if previous is not None:
        (folder / "previous.log").write_text(previous)
        log["previousLogsFile"] = str(folder / "previous.log")
    if containers:
        log["containers"] = containers
    # ClusterLogs are cluster-scoped, so deleting the namespace leaves them: the label lets
    # clear_logs() remove a namespace's objects.
    obj = {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "ClusterLogs",
           "metadata": {"name": name, "labels": {LOGS_NAMESPACE_LABEL: namespace}},
           "spec": {"selector": {"matchNamespaces": [namespace], "matchNames": names}, "logs": [log]}}
    cluster.kubectl("apply", "-f", "-", input=json.dumps(obj))
    # kwok picks the object up from a watch: wait until the first pod answers with the file's text.
    first_line = current.splitlines()[0].split(" F ", 1)[1] if current else ""
    wait_for(lambda: _serves(cluster, namespace, names[0], first_line), f"kwok to serve the logs of {names[0]}",
             timeout=30, interval=0.5)
    return names


def clear_logs(cluster, namespace: str) -> None:
    """Delete the ClusterLogs objects seed_logs() made for ``namespace`` (their files stay in the state dir)."""
    cluster.kubectl("delete", "clusterlogs", "-l", f"{LOGS_NAMESPACE_LABEL}={namespace}", "--ignore-not-found")


def _serves(cluster, namespace: str, pod: str, first_line: str) -> bool:
    result = cluster.kubectl("logs", "-n", namespace, pod, "--request-timeout=5s", check=False)
    return result.returncode == 0 and result.stdout.startswith(first_line)


def pod_metrics(cluster, namespace: str, selector: str) -> dict[str, dict]:
    """{pod: metrics.k8s.io PodMetrics} for the pods ``selector`` matches that have figures."""
    result = cluster.kubectl("get", "--raw", f"/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods"
                             f"?labelSelector={selector}", check=False)
    if result.returncode != 0:
        return {}
    return {item["metadata"]["name"]: item for item in json.loads(result.stdout).get("items", [])}


def wait_for_pod_metrics(cluster, namespace: str, selector: str, count: int,
                         timeout: float = METRICS_TIMEOUT) -> dict[str, dict]:
    """Wait until the metrics API has figures for at least ``count`` pods of ``selector``."""
    wait_for(lambda: len(pod_metrics(cluster, namespace, selector)) >= count,
             f"metrics for {count} pods of {selector} in {namespace}", timeout=timeout, interval=1.0)
    return pod_metrics(cluster, namespace, selector)
