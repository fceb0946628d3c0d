"""HTTP front of the sandbox: three listeners (V2, V1, V3) in one process, stdlib only.

Routing follows docs/platform-api.md. Every listener also serves ``/health/live``,
``/health/ready``, ``/metrics`` and, unless disabled, the test controls under ``/_sandbox/``.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.platform_sandbox.metrics import CONTENT_TYPE, Registry
from tests.platform_sandbox.store import ApiError, Platform, iso

VERSION = "1.0.0-sandbox"
SERVICE_NAMES = {"v1": "platform-v1-api", "v2": "platform-v2-api", "v3": "platform-v3-api"}
ALL = ("v1", "v2", "v3")

# (method, path regex, route template, handler name, APIs that serve it)
ROUTES = [
    ("GET", r"/health/live", "/health/live", "live", ALL),
    ("GET", r"/health/ready", "/health/ready", "ready", ALL),
    ("GET", r"/metrics", "/metrics", "metrics", ALL),
    ("GET", r"/api/v1/health/status", "/api/v1/health/status", "health_status", ALL),
    ("GET", r"/api/v1/health/slo", "/api/v1/health/slo", "health_slo", ("v2",)),
    ("GET", r"/api/v1/metrics/slo-compliance", "/api/v1/metrics/slo-compliance", "slo_compliance", ("v2",)),
    ("GET", r"/api/v1/metrics/models", "/api/v1/metrics/models", "models", ("v2",)),
    ("GET", r"/api/v1/deployments", "/api/v1/deployments", "deployments", ("v2",)),
    ("POST", r"/api/v1/experiments/create", "/api/v1/experiments/create", "create", ("v1",)),
    ("GET", r"/api/v1/experiments", "/api/v1/experiments", "list", ("v1",)),
    ("POST", r"/api/v1/experiments/run/(?P<id>[^/]+)", "/api/v1/experiments/run/{experiment_id}", "run", ("v1",)),
    ("GET", r"/api/v1/experiments/(?P<id>[^/]+)", "/api/v1/experiments/{experiment_id}", "get", ("v1",)),
    ("POST", r"/api/v1/evaluation/promote/(?P<id>[^/]+)", "/api/v1/evaluation/promote/{experiment_id}", "promote", ("v1",)),
    ("POST", r"/api/v1/evaluation/quarantine/(?P<id>[^/]+)", "/api/v1/evaluation/quarantine/{experiment_id}",
     "quarantine", ("v1",)),
    ("GET", r"/api/v1/evaluation/(?P<id>[^/]+)", "/api/v1/evaluation/{experiment_id}", "evaluation", ("v1",)),
    ("GET", r"/api/v1/audit/events", "/api/v1/audit/events", "audit", ("v1",)),
    ("GET", r"/api/v1/quarantine/records", "/api/v1/quarantine/records", "records", ("v3",)),
    ("GET", r"/api/v1/quarantine/records/(?P<id>[^/]+)", "/api/v1/quarantine/records/{record_id}", "record", ("v3",)),
    ("GET", r"/api/v1/quarantine/statistics", "/api/v1/quarantine/statistics", "statistics", ("v3",)),
    # Test controls (not part of the contract).
    ("POST", r"/_sandbox/outcomes", "/_sandbox/outcomes", "ctl_outcome", ALL),
    ("POST", r"/_sandbox/faults", "/_sandbox/faults", "ctl_fault", ALL),
    ("DELETE", r"/_sandbox/faults", "/_sandbox/faults", "ctl_clear_faults", ALL),
    ("POST", r"/_sandbox/traffic", "/_sandbox/traffic", "ctl_traffic", ALL),
    ("POST", r"/_sandbox/reset", "/_sandbox/reset", "ctl_reset", ALL),
    ("POST", r"/_sandbox/clock", "/_sandbox/clock", "ctl_clock", ALL),
]
_COMPILED = [(m, re.compile("^" + p + "$"), t, h, apis) for m, p, t, h, apis in ROUTES]


class Faults:
    """Injected latency and errors, matched by API and path prefix; errors are spread exactly (every 1/ratio-th call)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.items = []

    def add(self, spec):
        api = spec.get("api", "v2")
        fault = {
            "id": len(self.items) + 1, "api": api, "path": spec.get("path", "/"),
            "latency_ms": float(spec.get("latency_ms", 0)), "error_ratio": float(spec.get("error_ratio", 0)),
            "error_status": int(spec.get("error_status", 503)), "slow_ratio": float(spec.get("slow_ratio", 0)),
            "slow_latency_ms": float(spec.get("slow_latency_ms", 0)), "matched": 0,
        }
        if api not in ALL or not 0 <= fault["error_ratio"] <= 1 or not 0 <= fault["slow_ratio"] <= 1 \
                or not 400 <= fault["error_status"] <= 599:
            raise ApiError(400, "validation_error", "A fault needs api v1/v2/v3, ratios in [0, 1] and a 4xx/5xx error_status.")
        with self.lock:
            self.items.append(fault)
        return dict(fault)

    def clear(self):
        with self.lock:
            count = len(self.items)
            self.items = []
        return {"cleared": count}

    def match(self, api, path):
        """(delay seconds, error status or None) for a request."""
        with self.lock:
            for fault in self.items:
                if fault["api"] == api and path.startswith(fault["path"]):
                    fault["matched"] += 1
                    n = fault["matched"]
                    error = _nth(n, fault["error_ratio"])
                    slow = _nth(n, fault["slow_ratio"])
                    delay = (fault["slow_latency_ms"] if slow else fault["latency_ms"]) / 1000.0
                    return delay, fault["error_status"] if error else None
        return 0.0, None


