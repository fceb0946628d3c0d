"""k8s_blue_green against the real control plane (kube-apiserver, controllers, kwok nodes).

Each test makes a namespace with the blue slot (Deployment ``web-blue``, 3 replicas, pods labelled
``version: blue``) and the Service ``web`` selecting it, runs the module through ansible-playbook
(several tasks per play, check mode where it matters), and asserts on the API server: the Service's
selector or the Ingress's backends, the pods the Service selects, both Deployments and their annotations.

The smoke tests are real HTTP requests from the module to the pods' IPs: kwok gives pods loopback
addresses (127.1.<node>.<n>), and the test binds a small HTTP server on each pod's IP and container
port, answering as the test tells it (200, or 500 for a broken release) and recording who was asked.
The API server refuses loopback addresses in EndpointSlices (and its proxy), so the pods a Service
sends traffic to are read the way the endpoint controller computes them: Ready pods its selector matches.
"""

from __future__ import annotations

import datetime
import http.server
import socket
import threading

import pytest

kubernetes = pytest.importorskip("kubernetes")
from kubernetes.client.exceptions import ApiException  # noqa: E402

from tests.integration.module_runner import run_module_tasks  # noqa: E402
from tests.integration.waiting import wait_until  # noqa: E402

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_blue_green"
V1 = "registry.example.com/web:1.0.0"
V2 = "registry.example.com/web:2.0.0"
ROLE = "sre.runbooks/blue-green-role"
SCALE_DOWN_AT = "sre.runbooks/scale-down-at"
SMOKE = [{"name": "health", "path": "/health", "body_contains": '"ok"'}]


