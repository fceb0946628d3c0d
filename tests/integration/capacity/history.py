"""Generated container CPU and memory history with exactly known percentiles, maxima and means.

Namespace ``ns`` runs Deployment ``web`` (containers ``app`` and ``sidecar``), whose pods were replaced
halfway through the window (an old ReplicaSet's pod, then two new ones), Deployment ``web-api`` (a
decoy whose pod names start with ``web-``), StatefulSet ``db`` and Deployment ``idle`` (no history at
all). Another namespace holds a pod named like web's with a huge usage, and cAdvisor's pod-level
(``container=""``) and pause-container (``container="POD"``) series are there too: a query that ignored
the namespace or the container filters would be visibly wrong.

CPU usage rates are constant within 5-minute segments that end exactly on the evaluation times of a
query_range with ``step=5m`` ending at ``end``, and counters are sampled every 30 s on the same grid, so
``rate(...[2m])`` at each step is exactly that segment's rate (no extrapolation error). Memory is sampled
15 s off the grid, so no sample sits on a window edge whatever range semantics the server has.
:class:`Expected` answers from these definitions alone, independently of Prometheus and of the collection.
"""

from __future__ import annotations

import io
import math
import statistics
import time

STEP = 300
SCRAPE = 30
RATE_WINDOW = 120
WINDOW = 12 * 3600
LEAD = 2 * 3600  # history before the window, so the first step has a full segment behind it
MIB = 2 ** 20
POINTS = WINDOW // STEP + 1
OLD_HASH, NEW_HASH = "6d4cf56db6", "7f9b8c6d5f"


def _app_b(i):
    return 0.150 + 0.0007 * ((i * 37) % 100)


def _app_c(i):
    return 0.5 * _app_b(i) + 0.010


def _app_a(i):
    return 0.120 + 0.0009 * ((i * 53) % 89)


def _sidecar(i):
    return 0.002 + 0.0001 * (i % 7)


class Pod:
    """A pod's containers, its lifetime (start, stop] in seconds before ``end``, and its usage functions.

    ``cpu[container](i)`` is the rate (cores) of the segment ending i steps before ``end``;
    ``memory[container](ago)`` the working set (bytes) sampled ``ago`` seconds before ``end``.
    """

    def __init__(self, namespace, name, cpu, memory, born=WINDOW + LEAD, died=0):
        self.namespace, self.name, self.cpu, self.memory = namespace, name, cpu, memory
        self.workload = name.rsplit("-", 2)[0] if name.count("-") >= 2 else name.rsplit("-", 1)[0]
        self.born, self.died = born, died

    def alive_at_step(self, i):
        """Whether the pod has samples for step i (i steps of 5 minutes before end): born < t <= died."""
        ago = i * STEP
        return self.died <= ago < self.born


