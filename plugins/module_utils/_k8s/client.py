# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Kubernetes connection plumbing shared by every sre.runbooks Kubernetes module.

``K8S_COMMON_ARGS`` is documented, option for option, by the ``sre.runbooks.k8s`` doc fragment.
Modules merge it into their own spec and call :func:`connect`, which returns a :class:`KubeApi`.

The client configuration (kubeconfig, in-cluster service account, token, certificates, the
``K8S_AUTH_*`` variables) is built by kubernetes.core's own helpers, so our modules authenticate
exactly as kubernetes.core's do. The requests themselves go through the kubernetes client's plain
REST layer and come back as the API's JSON (camelCase dicts): no model classes, no API discovery
round trips, and the pure logic in the other module_utils works on the same shapes as the manifests.

The ``kubernetes`` library (~0.5 s to import) and kubernetes.core are imported only by
:func:`connect`, so argument errors and ``ansible-doc`` never pay for them.
"""

from __future__ import annotations

import gc
import json
import traceback
from urllib.parse import quote

from ansible.module_utils.basic import env_fallback, missing_required_lib

K8S_COMMON_ARGS = {
    "kubeconfig": {"type": "raw", "no_log": True, "fallback": (env_fallback, ["K8S_AUTH_KUBECONFIG"])},
    "context": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_CONTEXT"])},
    "host": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_HOST"])},
    "api_key": {"type": "str", "no_log": True, "fallback": (env_fallback, ["K8S_AUTH_API_KEY"])},
    "ca_cert": {"type": "path", "aliases": ["ssl_ca_cert"],
                "fallback": (env_fallback, ["K8S_AUTH_SSL_CA_CERT", "K8S_AUTH_CA_CERT"])},
    "validate_certs": {"type": "bool", "aliases": ["verify_ssl"],
                       "fallback": (env_fallback, ["K8S_AUTH_VERIFY_SSL", "K8S_AUTH_VALIDATE_CERTS"])},
    "request_timeout": {"type": "float", "default": 30.0},
}
# Passed to RunbookModule(ranges=...) by every Kubernetes module.
K8S_RANGES = {"request_timeout": (1, 3600)}
# Options of ours that kubernetes.core's auth helpers must not see.
_NOT_AUTH = ("request_timeout",)

# Seconds to wait for a TCP/TLS connection, and for the answer to an ordinary request.
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 60

# API group path, namespaced, and the kinds it serves; each kind's plural is its name in lower case plus "s".
_KINDS = (
    ("apis/apps/v1", True, ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ControllerRevision")),
    ("apis/autoscaling/v2", True, ("HorizontalPodAutoscaler",)),
    ("apis/batch/v1", True, ("Job", "CronJob")),
    ("api/v1", True, ("Pod", "Event", "PersistentVolumeClaim")),
    ("api/v1", True, ("Service",)),
    ("api/v1", False, ("Namespace", "Node")),
    ("api/v1", True, ("ConfigMap", "Secret", "ServiceAccount")),
    ("apis/policy/v1", True, ("PodDisruptionBudget",)),
    ("apis/rbac.authorization.k8s.io/v1", True, ("Role", "RoleBinding")),
    ("apis/rbac.authorization.k8s.io/v1", False, ("ClusterRole", "ClusterRoleBinding")),
)

# kind -> (API group path, plural, namespaced)
RESOURCES = {kind: (group, kind.lower() + "s", namespaced) for group, namespaced, kinds in _KINDS for kind in kinds}
# metrics-server's resource metrics API (absent on clusters without metrics-server: 404).
RESOURCES["PodMetrics"] = ("apis/metrics.k8s.io/v1beta1", "pods", True)
RESOURCES["Ingress"] = ("apis/networking.k8s.io/v1", "ingresses", True)
# cert-manager's CustomResource (absent on clusters without cert-manager: 404).
RESOURCES["Certificate"] = ("apis/cert-manager.io/v1", "certificates", True)
RESOURCES["NetworkPolicy"] = ("apis/networking.k8s.io/v1", "networkpolicies", True)
# The run lock (k8s_lock).
RESOURCES["Lease"] = ("apis/coordination.k8s.io/v1", "leases", True)
# The endpoints behind each Service (I6, the diagnostics bundle).
RESOURCES["EndpointSlice"] = ("apis/discovery.k8s.io/v1", "endpointslices", True)

# Accept header of a list that returns each object's metadata only (no Secret values cross the wire).
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json"

PATCH_TYPES = {
    "strategic": "application/strategic-merge-patch+json",
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
}


class KubeError(Exception):
    """An expected Kubernetes failure; ``str()`` is fit for a one-sentence fail_json message.

    ``status`` is the HTTP status (0 when the API could not be reached), ``reason`` the API's
    machine-readable reason (``NotFound``, ``Conflict``, ``Invalid``, ``Forbidden``, ...).
    """

    def __init__(self, message, status=0, reason=None):
        super().__init__(message)
        self.status = status
        self.reason = reason

    @property
    def not_found(self):
        return self.status == 404


def object_ref(kind, namespace, name):
    """How messages name an object: ``Deployment shop/web``."""
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def _status_message(body):
    """The ``message`` of a Kubernetes ``Status`` body, or the body's first line."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    try:
        document = json.loads(body or "")
    except (TypeError, ValueError):
        document = None
    if isinstance(document, dict):
        return document.get("message") or document.get("reason") or "", document.get("reason")
    text = (body or "").strip().splitlines()
    return (text[0] if text else ""), None


