"""Start and stop the local Kubernetes control plane the collection is tested against.

A real etcd, kube-apiserver, kube-controller-manager and kube-scheduler, built from Go modules
by ``tests/k8s/build.sh``, run by kwokctl's ``binary`` runtime; kwok plays the kubelets of
three fake nodes. Everything listens on 127.0.0.1; node InternalIPs (127.0.0.1) and pod
IPs (127.1.<node>.0/24) are loopback addresses too, so even an apiserver call to a "node"
(logs, exec) or a metrics-server scrape never leaves the machine. metrics-server serves the
metrics API from kwok's emulated usage; kwok serves pod logs from files named by Logs objects.

One implementation serves ``tests/k8s/cluster.sh`` (``make k8s-up`` / ``k8s-down``), the
pytest fixture ``k8s_cluster``, molecule, the demo and the benchmarks. Standard library only,
so it also runs outside the virtualenv.

State lives in ``$SRE_K8S_DIR`` (default ``~/.cache/sre-runbooks/clusters/sre-runbooks``):
``kubeconfig``, ``state.json``, ``k8s.env`` (``export KUBECONFIG=... K8S_AUTH_KUBECONFIG=...``),
the generated ``kwokctl.yaml``, ``kwokctl.log`` and kwokctl's own work dir under ``kwok/``
(component logs in ``kwok/clusters/<name>/logs``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.harness.procs import LOOPBACK, free_port
from tests.harness.procs import wait_for as _wait_for

REPO = Path(__file__).resolve().parents[2]
K8S_DIR = REPO / "tests" / "k8s"
STAGES_DIR = K8S_DIR / "stages"
# kwok Metric and ClusterResourceUsage objects: the emulated kubelet resource metrics.
TELEMETRY_DIR = K8S_DIR / "telemetry"
CLUSTER_NAME = os.environ.get("SRE_K8S_NAME", "sre-runbooks")
NODE_COUNT = 3
# Every node gets InternalIP 127.0.0.1 (where kwok answers for all of them) and node i the
# spec.podCIDR 127.1.i.0/24; kwok assigns pod IPs from the node's podCIDR, or from the fallback
# --cidr for a node that has none.
NODE_IP = LOOPBACK
POD_CIDR_START = "127.1.0.0/24"
FALLBACK_POD_CIDR = "127.2.0.0/16"
STARTUP_TIMEOUT = float(os.environ.get("SRE_K8S_TIMEOUT", "120"))
BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "etcd", "kwok", "kwokctl",
            "metrics-server")


class K8sError(RuntimeError):
    """The local control plane could not be built, started, reached or stopped."""


class ClusterInUse(K8sError):
    """down() was refused: test sessions registered under ``users/`` still use the cluster."""


@dataclasses.dataclass(frozen=True)
class Cluster:
    """A running local cluster, as recorded in ``state.json``."""

    name: str
    kubeconfig: str
    server: str
    bin_dir: str
    kubectl_path: str
    state_dir: str
    node_ips: tuple[str, ...]
    pod_cidrs: tuple[str, ...]

    @classmethod
    def from_state(cls, state: dict) -> Cluster:
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in state.items() if k in fields}
        values["node_ips"] = tuple(values.get("node_ips", ()))
        values["pod_cidrs"] = tuple(values.get("pod_cidrs", ()))
        return cls(**values)

    def __getitem__(self, key: str):
        # Also usable like the dict the other harness fixtures yield: cluster["kubeconfig"].
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    @property
    def env(self) -> dict[str, str]:
        """Variables that point kubectl, the kubernetes client and kubernetes.core at this cluster."""
        return {"KUBECONFIG": self.kubeconfig, "K8S_AUTH_KUBECONFIG": self.kubeconfig}

    def kubectl(self, *args: str, check: bool = True, timeout: float = 60.0,
                input: str | None = None) -> subprocess.CompletedProcess:  # noqa: A002 - mirrors subprocess
        """Run the built kubectl against this cluster; raises K8sError on failure when ``check``."""
        cmd = [self.kubectl_path, "--kubeconfig", self.kubeconfig, *args]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input, check=False)
        if check and result.returncode != 0:
            raise K8sError(f"kubectl {' '.join(args)} failed ({result.returncode}): "
                           f"{result.stderr.strip() or result.stdout.strip()}")
        return result


# ---------------------------------------------------------------------------- paths and state

def state_dir() -> Path:
    configured = os.environ.get("SRE_K8S_DIR")
    if configured:
        return Path(configured).expanduser().resolve()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return (cache / "sre-runbooks" / "clusters" / CLUSTER_NAME).resolve()


def _paths(root: Path) -> dict[str, Path]:
    kwok_workdir = root / "kwok"
    return {
        "lock": root / ".lock",
        "state": root / "state.json",
        "env": root / "k8s.env",
        "kubeconfig": root / "kubeconfig",
        "config": root / "kwokctl.yaml",
        "log": root / "kwokctl.log",
        "kwok_workdir": kwok_workdir,
        "cluster_dir": kwok_workdir / "clusters" / CLUSTER_NAME,
        # kwokctl edits a "host" kubeconfig on create/delete; give it one of ours so it never
        # touches ~/.kube/config.
        "host_kubeconfig": root / "kwokctl-host.kubeconfig",
    }


def read_state() -> dict | None:
    """The recorded state of the cluster, or None when it was never started (or was stopped)."""
    path = _paths(state_dir())["state"]
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def current() -> Cluster | None:
    """The running, healthy cluster, or None."""
    state = read_state()
    return Cluster.from_state(state) if state and healthy(state) else None


@contextlib.contextmanager
def _locked(root: Path):
    # One up()/down() at a time per state dir (parallel pytest sessions, make + pytest).
    root.mkdir(parents=True, exist_ok=True)
    with open(_paths(root)["lock"], "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _log(message: str) -> None:
    print(f"k8s: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- helpers

# A component that never gets ready is a K8sError like any other failure to start.
wait_for = functools.partial(_wait_for, error=K8sError)


def _kwok_env(root: Path) -> dict[str, str]:
    # KWOK_* variables (KWOK_KUBE_VERSION, KWOK_RUNTIME, ...) override the configuration file;
    # drop them so the cluster is the one described here, and point kwokctl at our work dir.
    env = {k: v for k, v in os.environ.items() if not k.startswith("KWOK_")}
    env["KWOK_WORKDIR"] = str(_paths(root)["kwok_workdir"])
    env.pop("KUBECONFIG", None)
    return env


def _kwokctl(bin_dir: Path, root: Path, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    cmd = [str(bin_dir / "kwokctl"), "--name", CLUSTER_NAME, *args]
    with open(_paths(root)["log"], "a") as log:
        log.write(f"$ {' '.join(cmd)}\n")
        log.flush()
        return subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              env=_kwok_env(root), timeout=timeout, check=False)


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return f"({path} does not exist)"


def build() -> Path:
    """Run tests/k8s/build.sh (a no-op when the binaries are cached); returns the bin directory."""
    proc = subprocess.Popen([str(K8S_DIR / "build.sh")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=REPO)
    last = ""
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip("\n")
        if line:
            last = line
            # Progress of a cold build (minutes) goes to stderr; stdout stays for KUBECONFIG=.
            print(line, file=sys.stderr, flush=True)
    if proc.wait() != 0:
        raise K8sError("tests/k8s/build.sh failed (see the output above)")
    bin_dir = Path(last)
    missing = [b for b in BINARIES if not os.access(bin_dir / b, os.X_OK)]
    if missing:
        raise K8sError(f"build.sh reported {bin_dir} but it lacks {', '.join(missing)}")
    return bin_dir


def _binary_version(path: Path) -> str:
    out = subprocess.run([str(path), "--version"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"v?(\d+\.\d+\.\d+)", out)
    if not match:
        raise K8sError(f"cannot read the version of {path}: {out.strip()!r}")
    return match.group(1)


def _ip_add(ip: str, n: int) -> str:
    parts = [int(p) for p in ip.split(".")]
    value = (parts[0] << 24 | parts[1] << 16 | parts[2] << 8 | parts[3]) + n
    return ".".join(str((value >> s) & 255) for s in (24, 16, 8, 0))


def node_ips() -> list[str]:
    return [NODE_IP] * NODE_COUNT


def pod_cidrs() -> list[str]:
    base, bits = POD_CIDR_START.split("/")
    size = 1 << (32 - int(bits))
    return [f"{_ip_add(base, i * size)}/{bits}" for i in range(NODE_COUNT)]


def write_config(bin_dir: Path, root: Path) -> dict[str, int]:
    """Write kwokctl.yaml: local binaries only, loopback ports, our kwok stages. Returns the ports."""
    ports = {name: free_port() for name in (
        "kubeApiserverPort", "etcdPort", "etcdPeerPort", "kubeControllerManagerPort",
        "kubeSchedulerPort", "kwokControllerPort", "metricsServerPort")}
    kube_version = _binary_version(bin_dir / "kube-apiserver")
    etcd_version = _binary_version(bin_dir / "etcd")
    kwok_version = _binary_version(bin_dir / "kwok")
    # Components that stay disabled still name a binary in `kwokctl get artifacts`; point them at
    # local paths so nothing in the configuration is a download URL (they are never started).
    prometheus = shutil.which("prometheus") or str(bin_dir / "prometheus.not-built")
    options = {
        "runtime": "binary",
        # Exec and Logs objects come from the API (tests map a pod's exec to local commands and
        # its logs to files they write); the Stages, the Metric and the usage stay in this file.
        "enableCRDs": ["Exec", "ClusterExec", "Logs", "ClusterLogs"],
        # The metrics API (kubectl top, the HPA controller, H8) from a local metrics-server
        # scraping kwok's emulated kubelet resource metrics.
        "enableMetricsServer": True,
        "bindAddress": LOOPBACK,
        "securePort": True,
        "kubeVersion": f"v{kube_version}",
        "etcdVersion": etcd_version,
        "kwokVersion": f"v{kwok_version}",
        **ports,
        "kubeApiserverBinary": str(bin_dir / "kube-apiserver"),
        "kubeControllerManagerBinary": str(bin_dir / "kube-controller-manager"),
        "kubeSchedulerBinary": str(bin_dir / "kube-scheduler"),
        "kubectlBinary": str(bin_dir / "kubectl"),
        "etcdBinary": str(bin_dir / "etcd"),
        "kwokControllerBinary": str(bin_dir / "kwok"),
        "prometheusBinary": prometheus,
        "metricsServerBinary": str(bin_dir / "metrics-server"),
        # build.sh copies metrics-server's release manifests (APIService, RBAC, Service) from its
        # Go module; a local directory is applied with kubectl kustomize, never downloaded.
        "metricsServerManifests": [str(bin_dir.parent / "metrics-server-manifests")],
        "cacheDir": str(_paths(root)["kwok_workdir"] / "cache"),
    }
    lines = ["apiVersion: config.kwok.x-k8s.io/v1alpha1", "kind: KwokctlConfiguration",
             "metadata:", f"  name: {CLUSTER_NAME}", "options:"]
    lines += [f"  {k}: {json.dumps(v)}" for k, v in options.items()]  # JSON scalars are YAML
    lines += [
        "componentsPatches:",
        # One instance each: no leader election, so the controllers start working at once.
        "- name: kube-controller-manager",
        "  extraArgs:",
        "  - {key: leader-elect, value: 'false'}",
        # The HPA controller re-reads an edited HPA on this period (default 15s).
        "  - {key: horizontal-pod-autoscaler-sync-period, value: 3s}",
        "- name: kube-scheduler",
        "  extraArgs:",
        "  - {key: leader-elect, value: 'false'}",
        # Later flags win: defaults for nodes without their own address / podCIDR.
        # kwokctl's 15 s scrape period, at metrics-server's minimum: a new pod has CPU figures
        # two scrapes after it starts. The scrape timeout must stay below the period.
        "- name: metrics-server",
        "  extraArgs:",
        "  - {key: metric-resolution, value: 10s}",
        "  - {key: kubelet-request-timeout, value: 5s}",
        "- name: kwok-controller",
        "  extraArgs:",
        f"  - {{key: node-ip, value: '{LOOPBACK}'}}",
        f"  - {{key: cidr, value: '{FALLBACK_POD_CIDR}'}}",
    ]
    docs = ["\n".join(lines) + "\n"]
    stages = sorted(STAGES_DIR.glob("*.yaml"))
    if not stages:
        raise K8sError(f"no kwok stages in {STAGES_DIR}")
    docs += [path.read_text() for path in stages + sorted(TELEMETRY_DIR.glob("*.yaml"))]
    _paths(root)["config"].write_text("---\n".join(docs))
    return ports


def artifacts(bin_dir: Path, root: Path) -> list[str]:
    """What kwokctl would fetch for this configuration (``kwokctl get artifacts``): local paths only."""
    cmd = [str(bin_dir / "kwokctl"), "--name", CLUSTER_NAME, "-c", str(_paths(root)["config"]),
           "get", "artifacts"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=_kwok_env(root), check=False)
    if result.returncode != 0:
        raise K8sError(f"kwokctl get artifacts failed: {result.stderr.strip()}")
    return [line for line in result.stdout.splitlines() if line.strip()]


def _kubectl(bin_dir: Path, kubeconfig: Path, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
    return subprocess.run([str(bin_dir / "kubectl"), "--kubeconfig", str(kubeconfig), *args],
                          capture_output=True, text=True, timeout=timeout, check=False)


def _server_of(kubeconfig: Path) -> str:
    match = re.search(r"^\s*server:\s*(\S+)\s*$", kubeconfig.read_text(), re.M)
    if not match:
        raise K8sError(f"no server URL in {kubeconfig}")
    return match.group(1)


def _ready_nodes(bin_dir: Path, kubeconfig: Path) -> list[str]:
    result = _kubectl(bin_dir, kubeconfig, "get", "nodes", "-o", "json", "--request-timeout=10s")
    if result.returncode != 0:
        return []
    ready = []
    for node in json.loads(result.stdout)["items"]:
        conditions = {c["type"]: c["status"] for c in node.get("status", {}).get("conditions", [])}
        if conditions.get("Ready") == "True":
            ready.append(node["metadata"]["name"])
    return ready


def _metrics_api_available(bin_dir: Path, kubeconfig: Path) -> bool:
    result = _kubectl(bin_dir, kubeconfig, "get", "apiservice", "v1beta1.metrics.k8s.io", "--request-timeout=5s", "-o",
                      "jsonpath={.status.conditions[?(@.type=='Available')].status}", timeout=15)
    return result.returncode == 0 and result.stdout == "True"


def healthy(state: dict) -> bool:
    """The API answers /readyz, all nodes are Ready and the metrics API is available."""
    try:
        bin_dir, kubeconfig = Path(state["bin_dir"]), Path(state["kubeconfig"])
        if not kubeconfig.exists():
            return False
        result = _kubectl(bin_dir, kubeconfig, "get", "--raw=/readyz", "--request-timeout=5s", timeout=15)
        if result.returncode != 0 or result.stdout.strip() != "ok":
            return False
        # A cluster started before metrics-server was part of it is recreated, not reused.
        return len(_ready_nodes(bin_dir, kubeconfig)) >= NODE_COUNT and _metrics_api_available(bin_dir, kubeconfig)
    except (KeyError, OSError, subprocess.SubprocessError, ValueError):
        return False


# ---------------------------------------------------------------------------- processes

def _component_pids(root: Path) -> dict[str, int]:
    pids = {}
    for pid_file in sorted((_paths(root)["cluster_dir"] / "pids").glob("*.pid")):
        with contextlib.suppress(ValueError, OSError):
            pids[pid_file.stem] = int(pid_file.read_text().strip())
    return pids


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")  # zombies are gone for our purposes


def _restart_exited_components(bin_dir: Path, root: Path) -> bool:
    """Start again any component that exited (always returns False: the caller keeps waiting).

    kwokctl forks the components in order without waiting for each to serve, so on a loaded
    machine metrics-server can ask kube-apiserver for its request-header CA before it listens,
    and it panics on the refused connection instead of retrying. ``kwokctl start cluster`` only
    starts the components that are not running.
    """
    pids = _component_pids(root)
    if pids and all(_running(pid) for pid in pids.values()):
        return False
    exited = sorted(name for name, pid in pids.items() if not _running(pid))
    _log(f"restarting exited components {exited}")
    _kwokctl(bin_dir, root, "start", "cluster", timeout=60)
    return False


def leftover_processes(root: Path | None = None) -> list[tuple[int, str]]:
    """Running components of this cluster: processes started from its ``bin/`` (kwokctl's links)."""
    prefix = str(_paths(root or state_dir())["cluster_dir"] / "bin") + "/"
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            cmd = _cmdline(int(entry.name))
            if cmd.startswith(prefix) and _running(int(entry.name)):
                found.append((int(entry.name), cmd.strip()))
    return found


def _stop(root: Path, bin_dir: Path | None) -> None:
    paths = _paths(root)
    pids = _component_pids(root)
    if paths["cluster_dir"].exists():
        kwokctl = bin_dir / "kwokctl" if bin_dir else None
        if kwokctl and kwokctl.exists():
            result = _kwokctl(bin_dir, root, "delete", "cluster", f"--kubeconfig={paths['host_kubeconfig']}",
                              timeout=60)
            if result.returncode != 0:
                _log(f"kwokctl delete cluster exited {result.returncode}; stopping the processes directly")
    # kwokctl signals the components; make sure they are gone, then sweep anything else that still
    # runs from this cluster's work dir (only those: the command line names our directory).
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_running(p) for p in pids.values()):
        time.sleep(0.05)
    bin_prefix = str(paths["cluster_dir"] / "bin") + "/"
    stragglers = {pid for pid in pids.values() if _running(pid) and _cmdline(pid).startswith(bin_prefix)}
    stragglers |= {pid for pid, _cmd in leftover_processes(root)}
    for pid in stragglers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if stragglers:
        wait_for(lambda: not any(_running(p) for p in stragglers), "the killed components to exit", timeout=10)
    shutil.rmtree(paths["cluster_dir"], ignore_errors=True)
    for key in ("state", "env", "kubeconfig", "host_kubeconfig"):
        paths[key].unlink(missing_ok=True)


