"""Benchmark: how soon k8s_rollout's wait returns, against `kubectl rollout status` and kubernetes.core.

On the local control plane (real kube-apiserver and deployment controller, kwok kubelets) a
Deployment of 3 replicas is rolled to a new image again and again. Its pods carry kwok's readiness
delay annotation, so every rollout takes a known time (--delay, default 5 s, plus 0..5 s varying
from rollout to rollout, so that a poller's period does not line up with completion the same way
every time) and each waiter is already waiting when it completes. The bench watches the Deployment
itself and records the moment the API first shows the rollout complete (the rules of kubectl's
status viewer); each waiter's score is the time from that moment to its process exiting.
Variants, interleaved with the order rotating every round, medians over the rounds:

  ours          k8s_rollout action=status, run as Ansible runs a module (python + args file)
  kubectl       `kubectl rollout status deployment/web` (the runbooks' step)
  ours_ansible  the same k8s_rollout task through ansible-playbook (what an operator runs)
  core_ansible  kubernetes.core.k8s_info wait=true (the anchor; polls every wait_sleep=5 s)

A second measurement rolls a Deployment to a crash-looping image and times how long each waiter
takes to report the failure (progressDeadlineSeconds=10): k8s_rollout fails on the pods' state,
`kubectl rollout status` only once the controller declares ProgressDeadlineExceeded.

One JSON object per metric on stdout; the headline (completion -> return, ours vs kubectl) is last:
  {"bench": "k8s_rollout_wait", "metric": ..., "ours": x, "baseline": y, "unit": "s", "ratio": x/y, "rounds": n}
Uses the running cluster, or starts one through tests.harness.k8s and stops it afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / ".collections")]

from kubernetes import client as k8s  # noqa: E402
from kubernetes import config as k8s_config  # noqa: E402
from kubernetes import watch as k8s_watch  # noqa: E402

from tests.harness import k8s as harness  # noqa: E402
from tests.integration.module_runner import COLLECTIONS, ensure_collection_link, run_module  # noqa: E402

BENCH = "k8s_rollout_wait"
DELAY_ANNOTATION = "pod-ready.stage.kwok.x-k8s.io/delay"
TIMEOUT = 180


def log(message):
    print(f"[{BENCH}] {message}", file=sys.stderr, flush=True)


def emit(metric, ours, baseline, unit, rounds):
    print(json.dumps({"bench": BENCH, "metric": metric, "ours": round(ours, 4), "baseline": round(baseline, 4),
                      "unit": unit, "ratio": round(ours / baseline, 4) if baseline else None, "rounds": rounds}),
          flush=True)


def complete(dep: dict) -> bool:
    """kubectl's DeploymentStatusViewer, on the raw object: the rollout of the current generation is done."""
    spec, status, meta = dep.get("spec", {}), dep.get("status", {}), dep.get("metadata", {})
    want = spec.get("replicas", 1)
    updated = status.get("updatedReplicas", 0)
    return (status.get("observedGeneration", 0) >= meta.get("generation", 0)
            and updated >= want and status.get("replicas", 0) <= updated
            and status.get("availableReplicas", 0) >= updated)


