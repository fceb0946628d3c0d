"""k8s_diagnostics (I1) against the real control plane and S3 server.

A namespace holds a crash-looping Deployment ``api`` (kwok's ``:crashloop`` image) whose env reads a
Secret, a healthy Deployment ``web`` behind Service ``web``, and Service ``orphan`` whose selector
matches nothing. kwok serves the api pods' current and previous logs through the real pods/log API.
The bundle must name the crash first with the previous log's last lines, hold the logs, the events
and the describe texts, and never the Secret's value; its manifest's digests must hold.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
import uuid

import pytest

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client as k8s  # noqa: E402

from tests.harness.k8s_telemetry import clear_logs, cri_log, seed_logs  # noqa: E402
from tests.integration.module_batch import run_module_batch  # noqa: E402
from tests.integration.waiting import wait_until  # noqa: E402

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_diagnostics"
SECRET_VALUE = "Sup3r-s3cret-DB-pa55-" + uuid.uuid4().hex[:8]
FATAL = "FATAL: could not connect to database db:5432 (connection refused)"


def deployment(name, image, env=None):
    labels = {"app": name}
    return {"metadata": {"name": name}, "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "app", "image": image, "env": env or []}]}}}}


@pytest.fixture(scope="module")
def scene(k8s_cluster, core, apps):
    ns = f"diag-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": ns}})
    core.create_namespaced_secret(ns, {"metadata": {"name": "db-creds"}, "stringData": {"password": SECRET_VALUE}})
    env = [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db-creds", "key": "password"}}}]
    apps.create_namespaced_deployment(ns, deployment("api", "registry.example.com/api:crashloop", env))
    apps.create_namespaced_deployment(ns, deployment("web", "registry.example.com/web:1.0"))
    for name, app in (("web", "web"), ("orphan", "nothing-has-this-label")):
        core.create_namespaced_service(ns, {"metadata": {"name": name}, "spec": {
            "selector": {"app": app}, "ports": [{"port": 80, "targetPort": 8080}]}})

    k8s.NetworkingV1Api(core.api_client).create_namespaced_ingress(ns, {"metadata": {"name": "front"}, "spec": {
        "rules": [{"host": "shop.example.com", "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}},
            {"path": "/old", "pathType": "Prefix", "backend": {"service": {"name": "legacy", "port": {"number": 80}}}},
        ]}}]}})

    def settled():
        pods = core.list_namespaced_pod(ns).items
        crashing = [p for p in pods if p.metadata.labels.get("app") == "api" and any(
            (s.state.waiting and s.state.waiting.reason == "CrashLoopBackOff") for s in p.status.container_statuses or [])]
        ready = [p for p in pods if p.metadata.labels.get("app") == "web" and any(
            c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])]
        return len(crashing) == 2 and len(ready) == 2

    wait_until(settled, "api crash-looping and web ready", timeout=90)
    seed_logs(k8s_cluster, ns, "app=api", cri_log([(30, "starting api"), (20, "connecting to db:5432")]),
              previous=cri_log([(300, "starting api"), (290, "retrying database"), (280, FATAL)]))
    yield ns
    clear_logs(k8s_cluster, ns)
    core.delete_namespace(ns)


@pytest.fixture(scope="module")
def runs(scene, services, tmp_path_factory):
    import boto3

    s3 = services["s3"]
    boto3.client("s3", endpoint_url=s3["endpoint_url"], aws_access_key_id=s3["access_key"],
                 aws_secret_access_key=s3["secret_key"], region_name=s3["region"]).create_bucket(Bucket="incidents")
    dest = tmp_path_factory.mktemp("bundles")
    s3_args = {"bucket": "incidents", "prefix": "diag/", "endpoint_url": s3["endpoint_url"], "region": s3["region"],
               "access_key": s3["access_key"], "secret_key": s3["secret_key"]}
    calls = [
        {"args": {"namespace": scene, "dest": str(dest), "name": "whole", "since": "1h", "tail_lines": 50}},
        {"args": {"namespace": scene, "dest": str(dest), "name": "api-only", "workload": {"name": "api"},
                  "s3": s3_args}},
        {"args": {"namespace": scene, "dest": str(dest), "name": "checked"}, "check": True},
        {"args": {"namespace": "no-such-namespace-d1", "dest": str(dest)}},
        {"args": {"namespace": scene, "dest": str(dest / "missing")}},
        {"args": {"namespace": scene, "dest": str(dest), "since": "soon"}},
        {"args": {"namespace": scene, "dest": str(dest), "workload": {"name": "ghost"}}},
    ]
    return dest, run_module_batch(MODULE, calls), s3_args


def extract(path):
    with tarfile.open(path) as tar:
        return {info.name: tar.extractfile(info).read() for info in tar if info.isfile()}


def test_the_bundle_names_the_crash_first_with_its_previous_log(runs):
    dest, (whole, *_rest), _s3 = runs
    assert not whole.failed and not whole.changed, whole.output
    first = whole["findings"][0]
    assert (first["severity"], first["object"], first["reason"]) == ("critical", "Deployment/api", "Unavailable")
    crash = [f for f in whole["findings"] if f["object"].startswith("Pod/api-")]
    assert len(crash) == 2 and all(f["reason"] == "CrashLoopBackOff" and "last exit code 1" in f["message"] for f in crash)
    assert any(FATAL in line for line in crash[0]["evidence"])
    files = extract(whole["archive"])
    index = files["index.md"].decode()
    assert index.index("Deployment/api") < index.index("Pod/api-") and FATAL in index
    previous = [name for name in files if name.startswith("logs/api-") and name.endswith("app.previous.log")]
    assert len(previous) == 2 and FATAL in files[previous[0]].decode()
    assert "connecting to db:5432" in files[previous[0]].replace(b".previous", b"").decode() or any(
        "connecting to db:5432" in files[n].decode() for n in files if n.startswith("logs/api-") and n.endswith("app.log"))
    orphan = [f for f in whole["findings"] if f["object"] == "Service/orphan"]
    assert orphan and orphan[0]["reason"] == "SelectorMatchesNoPod"
    assert [(f["object"], f["reason"]) for f in whole["findings"] if f["object"].startswith("Ingress/")] == [
        ("Ingress/front", "BackendServiceMissing")]
    assert not [f for f in whole["findings"] if f["object"].startswith(("Service/web", "Deployment/web", "Pod/web-"))]
    events = json.loads(files["events.json"])
    assert any(e["object"] == "Deployment/api" and e["reason"] == "ScalingReplicaSet" for e in events)
    assert "Rollout history:" in files["describe/Deployment-api.txt"].decode()
    assert whole["counts"]["pods"] == 4 and whole["counts"]["unhealthy_pods"] == 2


def test_no_secret_value_anywhere_and_the_manifest_holds(runs):
    dest, (whole, api_only, checked, *_bad), _s3 = runs
    for result in (whole, api_only, checked):
        raw = open(result["archive"], "rb").read()
        assert hashlib.sha256(raw).hexdigest() == result["sha256"]
        files = extract(result["archive"])
        for name, data in files.items():
            assert SECRET_VALUE.encode() not in data, f"the Secret's value is in {name}"
        manifest = json.loads(files.pop("manifest.json"))
        assert {name: hashlib.sha256(data).hexdigest() for name, data in files.items()} == \
            {name: entry["sha256"] for name, entry in manifest["files"].items()}
    pods = json.loads(extract(whole["archive"])["pods.json"])["objects"]
    env = [p["spec"]["containers"][0]["env"] for p in pods if p["metadata"]["labels"]["app"] == "api"]
    assert env[0] == {"DB_PASSWORD": "<from secretKeyRef db-creds/password>"}
    assert sorted(p.name for p in dest.iterdir()) == ["api-only.tar.gz", "checked.tar.gz", "whole.tar.gz"]


def test_a_workload_bundle_is_uploaded_with_its_checksum(runs, services):
    import boto3

    _dest, (_whole, api_only, checked, *_bad), s3 = runs
    assert not api_only.failed, api_only.output
    assert api_only["counts"]["pods"] == 2 and api_only["counts"]["workloads"] == 1
    assert api_only["s3_key"] == "diag/api-only.tar.gz" and checked["s3_key"] is None
    client = boto3.client("s3", endpoint_url=s3["endpoint_url"], aws_access_key_id=s3["access_key"],
                          aws_secret_access_key=s3["secret_key"], region_name=s3["region"])
    body = client.get_object(Bucket="incidents", Key="diag/api-only.tar.gz")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == api_only["sha256"]


def test_bad_input_is_one_sentence_and_writes_nothing(runs):
    dest, (_w, _a, _c, no_ns, no_dest, bad_since, ghost), _s3 = runs
    assert no_ns.failed and no_ns["msg"] == "The namespace no-such-namespace-d1 does not exist."
    assert no_dest.failed and no_dest["msg"].startswith(f"The folder {dest / 'missing'} (dest) does not exist")
    assert bad_since.failed and "since" in bad_since["msg"]
    assert ghost.failed and ghost["msg"].endswith("/ghost does not exist.")
    for result in (no_ns, no_dest, bad_since, ghost):
        assert "Traceback" not in result.output and "\n" not in result["msg"]


def test_the_playbook_writes_the_bundle_and_shows_the_first_findings(scene, k8s_cluster, tmp_path):
    from tests.integration.ansible_run import run_playbook

    proc = run_playbook("playbooks/diagnose.yml", {"diagnose_namespace": scene, "diagnose_dest": str(tmp_path),
                                                   "diagnose_workload": "api"},
                        env={"K8S_AUTH_KUBECONFIG": str(k8s_cluster.kubeconfig)})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert "Deployment/api Unavailable" in proc.stdout
    [bundle] = list(tmp_path.glob(f"diagnostics-{scene}-*.tar.gz"))
    assert "index.md" in extract(bundle)