# ---------------------------------------------------------------------------- up / down

def up(timeout: float = STARTUP_TIMEOUT, owner: str = "cli") -> Cluster:
    """Start the cluster (or return the running one); waits for the API, Ready nodes, default SA.

    ``owner`` "cli" (``make k8s-up``) marks the cluster as kept: test sessions never stop it.
    Any other owner (a pytest session, see ``session()``) lets the last such session stop it.
    """
    root = state_dir()
    with _locked(root):
        return _up_locked(root, timeout, owner)


def _up_locked(root: Path, timeout: float, owner: str) -> Cluster:
    state = read_state()
    if state and healthy(state):
        if owner == "cli" and state.get("owner") != "cli":
            state["owner"] = "cli"
            _write_state(root, state)
        return Cluster.from_state(state)
    bin_dir = build()
    paths = _paths(root)
    if state or paths["cluster_dir"].exists():
        _log("removing a stale cluster")
        _stop(root, bin_dir)
    paths["log"].write_text("")
    started = time.monotonic()
    try:
        return _create(bin_dir, root, started + timeout, owner)
    except BaseException as exc:
        logs = paths["cluster_dir"] / "logs"
        detail = "\n".join(f"--- {p.name}\n{_tail(p, 10)}" for p in sorted(logs.glob("*.log")))
        _stop(root, bin_dir)
        if isinstance(exc, K8sError):
            raise K8sError(f"{exc}\n--- kwokctl.log\n{_tail(paths['log'])}\n{detail}") from exc
        raise


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _running(pid)


