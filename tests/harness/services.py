"""Start and stop the real services the collection is tested against, on loopback only.

One implementation serves pytest fixtures, molecule, ``make demo`` and ``make bench``:
PostgreSQL 15 (a throwaway cluster), Redis, moto's S3 server, Prometheus and Alertmanager, each on a
free 127.0.0.1 port. ``up()`` writes ``services.json`` and ``services.env`` into the run
directory; ``down()`` reads them back and stops everything, so nothing outlives a run.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from tests.harness.procs import LOOPBACK, free_port, stop_process_group
from tests.harness.procs import wait_for as _wait_for

REPO = Path(__file__).resolve().parents[2]
DEFAULT_RUN_DIR = REPO / ".services"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_USER = "postgres"
PG_PASSWORD = "sre-runbooks-test"  # throwaway cluster on loopback, created per run
S3_ACCESS_KEY = "testing"
S3_SECRET_KEY = "testing"
# Debian package that provides each executable we start.
PACKAGES = {
    str(PG_BIN / "initdb"): "postgresql-15",
    "redis-server": "redis-server",
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "prometheus-alertmanager": "prometheus-alertmanager",
    # The Kafka broker of tests/harness/kafka.py: its jars are resolved with Maven, it runs on Java 17.
    "java": "openjdk-17-jre-headless",
    "mvn": "maven",
    # Not services: pg_backup's zstd compression, and ansible-test sanity's shellcheck test.
    "zstd": "zstd",
    "shellcheck": "shellcheck",
    # Not services either: the HTML report test renders the pages in headless Chromium, driven through
    # Debian's chromedriver of the same version (tests/integration/html_reports).
    "chromium": "chromium",
    "chromedriver": "chromium-driver",
}


class ServiceError(RuntimeError):
    """A service could not be installed, started or reached."""


# A service that never answers is a ServiceError like any other failure to start.
wait_for = functools.partial(_wait_for, error=ServiceError)


def ensure_packages() -> None:
    """Install the Debian packages that provide missing executables (as root), else explain."""
    missing = sorted({pkg for exe, pkg in PACKAGES.items() if not _which(exe)})
    if not missing:
        return
    if os.geteuid() != 0:
        raise ServiceError("missing executables; install the Debian packages: sudo apt-get install -y " + " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    # --no-install-recommends and policy-rc.d-free: we never want the packaged daemons
    # running; the harness starts its own instances on spare ports.
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True, env=env)
    for unit in ("redis-server", "prometheus", "prometheus-alertmanager", "postgresql"):
        subprocess.run(["service", unit, "stop"], capture_output=True, check=False)


def _which(exe: str) -> str | None:
    if os.path.isabs(exe):
        return exe if os.access(exe, os.X_OK) else None
    return shutil.which(exe)


def _spawn(cmd: list[str], log: Path, **kwargs) -> subprocess.Popen:
    with open(log, "ab") as out:
        # A new session so down() can signal the whole process group.
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, **kwargs)


def _as_postgres(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; the Debian package ships the 'postgres' user.
    return ["runuser", "-u", PG_USER, "--", *cmd] if os.geteuid() == 0 else cmd


def start_postgres(run_dir: Path) -> dict:
    # The cluster lives in its own world-traversable temp dir: the 'postgres' user must
    # reach it even when the checkout sits under a 0700 directory (CI's fresh clone).
    root = Path(tempfile.mkdtemp(prefix="sre-runbooks-pg-"))
    os.chmod(root, 0o755)
    data = root / "data"
    sockets = root / "sock"
    sockets.mkdir()
    pwfile = root / "pwfile"
    pwfile.write_text(PG_PASSWORD + "\n")
    if os.geteuid() == 0:
        uid = pwd.getpwnam(PG_USER).pw_uid
        for path in (root, sockets, pwfile):
            os.chown(path, uid, -1)
    port = free_port()
    subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", PG_USER, "--pwfile", str(pwfile),
                                 "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8",
                                 "--locale=C.UTF-8", "--no-sync"]),
                   check=True, capture_output=True)
    conf = {
        "listen_addresses": f"'{LOOPBACK}'",
        "port": str(port),
        "unix_socket_directories": f"'{sockets}'",
        "shared_preload_libraries": "'pg_stat_statements'",
        "pg_stat_statements.track": "all",
        "max_connections": "100",
        # Throwaway test cluster: durability is not needed, speed is.
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "track_io_timing": "on",
    }
    with open(data / "postgresql.auto.conf", "a", encoding="utf-8") as handle:
        handle.writelines(f"{k} = {v}\n" for k, v in conf.items())
    log = root / "server.log"
    subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "start"]),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres([str(PG_BIN / "psql"), "-h", str(sockets), "-p", str(port), "-U", PG_USER, "-d", "postgres",
                                 "-qc", "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"]), check=True, capture_output=True)
    return {"host": LOOPBACK, "port": port, "user": PG_USER, "password": PG_PASSWORD, "database": "postgres",
            "socket_dir": str(sockets), "root": str(root), "data_dir": str(data), "bin_dir": str(PG_BIN), "log": str(log)}


def start_redis(run_dir: Path) -> dict:
    rdir = run_dir / "redis"
    rdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = _spawn(["redis-server", "--bind", LOOPBACK, "--port", str(port), "--dir", str(rdir),
                   "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
                  rdir / "server.log")

    def ping():
        with socket.create_connection((LOOPBACK, port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    wait_for(ping, f"redis on port {port}")
    return {"host": LOOPBACK, "port": port, "pid": proc.pid, "dir": str(rdir), "log": str(rdir / "server.log")}


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback URL we built
        return resp.status < 500


def start_s3(run_dir: Path) -> dict:
    sdir = run_dir / "s3"
    sdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    moto = Path(sys.executable).with_name("moto_server")
    env = dict(os.environ, AWS_ACCESS_KEY_ID=S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY=S3_SECRET_KEY)
    proc = _spawn([str(moto), "-H", LOOPBACK, "-p", str(port)], sdir / "server.log", env=env)
    url = f"http://{LOOPBACK}:{port}"
    wait_for(lambda: _http_ok(url + "/moto-api/"), f"moto S3 server on port {port}")
    return {"endpoint_url": url, "port": port, "pid": proc.pid, "access_key": S3_ACCESS_KEY,
            "secret_key": S3_SECRET_KEY, "region": "us-east-1", "log": str(sdir / "server.log")}


def _prometheus_config(pdir: Path) -> Path:
    config = pdir / "prometheus.yml"
    targets = pdir / "targets.json"
    if not targets.exists():
        targets.write_text("[]\n")
    # Scrape targets are added by writing targets.json (file_sd), so tests and the demo
    # can register local endpoints without restarting Prometheus.
    config.write_text(
        "global:\n  scrape_interval: 5s\n  evaluation_interval: 5s\n"
        "scrape_configs:\n  - job_name: local\n    file_sd_configs:\n"
        f"      - files: ['{targets}']\n        refresh_interval: 5s\n"
    )
    return config


def start_prometheus(run_dir: Path, port: int | None = None) -> dict:
    pdir = run_dir / "prometheus"
    (pdir / "data").mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    config = _prometheus_config(pdir)
    proc = _spawn(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={pdir / 'data'}",
                   f"--web.listen-address={LOOPBACK}:{port}", "--web.enable-admin-api", "--web.enable-lifecycle",
                   "--storage.tsdb.retention.time=400d", "--log.level=warn"],
                  pdir / "server.log")
    url = f"http://{LOOPBACK}:{port}"
    wait_for(lambda: _http_ok(url + "/-/ready"), f"prometheus on port {port}")
    return {"url": url, "port": port, "pid": proc.pid, "data_dir": str(pdir / "data"),
            "targets_file": str(pdir / "targets.json"), "log": str(pdir / "server.log")}


ALERTMANAGER_CONFIG = """route:
  receiver: "null"
  group_wait: 1s
