"""Start, drive and stop the sandbox from tests, molecule and the demo.

``start_sandbox(run_dir)`` spawns ``python -m tests.platform_sandbox serve`` in its own
session on free 127.0.0.1 ports (the server binds port 0 and reports what it got, so there is
no port race), waits for ``/health/ready`` on all three APIs within a deadline, and returns a
:class:`Sandbox`. ``stop_sandbox`` ends the process group. Standard library only.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.harness.procs import stop_process_group

REPO = Path(__file__).resolve().parents[2]
STATE_FILE = "sandbox.json"


class SandboxError(RuntimeError):
    """The sandbox could not start, or a control call failed."""


@dataclasses.dataclass
class Sandbox:
    pid: int
    v1_url: str
    v2_url: str
    v3_url: str
    db: str
    log: str
    run_dir: str
    token: str | None = None

    def url(self, api):
        return {"v1": self.v1_url, "v2": self.v2_url, "v3": self.v3_url}[api]

    def module_args(self):
        """The platform connection options of sre.runbooks modules for this sandbox."""
        args = {"platform_v1_url": self.v1_url, "platform_v2_url": self.v2_url, "platform_v3_url": self.v3_url}
        if self.token:
            args["platform_token"] = self.token
        return args

    def env(self):
        """Environment variables the modules' fallbacks read (PLATFORM_V1_URL ...)."""
        env = {"PLATFORM_V1_URL": self.v1_url, "PLATFORM_V2_URL": self.v2_url, "PLATFORM_V3_URL": self.v3_url}
        if self.token:
            env["PLATFORM_API_TOKEN"] = self.token
        return env

    def scrape_targets(self):
        """Prometheus file_sd entries for the three /metrics endpoints (write them to the harness's targets_file)."""
        return [{"targets": [self.url(api).split("://", 1)[1]], "labels": {"job": f"platform-{api}-api"}}
                for api in ("v2", "v1", "v3")]

    # ------------------------------------------------------------------ HTTP
    def call(self, api, method, path, body=None, token=True, expect=None):
        """One JSON request; returns (status, parsed body). ``expect`` raises SandboxError on another status."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url(api) + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310 - loopback URL we started
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        text = raw.decode() if raw else ""
        try:
            payload = json.loads(text) if text else None
        except ValueError:
            payload = text
        if expect is not None and status != expect:
            raise SandboxError(f"{method} {path} on {api}: HTTP {status} (expected {expect}): {text[:500]}")
        return status, payload

    def get(self, api, path, **kwargs):
        return self.call(api, "GET", path, **kwargs)[1]

    # ------------------------------------------------------------------ test controls
    def set_outcome(self, name, run_polls=None, run_seconds=None, fail=False, error=None, **metrics):
        """What runs of the experiment named ``name`` produce: metrics overrides, failure, completion after N polls."""
        spec = {"name": name, "metrics": metrics}
        for key, value in (("run_polls", run_polls), ("run_seconds", run_seconds), ("error", error)):
            if value is not None:
                spec[key] = value
        if fail:
            spec["fail"] = True
        return self.call("v1", "POST", "/_sandbox/outcomes", spec, expect=200)[1]

    def inject_fault(self, api="v2", path="/", **spec):
        """Latency / errors on requests whose path starts with ``path`` (latency_ms, error_ratio, error_status,
        slow_ratio, slow_latency_ms)."""
        return self.call(api, "POST", "/_sandbox/faults", dict(spec, api=api, path=path), expect=201)[1]

    def clear_faults(self):
        return self.call("v1", "DELETE", "/_sandbox/faults", expect=200)[1]

    def add_traffic(self, **spec):
        """Synthetic per-minute traffic for the SLO windows (api, from_minutes_ago, to_minutes_ago,
        requests_per_minute, error_ratio, latency_seconds or latency_distribution)."""
        return self.call("v2", "POST", "/_sandbox/traffic", spec, expect=201)[1]

    def pin_clock(self, now):
        """Freeze the sandbox's clock at unix time ``now`` (None follows the real clock again)."""
        return self.call("v1", "POST", "/_sandbox/clock", {"now": now}, expect=200)[1]

    def reset(self):
        return self.call("v1", "POST", "/_sandbox/reset", {}, expect=200)[1]


def _ready(url):
    try:
        with urllib.request.urlopen(url + "/health/ready", timeout=2) as resp:  # noqa: S310 - loopback
            return resp.status == 200
    except (OSError, urllib.error.URLError):
        return False


def start_sandbox(run_dir, token=None, run_seconds=1.0, criteria=None, lifetime=None, ports=(0, 0, 0),
                  timeout=20.0, python=None):
    """Start the sandbox with its database and log in ``run_dir``; return a ready :class:`Sandbox`."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    state_file = run_dir / STATE_FILE
    state_file.unlink(missing_ok=True)
    log = run_dir / "sandbox.log"
    cmd = [python or sys.executable, "-m", "tests.platform_sandbox", "serve", "--db", str(run_dir / "platform.db"),
           "--ports-file", str(state_file), "--run-seconds", str(run_seconds),
           "--v2-port", str(ports[0]), "--v1-port", str(ports[1]), "--v3-port", str(ports[2])]
    if criteria:
        cmd += ["--criteria", json.dumps(criteria)]
    if lifetime:
        cmd += ["--lifetime", str(lifetime)]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if token:
        env["SANDBOX_API_TOKEN"] = token  # not on the command line
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SandboxError(f"the platform sandbox exited with code {proc.returncode}: {_tail(log)}")
        if state is None and state_file.exists():
            state = json.loads(state_file.read_text())
        if state and all(_ready(state[f"{api}_url"]) for api in ("v1", "v2", "v3")):
            sandbox = Sandbox(pid=proc.pid, v1_url=state["v1_url"], v2_url=state["v2_url"], v3_url=state["v3_url"],
                              db=state["db"], log=str(log), run_dir=str(run_dir), token=token)
            state_file.write_text(json.dumps(dataclasses.asdict(sandbox), indent=2) + "\n")
            return sandbox
        time.sleep(0.05)
    stop_process_group(proc.pid, timeout=10.0)
    raise SandboxError(f"the platform sandbox was not ready within {timeout:.0f}s: {_tail(log)}")


def load_sandbox(run_dir):
    """The Sandbox started in ``run_dir`` (from its state file), or None."""
    state_file = Path(run_dir) / STATE_FILE
    if not state_file.exists():
        return None
    data = json.loads(state_file.read_text())
    if "log" not in data:
        return None
    return Sandbox(**{f.name: data.get(f.name) for f in dataclasses.fields(Sandbox)})


def stop_sandbox(sandbox, timeout=10.0):
    """Stop the sandbox's process group (SIGTERM, then SIGKILL after ``timeout``)."""
    if sandbox is not None:
        stop_process_group(sandbox.pid, timeout)


def _tail(log, lines=20):
    try:
        return "\n".join(Path(log).read_text(errors="replace").splitlines()[-lines:]) or "(empty log)"
    except OSError:
        return "(no log)"