class CompletionObserver:
    """Watches one Deployment; records when each generation was first seen complete (monotonic clock)."""

    def __init__(self, apps, namespace, name):
        self.apps, self.namespace, self.name = apps, namespace, name
        self.completed = {}
        self.condition = threading.Condition()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            stream = k8s_watch.Watch().stream(
                self.apps.list_namespaced_deployment, self.namespace, field_selector=f"metadata.name={self.name}",
                timeout_seconds=30, deserialize=False)
            for event in stream:
                obj = event["object"]
                if complete(obj):
                    generation = obj["metadata"]["generation"]
                    with self.condition:
                        self.completed.setdefault(generation, time.monotonic())
                        self.condition.notify_all()
                if self.stop.is_set():
                    return

    def wait_for(self, generation, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.condition:
            while generation not in self.completed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RuntimeError(f"generation {generation} of {self.name} never completed")
                self.condition.wait(remaining)
            return self.completed[generation]


class Bench:
    def __init__(self, cluster, delay):
        self.cluster = cluster
        self.delay = delay
        configuration = k8s.Configuration()
        k8s_config.load_kube_config(config_file=cluster.kubeconfig, client_configuration=configuration)
        self.api = k8s.ApiClient(configuration)
        self.apps = k8s.AppsV1Api(self.api)
        self.core = k8s.CoreV1Api(self.api)
        self.namespace = f"bench-rollout-{uuid.uuid4().hex[:6]}"
        self.counter = 0
        self.crash_observer = None
        self.tmp = Path(tempfile.mkdtemp(prefix="sre-bench-k8s-"))

    # ------------------------------------------------------------------ setup

    def create(self, name, annotations, progress_deadline=None):
        labels = {"app": name}
        spec = {"replicas": 3, "selector": {"matchLabels": labels},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "100%", "maxUnavailable": 0}},
                "template": {"metadata": {"labels": labels, "annotations": annotations},
                             "spec": {"containers": [{"name": "app", "image": f"{name}:0"}]}}}
        if progress_deadline:
            spec["progressDeadlineSeconds"] = progress_deadline
        self.apps.create_namespaced_deployment(self.namespace, {"metadata": {"name": name}, "spec": spec})

    def roll(self, name, image):
        """Patch the pod template (new image and a fresh marker, so it is always a new revision); new generation.

        For ``web`` the readiness delay varies from roll to roll (delay + 0..5 s in 0.7 s steps), so the
        moment of completion falls at every phase of a poller's 5 s period instead of always the same one.
        """
        self.counter += 1
        annotations = {"bench/round": str(self.counter)}
        if name == "web":
            annotations[DELAY_ANNOTATION] = f"{self.delay + (self.counter * 0.7) % 5.0:.1f}s"
        body = {"spec": {"template": {"metadata": {"annotations": annotations},
                                      "spec": {"containers": [{"name": "app", "image": image}]}}}}
        return self.apps.patch_namespaced_deployment(name, self.namespace, body).metadata.generation

    # ------------------------------------------------------------------ waiters

    def module_args(self, name, **extra):
        return {"action": "status", "name": name, "namespace": self.namespace, "wait_timeout": TIMEOUT, **extra}

    def run_ours_direct(self, name):
        """The module as Ansible executes it on the target: the interpreter, the module, an args file."""
        args_file = self.tmp / "args.json"
        args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": self.module_args(name)}))
        env = dict(os.environ, PYTHONPATH=str(COLLECTIONS))
        proc = subprocess.run([sys.executable, "-m", "ansible_collections.sre.runbooks.plugins.modules.k8s_rollout",
                               str(args_file)], env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)
        end = time.monotonic()
        result = json.loads(proc.stdout[proc.stdout.index("{"):])
        return end, result

    def run_ours_ansible(self, name):
        result = run_module("sre.runbooks.k8s_rollout", self.module_args(name), timeout=TIMEOUT)
        return time.monotonic(), dict(result)

    def run_kubectl(self, name):
        proc = subprocess.run([self.cluster.kubectl_path, "--kubeconfig", self.cluster.kubeconfig, "rollout", "status",
                               f"deployment/{name}", "-n", self.namespace, f"--timeout={TIMEOUT}s"],
                              capture_output=True, text=True, timeout=TIMEOUT + 10, check=False)
        end = time.monotonic()
        return end, {"failed": proc.returncode != 0, "msg": (proc.stderr or proc.stdout).strip()}

    def run_core_ansible(self, name):
        result = run_module("kubernetes.core.k8s_info", {
            "kind": "Deployment", "name": name, "namespace": self.namespace, "wait": True,
            "wait_timeout": TIMEOUT}, timeout=TIMEOUT + 10)
        return time.monotonic(), dict(result)

    # ------------------------------------------------------------------ measurements

    def completion_latency(self, observer, variant, runner):
        generation = self.roll("web", f"web:{self.counter + 1}")
        started = time.monotonic()
        end, result = runner("web")
        if result.get("failed"):
            raise RuntimeError(f"{variant} failed: {result.get('msg')}")
        completed = observer.wait_for(generation)
        if variant.startswith("ours"):
            waited = result["rollouts"][0]["wait"]
            if not waited["waited"] or waited["elapsed"] < 0.5:
                raise RuntimeError(f"{variant} started after the rollout completed (raise --delay)")
        if completed < started:
            raise RuntimeError(f"{variant}: the rollout completed before the waiter was started")
        return end - completed, completed - started

    def failure_detection(self, variant, runner):
        self.roll("crash", "crash:crashloop")
        started = time.monotonic()
        end, result = runner("crash")
        if not result.get("failed"):
            raise RuntimeError(f"{variant} reported success for a crash-looping rollout")
        took = end - started
        # Back to a healthy revision before the next round (not measured).
        healthy = self.roll("crash", f"crash:{self.counter + 1}")
        self.crash_observer.wait_for(healthy)
        return took

    def run(self, rounds):
        self.core.create_namespace({"metadata": {"name": self.namespace}})
        try:
            self.create("web", {DELAY_ANNOTATION: f"{self.delay}s"})
            self.create("crash", {}, progress_deadline=10)
            observer = CompletionObserver(self.apps, self.namespace, "web")
            self.crash_observer = CompletionObserver(self.apps, self.namespace, "crash")
            observer.wait_for(1)
            self.crash_observer.wait_for(1)

            failure = {"ours_ansible": [], "kubectl": []}
            fail_runners = {"ours_ansible": self.run_ours_ansible, "kubectl": self.run_kubectl}
            fail_rounds = max(2, rounds - 1)
            for number in range(fail_rounds):
                order = list(fail_runners) if number % 2 == 0 else list(reversed(fail_runners))
                for variant in order:
                    failure[variant].append(self.failure_detection(variant, fail_runners[variant]))
                log(f"failure round {number + 1}/{fail_rounds}: "
                    + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in failure.items()))

            runners = {"ours": self.run_ours_direct, "kubectl": self.run_kubectl,
                       "ours_ansible": self.run_ours_ansible, "core_ansible": self.run_core_ansible}
            latency = {name: [] for name in runners}
            for number in range(rounds):
                names = list(runners)
                order = names[number % len(names):] + names[:number % len(names)]
                for variant in order:
                    after, rollout_time = self.completion_latency(observer, variant, runners[variant])
                    latency[variant].append(after)
                log(f"round {number + 1}/{rounds} (last rollout {rollout_time:.1f}s): "
                    + ", ".join(f"{k} +{v[-1]:.3f}s" for k, v in latency.items()))
            observer.stop.set()
            self.crash_observer.stop.set()

            med = {name: statistics.median(values) for name, values in latency.items()}
            emit("failure_reported_after_change_s", statistics.median(failure["ours_ansible"]),
                 statistics.median(failure["kubectl"]), "s", fail_rounds)
            emit("complete_to_return_ansible_vs_kubernetes_core_s", med["ours_ansible"], med["core_ansible"], "s", rounds)
            emit("complete_to_return_ansible_vs_kubectl_s", med["ours_ansible"], med["kubectl"], "s", rounds)
            emit("complete_to_return_s", med["ours"], med["kubectl"], "s", rounds)
        finally:
            self.core.delete_namespace(self.namespace)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "5")))
    parser.add_argument("--delay", type=int, default=int(os.environ.get("BENCH_K8S_READY_DELAY", "5")),
                        help="least seconds kwok keeps each new pod unready (a rollout takes this plus 0..5 s)")
    options = parser.parse_args()
    ensure_collection_link()
    with harness.session("bench") as cluster:
        os.environ.update(cluster.env)
        Bench(cluster, options.delay).run(options.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
