"""kafka_topic and kafka_consumer_lag_info main() with a fake admin client (no broker)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._kafka import lag_runner, topic_runner
from ansible_collections.sre.runbooks.plugins.modules import kafka_consumer_lag_info, kafka_topic

from .utils import AnsibleExitJson, AnsibleFailJson, run_module

BASE = {"bootstrap_servers": "k0:9092"}


class FakeAdmin:
    """Topics as {name: partition count}; one group with offsets and owners; calls recorded."""

    def __init__(self, module):
        self.params = module.params
        self.calls = []
        FakeAdmin.last = self

    topics = {"orders": 3}
    group = {"offsets": {("orders", 0): 5, ("orders", 1): 7}, "ends": {("orders", 0): 10, ("orders", 1): 7, ("orders", 2): 4},
             "owners": {("orders", 0): "w1", ("orders", 2): "w1"}}

    def metadata(self, topic=None):
        found = {name: SimpleNamespace(error=None, partitions=dict.fromkeys(range(count)))
                 for name, count in self.topics.items() if topic in (None, name)}
        return SimpleNamespace(topics=found)

    def create_partitions(self, topic, count, validate_only):
        self.calls.append(("create_partitions", topic, count, validate_only))

    def group_ids(self):
        return ["pipeline"]

    def committed_offsets(self, group):
        return dict(self.group["offsets"]) if group == "pipeline" else {}

    def describe_groups(self, groups):
        result = {}
        for name in groups:
            if name != "pipeline":
                result[name] = SimpleNamespace(state=SimpleNamespace(name="DEAD"), members=[])
                continue
            parts = [SimpleNamespace(topic=t, partition=p) for (t, p) in self.group["owners"]]
            member = SimpleNamespace(client_id="w1", host="/10.0.0.1", assignment=SimpleNamespace(topic_partitions=parts))
            result[name] = SimpleNamespace(state=SimpleNamespace(name="STABLE"), members=[member])
        return result

    def end_offsets(self, partitions):
        return {key: self.group["ends"][key] for key in partitions}


@pytest.fixture(autouse=True)
def fake_admin(monkeypatch):
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setattr(topic_runner, "KafkaAdmin", FakeAdmin)
    monkeypatch.setattr(lag_runner, "KafkaAdmin", FakeAdmin)


@pytest.mark.parametrize("check", [True, False])
def test_topic_increase(check):
    result = run_module(kafka_topic, dict(BASE, name="orders", partitions=6), check=check, diff=True, expect=AnsibleExitJson)
    assert result["changed"] is True
    assert result["diff"] == {"before": {"topic": "orders", "partitions": 3}, "after": {"topic": "orders", "partitions": 6}}
    # Check mode asks the broker to validate only: nothing changes.
    assert FakeAdmin.last.calls == [("create_partitions", "orders", 6, check)]


def test_topic_keep_and_refusals():
    result = run_module(kafka_topic, dict(BASE, name="orders", partitions=3), expect=AnsibleExitJson)
    assert result["changed"] is False and FakeAdmin.last.calls == []
    result = run_module(kafka_topic, dict(BASE, name="orders", partitions=2), expect=AnsibleFailJson)
    assert result["msg"] == "Topic 'orders' has 3 partitions and Kafka cannot decrease a partition count, so 2 is refused."
    assert FakeAdmin.last.calls == []
    result = run_module(kafka_topic, dict(BASE, name="nope", partitions=2), expect=AnsibleFailJson)
    assert result["msg"].startswith("Topic 'nope' does not exist on the Kafka cluster at k0:9092")
    result = run_module(kafka_topic, dict(BASE, name="orders", partitions=0), expect=AnsibleFailJson)
    assert "partitions" in result["msg"]


def test_lag_one_sample():
    result = run_module(kafka_consumer_lag_info, BASE, expect=AnsibleExitJson)
    assert result["changed"] is False and result["status"] is None
    (group,) = result["groups"]
    assert group["total_lag"] == 5 and group["members"] == 1 and group["state"] == "STABLE"
    assert [(p["partition"], p["committed_offset"], p["log_end_offset"], p["lag"], p["owner"]) for p in group["partitions"]] == [
        (0, 5, 10, 5, "w1@10.0.0.1"), (1, 7, 7, 0, None), (2, None, 4, None, "w1@10.0.0.1")]


def test_lag_window_stalls(monkeypatch):
    monkeypatch.setattr(lag_runner.time, "sleep", lambda seconds: None)
    result = run_module(kafka_consumer_lag_info, dict(BASE, groups=["pipeline"], samples=3, interval=1), expect=AnsibleExitJson)
    # Partition 0's offset never moves while lag is 5 and w1 owns it.
    assert result["status"] == "ERR" and result["window_seconds"] == 2
    assert result["groups"][0]["partitions"][0]["status"] == "STALL"


@pytest.mark.parametrize(("args", "message"), [
    ({"groups": ["ghost"]}, "Consumer group 'ghost' does not exist on the Kafka cluster at k0:9092 (no members and no committed offsets)."),
    ({"groups": [" "]}, "groups must not contain an empty group name."),
    ({"samples": 60, "interval": 600}, "samples x interval spans more than 30 minutes; use fewer samples or a shorter interval."),
])
def test_lag_refusals(args, message):
    assert run_module(kafka_consumer_lag_info, dict(BASE, **args), expect=AnsibleFailJson)["msg"] == message
