"""A real Apache Kafka broker (KRaft, one combined broker/controller) on loopback, for tests.

The jars come from Maven Central through ``tests/kafka/build.sh`` (resolved once into
``~/.cache/sre-runbooks/kafka-<version>/libs``). ``start(run_dir)`` formats the storage with
Kafka's own storage tool and starts the broker on two free 127.0.0.1 ports (clients and the
controller); ``stop(state)`` stops its process group and removes the data, so nothing outlives
the run. Only the ``kafka`` pytest fixture starts it, so sessions that do not ask for Kafka
never pay the JVM start (~6-10 s).

Standard library only, like the rest of the harness.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.harness.procs import LOOPBACK, free_port, stop_process_group, wait_for

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "tests" / "kafka" / "build.sh"
# Fast start and a small footprint on a 2-core machine: the client compiler only (the tests
# send a few hundred records), the serial collector, no perf-data mmap file.
JVM_FLAGS = ["-Xms64m", "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
             "-Djava.awt.headless=true"]
LOG4J2 = """status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = out
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
"""
STARTED = "Kafka Server started"


class KafkaError(RuntimeError):
    """The broker could not be built, formatted or started."""


def build() -> Path:
    """The directory of the broker's jars (resolved with Maven on the first call on a machine)."""
    result = subprocess.run(["bash", str(BUILD)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise KafkaError(f"kafka build failed: {(result.stderr or result.stdout).strip()[-2000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


def _properties(data: Path, port: int, controller_port: int) -> str:
    values = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"{LOOPBACK}:{controller_port}",
        "listeners": f"PLAINTEXT://{LOOPBACK}:{port},CONTROLLER://{LOOPBACK}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{port},CONTROLLER://{LOOPBACK}:{controller_port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data),
        # One broker: every internal topic has one replica; one offsets partition keeps the
        # group coordinator's load (the first commit waits for it) short.
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # Tests start consumers and expect assignments at once, not after the 3 s default.
        "group.initial.rebalance.delay.ms": "0",
        "num.partitions": "1",
        "auto.create.topics.enable": "false",
    }
    return "".join(f"{key}={value}\n" for key, value in values.items())


def _java(libs: Path, config_dir: Path, *args: str) -> list[str]:
    return ["java", *JVM_FLAGS, f"-Dlog4j2.configurationFile={config_dir / 'log4j2.properties'}",
            "-cp", f"{libs}/*", *args]


def start(run_dir: Path) -> dict:
    """Format and start the broker in ``run_dir``; returns its state (``bootstrap_servers``, ``pid``...)."""
    if not shutil.which("java"):
        raise KafkaError("a Java 17+ runtime is required (Debian package openjdk-17-jre-headless)")
    libs = build()
    kdir = Path(run_dir) / "kafka"
    if kdir.exists():
        shutil.rmtree(kdir)
    kdir.mkdir(parents=True)
    data = kdir / "data"
    (kdir / "log4j2.properties").write_text(LOG4J2)
    port, controller_port = free_port(), free_port()
    while controller_port == port:
        controller_port = free_port()
    config = kdir / "server.properties"
    config.write_text(_properties(data, port, controller_port))
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
    started = time.monotonic()
    fmt = subprocess.run(_java(libs, kdir, "kafka.tools.StorageTool", "format", "--standalone",
                               "-t", cluster_id, "-c", str(config)),
                         capture_output=True, text=True, timeout=120, check=False)
    if fmt.returncode != 0:
        raise KafkaError(f"kafka storage format failed: {(fmt.stderr or fmt.stdout).strip()[-2000:]}")
    log = kdir / "server.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(_java(libs, kdir, "kafka.Kafka", str(config)), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    state = {"bootstrap_servers": f"{LOOPBACK}:{port}", "port": port, "controller_port": controller_port,
             "pid": proc.pid, "dir": str(kdir), "log": str(log), "cluster_id": cluster_id}
    (kdir / "kafka.json").write_text(json.dumps(state, indent=2) + "\n")

    def ready():
        if proc.poll() is not None:
            raise KafkaError(f"the broker exited with {proc.returncode}: {log.read_text()[-2000:]}")
        return STARTED in log.read_text(errors="replace")

    try:
        wait_for(ready, f"kafka broker on port {port}", timeout=120, interval=0.1, error=KafkaError)
    except KafkaError:
        stop(state)
        raise
    state["start_seconds"] = round(time.monotonic() - started, 2)
    return state


def stop(state: dict) -> None:
    """Stop the broker's process group and remove its data directory."""
    stop_process_group(state["pid"])
    shutil.rmtree(state["dir"], ignore_errors=True)


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("up", "down"):
        print("usage: python -m tests.harness.kafka up|down RUN_DIR", file=sys.stderr)
        return 2
    run_dir = Path(argv[2]).resolve()
    state_file = run_dir / "kafka" / "kafka.json"
    try:
        if argv[1] == "up":
            state = start(run_dir)
            print(f"KAFKA_BOOTSTRAP_SERVERS={state['bootstrap_servers']} (started in {state['start_seconds']}s)")
        elif state_file.exists():
            stop(json.loads(state_file.read_text()))
            print("kafka stopped")
    except KafkaError as exc:
        print(f"kafka: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
