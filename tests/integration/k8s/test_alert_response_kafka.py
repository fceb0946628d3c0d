"""I3 KafkaConsumerLag (playbooks/alert_response.yml) against the real Kafka broker and control plane.

Consumer group ``triage-agent-<id>`` of topic ``bug-reports-<id>`` (4 partitions) committed a
few records of each partition and stopped; Deployment ``triage-agent`` runs 1 replica. In check mode the response
names the lagging group, its partitions and the scale-out to 4 without applying it; with mitigation
the Deployment is scaled to 4 through the rollout role. kwok's pods consume nothing, so the test
then starts as many real consumers as the Deployment now has replicas, in the same group, and the
lag falls to zero: the closest real proof that the scale-out drains the backlog.
"""

from __future__ import annotations

import json
import uuid

import pytest

kubernetes = pytest.importorskip("kubernetes")

from tests.integration.ansible_run import run_playbook  # noqa: E402
from tests.integration.kafka.consumers import (  # noqa: E402
    PacedConsumer,
    admin,
    commit_offsets,
    create_topic,
    describe_lag,
    produce,
)
from tests.integration.waiting import wait_until  # noqa: E402

pytestmark = pytest.mark.slow

PARTITIONS = 4


@pytest.fixture
def lagging(kafka, core, apps):
    bootstrap = kafka["bootstrap_servers"]
    run = uuid.uuid4().hex[:8]
    ns, topic, group = f"i3-kafka-{run}", f"bug-reports-{run}", f"triage-agent-{run}"
    create_topic(bootstrap, topic, PARTITIONS)
    produce(bootstrap, topic, dict.fromkeys(range(PARTITIONS), 30))
    commit_offsets(bootstrap, group, topic, {0: 5, 1: 3, 2: 2, 3: 0})
    core.create_namespace({"metadata": {"name": ns}})
    labels = {"app": "triage-agent"}
    apps.create_namespaced_deployment(ns, {"metadata": {"name": "triage-agent"}, "spec": {
        "replicas": 1, "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [
            {"name": "agent", "image": "registry.example.com/triage-agent:1.0"}]}}}})
    wait_until(lambda: (apps.read_namespaced_deployment("triage-agent", ns).status.available_replicas or 0) == 1,
               "triage-agent up")
    yield {"bootstrap": bootstrap, "ns": ns, "topic": topic, "group": group}
    core.delete_namespace(ns)


def respond(k8s_cluster, report_dir, lagging, check=False, mitigate=False):
    payload = {"version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": {
        "alertname": "KafkaConsumerLag", "namespace": lagging["ns"], "consumergroup": lagging["group"],
        "deployment": "triage-agent"}}]}
    extra = {"alert_response_payload": payload, "alert_response_mitigate": mitigate,
             "alert_response_report_dir": str(report_dir), "alert_response_kafka_bootstrap_servers": lagging["bootstrap"],
             "alert_response_kafka_lag_threshold": 50, "alert_response_kafka_samples": 2,
             "alert_response_kafka_interval": 0.5}
    proc = run_playbook("playbooks/alert_response.yml", extra, check=check,
                        env={"K8S_AUTH_KUBECONFIG": str(k8s_cluster.kubeconfig)})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return proc, json.loads((report_dir / "alert_response.json").read_text())


def test_kafka_lag_names_the_group_and_scales_consumers_to_the_partitions(k8s_cluster, apps, lagging, tmp_path):
    ns, group = lagging["ns"], lagging["group"]
    expected = describe_lag(lagging["bootstrap"], group)
    backlog = sum(lag for _offset, _end, lag in expected.values())
    assert backlog == PARTITIONS * 30 - 10

    proc, [verdict] = respond(k8s_cluster, tmp_path / "check", lagging, check=True, mitigate=True)
    assert (verdict["alert"], verdict["group"], verdict["confirmed"]) == ("KafkaConsumerLag", group, True)
    assert (verdict["mitigation"], verdict["replicas"], verdict["mitigated"]) == ("scale_consumers", PARTITIONS, False)
    assert verdict["reason"] == f"triage-agent has 1 replicas for {PARTITIONS} partitions: scale to {PARTITIONS}"
    [finding] = verdict["findings"]
    assert (finding["object"], finding["reason"]) == (f"ConsumerGroup/{group}", "ConsumerLag")
    assert finding["message"].startswith(f"lag {backlog} (alert threshold 50), status ERR, 0 consumers for 4 partitions")
    [lag] = verdict["lag"]
    assert {(p["topic"], p["partition"]): (p["committed_offset"], p["log_end_offset"], p["lag"])
            for p in lag["partitions"] if p["committed_offset"] is not None} == expected
    assert "mitigation scale_consumers would be applied (check mode)" in proc.stdout
    assert f"## KafkaConsumerLag: consumer group {group}" in (tmp_path / "check" / "alert_response.md").read_text()
    assert apps.read_namespaced_deployment("triage-agent", ns).spec.replicas == 1

    proc, [verdict] = respond(k8s_cluster, tmp_path / "real", lagging, mitigate=True)
    assert verdict["mitigated"] and "mitigation scale_consumers applied" in proc.stdout
    dep = apps.read_namespaced_deployment("triage-agent", ns)
    assert dep.spec.replicas == PARTITIONS and dep.status.available_replicas == PARTITIONS

    # kwok's pods consume nothing: as many real consumers as replicas join the group and drain the backlog.
    # Paced (10 records/s each) so that no single member drains it alone before the others have joined.
    consumers = [PacedConsumer(lagging["bootstrap"], group, lagging["topic"], rate=10)
                 for _replica in range(dep.spec.replicas)]
    client = admin(lagging["bootstrap"])

    def owners():
        members = client.describe_consumer_groups([group])[group].result(timeout=10).members
        return {m.member_id for m in members for _part in m.assignment.topic_partitions}

    try:
        wait_until(lambda: len(owners()) == PARTITIONS, "one partition for each of the 4 consumers", timeout=60)
        wait_until(lambda: sum(lag for _o, _e, lag in describe_lag(lagging["bootstrap"], group).values()) == 0
                   and len(describe_lag(lagging["bootstrap"], group)) == PARTITIONS,
                   "the scaled-out consumers to drain the backlog", timeout=90)
        assert sum(1 for c in consumers if c.consumed) >= 2, [c.consumed for c in consumers]
    finally:
        for consumer in consumers:
            consumer.close()