@contextlib.contextmanager
def session(owner: str = "pytest"):
    """Use the cluster for the duration of a ``with`` block (a pytest session, a bench run).

    Starts it when it is not running. Each user is recorded as ``users/<pid>`` (holding
    ``owner``) under the lock; when the last user leaves, a cluster that no ``make k8s-up``
    claimed is deleted, so concurrent sessions never pull the cluster from under each other and
    nothing outlives them. ``down()`` refuses while users are registered.
    """
    root = state_dir()
    with _locked(root):
        cluster = _up_locked(root, STARTUP_TIMEOUT, owner)
        me = root / "users" / str(os.getpid())
        me.parent.mkdir(exist_ok=True)
        me.write_text(owner)
    try:
        yield cluster
    finally:
        with _locked(root):
            me.unlink(missing_ok=True)
            state = read_state()
            if state is not None and state.get("owner") != "cli" and not live_users(root):
                _stop(root, Path(state["bin_dir"]))
                leftovers = leftover_processes(root)
                if leftovers:
                    raise K8sError(f"processes left after stopping the cluster: {leftovers}")


def live_users(root: Path) -> list[tuple[int, str]]:
    """(pid, owner) of the sessions registered under ``users/`` whose process still runs.

    Entries of processes that are gone (a session killed before it could unregister) are
    removed on the way, so they never keep a cluster alive or block ``down()``. Call under the lock.
    """
    users = root / "users"
    live = []
    for entry in sorted(users.iterdir()) if users.is_dir() else ():
        if entry.name.isdigit() and _pid_alive(int(entry.name)):
            live.append((int(entry.name), entry.read_text().strip() or "unknown"))
        else:
            entry.unlink(missing_ok=True)
    return live


