"""k8s_config_backup (B1/B2) against the real control plane and the real (moto) S3 server.

One namespace is seeded with every default kind plus a custom resource (a CRD made here); the
module exports it through ansible-playbook, with check mode first and the bad inputs in the same
run. The assertions open the archive the module wrote: every object is there, cleaned, Secrets are
Ansible Vault text that ``ansible-vault view`` opens, and the Secret's value is nowhere in clear.
Retention runs on a second folder and prefix seeded with older backups and unrelated files.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest

kubernetes = pytest.importorskip("kubernetes")
boto3 = pytest.importorskip("boto3")
yaml = pytest.importorskip("yaml")
from botocore.config import Config  # noqa: E402

from tests.integration.module_batch import run_module_batch  # noqa: E402
from tests.integration.waiting import wait_until  # noqa: E402

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_config_backup"
SECRET_VALUE = "Zq-clear-" + uuid.uuid4().hex
PASSWORD = "vault-" + uuid.uuid4().hex[:12]
EXPLICIT_NODE_PORT = 30000 + uuid.uuid4().int % 2700  # a free port of the default range, per run
CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""
TEMPLATE = """
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app, image: "app:1"}]}
"""
SEED = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template: {TEMPLATE}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db}}
spec:
  serviceName: db
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template: {TEMPLATE}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: agent}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template: {TEMPLATE}
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec: {{selector: {{app: web}}, ports: [{{port: 80}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: edge}}
spec:
  type: NodePort
  selector: {{app: web}}
  ports:
    - {{name: fixed, port: 80, nodePort: {EXPLICIT_NODE_PORT}}}
    - {{name: allocated, port: 443}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: web}}
spec:
  rules:
    - host: web.example.com
      http: {{paths: [{{path: /, pathType: Prefix, backend: {{service: {{name: web, port: {{number: 80}}}}}}}}]}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: app-config, labels: {{tier: web}}}}
data: {{mode: production}}
---
apiVersion: v1
kind: Secret
metadata: {{name: db-credentials}}
stringData: {{password: {SECRET_VALUE}}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: web}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: web}}
  minReplicas: 1
  maxReplicas: 3
  metrics: [{{type: Resource, resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 80}}}}}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: web}}
spec: {{minAvailable: 1, selector: {{matchLabels: {{app: web}}}}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: deny-all}}
spec: {{podSelector: {{}}, policyTypes: [Ingress]}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: app}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: reader}}
rules: [{{apiGroups: [""], resources: [configmaps], verbs: [get, list]}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: reader}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}}
subjects: [{{kind: ServiceAccount, name: app}}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {{name: nightly}}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec: {{restartPolicy: Never, containers: [{{name: job, image: "job:1"}}]}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: data}}
spec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 1Gi}}}}}}
---
apiVersion: example.com/v1
kind: Widget
metadata: {{name: gizmo}}
spec: {{size: 3}}
"""
EXPECTED = {("Deployment", "web"), ("StatefulSet", "db"), ("DaemonSet", "agent"), ("Service", "web"),
            ("Service", "edge"), ("Ingress", "web"), ("ConfigMap", "app-config"), ("Secret", "db-credentials"),
            ("HorizontalPodAutoscaler", "web"), ("PodDisruptionBudget", "web"), ("NetworkPolicy", "deny-all"),
            ("ServiceAccount", "app"), ("Role", "reader"), ("RoleBinding", "reader"), ("CronJob", "nightly"),
            ("PersistentVolumeClaim", "data"), ("Widget", "gizmo")}
SERVER_FIELDS = ("uid", "resourceVersion", "managedFields", "creationTimestamp", "generation", "selfLink",
                 "ownerReferences")


def clear_forms(value=SECRET_VALUE):
    """The Secret's value as it could leak: in clear and base64-encoded (the API's data form)."""
    return [value.encode(), base64.b64encode(value.encode())]


def load_archive(path):
    with tarfile.open(path, "r:gz") as tar:
        return {info.name: tar.extractfile(info).read() for info in tar}


