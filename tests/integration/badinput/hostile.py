"""Hand-written hostile fixtures of the bad-input suite: canary secrets, damaged manifests, bad
kubeconfigs, fake HTTP servers that answer nonsense (or nothing), a password-protected Redis and a
PostgreSQL role whose password is a canary.

Everything listens on 127.0.0.1 and lives in a temporary folder; every server here is stopped by
the fixture or context manager that started it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.harness.services import LOOPBACK, free_port, wait_for


def canary(tag: str) -> str:
    """A secret nobody else would print: if it shows up in a result, it leaked."""
    return f"canary-{tag}-Zq7Kx31vB"


# -- fake HTTP servers -----------------------------------------------------------------------------

# name -> (status, content type, body): the answers a confused or broken server gives.
ANSWERS = {
    "empty_list": (200, "application/json", b"[]"),
    "mixed_list": (200, "application/json", b'[1, "x", null]'),
    "html": (200, "text/html", b"<html><body><h1>Login</h1></body></html>"),
    "error_500": (500, "application/json", b'{"error": "internal"}'),
    "wrong_types": (200, "application/json",
                    b'{"status": 7, "data": "yes", "id": null, "name": ["x"], "metrics": "many", "experiments": {}}'),
    "null": (200, "application/json", b"null"),
    "not_json": (200, "application/json", b"{not json"),
    "vector_junk": (200, "application/json", b'{"status": "success", "data": {"resultType": "vector", "result": '
                    b'[1, "x", null]}}'),
    "huge_number": (200, "application/json", b'{"status": "success", "data": {"resultType": "vector", "result": '
                    b'[{"metric": {}, "value": [1, "1e400"]}]}}'),
}


class FakeHTTP:
    """An HTTP server on 127.0.0.1 that answers every request with one of ANSWERS (``url``)."""

    def __init__(self, answer: str):
        status, content_type, body = ANSWERS[answer]

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _answer

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{LOOPBACK}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class BlackHole:
    """A TCP server on 127.0.0.1 that accepts connections and never answers (``url``, ``port``)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind((LOOPBACK, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.held = []
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed.is_set():
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        self.closed.set()
        for conn in self.held:
            conn.close()
        self.sock.close()


def closed_port() -> int:
    """A loopback port nothing listens on (connection refused at once)."""
    return free_port()


@contextlib.contextmanager
def fake_servers():
    """{"blackhole": BlackHole, "<answer>": FakeHTTP, ...}, all stopped on exit."""
    servers = {name: FakeHTTP(name) for name in ANSWERS}
    servers["blackhole"] = BlackHole()
    try:
        yield servers
    finally:
        for server in servers.values():
            server.close()


# -- files -----------------------------------------------------------------------------------------

def file_traps(root: Path) -> dict:
    """Paths a module must not write through: an existing file, a path below it, a canary file."""
    root.mkdir(parents=True, exist_ok=True)
    existing = root / "existing-file"
    existing.write_text("not a folder\n")
    canary_file = root / "canary.txt"
    canary_file.write_text("untouched\n")
    return {"existing": str(existing), "below_file": str(existing / "below"), "canary": canary_file,
            "proc": "/proc/badinput/x", "dotdot": str(root / "sub" / ".." / ".." / ".." / "etc")}


# A valid manifest of a custom-format backup, as pg_backup writes it; the damaged ones change one field.
BACKUP_NAME = "nightly-badinput-database-20260101T000000Z"
VALID_MANIFEST = {
    "tool": "sre.runbooks.pg_backup", "manifest_version": 1, "name": BACKUP_NAME, "label": "nightly",
    "database": "badinput", "scope": "database", "format": "custom", "compression": "gzip",
    "file": BACKUP_NAME + ".dump", "sha256": "0" * 64, "finished_at": "2026-01-01T00:00:00Z", "size": 3,
}
DAMAGED_MANIFESTS = {
    "version_text": {"manifest_version": "abc"},
    "row_counts_text": {"row_counts": {"t": "ten"}},
    "size_text": {"size": "big"},
    "name_null": {"name": None},
    "name_list": {"name": ["x"]},
    "verification_text": {"verification": "passed"},
    "scope_everything": {"scope": "everything"},
    "format_tar": {"format": "tar"},
    "file_outside": {"file": "OUTSIDE"},  # replaced by a canary file outside dest
    "name_dotdot": {"name": "../x"},       # next to a canary ../x.manifest.json
}


def write_backup_dir(dest: Path, damage: str | None, outside: str = "") -> Path:
    """A backup folder with one backup whose manifest has ``damage`` (a DAMAGED_MANIFESTS key, "non_utf8", or None).

    ``outside`` is the canary file a manifest's ``file`` points at for "file_outside"; "name_dotdot"
    puts a canary ``x.manifest.json`` next to ``dest``. Pruning must leave both alone.
    """
    dest.mkdir(parents=True, exist_ok=True)
    (dest.parent / "x.manifest.json").write_text("untouched\n")
    (dest / VALID_MANIFEST["file"]).write_bytes(b"PGD")
    manifest = dest / (BACKUP_NAME + ".manifest.json")
    if damage == "non_utf8":
        manifest.write_bytes(b'{"tool": "sre.runbooks.pg_backup", "name": "\xff\xfe"}')
    else:
        fields = {**VALID_MANIFEST, **DAMAGED_MANIFESTS.get(damage, {})}
        if fields["file"] == "OUTSIDE":
            fields["file"] = outside
        manifest.write_text(json.dumps(fields))
    return dest


KUBECONFIG_TEXTS = {
    "not_yaml": "clusters: [unclosed\n  : : :\n\t- x",
    "clusters_oops": "apiVersion: v1\nkind: Config\nclusters: \"oops\"\ncontexts: []\nusers: []\n",
    "empty": "",
    "list_top": "- 1\n- 2\n",
}


def kubeconfig_for(server: str, token: str) -> dict:
    """A kubeconfig (as a dict) for ``server`` with a bearer token."""
    return {"apiVersion": "v1", "kind": "Config", "current-context": "bad",
            "clusters": [{"name": "bad", "cluster": {"server": server}}],
            "contexts": [{"name": "bad", "context": {"cluster": "bad", "user": "bad", "namespace": "default"}}],
            "users": [{"name": "bad", "user": {"token": token}}]}


def write_kubeconfigs(root: Path, blackhole_url: str, refused_url: str, token: str) -> dict:
    """name -> path of each bad kubeconfig file (plus "blackhole" and "refused" that parse but cannot answer)."""
    root.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, text in KUBECONFIG_TEXTS.items():
        paths[name] = root / f"{name}.yaml"
        paths[name].write_text(text)
    for name, url in (("blackhole", blackhole_url), ("refused", refused_url)):
        paths[name] = root / f"{name}.yaml"
        paths[name].write_text(json.dumps(kubeconfig_for(url, token)))
    return {name: str(path) for name, path in paths.items()}


# -- servers with canary passwords -----------------------------------------------------------------

@contextlib.contextmanager
def redis_with_password(run_dir: Path, password: str):
    """A redis-server on a free loopback port whose requirepass is ``password``; yields its connection args."""
    run_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = open(run_dir / "server.log", "ab")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(["redis-server", "--bind", LOOPBACK, "--port", str(port), "--dir", str(run_dir),
                             "--save", "", "--appendonly", "no", "--requirepass", password],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def ready():
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), timeout=1) as sock:
            sock.sendall(f"AUTH {password}\r\nPING\r\n".encode())
            time.sleep(0.05)
            return b"PONG" in sock.recv(64)
        return False

    try:
        wait_for(ready, f"redis-server on port {port}", timeout=20)
        yield {"host": LOOPBACK, "port": port, "password": password, "dir": str(run_dir)}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


# -- platform --------------------------------------------------------------------------------------

def platform_experiment(sandbox, name, complete=True, **metrics):
    """An experiment on the platform sandbox (run to completion with ``metrics`` when ``complete``); its id."""
    sandbox.set_outcome(name, run_polls=1, **metrics)
    exp = sandbox.call("v1", "POST", "/api/v1/experiments/create", {
        "name": name, "primary_model": "gpt-4", "prompt_template": "Review this code..."}, expect=201)[1]
    if complete:
        sandbox.call("v1", "POST", f"/api/v1/experiments/run/{exp['id']}", {"code_samples": ["def t(): pass"]},
                     expect=202)
    return exp["id"]


def platform_damage(sandbox, expected: dict) -> list[str]:
    """Experiments (id -> status) whose status is no longer what it must be."""
    found = []
    for exp_id, status in expected.items():
        now = sandbox.get("v1", f"/api/v1/experiments/{exp_id}")["status"]
        if now != status:
            found.append(f"experiment {exp_id} is {now}, must be {status}")
    return found


# -- S3 ----------------------------------------------------------------------------------------------

def s3_bucket(services: dict, bucket: str) -> dict:
    """Create ``bucket`` on the local S3 server; return module ``s3`` options whose keys are canaries."""
    import boto3  # only the tests that use S3 need it

    s3 = services["s3"]
    boto3.client("s3", endpoint_url=s3["endpoint_url"], aws_access_key_id=s3["access_key"],
                 aws_secret_access_key=s3["secret_key"], region_name=s3["region"]).create_bucket(Bucket=bucket)
    return {"bucket": bucket, "endpoint_url": s3["endpoint_url"], "region": s3["region"],
            "access_key": canary("s3-access"), "secret_key": canary("s3-secret"), "retries": 1, "timeout": 5}