def _nth(n, share):
    """True for exactly round-down(n * share) of the first n calls, spread evenly."""
    return share > 0 and math.floor(n * share + 1e-9) > math.floor((n - 1) * share + 1e-9)


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, api, app):
        self.api = api
        self.app = app
        super().__init__(address, Handler)


class App:
    """Shared state of the three listeners."""

    def __init__(self, platform, token=None, controls=True, log_requests=False):
        self.platform = platform
        self.token = token
        self.controls = controls
        self.log_requests = log_requests
        self.registry = Registry()
        self.faults = Faults()
        self.started = time.time()


class Handler(BaseHTTPRequestHandler):
    server_version = "platform-sandbox/" + VERSION
    protocol_version = "HTTP/1.1"
    # Headers and body are two writes; without TCP_NODELAY, Nagle plus the client's delayed ACK adds ~40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        if self.server.app.log_requests:
            super().log_message(format, *args)

    def do_GET(self):  # noqa: N802
        self._handle("GET")

    def do_POST(self):  # noqa: N802
        self._handle("POST")

    def do_DELETE(self):  # noqa: N802
        self._handle("DELETE")

    def do_PUT(self):  # noqa: N802
        self._handle("PUT")

    def do_PATCH(self):  # noqa: N802
        self._handle("PATCH")

    # ------------------------------------------------------------------
    def _handle(self, method):
        started = time.monotonic()
        app, api = self.server.app, self.server.api
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        route, status = "unmatched", 500
        try:
            body = self._body()
            handler, params, route = self._route(method, path, api)
            counted = not route.startswith("/_sandbox") and route != "/metrics"
            if counted:
                delay, injected = app.faults.match(api, path)
                if delay:
                    time.sleep(delay)
                if injected:
                    raise ApiError(injected, "injected_fault", f"Fault injected by the sandbox on {path}.")
            if route.startswith("/api/") and app.token and self.headers.get("Authorization") != f"Bearer {app.token}":
                raise ApiError(401, "unauthorized", "A valid API token is required (Authorization: Bearer <token>).")
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            status, payload = getattr(self, "h_" + handler)(params, query, body)
        except ApiError as exc:
            status = exc.status
            payload = {"error": {"code": exc.code, "message": exc.message, **({"details": exc.details} if exc.details else {})}}
        except Exception as exc:  # noqa: BLE001 - the contract's 500 body, never a stack trace
            status, payload = 500, {"error": {"code": "internal_error", "message": f"Internal error: {exc}"}}
        self._send(status, payload)
        elapsed = time.monotonic() - started
        if route != "unmatched" or status != 404:
            app.registry.observe(api, method, route, status, elapsed)
        if not route.startswith("/_sandbox") and route != "/metrics":
            try:
                app.platform.record_request(api, elapsed, status)
            except Exception:  # noqa: BLE001,S110 - counting must never break a response already sent
                pass

    def _route(self, method, path, api):
        allowed = []
        for m, regex, template, handler, apis in _COMPILED:
            if api not in apis:
                continue
            match = regex.match(path)
            if not match:
                continue
            if template.startswith("/_sandbox") and not self.server.app.controls:
                continue
            if m != method:
                allowed.append(m)
                continue
            return handler, match.groupdict(), template
        if allowed:
            raise ApiError(405, "method_not_allowed", f"{method} is not allowed on {path} (use {', '.join(sorted(set(allowed)))}).")
        raise ApiError(404, "not_found", f"No such endpoint on the {api.upper()} API: {method} {path}.")

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        raw = self.rfile.read(length)
        try:
            data = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise ApiError(400, "invalid_json", "The request body must be a JSON object.")
        return data

    def _send(self, status, payload):
        if isinstance(payload, str):
            data, ctype = payload.encode("utf-8"), CONTENT_TYPE
        else:
            data, ctype = json.dumps(payload).encode("utf-8"), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        request_id = self.headers.get("X-Request-Id")
        if request_id:
            self.send_header("X-Request-Id", request_id)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _ctx(self):
        return {"request_id": self.headers.get("X-Request-Id"), "user_agent": self.headers.get("User-Agent")}

    @staticmethod
    def _int(query, name, default, low, high):
        raw = query.get(name)
        if raw in (None, ""):
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(400, "validation_error", f"{name} must be an integer.") from None
        if not low <= value <= high:
            raise ApiError(400, "validation_error", f"{name} must be between {low} and {high}.")
        return value

    @staticmethod
    def _bool(query, name):
        raw = (query.get(name) or "").lower()
        if raw in ("", "false", "0", "no"):
            return False
        if raw in ("true", "1", "yes"):
            return True
        raise ApiError(400, "validation_error", f"{name} must be true or false.")

    # ------------------------------------------------------------------ common
    def h_live(self, params, query, body):
        return 200, {"status": "alive"}

    def h_ready(self, params, query, body):
        try:
            self.server.app.platform.ping()
        except Exception as exc:  # noqa: BLE001
            raise ApiError(503, "not_ready", f"The database is not reachable: {exc}.") from None
        return 200, {"status": "ready", "checks": {"database": "ok"}}

    def h_metrics(self, params, query, body):
        app = self.server.app
        return 200, app.registry.render(self.server.api, app.platform.gauges())

    def h_health_status(self, params, query, body):
        app, api = self.server.app, self.server.api
        payload = {"service": SERVICE_NAMES[api], "api": api, "status": "healthy", "version": VERSION,
                   "uptime_seconds": round(time.time() - app.started, 3), "checks": {"database": app.platform.ping()},
                   "timestamp": iso(time.time())}
        if api == "v2":
            payload["active_deployment"] = app.platform.active_deployment()
        return 200, payload

    # ------------------------------------------------------------------ V2
    def h_health_slo(self, params, query, body):
        windows = [w.strip() for w in (query.get("windows") or "").split(",") if w.strip()] or None
        return 200, self.server.app.platform.health_slo(windows=windows, main_window=query.get("window") or "30d")

    def h_slo_compliance(self, params, query, body):
        return 200, self.server.app.platform.slo_compliance(query.get("window") or "30d")

    def h_models(self, params, query, body):
        return 200, self.server.app.platform.models()

    def h_deployments(self, params, query, body):
        return 200, self.server.app.platform.deployments()

    # ------------------------------------------------------------------ V1
    def h_create(self, params, query, body):
        return 201, self.server.app.platform.create_experiment(body, self._ctx())

    def h_list(self, params, query, body):
        return 200, self.server.app.platform.list_experiments(
            name=query.get("name") or None, status=query.get("status") or None,
            limit=self._int(query, "limit", 100, 1, 1000), offset=self._int(query, "offset", 0, 0, 10 ** 9))

    def h_get(self, params, query, body):
        return 200, self.server.app.platform.get_experiment(params["id"])

    def h_run(self, params, query, body):
        return 202, self.server.app.platform.start_run(params["id"], body, self._ctx())

    def h_evaluation(self, params, query, body):
        return 200, self.server.app.platform.evaluation(params["id"])

    def h_promote(self, params, query, body):
        force = self._bool(query, "force") or bool(body.get("force"))
        return self.server.app.platform.promote(params["id"], force, self._ctx())

    def h_quarantine(self, params, query, body):
        return self.server.app.platform.quarantine(params["id"], body, self._ctx())

    def h_audit(self, params, query, body):
        return 200, self.server.app.platform.audit_events(query.get("experiment_id") or None, query.get("action") or None,
                                                          self._int(query, "limit", 100, 1, 1000))

    # ------------------------------------------------------------------ V3
    def h_records(self, params, query, body):
        return 200, self.server.app.platform.quarantine_records(
            query.get("experiment_id") or None, self._int(query, "limit", 100, 1, 1000),
            self._int(query, "offset", 0, 0, 10 ** 9))

    def h_record(self, params, query, body):
        return 200, self.server.app.platform.quarantine_record(params["id"])

    def h_statistics(self, params, query, body):
        return 200, self.server.app.platform.quarantine_statistics()

    # ------------------------------------------------------------------ test controls
    def h_ctl_outcome(self, params, query, body):
        return 200, self.server.app.platform.set_outcome(body)

    def h_ctl_fault(self, params, query, body):
        return 201, self.server.app.faults.add(body)

    def h_ctl_clear_faults(self, params, query, body):
        return 200, self.server.app.faults.clear()

    def h_ctl_traffic(self, params, query, body):
        return 201, self.server.app.platform.add_traffic(body)

    def h_ctl_clock(self, params, query, body):
        return 200, self.server.app.platform.set_clock(body)

    def h_ctl_reset(self, params, query, body):
        self.server.app.faults.clear()
        return 200, self.server.app.platform.reset()


