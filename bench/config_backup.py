"""Benchmark: configuration export and restore (B1-B3) of 50 namespaces x 100 objects against kubectl.

On a local control plane of its own, N namespaces (default 50) each get 100 objects: 40 ConfigMaps,
20 Secrets, 10 Services, 10 Deployments (replicas 0: the bench measures the objects, not kwok's
pods), 10 ServiceAccounts, 5 Roles and 5 RoleBindings. Medians over the rounds, in alternating order:

  export   ours      sre.runbooks.k8s_config_backup over the N namespaces and these kinds: cleaned
                     objects, Secrets vault-encrypted, a checksummed .tar.gz (run as Ansible runs a module)
           baseline  ``kubectl get <kinds> -A -o yaml > file``: a plain dump, neither cleaned nor encrypted
  restore  ours      sre.runbooks.k8s_config_restore of that archive into N fresh namespaces (namespace_map)
           baseline  ``kubectl apply -f dir/`` of the same cleaned objects (Secrets in clear, as kubectl
                     needs them) into N other fresh namespaces

Objects per second are reported both ways. Targets (issue 14): export within 2x of the kubectl dump;
restore at least as fast as kubectl apply (ratio <= 1). One JSON object per metric on stdout:
  {"bench": "config_backup", "metric": ..., "ours": x, "baseline": y, "unit": "s", "ratio": x/y, ...}
The cluster lives in a temporary SRE_K8S_DIR and is deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / ".collections")]

from tests.integration.module_runner import COLLECTIONS, ensure_collection_link  # noqa: E402

BENCH = "config_backup"
PER_NAMESPACE = {"ConfigMap": 40, "Secret": 20, "Service": 10, "Deployment": 10, "ServiceAccount": 10,
                 "Role": 5, "RoleBinding": 5}
KINDS = list(PER_NAMESPACE)
KUBECTL_KINDS = "configmaps,secrets,services,deployments.apps,serviceaccounts,roles,rolebindings"
PASSWORD = "bench-vault-password"
TIMEOUT = 1200


def log(message):
    print(f"[{BENCH}] {message}", file=sys.stderr, flush=True)


def emit(metric, ours, baseline, unit, rounds, **extra):
    print(json.dumps({"bench": BENCH, "metric": metric, "ours": round(ours, 4), "baseline": round(baseline, 4),
                      "unit": unit, "ratio": round(ours / baseline, 4) if baseline else None, "rounds": rounds,
                      **extra}), flush=True)


def namespace_objects(ns):
    """The 100 objects of one namespace (besides the Namespace itself)."""
    objects = []
    for index in range(PER_NAMESPACE["ConfigMap"]):
        objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{index}", "namespace": ns},
                        "data": {"settings.yaml": f"feature_{index}: true\nlimit: {index * 10}\n"}})
    for index in range(PER_NAMESPACE["Secret"]):
        objects.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"secret-{index}", "namespace": ns},
                        "type": "Opaque", "stringData": {"token": f"token-{ns}-{index}"}})
    for index in range(PER_NAMESPACE["Service"]):
        objects.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"svc-{index}", "namespace": ns},
                        # Headless: a Service IP each would fill the local cluster's service range (~250).
                        "spec": {"clusterIP": "None", "selector": {"app": f"app-{index}"},
                                 "ports": [{"port": 80, "targetPort": 8000}]}})
    for index in range(PER_NAMESPACE["Deployment"]):
        labels = {"app": f"app-{index}"}
        objects.append({"apiVersion": "apps/v1", "kind": "Deployment",
                        "metadata": {"name": f"app-{index}", "namespace": ns},
                        "spec": {"replicas": 0, "selector": {"matchLabels": labels},
                                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                                     {"name": "app", "image": f"registry.example.com/app-{index}:1.0",
                                      "envFrom": [{"configMapRef": {"name": f"cm-{index}"}}]}]}}}})
    for index in range(PER_NAMESPACE["ServiceAccount"]):
        objects.append({"apiVersion": "v1", "kind": "ServiceAccount",
                        "metadata": {"name": f"sa-{index}", "namespace": ns}})
    for index in range(PER_NAMESPACE["Role"]):
        objects.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                        "metadata": {"name": f"role-{index}", "namespace": ns},
                        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]})
    for index in range(PER_NAMESPACE["RoleBinding"]):
        objects.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                        "metadata": {"name": f"rb-{index}", "namespace": ns},
                        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"role-{index}"},
                        "subjects": [{"kind": "ServiceAccount", "name": f"sa-{index}", "namespace": ns}]})
    return objects


class Scene:
    def __init__(self, cluster, work, namespaces):
        self.cluster = cluster
        self.work = work
        self.namespaces = [f"cb-{index:03d}" for index in range(namespaces)]
        self.password_file = work / "vault-password"
        self.password_file.write_text(PASSWORD + "\n")
        self.password_file.chmod(0o600)

    def kubectl(self, *args, stdin=None):
        return subprocess.run([self.cluster.kubectl_path, "--kubeconfig", self.cluster.kubeconfig, *args],
                              input=stdin, capture_output=True, text=True, check=True, timeout=TIMEOUT).stdout

    def seed(self):
        started = time.monotonic()

        def one(ns):
            items = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}]
            self.kubectl("create", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
            self.kubectl("create", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List",
                                                               "items": namespace_objects(ns)}))

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(one, self.namespaces))
        log(f"seeded {len(self.namespaces)} namespaces x 100 objects in {time.monotonic() - started:.0f} s")

    def module(self, name, args):
        path = self.work / f"{name}-args.json"
        path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": dict(args, kubeconfig=self.cluster.kubeconfig)}))
        env = dict(os.environ, PYTHONPATH=str(COLLECTIONS))
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", f"ansible_collections.sre.runbooks.plugins.modules.{name}",
                               str(path)], capture_output=True, text=True, env=env, timeout=TIMEOUT, check=False)
        took = time.monotonic() - started
        out = proc.stdout
        try:
            result = json.loads(out[out.index("{"):])
        except ValueError:
            raise RuntimeError(f"{name} printed no result: {proc.stdout[-1000:]}{proc.stderr[-2000:]}") from None
        if result.get("failed"):
            raise RuntimeError(f"{name} failed: {result.get('msg')}")
        return took, result

    def export(self, number):
        dest = self.work / "archives"
        dest.mkdir(exist_ok=True)
        took, result = self.module("k8s_config_backup", {
            "namespaces": self.namespaces, "kinds": KINDS, "dest": str(dest), "name": f"bench-{number}",
            "vault_password_file": str(self.password_file)})
        want = len(self.namespaces) * sum(PER_NAMESPACE.values())
        exported = sum(count for kind, count in result["counts"].items() if kind in PER_NAMESPACE)
        if exported < want:
            raise RuntimeError(f"k8s_config_backup exported {exported} objects of the {want} seeded")
        return took, result

    def dump(self):
        started = time.monotonic()
        with open(self.work / "dump.yaml", "w") as out:
            subprocess.run([self.cluster.kubectl_path, "--kubeconfig", self.cluster.kubeconfig, "get", KUBECTL_KINDS,
                            "-A", "-o", "yaml"], stdout=out, check=True, timeout=TIMEOUT)
        return time.monotonic() - started

    def restore(self, archive, prefix):
        mapping = {ns: f"{prefix}-{ns}" for ns in self.namespaces}
        took, result = self.module("k8s_config_restore", {
            "src": archive, "vault_password_file": str(self.password_file), "namespace_map": mapping,
            "wait": False})
        return took, len(result["created"])

    def apply_dir(self, archive, prefix):
        """kubectl apply -f dir/ of the archive's objects, Secrets decrypted, namespaces renamed."""
        from ansible_collections.sre.runbooks.plugins.module_utils._config import vault

        folder = self.work / prefix
        folder.mkdir()
        with tarfile.open(archive) as tar:
            for info in tar:
                if not info.name.startswith("resources/"):
                    continue
                data = tar.extractfile(info).read()
                if info.name.endswith(".vault"):
                    data = vault.decrypt(data, PASSWORD)
                obj = yaml.safe_load(data)
                meta = obj["metadata"]
                if obj["kind"] == "Namespace":
                    meta["name"] = f"{prefix}-{meta['name']}"
                    target = folder / f"00-namespace-{meta['name']}.yaml"
                else:
                    meta["namespace"] = f"{prefix}-{meta['namespace']}"
                    for subject in obj.get("subjects") or []:
                        subject["namespace"] = meta["namespace"]
                    target = folder / f"10-{meta['namespace']}-{obj['kind']}-{meta['name']}.yaml"
                target.write_text(yaml.safe_dump(obj))
        files = len(list(folder.iterdir()))
        started = time.monotonic()
        self.kubectl("apply", "-f", str(folder))
        return time.monotonic() - started, files