def refusal(users: list[tuple[int, str]]) -> str:
    """Why down() does not stop a cluster that ``users`` (from live_users()) still use: one sentence."""
    names = ", ".join(f"{owner} pid {pid}" for pid, owner in users)
    return (f"not stopping the cluster while test sessions use it ({names}); let them finish, "
            f"or run FORCE=1 make k8s-down to stop it anyway.")


def _write_state(root: Path, state: dict) -> None:
    paths = _paths(root)
    tmp = paths["state"].with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(paths["state"])


def _create(bin_dir: Path, root: Path, deadline: float, owner: str) -> Cluster:
    paths = _paths(root)

    def remaining() -> float:
        return max(deadline - time.monotonic(), 1.0)

    for attempt in (1, 2):
        ports = write_config(bin_dir, root)
        non_local = [a for a in artifacts(bin_dir, root) if not a.startswith("/")]
        if non_local:
            raise K8sError(f"kwokctl would download {non_local}; every binary must be a local path")
        _log(f"creating cluster {CLUSTER_NAME} (apiserver 127.0.0.1:{ports['kubeApiserverPort']})")
        result = _kwokctl(bin_dir, root, "-c", str(paths["config"]), "create", "cluster", "--kubeconfig=",
                          f"--timeout={int(remaining())}s", timeout=remaining() + 10)
        if result.returncode == 0:
            break
        # Most likely a port taken between choosing it and binding it: start over once.
        _log(f"kwokctl create cluster failed (attempt {attempt})")
        _stop(root, bin_dir)
        if attempt == 2:
            raise K8sError("kwokctl create cluster failed")

    workdir_kubeconfig = paths["cluster_dir"] / "kubeconfig.yaml"
    server = _server_of(workdir_kubeconfig)
    if not server.startswith(f"https://{LOOPBACK}:"):
        raise K8sError(f"kubeconfig server is {server}, expected https://{LOOPBACK}:<port>")
    wait_for(lambda: _kubectl(bin_dir, workdir_kubeconfig, "get", "--raw=/readyz", "--request-timeout=5s")
             .stdout.strip() == "ok", "kube-apiserver /readyz", timeout=remaining())

    _log(f"adding {NODE_COUNT} fake nodes")
    params = [f"--param=.nodeIPs={json.dumps([NODE_IP])}",
              f"--param=.podCIDRs={json.dumps([POD_CIDR_START])}"]
    result = _kwokctl(bin_dir, root, "scale", "node", f"--replicas={NODE_COUNT}", *params, timeout=remaining())
    if result.returncode != 0:
        raise K8sError("kwokctl scale node failed")
    wait_for(lambda: len(_ready_nodes(bin_dir, workdir_kubeconfig)) >= NODE_COUNT,
             f"{NODE_COUNT} Ready nodes", timeout=remaining())
    # kwok serves every node's "kubelet" (logs, exec, /metrics/resource) on 127.0.0.1 only, and
    # metrics-server dials a node's InternalIP first: give every node that address. (kwokctl's node
    # template numbers them from the one given, so it is set after the nodes exist; kwok's stages
    # keep the addresses they find.) kwokctl's template also annotates
    # metrics.k8s.io/resource-metrics-path, where kwok serves each node's emulated usage.
    addresses = json.dumps({"status": {"addresses": [{"type": "InternalIP", "address": NODE_IP},
                                                     {"type": "Hostname", "address": "localhost"}]}})
    for node in _ready_nodes(bin_dir, workdir_kubeconfig):
        result = _kubectl(bin_dir, workdir_kubeconfig, "patch", "node", node, "--subresource=status",
                          "--type=merge", "-p", addresses)
        if result.returncode != 0:
            raise K8sError(f"cannot set the addresses of node {node}: {result.stderr.strip()}")
    # The aggregated metrics API is registered once metrics-server answers; its first figures
    # come one or two scrapes (15 s each) later, which tests that need them wait for.
    wait_for(lambda: _metrics_api_available(bin_dir, workdir_kubeconfig)
             or _restart_exited_components(bin_dir, root), "the metrics API (metrics-server)",
             timeout=remaining(), interval=0.5)
    # Pods can only be created once the service-account controller made the namespace's SA.
    wait_for(lambda: _kubectl(bin_dir, workdir_kubeconfig, "get", "serviceaccount", "default",
                              "-n", "default", "-o", "name").returncode == 0,
             "the default ServiceAccount", timeout=remaining())

    shutil.copyfile(workdir_kubeconfig, paths["kubeconfig"])
    os.chmod(paths["kubeconfig"], 0o600)
    state = {
        "name": CLUSTER_NAME,
        "kubeconfig": str(paths["kubeconfig"]),
        "server": server,
        "bin_dir": str(bin_dir),
        "kubectl_path": str(bin_dir / "kubectl"),
        "state_dir": str(root),
        "node_ips": node_ips(),
        "pod_cidrs": pod_cidrs(),
        "ports": ports,
        "kwok_workdir": str(paths["kwok_workdir"]),
        "logs_dir": str(paths["cluster_dir"] / "logs"),
        "pids": _component_pids(root),
        "env_file": str(paths["env"]),
        "owner": owner,
    }
    _write_state(root, state)
    cluster = Cluster.from_state(state)
    paths["env"].write_text("".join(f"export {k}={json.dumps(v)}\n" for k, v in cluster.env.items()))
    return cluster