def pods(ns, other_ns):
    """Every pod of the history (see the module docstring)."""
    half = WINDOW // 2

    def web_memory(base, spike_ago=None, spike=0):
        def value(ago):
            if spike_ago is not None and ago == spike_ago:
                return spike
            return base + ((ago // SCRAPE) % 7) * MIB
        return value

    sidecar_memory = web_memory(20 * MIB)
    return [
        # web: the old ReplicaSet's pod until the middle of the window, with a memory peak before the window.
        Pod(ns, f"web-{OLD_HASH}-aaaaa", {"app": _app_a, "sidecar": _sidecar},
            {"app": web_memory(160 * MIB, WINDOW + 3600 + 15, 900 * MIB), "sidecar": sidecar_memory}, died=half),
        # then two pods of the new one; b has the highest CPU percentile and the memory peak inside the window.
        Pod(ns, f"web-{NEW_HASH}-bbbbb", {"app": _app_b, "sidecar": _sidecar},
            {"app": web_memory(150 * MIB, 3 * 3600 + 15, 200 * MIB + 12345), "sidecar": sidecar_memory}, born=half),
        Pod(ns, f"web-{NEW_HASH}-ccccc", {"app": _app_c, "sidecar": _sidecar},
            {"app": web_memory(140 * MIB), "sidecar": sidecar_memory}, born=half),
        Pod(ns, "web-api-5c7d8f9b6c-ddddd", {"api": lambda i: 2.0}, {"api": lambda ago: 2048 * MIB}),
        Pod(ns, "db-0", {"postgres": lambda i: 0.300 + 0.001 * (i % 50)}, {"postgres": web_memory(400 * MIB)}),
        Pod(ns, "db-1", {"postgres": lambda i: 0.100 + 0.001 * (i % 30)}, {"postgres": web_memory(300 * MIB)}),
        Pod(other_ns, f"web-{NEW_HASH}-eeeee", {"app": lambda i: 3.0}, {"app": lambda ago: 3072 * MIB}),
    ]


def openmetrics(ns, other_ns, end):
    """The history as OpenMetrics text for promtool (ends with '# EOF')."""
    cpu_lines, memory_lines = [], []
    for pod in pods(ns, other_ns):
        containers = [(name, pod.cpu[name], pod.memory[name]) for name in pod.cpu]
        # cAdvisor also reports the pause container and the whole pod (container=""): never a container's usage.
        containers += [("POD", lambda i: 5.0, lambda ago: 4096 * MIB), ("", lambda i: 9.0, lambda ago: 8192 * MIB)]
        for container, cpu, memory in containers:
            labels = f'container="{container}",job="kubelet",namespace="{pod.namespace}",pod="{pod.name}"'
            counter = 1000.0
            for ago in range(pod.born, pod.died - 1, -SCRAPE):
                if ago < pod.born:  # the 30 s up to this sample lie in the segment ago // STEP steps before end
                    counter += SCRAPE * cpu(ago // STEP)
                cpu_lines.append(f"container_cpu_usage_seconds_total{{{labels}}} {counter:.6f} {end - ago}\n")
            for ago in range(pod.born - SCRAPE + 15, pod.died, -SCRAPE):
                memory_lines.append(f"container_memory_working_set_bytes{{{labels}}} {memory(ago)} {end - ago}\n")
    out = io.StringIO()
    out.write("# HELP container_cpu_usage_seconds Cumulative cpu time consumed in seconds.\n"
              "# TYPE container_cpu_usage_seconds counter\n")
    out.writelines(cpu_lines)
    out.write("# HELP container_memory_working_set_bytes Current working set in bytes.\n"
              "# TYPE container_memory_working_set_bytes gauge\n")
    out.writelines(memory_lines)
    out.write("# EOF\n")
    return out.getvalue()


def scenario_history():
    """(OpenMetrics, environment) for molecule/capacity: its namespace's history, ending at SRE_CAPACITY_HISTORY_END."""
    end = int(time.time()) // STEP * STEP - 2 * STEP
    return openmetrics("molecule-capacity", "molecule-capacity-other", end), {"SRE_CAPACITY_HISTORY_END": str(end)}


def p(values, percent):
    """The percentile by linear interpolation between ranks (R's type 7), via the standard library."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


class Expected:
    """The analytic answers for one workload container over the window ending at ``end``."""

    def __init__(self, ns, other_ns):
        self.pods = [pod for pod in pods(ns, other_ns) if pod.namespace == ns]

    def _pods(self, workload):
        return [pod for pod in self.pods if pod.workload == workload]

    def cpu_by_pod(self, workload, container):
        """{pod: [rate at each step the pod is alive]} (steps POINTS-1 .. 0, oldest first)."""
        return {pod.name: [pod.cpu[container](i) for i in range(POINTS - 1, -1, -1) if pod.alive_at_step(i)]
                for pod in self._pods(workload) if container in pod.cpu}

    def memory_samples(self, pod, container):
        """(seconds before end, bytes) of every memory sample of the pod inside the window."""
        return [(ago, pod.memory[container](ago)) for ago in range(pod.born - SCRAPE + 15, pod.died, -SCRAPE)
                if ago <= WINDOW + STEP]

    def cpu_percentile(self, workload, container, percent=95):
        return max(p(values, percent) for values in self.cpu_by_pod(workload, container).values() if values)

    def memory_max(self, workload, container):
        return max(value for pod in self._pods(workload) for _ago, value in self.memory_samples(pod, container))

    def load(self, workload, container):
        """Total CPU of the container over the pods at each step where any pod is alive."""
        totals = {}
        for pod in self._pods(workload):
            for i in range(POINTS):
                if pod.alive_at_step(i):
                    totals[i] = totals.get(i, 0.0) + pod.cpu[container](i)
        return list(totals.values())

    def replicas(self, workload, container, request_cores, growth, target=0.70, percent=95):
        load = p(self.load(workload, container), percent)
        return math.ceil(round(load * (1 + growth / 100) / (request_cores * target), 9))

    def used(self, workload):
        """Mean over the steps of the workload's total CPU, and of its total memory (each step's highest sample)."""
        cpu, memory = {}, {}
        for pod in self._pods(workload):
            for container in pod.cpu:
                for i in range(POINTS):
                    if not pod.alive_at_step(i):
                        continue
                    cpu[i] = cpu.get(i, 0.0) + pod.cpu[container](i)
                    window = [value for ago, value in self.memory_samples(pod, container) if i * STEP <= ago <= i * STEP + STEP]
                    memory[i] = memory.get(i, 0.0) + max(window)
        return {"cpu_cores": sum(cpu.values()) / len(cpu), "memory_bytes": sum(memory.values()) / len(memory)}