def _cause_of_transport_error(exc):
    """The root cause of a urllib3/socket failure in a few words."""
    cause = getattr(exc, "reason", None) or exc
    text = str(cause)
    lowered = text.lower()
    for needle, words in (
        ("connection refused", "connection refused"),
        ("timed out", "no answer in time"),
        ("name or service not known", "the host name does not resolve"),
        ("nodename nor servname", "the host name does not resolve"),
        ("temporary failure in name resolution", "the host name does not resolve"),
        ("certificate verify failed", "the server certificate is not trusted (set ca_cert, or validate_certs=false)"),
        ("network is unreachable", "the network is unreachable"),
        ("no route to host", "no route to host"),
        ("connection reset", "the connection was reset"),
    ):
        if needle in lowered:
            return words
    return text.rstrip(".") or type(exc).__name__


def describe_api_error(exc, host, what=None):
    """One sentence for an ApiException or transport error raised by the kubernetes client."""
    status = getattr(exc, "status", None)
    if status:  # an HTTP answer from the API server
        message, reason = _status_message(getattr(exc, "body", None))
        subject = f"{what}: " if what else ""
        if status == 401:
            return KubeError(f"{subject}the Kubernetes API at {host} refused the credentials (401 Unauthorized).",
                             status, reason or "Unauthorized")
        if status == 403:
            detail = message or "forbidden"
            return KubeError(f"{subject}permission denied by the Kubernetes API: {detail.rstrip('.')}.", status,
                             reason or "Forbidden")
        detail = message or getattr(exc, "reason", None) or f"HTTP {status}"
        return KubeError(f"{subject}{str(detail).rstrip('.')}.", status, reason)
    if status == 0 and getattr(exc, "reason", None):  # the client's wrapper around an SSL error
        return KubeError(f"Cannot reach the Kubernetes API at {host}: {_cause_of_transport_error(exc.reason)}.")
    return KubeError(f"Cannot reach the Kubernetes API at {host}: {_cause_of_transport_error(exc)}.")


def _iter_lines(response):
    """Lines of a streamed (watch) response, decoded, without the newline."""
    buffer = b""
    for chunk in response.stream(amt=None, decode_content=False):
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip():
                yield line.decode("utf-8", errors="replace")
    if buffer.strip():
        yield buffer.decode("utf-8", errors="replace")