@pytest.fixture(scope="module")
def cluster_ns(k8s_cluster):
    namespace = f"cfg-{uuid.uuid4().hex[:8]}"
    k8s_cluster.kubectl("apply", "-f", "-", input=CRD)
    k8s_cluster.kubectl("wait", "--for", "condition=Established", "crd/widgets.example.com", "--timeout", "60s")
    k8s_cluster.kubectl("create", "namespace", namespace)
    k8s_cluster.kubectl("apply", "-n", namespace, "-f", "-", input=SEED)
    # What the cluster adds on its own, and must not be exported: the root CA ConfigMap, the
    # default ServiceAccount and the Deployment's ReplicaSet.
    wait_until(lambda: k8s_cluster.kubectl("get", "-n", namespace, "configmap/kube-root-ca.crt", "serviceaccount/default",
                                           check=False).returncode == 0, "the namespace's root CA and default account")

    def replica_sets():
        return k8s_cluster.kubectl("get", "-n", namespace, "replicasets", "-o", "name").stdout.strip()

    wait_until(replica_sets, "the Deployment's ReplicaSet")
    yield namespace
    k8s_cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


@pytest.fixture(scope="module")
def bucket(services):
    info = services["s3"]
    client = boto3.client("s3", endpoint_url=info["endpoint_url"], region_name=info["region"],
                          aws_access_key_id=info["access_key"], aws_secret_access_key=info["secret_key"],
                          config=Config(s3={"addressing_style": "path"}))
    name = f"cfg-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=name)
    s3_args = {"bucket": name, "endpoint_url": info["endpoint_url"], "access_key": info["access_key"],
               "secret_key": info["secret_key"], "region": info["region"]}
    yield {"client": client, "name": name, "args": s3_args}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
        for item in page.get("Contents") or []:
            client.delete_object(Bucket=name, Key=item["Key"])
    client.delete_bucket(Bucket=name)