receivers:
  - name: "null"
"""


def start_alertmanager(run_dir: Path, port: int | None = None) -> dict:
    """Alertmanager with one null receiver, on loopback, no cluster gossip, storage in the run dir."""
    adir = run_dir / "alertmanager"
    (adir / "data").mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    config = adir / "alertmanager.yml"
    config.write_text(ALERTMANAGER_CONFIG)
    proc = _spawn(["prometheus-alertmanager", f"--config.file={config}", f"--storage.path={adir / 'data'}",
                   f"--web.listen-address={LOOPBACK}:{port}", "--cluster.listen-address=", "--log.level=warn"],
                  adir / "server.log")
    url = f"http://{LOOPBACK}:{port}"
    wait_for(lambda: _http_ok(url + "/-/ready"), f"alertmanager on port {port}")
    return {"url": url, "port": port, "pid": proc.pid, "data_dir": str(adir / "data"), "log": str(adir / "server.log")}


def backfill_prometheus(state: dict, openmetrics: str) -> None:
    """Load history into the running Prometheus with promtool, then restart it on the same port.

    ``openmetrics`` is OpenMetrics text ending in ``# EOF``. Prometheus only picks up
    backfilled blocks when it (re)opens its TSDB, so it is restarted and waited on.
    """
    prom = state["prometheus"]
    run_dir = Path(state["run_dir"])
    _promtool_backfill(run_dir / "prometheus" / "backfill.om", openmetrics, Path(prom["data_dir"]))
    stop_process_group(prom["pid"])
    state["prometheus"] = start_prometheus(run_dir, port=prom["port"])
    write_state(state)


@contextlib.contextmanager
def private_prometheus(run_dir: Path, openmetrics: str):
    """A Prometheus of its own in ``run_dir`` that starts on ``openmetrics`` history; stopped on exit.

    Not the shared one: backfilled history must not mix with what other tests write. The blocks
    are written before the server starts, so unlike backfill_prometheus() no restart is needed.
    """
    data_dir = run_dir / "prometheus" / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    _promtool_backfill(run_dir / "history.om", openmetrics, data_dir)
    prom = start_prometheus(run_dir)
    try:
        yield prom
    finally:
        stop_process_group(prom["pid"])


def _promtool_backfill(source: Path, openmetrics: str, data_dir: Path) -> None:
    source.write_text(openmetrics)
    result = subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", str(source), str(data_dir)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ServiceError(f"promtool backfill failed: {result.stderr.strip() or result.stdout.strip()}")


def service_env(state: dict) -> dict[str, str]:
    """The environment variables that point clients (libpq, boto3, our inventories) at the services."""
    pg, redis, s3, prom = state["postgres"], state["redis"], state["s3"], state["prometheus"]
    values = {
        "PGHOST": pg["host"], "PGPORT": pg["port"], "PGUSER": pg["user"], "PGPASSWORD": pg["password"],
        "PGDATABASE": pg["database"], "SRE_PG_BIN_DIR": pg["bin_dir"],
        "REDIS_HOST": redis["host"], "REDIS_PORT": redis["port"],
        "S3_ENDPOINT_URL": s3["endpoint_url"], "AWS_ACCESS_KEY_ID": s3["access_key"],
        "AWS_SECRET_ACCESS_KEY": s3["secret_key"], "AWS_DEFAULT_REGION": s3["region"],
        "PROMETHEUS_URL": prom["url"], "SRE_SERVICES_FILE": state["json_file"],
    }
    if "alertmanager" in state:  # a set started before Alertmanager joined the harness has none
        values["ALERTMANAGER_URL"] = state["alertmanager"]["url"]
    return {k: str(v) for k, v in values.items()}


def _env_lines(state: dict) -> list[str]:
    return [f"export {k}={json.dumps(v)}" for k, v in service_env(state).items()]


def write_state(state: dict) -> None:
    Path(state["json_file"]).write_text(json.dumps(state, indent=2) + "\n")
    Path(state["env_file"]).write_text("\n".join(_env_lines(state)) + "\n")


def read_state(run_dir: Path = DEFAULT_RUN_DIR) -> dict | None:
    path = Path(run_dir) / "services.json"
    return json.loads(path.read_text()) if path.exists() else None


def up(run_dir: Path = DEFAULT_RUN_DIR) -> dict:
    """Start every service (or return the running set) and write the state files."""
    run_dir = Path(run_dir).resolve()
    existing = read_state(run_dir)
    if existing and _alive(existing):
        return existing
    if existing:
        down(run_dir)
    ensure_packages()
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    os.chmod(run_dir, 0o755)
    state = {"run_dir": str(run_dir), "json_file": str(run_dir / "services.json"),
             "env_file": str(run_dir / "services.env")}
    try:
        state["postgres"] = start_postgres(run_dir)
        write_state_partial(state)
        state["redis"] = start_redis(run_dir)
        write_state_partial(state)
        state["s3"] = start_s3(run_dir)
        write_state_partial(state)
        state["prometheus"] = start_prometheus(run_dir)
        write_state_partial(state)
        state["alertmanager"] = start_alertmanager(run_dir)
    except Exception:
        write_state_partial(state)
        down(run_dir)
        raise
    write_state(state)
    return state


def write_state_partial(state: dict) -> None:
    # Written after each start so a failure part-way still lets down() stop what started.
    Path(state["json_file"]).write_text(json.dumps(state, indent=2) + "\n")


def _alive(state: dict) -> bool:
    try:
        for key in ("redis", "s3", "prometheus", "alertmanager"):
            os.killpg(state[key]["pid"], 0)
        return Path(state["postgres"]["data_dir"], "postmaster.pid").exists()
    except (KeyError, ProcessLookupError, PermissionError):
        return False


def down(run_dir: Path = DEFAULT_RUN_DIR) -> None:
    """Stop everything ``up()`` started in ``run_dir`` and remove its data."""
    run_dir = Path(run_dir).resolve()
    state = read_state(run_dir)
    if state:
        for key in ("alertmanager", "prometheus", "s3", "redis"):
            if key in state:
                stop_process_group(state[key]["pid"])
        if "postgres" in state:
            subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", state["postgres"]["data_dir"],
                                         "-m", "immediate", "-w", "stop"]), capture_output=True, check=False)
            shutil.rmtree(state["postgres"].get("root", ""), ignore_errors=True)
    shutil.rmtree(run_dir, ignore_errors=True)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in ("up", "down", "status", "deps"):
        print("usage: python -m tests.harness.services up|down|status|deps [RUN_DIR]", file=sys.stderr)
        return 2
    run_dir = Path(argv[2]) if len(argv) > 2 else Path(os.environ.get("SRE_SERVICES_DIR", DEFAULT_RUN_DIR))
    try:
        if argv[1] == "deps":
            ensure_packages()
            print("system packages present")
        elif argv[1] == "up":
            state = up(run_dir)
            print(f"postgres   {state['postgres']['host']}:{state['postgres']['port']}")
            print(f"redis      {state['redis']['host']}:{state['redis']['port']}")
            print(f"s3 (moto)  {state['s3']['endpoint_url']}")
            print(f"prometheus {state['prometheus']['url']}")
            print(f"alertmanager {state['alertmanager']['url']}")
            print(f"env file   {state['env_file']}")
            print(state["json_file"])
        elif argv[1] == "down":
            down(run_dir)
            print("services stopped")
        else:
            state = read_state(run_dir)
            print("running" if state and _alive(state) else "stopped")
    except (ServiceError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", None)
        print(f"services: {exc}{(': ' + detail.decode(errors='replace').strip()) if isinstance(detail, bytes) else ''}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