class KubeApi:
    """Plain REST calls on a ``kubernetes.client.ApiClient``; objects are the API's JSON dicts."""

    def __init__(self, api_client, api_exception, transport_errors, read_timeout=READ_TIMEOUT):
        self.client = api_client
        self._api_exception = api_exception
        self._transport_errors = transport_errors
        self.read_timeout = read_timeout

    @property
    def host(self):
        return self.client.configuration.host

    @staticmethod
    def path(kind, namespace=None, name=None, subresource=None):
        try:
            group, plural, namespaced = RESOURCES[kind]
        except KeyError:
            raise KubeError(f"Unsupported kind {kind!r}.") from None
        parts = ["", group]
        if namespaced and namespace:
            parts += ["namespaces", quote(namespace, safe="")]
        parts.append(plural)
        if name:
            parts.append(quote(name, safe=""))
        if subresource:
            parts.append(subresource)
        return "/".join(parts)

    def _call(self, method, path, query=None, body=None, content_type=None, stream=False, timeout=None, what=None,
              accept="application/json"):
        headers = {"Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            response = self.client.call_api(
                path, method, query_params=query or [], header_params=headers, body=body,
                auth_settings=["BearerToken"], _preload_content=False,
                _request_timeout=timeout or (CONNECT_TIMEOUT, self.read_timeout),
            )
        except self._api_exception as exc:
            raise describe_api_error(exc, self.host, what) from None
        except self._transport_errors as exc:
            if _cause_of_transport_error(exc) == "no answer in time":
                seconds = (timeout or (CONNECT_TIMEOUT, self.read_timeout))[1]
                raise KubeError(f"The Kubernetes API at {self.host} did not answer {method} {path} within "
                                f"{seconds:g}s (request_timeout).") from None
            raise describe_api_error(exc, self.host, what) from None
        if stream:
            return response
        try:
            data = response.data
        except self._transport_errors as exc:
            raise describe_api_error(exc, self.host, what) from None
        if not data:
            return {}
        try:
            return json.loads(data)
        except ValueError:
            raise KubeError(f"The Kubernetes API at {self.host} answered {path} with something that is not JSON.") from None

    def request(self, method, path, query=None, body=None, content_type=None, what=None, accept="application/json"):
        """A request on an API path built by the caller (``/apis/<group>/<version>/...``), as for kinds the
        RESOURCES table does not list (custom resources, found by discovery); the answer's JSON."""
        return self._call(method, path, query, body, content_type=content_type, what=what, accept=accept)

    def get(self, kind, namespace, name, subresource=None):
        return self._call("GET", self.path(kind, namespace, name, subresource))

    def find(self, kind, namespace, name):
        """The object, or None when it does not exist."""
        try:
            return self.get(kind, namespace, name)
        except KubeError as exc:
            if exc.not_found:
                return None
            raise

    def list(self, kind, namespace=None, label_selector=None, field_selector=None, metadata_only=False):
        """The API's List document (``items`` plus ``metadata.resourceVersion``).

        ``metadata_only`` asks for each item's ``metadata`` alone (PartialObjectMetadata), as for Secrets
        whose values must not be read.
        """
        query = []
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        result = self._call("GET", self.path(kind, namespace), query,
                            accept=METADATA_ONLY if metadata_only else "application/json")
        result.setdefault("items", [])
        for item in result["items"]:  # list items come without kind/apiVersion
            if metadata_only or "kind" not in item:
                item["kind"] = kind
        return result

    def get_path(self, path, query=None):
        """GET any API path (``/version``, a discovery document, a custom resource collection) as JSON."""
        return self._call("GET", path, query)

    def list_path(self, path, label_selector=None, limit=500):
        """Every item of the collection at ``path`` (``/apis/g/v/namespaces/n/plural`` or cluster-wide),
        fetched in pages of ``limit`` items with the API's ``continue`` token; items come without kind/apiVersion."""
        items = []
        token = None
        while True:
            query = [("limit", str(int(limit)))]
            if label_selector:
                query.append(("labelSelector", label_selector))
            if token:
                query.append(("continue", token))
            page = self._call("GET", path, query)
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items

    def log(self, namespace, pod, container=None, since_seconds=None, limit_bytes=None, previous=False,
            tail_lines=None):
        """The text of a container's log (``kubectl logs``): the newest ``since_seconds``, at most
        ``limit_bytes``, or the last ``tail_lines`` lines; without ``container``, the pod's only one."""
        query = [("container", container)] if container else []
        if tail_lines:
            query.append(("tailLines", str(int(tail_lines))))
        if since_seconds:
            query.append(("sinceSeconds", str(int(since_seconds))))
        if limit_bytes:
            query.append(("limitBytes", str(int(limit_bytes))))
        if previous:
            query.append(("previous", "true"))
        response = self._call("GET", self.path("Pod", namespace, pod, "log"), query, stream=True,
                              what=f"logs of {object_ref('Pod', namespace, pod)}"
                                   + (f" container {container}" if container else ""))
        try:
            return response.data.decode("utf-8", errors="replace")
        except self._transport_errors as exc:
            raise describe_api_error(exc, self.host) from None
        finally:
            response.release_conn()

    def patch(self, kind, namespace, name, body, patch_type="strategic", subresource=None, dry_run=False):
        query = [("dryRun", "All")] if dry_run else []
        return self._call("PATCH", self.path(kind, namespace, name, subresource), query, body,
                          content_type=PATCH_TYPES[patch_type])

    def create(self, kind, namespace, body):
        return self._call("POST", self.path(kind, namespace), body=body, content_type="application/json")

    def delete(self, kind, namespace, name, uid=None, resource_version=None, propagation_policy=None):
        body = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation_policy:  # batch/v1 Jobs orphan their pods unless told otherwise
            body["propagationPolicy"] = propagation_policy
        preconditions = {key: value for key, value in (("uid", uid), ("resourceVersion", resource_version)) if value}
        if preconditions:
            body["preconditions"] = preconditions
        return self._call("DELETE", self.path(kind, namespace, name), body=body)

    def watch(self, kind, namespace, resource_version=None, label_selector=None, field_selector=None,
              timeout_seconds=60, on_response=None):
        """Yield watch events (``{"type": ..., "object": {...}}``) until the server ends the watch.

        An ``ERROR`` event (such as 410 Gone for a too-old resourceVersion) is raised as KubeError.
        ``on_response`` receives the streaming HTTP response, so another thread can shut it down.
        """
        query = [("watch", "true"), ("allowWatchBookmarks", "true"),
                 ("timeoutSeconds", str(int(max(1, timeout_seconds))))]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        response = self._call("GET", self.path(kind, namespace), query, stream=True,
                              timeout=(CONNECT_TIMEOUT, timeout_seconds + 15))
        if on_response is not None:
            on_response(response)
        try:
            for line in _iter_lines(response):
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    raise KubeError(status.get("message") or "watch error", status.get("code") or 0,
                                    status.get("reason"))
                yield event
        except self._transport_errors as exc:
            raise describe_api_error(exc, self.host) from None
        finally:
            response.release_conn()


