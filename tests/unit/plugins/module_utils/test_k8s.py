"""Kubernetes connection plumbing: options, client configuration through kubernetes.core, error sentences."""

from __future__ import annotations

import json

import pytest
import urllib3
import yaml
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args
from kubernetes.client import Configuration
from kubernetes.client.exceptions import ApiException

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import client as k8s


class FailJson(Exception):
    pass


@pytest.fixture
def module_factory(monkeypatch):
    def fail_json(module, msg, **kwargs):
        raise FailJson(msg)

    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    # load_kube_config() sets the client's process-wide default; a module process connects once, tests many times.
    Configuration.set_default(None)
    for name in ("K8S_AUTH_KUBECONFIG", "K8S_AUTH_CONTEXT", "K8S_AUTH_HOST", "K8S_AUTH_API_KEY", "K8S_AUTH_SSL_CA_CERT",
                 "K8S_AUTH_CA_CERT", "K8S_AUTH_VERIFY_SSL", "K8S_AUTH_VALIDATE_CERTS", "KUBECONFIG"):
        monkeypatch.delenv(name, raising=False)

    def make(args):
        with patch_module_args(args):
            return basic.AnsibleModule(argument_spec=dict(k8s.K8S_COMMON_ARGS))
    return make


def kubeconfig(tmp_path, token=None, server="https://127.0.0.1:6443"):
    user = {"token": token} if token else {"username": "u", "password": "p"}
    document = {
        "apiVersion": "v1", "kind": "Config", "current-context": "main",
        "clusters": [{"name": "c", "cluster": {"server": server, "insecure-skip-tls-verify": True}},
                     {"name": "other", "cluster": {"server": "https://127.0.0.2:6443"}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "main", "context": {"cluster": "c", "user": "u"}},
                     {"name": "second", "context": {"cluster": "other", "user": "u"}}],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(document))
    return str(path)


def test_common_args_are_named_like_kubernetes_core():
    # kubernetes.core's names, plus request_timeout, which is ours and never reaches its auth helpers.
    assert set(k8s.K8S_COMMON_ARGS) == {"kubeconfig", "context", "host", "api_key", "ca_cert", "validate_certs",
                                        "request_timeout"}
    assert "request_timeout" not in k8s.connection_params({"request_timeout": 5, "host": "https://h"})
    assert k8s.K8S_COMMON_ARGS["api_key"]["no_log"] is True
    assert k8s.K8S_COMMON_ARGS["ca_cert"]["aliases"] == ["ssl_ca_cert"]
    assert k8s.K8S_COMMON_ARGS["validate_certs"]["aliases"] == ["verify_ssl"]


def test_environment_fallbacks(module_factory, monkeypatch, tmp_path):
    path = kubeconfig(tmp_path)
    monkeypatch.setenv("K8S_AUTH_KUBECONFIG", path)
    monkeypatch.setenv("K8S_AUTH_CONTEXT", "second")
    monkeypatch.setenv("K8S_AUTH_VERIFY_SSL", "no")
    module = module_factory({})
    assert k8s.connection_params(module.params) == {"kubeconfig": path, "context": "second", "validate_certs": False}


def test_connect_uses_kubeconfig_and_context(module_factory, tmp_path):
    module = module_factory({"kubeconfig": kubeconfig(tmp_path), "context": "second"})
    api = k8s.connect(module)
    assert api.host == "https://127.0.0.2:6443"
    retries = api.client.configuration.retries
    assert (retries.connect, retries.read, retries.status) == (1, 0, 0)  # never resend a request the server got


def test_connect_with_host_and_token_skips_the_kubeconfig(module_factory):
    module = module_factory({"host": "https://k8s.example.test:6443/", "api_key": "s3cret", "validate_certs": False})
    api = k8s.connect(module)
    config = api.client.configuration
    assert config.host == "https://k8s.example.test:6443"
    assert config.verify_ssl is False
    headers = {}
    api.client.update_params_for_auth(headers, [], ["BearerToken"])
    assert headers == {"authorization": "Bearer s3cret"}


