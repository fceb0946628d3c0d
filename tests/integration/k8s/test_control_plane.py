"""The local Kubernetes control plane behaves like a real cluster for what the collection needs.

Everything asserted here is state written by the real kube-controller-manager, kube-scheduler
and kube-apiserver (kwok only plays the kubelets). Each test works in its own namespace.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import time
from pathlib import Path

import pytest

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client as k8s  # noqa: E402

from tests.harness import k8s as harness  # noqa: E402
from tests.integration.waiting import wait_until  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
LOOPBACK_NET = ipaddress.ip_network("127.0.0.0/8")
WAIT = 60  # seconds; generous for a loaded 2-core machine, conditions usually hold in < 2 s


def condition(obj, kind: str):
    for cond in (obj.status.conditions or []):
        if cond.type == kind:
            return cond
    return None


def is_loopback(ip: str) -> bool:
    return ipaddress.ip_address(ip) in LOOPBACK_NET


def deployment(name: str, image: str, replicas: int = 3, **spec) -> dict:
    labels = {"app": name}
    pod_spec = {"containers": [{"name": "app", "image": image}]}
    pod_spec.update(spec.pop("pod_spec", {}))
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": pod_spec}, **spec},
    }


def rolled_out(apps, ns: str, name: str, image: str | None = None):
    """The deployment controller reports the rollout of the current generation complete."""
    dep = apps.read_namespaced_deployment_status(name, ns)
    st, want = dep.status, dep.spec.replicas
    available = condition(dep, "Available")
    done = (st.observed_generation == dep.metadata.generation and st.updated_replicas == want
            and st.available_replicas == want and st.ready_replicas == want and (st.replicas or 0) == want
            and available is not None and available.status == "True")
    if image is not None:
        done = done and dep.spec.template.spec.containers[0].image == image
    return dep if done else None


def replica_sets(apps, ns: str, name: str) -> list:
    items = apps.list_namespaced_replica_set(ns, label_selector=f"app={name}").items
    return sorted(items, key=lambda rs: int(rs.metadata.annotations["deployment.kubernetes.io/revision"]))


# ------------------------------------------------------------------------------------ the cluster

def test_cluster_is_loopback_only_and_uses_local_binaries(k8s_cluster, core):
    assert k8s_cluster.server.startswith("https://127.0.0.1:")
    assert Path(k8s_cluster.kubeconfig).stat().st_mode & 0o077 == 0
    state = harness.read_state()
    artifacts = harness.artifacts(Path(state["bin_dir"]), Path(state["state_dir"]))
    assert artifacts and all(a.startswith("/") for a in artifacts), artifacts

    # Every component listens on loopback only.
    listeners = _listening_addresses(state["pids"].values())
    assert listeners, "no listening sockets found for the components"
    assert all(is_loopback(addr) for addr, _port in listeners), listeners

    nodes = core.list_node().items
    assert len(nodes) >= 3
    for node in nodes:
        assert condition(node, "Ready").status == "True", node.metadata.name
        internal = [a.address for a in node.status.addresses if a.type == "InternalIP"]
        assert internal and all(is_loopback(ip) for ip in internal), (node.metadata.name, internal)
        assert node.spec.pod_cidr and ipaddress.ip_network(node.spec.pod_cidr).subnet_of(LOOPBACK_NET)


def _listening_addresses(pids) -> set[tuple[str, int]]:
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = fd.readlink().as_posix()
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = set()
    for table, width in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A = LISTEN
                continue
            hex_addr, hex_port = fields[1].split(":")
            raw = bytes.fromhex(hex_addr)
            # /proc/net/tcp* stores each 32-bit word in host (little-endian) order.
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, width, 4))
            addr = ipaddress.ip_address(raw)
            if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
                addr = addr.ipv4_mapped
            found.add((str(addr), int(hex_port, 16)))
    return found


def test_k8s_down_refuses_while_this_session_uses_the_cluster(k8s_cluster):
    # This pytest process registered as a user when the k8s_cluster fixture started.
    refused = subprocess.run(["make", "--no-print-directory", "k8s-down"], cwd=REPO, capture_output=True, text=True,
                             timeout=120, check=False)
    assert refused.returncode != 0, refused.stdout
    assert f"k8s: not stopping the cluster while test sessions use it (pytest pid {os.getpid()}" in refused.stderr
    assert harness.current() == k8s_cluster


def test_pod_ips_are_loopback_inside_the_node_pod_cidr(core, apps, ns):
    apps.create_namespaced_deployment(ns, deployment("ips", "registry.invalid/app:1", replicas=3))
    wait_until(lambda: rolled_out(apps, ns, "ips"), "deployment ips to roll out")
    cidrs = {n.metadata.name: ipaddress.ip_network(n.spec.pod_cidr) for n in core.list_node().items}
    pods = core.list_namespaced_pod(ns, label_selector="app=ips").items
    assert len(pods) == 3
    for pod in pods:
        assert pod.status.phase == "Running"
        assert is_loopback(pod.status.host_ip), pod.status.host_ip
        assert all(is_loopback(p.ip) for p in pod.status.pod_ips)
        assert ipaddress.ip_address(pod.status.pod_ip) in cidrs[pod.spec.node_name]


# ------------------------------------------------------------------------------------ workloads

def test_deployment_rollout_new_replicaset_and_undo(k8s_cluster, apps, ns):
    apps.create_namespaced_deployment(ns, deployment("web", "nginx:1.25", replicas=3))
    dep = wait_until(lambda: rolled_out(apps, ns, "web", "nginx:1.25"), "web to become Available")
    assert condition(dep, "Available").status == "True"
    assert [rs.spec.template.spec.containers[0].image for rs in replica_sets(apps, ns, "web")] == ["nginx:1.25"]

    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.26"}]}}}}
    generation = apps.patch_namespaced_deployment("web", ns, patch).metadata.generation
    dep = wait_until(lambda: rolled_out(apps, ns, "web", "nginx:1.26"), "the rollout to nginx:1.26")
    assert dep.status.observed_generation == generation
    assert dep.status.updated_replicas == dep.status.available_replicas == 3
    assert condition(dep, "Progressing").reason == "NewReplicaSetAvailable"
    old, new = replica_sets(apps, ns, "web")
    assert (old.spec.template.spec.containers[0].image, old.spec.replicas) == ("nginx:1.25", 0)
    assert (new.spec.template.spec.containers[0].image, new.status.ready_replicas) == ("nginx:1.26", 3)
    assert new.metadata.annotations["deployment.kubernetes.io/revision"] == "2"

    k8s_cluster.kubectl("rollout", "undo", "deployment/web", "-n", ns)
    wait_until(lambda: rolled_out(apps, ns, "web", "nginx:1.25"), "the undo back to nginx:1.25")
    status = k8s_cluster.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=30s")
    assert "successfully rolled out" in status.stdout
    revisions = {rs.spec.template.spec.containers[0].image: rs.metadata.annotations["deployment.kubernetes.io/revision"]
                 for rs in replica_sets(apps, ns, "web")}
    assert revisions == {"nginx:1.25": "3", "nginx:1.26": "2"}  # undo re-uses the old ReplicaSet


def test_statefulset_rolls_out(core, apps, ns):
    labels = {"app": "db"}
    core.create_namespaced_service(ns, {"metadata": {"name": "db"},
                                        "spec": {"clusterIP": "None", "selector": labels,
                                                 "ports": [{"port": 5432}]}})
    apps.create_namespaced_stateful_set(ns, {
        "metadata": {"name": "db"},
        "spec": {"serviceName": "db", "replicas": 3, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "db", "image": "postgres:15"}]}}},
    })

    def sts_done(image):
        sts = apps.read_namespaced_stateful_set_status("db", ns)
        st = sts.status
        ok = (st.observed_generation == sts.metadata.generation and st.ready_replicas == 3
              and st.updated_replicas == 3 and st.current_revision == st.update_revision
              and sts.spec.template.spec.containers[0].image == image)
        return sts if ok else None

    first = wait_until(lambda: sts_done("postgres:15"), "statefulset db ready")
    apps.patch_namespaced_stateful_set("db", ns, {"spec": {"template": {"spec": {
        "containers": [{"name": "db", "image": "postgres:16"}]}}}})
    second = wait_until(lambda: sts_done("postgres:16"), "statefulset db rolled to postgres:16")
    assert second.status.update_revision != first.status.update_revision
    pods = core.list_namespaced_pod(ns, label_selector="app=db").items
    assert sorted(p.metadata.name for p in pods) == ["db-0", "db-1", "db-2"]
    assert {p.spec.containers[0].image for p in pods} == {"postgres:16"}


def test_daemonset_rolls_out_on_every_node(core, apps, ns):
    nodes = len(core.list_node().items)
    labels = {"app": "agent"}
    apps.create_namespaced_daemon_set(ns, {
        "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "agent", "image": "agent:1"}]}}},
    })

    def ds_done(image):
        ds = apps.read_namespaced_daemon_set_status("agent", ns)
        st = ds.status
        ok = (st.observed_generation == ds.metadata.generation and st.desired_number_scheduled == nodes
              and st.number_ready == nodes and (st.updated_number_scheduled or 0) == nodes
              and (st.number_available or 0) == nodes
              and ds.spec.template.spec.containers[0].image == image)
        return ds if ok else None

    wait_until(lambda: ds_done("agent:1"), "daemonset agent on every node")
    apps.patch_namespaced_daemon_set("agent", ns, {"spec": {"template": {"spec": {
        "containers": [{"name": "agent", "image": "agent:2"}]}}}})
    wait_until(lambda: ds_done("agent:2"), "daemonset agent rolled to agent:2")
    pods = core.list_namespaced_pod(ns, label_selector="app=agent").items
    assert len({p.spec.node_name for p in pods}) == nodes
    assert {p.spec.containers[0].image for p in pods} == {"agent:2"}


def test_scaling_changes_ready_replicas(core, apps, ns):
    apps.create_namespaced_deployment(ns, deployment("api", "api:1", replicas=1))
    wait_until(lambda: rolled_out(apps, ns, "api"), "api with 1 replica")
    for replicas in (4, 2):
        apps.patch_namespaced_deployment_scale("api", ns, {"spec": {"replicas": replicas}})
        dep = wait_until(lambda: rolled_out(apps, ns, "api"), f"api scaled to {replicas}")
        assert dep.status.ready_replicas == replicas
        assert apps.read_namespaced_deployment_scale("api", ns).status.replicas == replicas
        wait_until(lambda: len(core.list_namespaced_pod(ns, label_selector="app=api").items) == replicas,
                   f"{replicas} api pods (scaled-down pods deleted)")


def test_hpa_can_be_created_and_patched(api, apps, ns):
    autoscaling = k8s.AutoscalingV2Api(api)
    apps.create_namespaced_deployment(ns, deployment("front", "front:1", replicas=1))
    wait_until(lambda: rolled_out(apps, ns, "front"), "front available")
    autoscaling.create_namespaced_horizontal_pod_autoscaler(ns, {
        "metadata": {"name": "front"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "front"},
                 "minReplicas": 1, "maxReplicas": 3,
                 "metrics": [{"type": "Resource", "resource": {
                     "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]},
    })
    patched = autoscaling.patch_namespaced_horizontal_pod_autoscaler(
        "front", ns, {"spec": {"minReplicas": 2, "maxReplicas": 5}})
    assert (patched.spec.min_replicas, patched.spec.max_replicas) == (2, 5)
    listed = autoscaling.list_namespaced_horizontal_pod_autoscaler(ns).items
    assert [(h.metadata.name, h.spec.max_replicas) for h in listed] == [("front", 5)]
    # The real HPA controller enforces the new minimum even without a metrics server.
    wait_until(lambda: apps.read_namespaced_deployment("front", ns).spec.replicas == 2,
               "the HPA controller to scale front up to minReplicas=2")
    hpa = wait_until(lambda: (h := autoscaling.read_namespaced_horizontal_pod_autoscaler_status("front", ns))
                     .status.desired_replicas == 2 and h, "HPA status desiredReplicas=2")
    assert hpa.status.current_replicas in (1, 2)


def test_secrets_and_network_policies(api, core, ns):
    networking = k8s.NetworkingV1Api(api)
    core.create_namespaced_secret(ns, {"metadata": {"name": "db-credentials"}, "type": "Opaque",
                                       "stringData": {"password": "s3cret"}})
    secrets = {s.metadata.name: s for s in core.list_namespaced_secret(ns).items}
    assert secrets["db-credentials"].data == {"password": "czNjcmV0"}

    networking.create_namespaced_network_policy(ns, {
        "metadata": {"name": "default-deny"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})
    networking.create_namespaced_network_policy(ns, {
        "metadata": {"name": "allow-web"},
        "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"],
                 "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "lb"}}}],
                              "ports": [{"port": 8080, "protocol": "TCP"}]}]}})
    policies = networking.list_namespaced_network_policy(ns).items
    assert sorted(p.metadata.name for p in policies) == ["allow-web", "default-deny"]


def test_job_created_from_a_cronjob_completes(k8s_cluster, api, core, ns):
    batch = k8s.BatchV1Api(api)
    batch.create_namespaced_cron_job(ns, {
        "metadata": {"name": "backup"},
        "spec": {"schedule": "0 3 * * *", "suspend": True,
                 "jobTemplate": {"spec": {"backoffLimit": 0, "template": {"spec": {
                     "restartPolicy": "Never",
                     "containers": [{"name": "backup", "image": "postgres:15", "command": ["pg_dumpall"]}]}}}}},
    })
    k8s_cluster.kubectl("create", "job", "backup-manual", "--from=cronjob/backup", "-n", ns)
    job = wait_until(lambda: (j := batch.read_namespaced_job_status("backup-manual", ns)).status.succeeded == 1 and j,
                     "job backup-manual to succeed")
    assert condition(job, "Complete").status == "True"
    assert job.metadata.annotations.get("cronjob.kubernetes.io/instantiate") == "manual"
    pods = core.list_namespaced_pod(ns, label_selector="job-name=backup-manual").items
    assert [p.status.phase for p in pods] == ["Succeeded"]
    assert pods[0].status.container_statuses[0].state.terminated.reason == "Completed"


def test_unschedulable_deployment_reports_progress_deadline_exceeded(core, apps, ns):
    apps.create_namespaced_deployment(ns, deployment(
        "stuck", "nginx:1.25", replicas=2, progressDeadlineSeconds=5,
        pod_spec={"nodeSelector": {"sre.runbooks/no-such-node": "true"}}))

    def deadline_exceeded():
        dep = apps.read_namespaced_deployment_status("stuck", ns)
        cond = condition(dep, "Progressing")
        return dep if cond and cond.status == "False" and cond.reason == "ProgressDeadlineExceeded" else None

    dep = wait_until(deadline_exceeded, "Progressing=False/ProgressDeadlineExceeded")
    assert not dep.status.available_replicas
    pods = core.list_namespaced_pod(ns, label_selector="app=stuck").items
    assert pods and all(p.status.phase == "Pending" for p in pods)
    assert all(condition(p, "PodScheduled").reason == "Unschedulable" for p in pods)


# ------------------------------------------------------------------------------------ kwok stages

def _waiting(core, ns: str, name: str):
    pod = core.read_namespaced_pod_status(name, ns)
    statuses = pod.status.container_statuses or []
    return pod if statuses and all(s.state.waiting or s.state.terminated for s in statuses) else None


def test_failure_stage_sets_the_intended_waiting_reason(core, ns):
    def pod(name, image, annotations=None, restart="Always"):
        core.create_namespaced_pod(ns, {"metadata": {"name": name, "annotations": annotations or {}},
                                        "spec": {"restartPolicy": restart,
                                                 "containers": [{"name": "app", "image": image}]}})

    pod("crash", "app:crashloop")
    pod("pull", "app:imagepullbackoff")
    pod("config", "app:1", {"test.sre.runbooks/waiting-reason": "CreateContainerConfigError"})
    pod("once", "app:crashloop", restart="Never")

    crash = wait_until(lambda: _waiting(core, ns, "crash"), "pod crash to crash-loop")
    status = crash.status.container_statuses[0]
    assert crash.status.phase == "Running"
    assert status.state.waiting.reason == "CrashLoopBackOff"
    assert status.restart_count > 0 and status.last_state.terminated.exit_code == 1
    assert not status.ready and condition(crash, "Ready").status == "False"
    assert is_loopback(crash.status.pod_ip)

    pull = wait_until(lambda: _waiting(core, ns, "pull"), "pod pull to back off")
    assert pull.status.phase == "Pending"
    assert pull.status.container_statuses[0].state.waiting.reason == "ImagePullBackOff"
    assert "app:imagepullbackoff" in pull.status.container_statuses[0].state.waiting.message

    config = wait_until(lambda: _waiting(core, ns, "config"), "pod config to wait")
    assert config.status.container_statuses[0].state.waiting.reason == "CreateContainerConfigError"

    once = wait_until(lambda: _waiting(core, ns, "once"), "pod once to fail")
    assert once.status.phase == "Failed"
    assert once.status.container_statuses[0].state.terminated.exit_code == 1


def test_rollout_to_a_crashing_image_stalls_and_keeps_old_pods(core, apps, ns):
    apps.create_namespaced_deployment(ns, deployment("svc", "svc:1", replicas=3, progressDeadlineSeconds=5))
    wait_until(lambda: rolled_out(apps, ns, "svc", "svc:1"), "svc:1 available")
    apps.patch_namespaced_deployment("svc", ns, {"spec": {"template": {"spec": {
        "containers": [{"name": "app", "image": "svc:crashloop"}]}}}})

    def stalled():
        dep = apps.read_namespaced_deployment_status("svc", ns)
        cond = condition(dep, "Progressing")
        return dep if cond and cond.reason == "ProgressDeadlineExceeded" else None

    dep = wait_until(stalled, "the crashing rollout to exceed its progress deadline")
    assert dep.status.available_replicas == 3  # maxUnavailable 25% of 3 rounds down to 0
    new_pods = [p for p in core.list_namespaced_pod(ns, label_selector="app=svc").items
                if p.spec.containers[0].image == "svc:crashloop"]
    assert new_pods
    assert {p.status.container_statuses[0].state.waiting.reason
            for p in new_pods if p.status.container_statuses} == {"CrashLoopBackOff"}


def test_pod_ready_delay_annotation(core, ns):
    created = time.monotonic()
    core.create_namespaced_pod(ns, {
        "metadata": {"name": "slow", "annotations": {"pod-ready.stage.kwok.x-k8s.io/delay": "5s"}},
        "spec": {"containers": [{"name": "app", "image": "app:1"}]}})
    scheduled = wait_until(lambda: (p := core.read_namespaced_pod_status("slow", ns)).spec.node_name and p,
                           "pod slow to be scheduled")
    if time.monotonic() - created < 4:  # only meaningful while the delay has surely not elapsed
        assert scheduled.status.phase == "Pending"
    ready = wait_until(lambda: (p := core.read_namespaced_pod_status("slow", ns)).status.phase == "Running" and p,
                       "pod slow to become Running after its delay")
    assert condition(ready, "Ready").status == "True"
    assert time.monotonic() - created >= 5