def _bearer_token_compat(configuration):
    """Make token authentication work with kubernetes 36.

    The kubeconfig and in-cluster loaders (and kubernetes.core) put the token under
    ``api_key["authorization"]``, but kubernetes 36 sends only ``api_key["BearerToken"]``, so
    token-authenticated requests went out anonymous (kubernetes-client/python#2582). Keep the two
    in step, also after a refresh (exec plugins, OIDC, expiring service-account tokens).
    """
    api_key = configuration.api_key
    if api_key.get("authorization") and not api_key.get("BearerToken"):
        api_key["BearerToken"] = api_key["authorization"]
    refresh = configuration.refresh_api_key_hook
    if refresh is not None and not getattr(refresh, "_sre_runbooks_compat", False):
        def refresh_and_sync(config):
            refresh(config)
            if config.api_key.get("authorization"):
                config.api_key["BearerToken"] = config.api_key["authorization"]
        refresh_and_sync._sre_runbooks_compat = True
        configuration.refresh_api_key_hook = refresh_and_sync
    return configuration


def connection_params(params):
    """The common options as kubernetes.core's auth helper takes them (unset ones left out)."""
    return {key: params.get(key) for key in K8S_COMMON_ARGS if params.get(key) is not None and key not in _NOT_AUTH}


def _import_client(module):
    """kubernetes and kubernetes.core's auth helpers, imported on first use; fail_json when missing."""
    try:
        import urllib3
        from kubernetes.client import ApiClient
        from kubernetes.client.exceptions import ApiException
        from kubernetes.config.config_exception import ConfigException
    except ImportError:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=traceback.format_exc())
        raise  # not reached: fail_json exits
    try:
        from ansible_collections.kubernetes.core.plugins.module_utils.k8s import client as core_client
    except ImportError:
        module.fail_json(msg="The kubernetes.core collection is required on the controller "
                             "(ansible-galaxy collection install kubernetes.core).",
                         exception=traceback.format_exc())
        raise  # not reached
    # The client defines thousands of model classes. Moving everything allocated so far out of the
    # cyclic GC's reach (gc.freeze) spares the collector walking them during the run and the
    # interpreter tearing them down at exit: the module process ends ~0.3 s sooner after its
    # result is written. Objects made later are collected as usual.
    gc.freeze()
    return {"ApiClient": ApiClient, "ApiException": ApiException, "ConfigException": ConfigException,
            "transport_errors": (urllib3.exceptions.HTTPError, OSError), "core": core_client,
            "Retry": urllib3.util.Retry}