@pytest.fixture(scope="module")
def port():
    """A TCP port free on this host, the pods' container port (each pod IP gets its own server on it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PodServers:
    """HTTP servers bound to pod IPs: each answers as ``answers[slot]`` says and records the requests."""

    def __init__(self):
        self.servers = []
        self.answers = {}
        self.requests = []

    def start(self, core, ns, slot, port):
        owner = self
        for pod in core.list_namespaced_pod(ns, label_selector=f"version={slot}").items:
            class Handler(http.server.BaseHTTPRequestHandler):
                pod_name = pod.metadata.name

                def do_GET(self):  # noqa: N802 (http.server's naming)
                    owner.requests.append((self.pod_name, self.path))
                    status = owner.answers.get(slot, 200)
                    body = b'{"status": "ok"}' if status == 200 else b'{"status": "broken"}'
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

                def log_message(self, *args):
                    pass

            server = http.server.ThreadingHTTPServer((pod.status.pod_ip, port), Handler)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self.servers.append(server)

    def asked(self):
        return {name for name, _path in self.requests}

    def close(self):
        for server in self.servers:
            server.shutdown()
            server.server_close()


@pytest.fixture
def servers():
    pod_servers = PodServers()
    yield pod_servers
    pod_servers.close()


def deployment_ready(apps, ns, name, replicas):
    dep = apps.read_namespaced_deployment(name, ns)
    return (dep.status.observed_generation == dep.metadata.generation
            and (dep.status.available_replicas or 0) == replicas and (dep.status.updated_replicas or 0) == replicas)


def make_blue(core, apps, ns, port, service="web"):
    """Deployment web-blue (3 replicas on V1, container port ``port`` named http) and a Service selecting it."""
    labels = {"app": "web", "version": "blue"}
    apps.create_namespaced_deployment(ns, {
        "metadata": {"name": "web-blue", "labels": {"app": "web"}},
        "spec": {"replicas": 3, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "app", "image": V1,
                                                       "ports": [{"name": "http", "containerPort": port}]}]}}}})
    if service:
        make_service(core, ns, service, labels)
    wait_until(lambda: deployment_ready(apps, ns, "web-blue", 3), f"Deployment {ns}/web-blue to be available")


def make_service(core, ns, name, selector):
    core.create_namespaced_service(ns, {"metadata": {"name": name}, "spec": {
        "selector": selector, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})


def selector(core, ns, name="web"):
    return core.read_namespaced_service(name, ns).spec.selector


def pods_behind(core, ns, name="web"):
    """The Ready pods the Service sends traffic to (what the endpoint controller would publish)."""
    wanted = selector(core, ns, name)
    text = ",".join(f"{key}={value}" for key, value in sorted(wanted.items()))
    return {pod.metadata.name for pod in core.list_namespaced_pod(ns, label_selector=text).items
            if pod.metadata.deletion_timestamp is None
            and any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])}


def slot_pods(core, ns, slot):
    return {pod.metadata.name for pod in core.list_namespaced_pod(ns, label_selector=f"version={slot}").items}


def annotations(apps, ns, name):
    return apps.read_namespaced_deployment(name, ns).metadata.annotations or {}


def missing(read, *args):
    try:
        read(*args)
    except ApiException as exc:
        return exc.status == 404
    return False


def run(ns, *calls):
    """Run each call (module args; ``check_mode`` as a task keyword) as one task of one play; their results.

    Every task may fail (ignore_errors), so the later ones still run; the tests assert on each result.
    """
    tasks = []
    for call in calls:
        args = {"name": "web", "namespace": ns, "wait_timeout": 60, **call}
        check = args.pop("check_mode", None)
        task = {"name": args["action"], MODULE: args, "ignore_errors": True}
        if check is not None:
            task["check_mode"] = check
        tasks.append(task)
    results, proc = run_module_tasks(MODULE, tasks)
    assert len(results) == len(calls), proc.stdout[-4000:] + proc.stderr[-4000:]
    return results


def assert_one_sentence(result, *words):
    assert result.failed, result
    msg = result["msg"]
    assert msg.endswith(".") and "\n" not in msg and "Traceback" not in msg, msg
    for word in words:
        assert word in msg, msg


def test_deploy_then_promote_only_after_smoke_tests_pass(ns, core, apps, port, servers):
    make_blue(core, apps, ns, port)
    deploy = {"action": "deploy", "images": {"app": V2}}
    [planned] = run(ns, dict(deploy, check_mode=True))
    assert not planned.failed and planned.changed and planned["release"]["decision"] == "create", planned
    assert missing(apps.read_namespaced_deployment, "web-green", ns)
    assert missing(core.read_namespaced_service, "web-preview", ns)

    done, check_again, again = run(ns, deploy, dict(deploy, check_mode=True), deploy)
    assert done.changed and done["wait"]["outcome"] == "complete", done
    assert not check_again.changed and not again.changed and again["release"]["decision"] == "ready", again
    assert deployment_ready(apps, ns, "web-green", 3)
    green = apps.read_namespaced_deployment("web-green", ns)
    assert green.spec.template.spec.containers[0].image == V2
    assert green.spec.selector.match_labels == {"app": "web", "version": "green"}
    assert annotations(apps, ns, "web-green")[ROLE] == "preview"
    assert selector(core, ns, "web-preview") == {"app": "web", "version": "green"}
    assert selector(core, ns) == {"app": "web", "version": "blue"}  # deploy never moves the traffic

    servers.start(core, ns, "green", port)
    servers.start(core, ns, "blue", port)
    promote = {"action": "promote", "images": {"app": V2}, "smoke_tests": SMOKE}
    [planned] = run(ns, dict(promote, check_mode=True))
    assert planned.changed and planned["active_slot"] == "green" and planned["smoke_tests"] == [], planned
    assert selector(core, ns)["version"] == "blue" and servers.requests == []

    done, again = run(ns, promote, promote)
    assert done.changed and done["switched"] and done["smoke_passed"], done
    green_pods = slot_pods(core, ns, "green")
    assert {row["target"] for row in done["smoke_tests"]} == {f"pod {name}" for name in green_pods}
    assert servers.asked() == green_pods and {path for _name, path in servers.requests} == {"/health"}
    assert not again.changed and again["release"]["decision"] == "live", again
    # The Service now sends traffic to the green pods only; blue stays scaled for the keep time.
    assert selector(core, ns) == {"app": "web", "version": "green"}
    assert pods_behind(core, ns) == green_pods and len(green_pods) == 3
    assert {row["name"] for row in done["traffic"]["serving_pods"]} == green_pods
    assert deployment_ready(apps, ns, "web-blue", 3)
    kept = annotations(apps, ns, "web-blue")
    assert kept[ROLE] == "previous" and annotations(apps, ns, "web-green")[ROLE] == "active"
    until = datetime.datetime.strptime(kept[SCALE_DOWN_AT], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    expected = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=24)
    assert abs((until - expected).total_seconds()) < 300, kept


def test_failing_smoke_test_leaves_blue_serving_then_abort_and_cleanup(ns, core, apps, port, servers):
    make_blue(core, apps, ns, port)
    [deployed] = run(ns, {"action": "deploy", "images": {"app": V2}})
    assert deployed.changed and not deployed.failed, deployed
    servers.answers["green"] = 500
    servers.start(core, ns, "green", port)

    [promote] = run(ns, {"action": "promote", "smoke_tests": SMOKE})
    assert_one_sentence(promote, "Smoke tests of slot green failed: health on pod web-green-", "HTTP 500, expected 200",
                        "traffic stays on slot blue", f"Deployment {ns}/web-green is left running")
    assert not promote["switched"] and promote["active_slot"] == "blue" and promote["smoke_passed"] is False
    assert {row["slot"] for row in promote["traffic"]["serving_pods"]} == {"blue"}
    assert promote["slots"]["green"]["available"] == 3  # the release is reported, still running
    assert selector(core, ns) == {"app": "web", "version": "blue"}
    assert pods_behind(core, ns) == slot_pods(core, ns, "blue")
    assert servers.asked() == slot_pods(core, ns, "green")
    assert deployment_ready(apps, ns, "web-green", 3)

    planned, abort, again, cleanup, cleanup_again = run(
        ns, {"action": "abort", "check_mode": True}, {"action": "abort"}, {"action": "abort"},
        {"action": "cleanup"}, {"action": "cleanup"})
    assert planned.changed and abort.changed and not abort["switched"], abort
    assert abort["slots"]["green"]["replicas"] == 0 and abort["slots"]["green"]["role"] == "aborted"
    assert not again.changed and cleanup.changed and not cleanup_again.changed, cleanup_again
    assert missing(apps.read_namespaced_deployment, "web-green", ns)
    assert selector(core, ns) == {"app": "web", "version": "blue"}
    assert deployment_ready(apps, ns, "web-blue", 3)


def test_abort_after_promotion_switches_back_and_cleanup_keeps_blue_until_its_time(ns, core, apps, port):
    make_blue(core, apps, ns, port)
    promote, cleanup = run(ns, {"action": "promote", "images": {"app": V2}, "scale_down_delay": "1h"},
                           {"action": "cleanup"})
    assert promote["switched"] and promote.changed, promote
    assert not cleanup.changed and cleanup["kept_until"] == promote["kept_until"], cleanup
    assert selector(core, ns)["version"] == "green"
    assert deployment_ready(apps, ns, "web-blue", 3) and annotations(apps, ns, "web-blue")[ROLE] == "previous"

    [abort] = run(ns, {"action": "abort"})
    assert abort.changed and abort["switched"] and abort["active_slot"] == "blue", abort
    assert selector(core, ns) == {"app": "web", "version": "blue"}
    assert pods_behind(core, ns) == slot_pods(core, ns, "blue")
    assert apps.read_namespaced_deployment("web-green", ns).spec.replicas == 0
    assert annotations(apps, ns, "web-green")[ROLE] == "aborted"
    assert annotations(apps, ns, "web-blue")[ROLE] == "active" and SCALE_DOWN_AT not in annotations(apps, ns, "web-blue")


def test_ingress_backends_switch_between_the_slot_services(ns, core, apps, port):
    make_blue(core, apps, ns, port, service="web-blue")
    make_service(core, ns, "docs", {"app": "docs"})

    def backend(name):
        return {"service": {"name": name, "port": {"number": 80}}}

    kubernetes.client.NetworkingV1Api(core.api_client).create_namespaced_ingress(ns, {
        "metadata": {"name": "web"},
        "spec": {"defaultBackend": backend("web-blue"), "rules": [{"host": "api.example.com", "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": backend("web-blue")},
            {"path": "/docs", "pathType": "Prefix", "backend": backend("docs")}]}}]}})

    def backends():
        spec = kubernetes.client.NetworkingV1Api(core.api_client).read_namespaced_ingress("web", ns).spec
        return [spec.default_backend.service.name] + [p.backend.service.name for p in spec.rules[0].http.paths]

    ingress = {"ingress": "web", "service": "web"}
    promote, cleanup = run(ns, dict(ingress, action="promote", images={"app": V2}, scale_down_delay="0"),
                           dict(ingress, action="cleanup", cleanup_mode="scale_down"))
    assert promote["switched"] and promote["traffic"]["service"] == "web-green", promote
    assert cleanup.changed, cleanup
    assert backends() == ["web-green", "web-green", "docs"]
    assert selector(core, ns, "web-green") == {"app": "web", "version": "green"}
    assert pods_behind(core, ns, "web-green") == slot_pods(core, ns, "green")
    assert apps.read_namespaced_deployment("web-blue", ns).spec.replicas == 0  # the keep time (0) is over

    [abort] = run(ns, dict(ingress, action="abort"))
    assert abort["switched"] and abort["active_slot"] == "blue", abort
    assert backends() == ["web-blue", "web-blue", "docs"]
    assert deployment_ready(apps, ns, "web-blue", 3)
    assert apps.read_namespaced_deployment("web-green", ns).spec.replicas == 0


def test_a_crashing_release_and_bad_state_fail_in_one_sentence(ns, core, apps, port):
    make_blue(core, apps, ns, port)
    make_service(core, ns, "stray", {"app": "other", "version": "blue"})
    kubernetes.client.NetworkingV1Api(core.api_client).create_namespaced_ingress(ns, {
        "metadata": {"name": "docs-only"}, "spec": {"rules": [{"http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "docs", "port": {"number": 80}}}}]}}]}})
    crash, unknown, no_service, stray, no_backend, container = run(
        ns,
        {"action": "promote", "images": {"app": "registry.example.com/web:crashloop"}, "wait_timeout": 120},
        {"action": "status", "name": "nope", "service": "web"},
        {"action": "status", "service": "missing"},
        {"action": "status", "service": "stray"},
        {"action": "status", "ingress": "docs-only"},
        {"action": "deploy", "images": {"sidecar": V2}})
    assert_one_sentence(crash, f"Deployment {ns}/web-green did not become available", "CrashLoopBackOff",
                        "traffic stays on slot blue.")
    assert crash["wait"]["outcome"] == "failed" and crash["wait"]["elapsed"] < 60, crash["wait"]
    assert_one_sentence(unknown, f"Deployment {ns}/nope-blue, the active slot Service {ns}/web sends traffic to, "
                                 "does not exist.")
    assert_one_sentence(no_service, f"Service {ns}/missing does not exist.")
    assert_one_sentence(stray, f"Service {ns}/stray's selector (app=other,version=blue) matches no pod of "
                               f"Deployment {ns}/web-blue")
    assert_one_sentence(no_backend, f"Ingress {ns}/docs-only has no backend naming Service web-blue or web-green "
                                    "(its backends: docs).")
    assert_one_sentence(container, f"Deployment {ns}/web-blue has no container named 'sidecar' (containers: app).")
    assert selector(core, ns) == {"app": "web", "version": "blue"}
    assert pods_behind(core, ns) == slot_pods(core, ns, "blue")