def keys(bucket, prefix):
    pages = bucket["client"].get_paginator("list_objects_v2").paginate(Bucket=bucket["name"], Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents") or [])


@pytest.fixture(scope="module")
def run(cluster_ns, bucket, tmp_path_factory):
    """One ansible-playbook run: check mode, the real export to a folder and S3, then the bad inputs."""
    root = tmp_path_factory.mktemp("config-backup")
    password_file = root / "vault-password"
    password_file.write_text(PASSWORD + "\n")
    dest, refused = root / "dest", root / "refused"
    base = {"namespaces": [cluster_ns], "dest": str(dest), "custom_resources": [{"api_version": "example.com/v1", "kind": "Widget"}]}
    calls = [
        {"args": dict(base, name="check-run", vault_password_file=str(password_file)), "check": True},
        {"args": dict(base, name="b-1", vault_password_file=str(password_file), s3=dict(bucket["args"], prefix="cfg/")),
         "diff": True},
        {"args": dict(base, dest=str(refused))},
        {"args": dict(base, dest=str(refused), vault_password=PASSWORD, kinds=["Deployment", "Gadget"])},
        {"args": dict(base, dest=str(refused), vault_password=PASSWORD, namespaces=[cluster_ns, "no-such-ns-x1"])},
        {"args": dict(base, dest=str(refused), vault_password=PASSWORD,
                      custom_resources=[{"api_version": "nothing.example.com/v1", "kind": "Gadget"}])},
    ]
    env = {key: value for key, value in os.environ.items() if key != "SRE_RUNBOOKS_VAULT_PASSWORD"}
    results = run_module_batch(MODULE, calls, env=env)
    return {"root": root, "dest": dest, "refused": refused, "password_file": password_file, "ns": cluster_ns,
            "results": results}


def test_check_mode_counts_and_writes_nothing(run):
    check, real = run["results"][:2]
    assert not check.failed, check.output
    assert check["changed"] is False
    assert check["counts"] == real["counts"] and check["objects"] == real["objects"]
    assert check["secrets_encrypted"] == 1 and check["sha256"] is None
    assert sorted(p.name for p in run["dest"].iterdir()) == ["b-1.json", "b-1.tar.gz"]


def test_every_object_is_exported_once_and_cleaned(run):
    real = run["results"][1]
    assert not real.failed, real.output
    assert real["changed"] is True
    ns = run["ns"]
    members = load_archive(run["dest"] / "b-1.tar.gz")
    manifest = json.loads(members.pop("manifest.json"))
    found = {(entry["kind"], entry["name"]) for entry in manifest["files"].values() if entry["kind"] != "Namespace"}
    assert found == EXPECTED
    assert manifest["counts"] == real["counts"] == dict(
        sorted({**{kind: sum(1 for k, _n in EXPECTED if k == kind) for kind, _n in EXPECTED}, "Namespace": 1}.items()))
    assert manifest["objects"] == len(EXPECTED) + 1 == real["objects"]
    assert manifest["cluster"]["server_version"].startswith("v1.")
    assert f"resources/_cluster/Namespace/{ns}.yaml" in members
    for path, data in members.items():
        assert hashlib.sha256(data).hexdigest() == manifest["files"][path]["sha256"]
        if path.endswith(".vault"):
            continue
        document = yaml.safe_load(data)
        assert "status" not in document, path
        assert not set(SERVER_FIELDS) & set(document["metadata"]), path
        assert "kubectl.kubernetes.io/last-applied-configuration" not in (document["metadata"].get("annotations") or {})
    edge = yaml.safe_load(members[f"resources/{ns}/Service/edge.yaml"])
    assert "clusterIP" not in edge["spec"] and "clusterIPs" not in edge["spec"]
    ports = {port["name"]: port for port in edge["spec"]["ports"]}
    assert ports["fixed"]["nodePort"] == EXPLICIT_NODE_PORT and "nodePort" not in ports["allocated"]
    assert "clusterIP" not in yaml.safe_load(members[f"resources/{ns}/Service/web.yaml"])["spec"]
    assert not any("/ReplicaSet/" in p or "kube-root-ca.crt" in p or p.endswith("ServiceAccount/default.yaml")
                   for p in members)
    assert any("kube-root-ca.crt" in line for line in real["excluded"])
    widget = yaml.safe_load(members[f"resources/{ns}/Widget/gizmo.yaml"])
    assert widget["apiVersion"] == "example.com/v1" and widget["spec"] == {"size": 3}
    assert real["diff"]["after"]["backups"] == ["b-1"] and real["diff"]["before"]["backups"] == []


def test_the_secret_is_vault_text_and_nowhere_in_clear(run):
    ns = run["ns"]
    archive_bytes = (run["dest"] / "b-1.tar.gz").read_bytes()
    members = load_archive(run["dest"] / "b-1.tar.gz")
    member = members[f"resources/{ns}/Secret/db-credentials.yaml.vault"]
    assert member.startswith(b"$ANSIBLE_VAULT;1.1;AES256\n")
    assert run["results"][1]["secrets_encrypted"] == 1
    tar_bytes = gzip.decompress(archive_bytes)
    for form in clear_forms():
        assert form not in archive_bytes and form not in tar_bytes
        for path in run["root"].rglob("*"):  # the archive, the sidecar, and any temp file left in dest
            if path.is_file():
                assert form not in path.read_bytes(), path
    # Imported here: importing ansible's controller code at collection time switches module_utils'
    # warnings to the controller's display for the whole pytest process (the module unit tests see it).
    from ansible.parsing.vault import VaultLib, VaultSecret  # pylint: disable=import-outside-toplevel

    secret = yaml.safe_load(VaultLib([("default", VaultSecret(PASSWORD.encode()))]).decrypt(member))
    assert base64.b64decode(secret["data"]["password"]).decode() == SECRET_VALUE
    assert "type" in secret and "uid" not in secret["metadata"]
    vault_file = run["root"] / "member.vault"
    vault_file.write_bytes(member)
    viewer = Path(sys.executable).with_name("ansible-vault")
    shown = subprocess.run([str(viewer), "view", "--vault-password-file", str(run["password_file"]), str(vault_file)],
                           capture_output=True, text=True, check=True, timeout=60, cwd=run["root"])
    assert yaml.safe_load(shown.stdout)["data"]["password"] == base64.b64encode(SECRET_VALUE.encode()).decode()


def test_upload_to_s3_with_checksums(run, bucket):
    real = run["results"][1]
    assert real["s3_keys"] == ["cfg/b-1.tar.gz", "cfg/b-1.json"]
    assert keys(bucket, "cfg/") == ["cfg/b-1.json", "cfg/b-1.tar.gz"]
    local = (run["dest"] / "b-1.tar.gz").read_bytes()
    head = bucket["client"].head_object(Bucket=bucket["name"], Key="cfg/b-1.tar.gz", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(local).digest()).decode()
    remote_sidecar = json.loads(bucket["client"].get_object(Bucket=bucket["name"], Key="cfg/b-1.json")["Body"].read())
    assert remote_sidecar == json.loads((run["dest"] / "b-1.json").read_text())
    assert remote_sidecar["archive_sha256"] == hashlib.sha256(local).hexdigest() == real["sha256"]


@pytest.mark.parametrize("index, words", [
    (2, "no vault key was given"),
    (3, "unknown kind 'Gadget'"),
    (4, "namespace no-such-ns-x1 does not exist"),
    (5, "does not serve nothing.example.com/v1"),
])
def test_bad_input_is_one_sentence_and_writes_nothing(run, index, words):
    result = run["results"][index]
    assert result.failed and words in result["msg"], result.get("msg")
    assert "\n" not in result["msg"] and result["msg"].endswith(".") and "Traceback" not in result["msg"]
    assert not run["refused"].exists()


def test_retention_prunes_only_older_config_backups_of_the_same_namespaces(run, bucket, tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    sidecar = json.loads((run["dest"] / "b-1.json").read_text())

    def plant(name, days_old, namespaces=None):
        record = dict(sidecar, name=name, created=f"2026-{12 - days_old // 30:02d}-01T00:00:00Z",
                      namespaces=namespaces or sidecar["namespaces"])
        (dest / f"{name}.json").write_text(json.dumps(record))
        shutil.copy(run["dest"] / "b-1.tar.gz", dest / f"{name}.tar.gz")
        for suffix, body in ((".json", json.dumps(record).encode()), (".tar.gz", b"archive")):
            bucket["client"].put_object(Bucket=bucket["name"], Key=f"ret/{name}{suffix}", Body=body)

    plant("old-1", 60)
    plant("old-2", 90)
    plant("other-set", 90, namespaces=["billing"])
    (dest / "notes.txt").write_text("operator notes")
    (dest / "foreign.json").write_text('{"hello": "world"}')
    (dest / "foreign.tar.gz").write_bytes(b"not ours")
    bucket["client"].put_object(Bucket=bucket["name"], Key="ret/unrelated.txt", Body=b"x")
    args = {"namespaces": [run["ns"]], "dest": str(dest), "name": "b-2", "vault_password": PASSWORD,
            "s3": dict(bucket["args"], prefix="ret"), "retention": {"keep_last": 1}}
    (result,) = run_module_batch(MODULE, [{"args": args}])
    assert not result.failed, result.output
    assert sorted((p["name"], p["where"]) for p in result["pruned"]) == [
        ("old-1", "local"), ("old-1", "s3"), ("old-2", "local"), ("old-2", "s3")]
    assert sorted(p.name for p in dest.iterdir()) == [
        "b-2.json", "b-2.tar.gz", "foreign.json", "foreign.tar.gz", "notes.txt", "other-set.json", "other-set.tar.gz"]
    assert keys(bucket, "ret/") == ["ret/b-2.json", "ret/b-2.tar.gz", "ret/other-set.json", "ret/other-set.tar.gz",
                                    "ret/unrelated.txt"]