def connect(module):
    """A :class:`KubeApi` for the module's connection options, or fail_json in one sentence."""
    lib = _import_client(module)
    core = lib["core"]
    kubeconfig = module.params.get("kubeconfig")
    if kubeconfig is not None and not isinstance(kubeconfig, (str, dict)):
        module.fail_json(msg="kubeconfig must be the path of a kubeconfig file or a kubeconfig as a dictionary, "
                             f"not a {type(kubeconfig).__name__}.")
    params = connection_params(module.params)
    try:
        auth = core._create_auth_spec(None, **params)  # pylint: disable=protected-access
        configuration = core._create_configuration(auth)  # pylint: disable=protected-access
        headers = core._create_headers(None, **params)  # pylint: disable=protected-access
    except lib["ConfigException"] as exc:
        module.fail_json(msg=f"Cannot configure the Kubernetes client: {str(exc).rstrip('.')} "
                             "(set kubeconfig or K8S_AUTH_KUBECONFIG, or host and api_key).")
        raise  # not reached
    except Exception as exc:  # pylint: disable=broad-exception-caught
        # A kubeconfig that is not YAML, or whose 'clusters' is a string, fails deep inside the
        # kubernetes client with YAMLError, AttributeError or TypeError: any of them is "bad kubeconfig".
        reason = (str(exc).strip().splitlines() or [""])[0].rstrip(".")[:200] or type(exc).__name__
        module.fail_json(msg=f"Cannot configure the Kubernetes client from the kubeconfig or connection options: {reason}.")
        raise  # not reached
    _bearer_token_compat(configuration)
    # One retry of a connection that failed (an unreachable API fails in seconds, not after urllib3's
    # 3 retries), none of a request the server may have received: a PATCH must not be sent twice,
    # and a server that accepts and never answers must cost request_timeout once, not twice.
    configuration.retries = lib["Retry"](total=1, connect=1, read=0, status=0, redirect=0, other=0)
    api_client = lib["ApiClient"](configuration)
    for header, value in headers.items():
        core._set_header(api_client, header, value)  # pylint: disable=protected-access
    api_client.user_agent = "sre.runbooks"
    return KubeApi(api_client, lib["ApiException"], lib["transport_errors"],
                   read_timeout=module.params.get("request_timeout") or READ_TIMEOUT)
