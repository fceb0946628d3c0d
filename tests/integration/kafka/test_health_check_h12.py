"""H12 of the daily health check (playbooks/daily_health_check.yml) against the real Kafka broker.

A real consumer group leaves 45 records unconsumed: with a warning threshold of 10 the row is a
warning naming the group, with the figures the admin client computes; without brokers in the
inventory the row says it was skipped and why.
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.integration import ansible_run
from tests.integration.kafka.consumers import PacedConsumer, create_topic, describe_lag, produce
from tests.integration.waiting import wait_until

pytestmark = pytest.mark.slow

HOST = "platform-cluster"  # the local inventory's kubernetes host reads and reports


def run(extra, report_dir, check=False):
    extra = dict({"health_check_checks": ["kafka"], "health_check_fail_on": "never"}, **extra)
    proc = ansible_run.run_playbook("playbooks/daily_health_check.yml", extra, check=check,
                                    env={"SRE_REPORT_DIR": str(report_dir)})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    report = json.loads((report_dir / f"health_check-{HOST}.json").read_text())
    return report, (report_dir / f"health_check-{HOST}.md").read_text()


def test_h12_lagging_group_and_skip(kafka, tmp_path):
    bootstrap = kafka["bootstrap_servers"]
    run_id = uuid.uuid4().hex[:8]
    topic, group = f"bug-reports-{run_id}", f"triage-agent-{run_id}"
    create_topic(bootstrap, topic, 1)
    produce(bootstrap, topic, {0: 60})
    consumer = PacedConsumer(bootstrap, group, topic, limit=15)
    wait_until(lambda: consumer.consumed >= 15, "the consumer to commit 15 records", timeout=60)
    consumer.close()
    assert describe_lag(bootstrap, group) == {(topic, 0): (15, 60, 45)}

    report, markdown = run({"health_check_kafka_bootstrap_servers": bootstrap, "health_check_kafka_groups": [group],
                            "health_check_kafka_lag_warning": 10, "health_check_kafka_samples": 2,
                            "health_check_kafka_interval": 0.5}, tmp_path / "real")
    (row,) = report["checks"]
    assert (row["id"], row["check"], row["status"]) == ("H12", "kafka", "critical"), row
    # Offsets frozen with lag and no member: Burrow's STOP, so the group is ERR (critical).
    assert row["summary"].endswith(f"{group} ERR (lag 45)"), row["summary"]
    (entry,) = row["details"]["groups"]
    assert (entry["group"], entry["total_lag"], entry["status"], entry["state"]) == (group, 45, "ERR", "EMPTY")
    assert topic in [t["topic"] for t in row["details"]["topics"]] and row["details"]["under_replicated_partitions"] == []
    assert f"| {group} | EMPTY | 0 | ERR | 45 | {topic}/0: 45 |" in markdown
    assert "| H12 | Kafka topics, replication and consumer lag | CRITICAL |" in markdown

    report, markdown = run({"health_check_kafka_bootstrap_servers": ""}, tmp_path / "skipped", check=True)
    (row,) = report["checks"]
    assert (row["id"], row["status"]) == ("H12", "unavailable")
    assert row["summary"].startswith("skipped: the inventory names no Kafka brokers")