def serve(db, host="127.0.0.1", ports=(0, 0, 0), ports_file=None, token=None, run_seconds=2.0, criteria=None,
          controls=True, lifetime=None, log_requests=False):
    """Run the V2, V1 and V3 listeners until SIGTERM/SIGINT (or ``lifetime`` seconds)."""
    platform = Platform(db, criteria=criteria, run_seconds=run_seconds)
    app = App(platform, token=token, controls=controls, log_requests=log_requests)
    servers = {}
    for api, port in zip(("v2", "v1", "v3"), ports):
        servers[api] = SandboxServer((host, port), api, app)
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True) for s in servers.values()]
    for thread in threads:
        thread.start()
    state = {"pid": os.getpid(), "db": str(db), "started_at": iso(time.time()),
             **{f"{api}_url": f"http://{host}:{s.server_address[1]}" for api, s in servers.items()}}
    if ports_file:
        _write_atomic(Path(ports_file), json.dumps(state, indent=2) + "\n")
    print(json.dumps(state), flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait(timeout=lifetime)
    stoppers = [threading.Thread(target=s.shutdown) for s in servers.values()]
    for thread in stoppers:
        thread.start()
    for thread in stoppers:
        thread.join()
    for s in servers.values():
        s.server_close()
    platform.close()
    return 0


def _write_atomic(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)