def down(force: bool = False) -> list[tuple[int, str]]:
    """Delete the cluster and stop every process it started. Returns leftovers (expected: none).

    Raises ClusterInUse while test sessions registered by session() still run, unless ``force``.
    """
    root = state_dir()
    if not root.exists():
        return []
    with _locked(root):
        users = live_users(root)
        if users and not force:
            raise ClusterInUse(refusal(users))
        state = read_state() or {}
        bin_dir = Path(state["bin_dir"]) if state.get("bin_dir") else _cached_bin_dir()
        _stop(root, bin_dir)
        shutil.rmtree(root / "users", ignore_errors=True)
        return leftover_processes(root)


def _cached_bin_dir() -> Path | None:
    # build.sh's cache layout, for a down() after a state file was lost.
    versions = dict(re.findall(r"^(\w+)=(\S+)$", (K8S_DIR / "versions.env").read_text(), re.M))
    base = os.environ.get("SRE_RUNBOOKS_CACHE") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sre-runbooks")
    path = Path(base) / f"k8s-v{versions.get('K8S_VERSION')}-kwok-v{versions.get('KWOK_VERSION')}" / "bin"
    return path if path.exists() else None


def main(argv: list[str]) -> int:
    usage = "usage: python -m tests.harness.k8s up|down [--force]|status|env|artifacts"
    force = argv[2:] == ["--force"] and argv[1:2] == ["down"]
    if len(argv) != 2 + force or argv[1] not in ("up", "down", "status", "env", "artifacts"):
        print(usage, file=sys.stderr)
        return 2
    command = argv[1]
    try:
        if command == "up":
            started = time.monotonic()
            was_up = current()
            cluster = up()  # also claims a running test-session cluster, so tests keep it
            _log(f"{'already running' if was_up else 'up in %.1fs' % (time.monotonic() - started)}: "
                 f"{cluster.server}, nodes {', '.join(cluster.node_ips)}, logs in "
                 f"{(read_state() or {}).get('logs_dir', '?')}")
            print(f"KUBECONFIG={cluster.kubeconfig}")
        elif command == "down":
            left = down(force=force)
            if left:
                for pid, cmd in left:
                    print(f"still running: {pid} {cmd[:160]}", file=sys.stderr)
                return 1
            print("k8s: cluster deleted, no processes left")
        elif command == "env":
            cluster = current()
            if not cluster:
                print("k8s: not running (make k8s-up)", file=sys.stderr)
                return 1
            for key, value in cluster.env.items():
                print(f"export {key}={json.dumps(value)}")
        elif command == "artifacts":
            root = state_dir()
            with _locked(root):
                bin_dir = build()
                if not _paths(root)["config"].exists():
                    write_config(bin_dir, root)
                print("\n".join(artifacts(bin_dir, root)))
        else:
            state = read_state()
            if state and healthy(state):
                print(f"running: {state['server']} KUBECONFIG={state['kubeconfig']}")
            else:
                print("stopped" if not state else f"unhealthy (state in {state_dir()}); run make k8s-down")
                return 1
    except K8sError as exc:
        print(f"k8s: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