def run(namespaces, rounds):
    from tests.harness import k8s as harness

    with tempfile.TemporaryDirectory(prefix="sre-bench-config-k8s-") as state, \
            tempfile.TemporaryDirectory(prefix="sre-bench-config-") as work:
        os.environ["SRE_K8S_DIR"] = state
        with harness.session("bench") as cluster:
            scene = Scene(cluster, Path(work), namespaces)
            scene.seed()
            objects = len(scene.namespaces) * sum(PER_NAMESPACE.values())
            export_times, dump_times, restore_times, apply_times = [], [], [], []
            archive = None
            for number in range(rounds):
                order = ["ours", "baseline"] if number % 2 == 0 else ["baseline", "ours"]
                for who in order:
                    if who == "ours":
                        took, result = scene.export(number)
                        archive = result["archive"]
                        export_times.append(took)
                    else:
                        dump_times.append(scene.dump())
            for number in range(rounds):
                order = ["ours", "baseline"] if number % 2 == 0 else ["baseline", "ours"]
                for who in order:
                    if who == "ours":
                        took, created = scene.restore(archive, f"r{number}")
                        if created < objects:
                            raise RuntimeError(f"k8s_config_restore created {created} objects, not {objects}")
                        restore_times.append(took)
                    else:
                        took, _files = scene.apply_dir(archive, f"k{number}")
                        apply_times.append(took)
    export, dump = statistics.median(export_times), statistics.median(dump_times)
    restore, apply = statistics.median(restore_times), statistics.median(apply_times)
    log(f"export {export:.2f}s ({objects / export:.0f} objects/s) vs kubectl get {dump:.2f}s; "
        f"restore {restore:.2f}s ({objects / restore:.0f} objects/s) vs kubectl apply {apply:.2f}s")
    emit("restore_vs_kubectl_apply_s", restore, apply, "s", rounds, objects=objects,
         objects_per_s={"ours": round(objects / restore), "baseline": round(objects / apply)}, target=1.0)
    emit("export_vs_kubectl_get_yaml_s", export, dump, "s", rounds, objects=objects,
         objects_per_s={"ours": round(objects / export), "baseline": round(objects / dump)}, target=2.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "3")))
    parser.add_argument("--namespaces", type=int, default=int(os.environ.get("BENCH_CONFIG_NAMESPACES", "50")))
    options = parser.parse_args()
    ensure_collection_link()
    run(options.namespaces, options.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