def test_kubeconfig_token_is_sent_despite_kubernetes_36(module_factory, tmp_path):
    """kubernetes 36 reads api_key['BearerToken'] only (kubernetes-client/python#2582); the token must still go out."""
    module = module_factory({"kubeconfig": kubeconfig(tmp_path, token="abc123")})
    api = k8s.connect(module)
    headers = {}
    api.client.update_params_for_auth(headers, [], ["BearerToken"])
    assert headers == {"authorization": "Bearer abc123"}


def test_bearer_token_compat_follows_refreshes():
    config = Configuration()
    config.api_key["authorization"] = "Bearer old"
    tokens = iter(["Bearer new"])

    def refresh(conf):
        conf.api_key["authorization"] = next(tokens)

    config.refresh_api_key_hook = refresh
    k8s._bearer_token_compat(config)
    k8s._bearer_token_compat(config)  # idempotent: the hook is wrapped once
    assert config.auth_settings()["BearerToken"]["value"] == "Bearer new"


def test_connect_without_any_configuration_is_one_sentence(module_factory, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    module = module_factory({})
    with pytest.raises(FailJson) as exc:
        k8s.connect(module)
    message = str(exc.value)
    assert message.startswith("Cannot configure the Kubernetes client: ")
    assert "K8S_AUTH_KUBECONFIG" in message and "\n" not in message


def test_connect_with_unknown_context(module_factory, tmp_path):
    module = module_factory({"kubeconfig": kubeconfig(tmp_path), "context": "nope"})
    with pytest.raises(FailJson, match="^Cannot configure the Kubernetes client: .*nope"):
        k8s.connect(module)


@pytest.mark.parametrize(("kind", "namespace", "name", "sub", "path"), [
    ("Deployment", "shop", "web", None, "/apis/apps/v1/namespaces/shop/deployments/web"),
    ("Deployment", "shop", None, None, "/apis/apps/v1/namespaces/shop/deployments"),
    ("Pod", "shop", None, None, "/api/v1/namespaces/shop/pods"),
    ("StatefulSet", "data", "db", "scale", "/apis/apps/v1/namespaces/data/statefulsets/db/scale"),
    ("HorizontalPodAutoscaler", "shop", "web", None, "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/web"),
    ("Namespace", None, "shop", None, "/api/v1/namespaces/shop"),
])
def test_paths(kind, namespace, name, sub, path):
    assert k8s.KubeApi.path(kind, namespace, name, sub) == path


def api_exception(status, reason, body):
    exc = ApiException(status=status, reason=reason)
    exc.body = json.dumps(body) if isinstance(body, dict) else body
    return exc


@pytest.mark.parametrize(("exc", "message", "status"), [
    (api_exception(404, "Not Found", {"kind": "Status", "reason": "NotFound",
                                      "message": 'deployments.apps "web" not found'}),
     'deployments.apps "web" not found.', 404),
    (api_exception(403, "Forbidden", {"reason": "Forbidden", "message": 'deployments.apps "web" is forbidden: '
                                      'User "bot" cannot patch resource'}),
     'permission denied by the Kubernetes API: deployments.apps "web" is forbidden: User "bot" cannot patch resource.', 403),
    (api_exception(401, "Unauthorized", {"reason": "Unauthorized", "message": "Unauthorized"}),
     "the Kubernetes API at https://k8s:6443 refused the credentials (401 Unauthorized).", 401),
    (api_exception(500, "Internal Server Error", "oops\nmore"), "oops.", 500),
    (api_exception(0, "SSLError\n[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", None),
     "Cannot reach the Kubernetes API at https://k8s:6443: the server certificate is not trusted "
     "(set ca_cert, or validate_certs=false).", 0),
    (urllib3.exceptions.MaxRetryError(None, "/", reason=urllib3.exceptions.NewConnectionError(
        None, "Failed to establish a new connection: [Errno 111] Connection refused")),
     "Cannot reach the Kubernetes API at https://k8s:6443: connection refused.", 0),
    (urllib3.exceptions.ReadTimeoutError(None, "/", "Read timed out."),
     "Cannot reach the Kubernetes API at https://k8s:6443: no answer in time.", 0),
])
def test_describe_api_error(exc, message, status):
    error = k8s.describe_api_error(exc, "https://k8s:6443")
    assert str(error) == message
    assert error.status == status


class FakeResponse:
    def __init__(self, data=b"", chunks=()):
        self.data = data
        self.chunks = list(chunks)
        self.released = False

    def stream(self, amt=None, decode_content=False):
        yield from self.chunks

    def release_conn(self):
        self.released = True


class FakeClient:
    def __init__(self, outcome):
        self.outcome = outcome
        self.calls = []
        self.configuration = Configuration()
        self.configuration.host = "https://k8s:6443"

    def call_api(self, path, method, **kwargs):
        self.calls.append((method, path, kwargs))
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


def make_api(outcome):
    return k8s.KubeApi(FakeClient(outcome), ApiException, (urllib3.exceptions.HTTPError, OSError))


def test_request_shapes_and_not_found():
    api = make_api(FakeResponse(json.dumps({"items": [{"metadata": {"name": "a"}}], "metadata": {}}).encode()))
    listing = api.list("Pod", "shop", label_selector="app=web")
    assert listing["items"][0]["kind"] == "Pod"
    method, path, kwargs = api.client.calls[0]
    assert (method, path) == ("GET", "/api/v1/namespaces/shop/pods")
    assert kwargs["query_params"] == [("labelSelector", "app=web")]
    assert kwargs["auth_settings"] == ["BearerToken"]

    api.patch("Deployment", "shop", "web", [{"op": "replace", "path": "/spec/replicas", "value": 2}], patch_type="json")
    assert api.client.calls[-1][2]["header_params"]["Content-Type"] == "application/json-patch+json"

    missing = make_api(api_exception(404, "Not Found", {"reason": "NotFound", "message": "not found"}))
    assert missing.find("Deployment", "shop", "web") is None
    with pytest.raises(k8s.KubeError) as exc:
        missing.get("Deployment", "shop", "web")
    assert exc.value.not_found and exc.value.reason == "NotFound"


def test_watch_yields_events_and_raises_gone():
    events = [{"type": "ADDED", "object": {"metadata": {"name": "a", "resourceVersion": "5"}}},
              {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}}]
    payload = ("\n".join(json.dumps(e) for e in events) + "\n").encode()
    response = FakeResponse(chunks=[payload[:20], payload[20:]])
    seen = []
    api = make_api(response)
    with pytest.raises(k8s.KubeError) as exc:
        for event in api.watch("Pod", "shop", resource_version="4", on_response=seen.append):
            assert event["object"]["metadata"]["name"] == "a"
    assert exc.value.status == 410
    assert seen == [response] and response.released
    query = dict(api.client.calls[0][2]["query_params"])
    assert query["watch"] == "true" and query["resourceVersion"] == "4"


@pytest.fixture
def silent_server():
    """A TCP server on loopback that accepts connections and never answers (a wedged API server)."""
    import socket
    import threading
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def test_a_server_that_never_answers_costs_request_timeout_once_and_names_the_request(module_factory, silent_server):
    import time
    api = k8s.connect(module_factory({"host": silent_server, "api_key": "t", "request_timeout": 1}))
    started = time.monotonic()
    with pytest.raises(k8s.KubeError, match=r"did not answer GET /api/v1/namespaces/default/pods within 1s"):
        api.list("Pod", "default")
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("content", ["not: [yaml", "clusters: oops\n", "[]", "42"])
def test_a_broken_kubeconfig_is_one_sentence(module_factory, tmp_path, content):
    path = tmp_path / "kubeconfig"
    path.write_text(content)
    with pytest.raises(FailJson, match=r"^Cannot configure the Kubernetes client.*\.$") as caught:
        k8s.connect(module_factory({"kubeconfig": str(path)}))
    assert "\n" not in str(caught.value)
