"""Real Kafka producers and consumer groups for the integration tests (confluent-kafka, on loopback).

A ``PacedConsumer`` is a consumer-group member in a thread of its own that consumes at a set rate
and commits every record synchronously, so the committed offsets the modules read move exactly
as far as it consumed. ``pause()`` stops consuming while the member stays in the group (librdkafka
heartbeats in the background), ``close()`` leaves the group. Nothing here sleeps to hope: callers
wait on offsets with tests.integration.waiting.wait_until.
"""

from __future__ import annotations

import threading
import time

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec

QUIET = {"log_level": 3}  # errors only: a closed test broker must not flood the pytest log


def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, **QUIET})


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    client = admin(bootstrap)  # kept referenced: a destroyed handle fails its pending futures
    for future in client.create_topics([NewTopic(name, partitions, 1)], request_timeout=30).values():
        future.result(timeout=30)


def produce(bootstrap: str, topic: str, per_partition: dict[int, int]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, **QUIET})
    for partition, count in per_partition.items():
        for index in range(count):
            producer.produce(topic, f"record-{partition}-{index}".encode(), partition=partition)
    if producer.flush(30) != 0:
        raise RuntimeError(f"records for {topic} were not delivered within 30 s")


def commit_offsets(bootstrap: str, group: str, topic: str, offsets: dict[int, int]) -> None:
    """Commit ``offsets`` ({partition: next offset}) for ``group``, as a consumer that processed that far would."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False, **QUIET})
    try:
        consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False)
    finally:
        consumer.close()


def describe_lag(bootstrap: str, group: str) -> dict[tuple[str, int], tuple[int, int, int]]:
    """What ``kafka-consumer-groups.sh --describe --group <group>`` shows for the committed partitions:
    {(topic, partition): (current offset, log-end offset, lag)}, computed with the admin client."""
    client = admin(bootstrap)
    committed = {}
    for future in client.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)]).values():
        for part in future.result(timeout=30).topic_partitions:
            if part.offset >= 0:
                committed[(part.topic, part.partition)] = part.offset
    ends = client.list_offsets({TopicPartition(t, p): OffsetSpec.latest() for t, p in committed}, request_timeout=30)
    result = {}
    for part, future in ends.items():
        end = future.result(timeout=30).offset
        offset = committed[(part.topic, part.partition)]
        result[(part.topic, part.partition)] = (offset, end, max(end - offset, 0))
    return result


class PacedConsumer:
    """One member of ``group`` consuming ``topic`` at up to ``rate`` records a second, committing each."""

    def __init__(self, bootstrap: str, group: str, topic: str, rate: float = 1000.0, limit: int | None = None):
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "client.id": f"{group}-member",
                                  "auto.offset.reset": "earliest", "enable.auto.commit": False, **QUIET})
        self.consumer.subscribe([topic])
        self.rate = rate
        self.limit = limit
        self.consumed = 0
        self.committed = None  # the offset of the last commit (next record to read)
        self.idle = threading.Event()
        self.running = threading.Event()
        self.running.set()
        self.stopping = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._loop, name=f"consumer-{group}", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        try:
            while not self.stopping.is_set():
                if not self.running.is_set():
                    self.idle.set()
                    self.running.wait(0.1)
                    continue
                self.idle.clear()
                if self.limit is not None and self.consumed >= self.limit:
                    self.running.clear()
                    continue
                message = self.consumer.poll(0.2)
                if message is None or message.error():
                    continue
                self.consumer.commit(message=message, asynchronous=False)
                self.committed = message.offset() + 1
                self.consumed += 1
                # Pacing of a deliberately slow consumer, not a wait for a condition.
                time.sleep(1.0 / self.rate)
        except BaseException as exc:  # noqa: BLE001 - reported to the test by close()
            self.error = exc

    def pause(self) -> None:
        """Stop consuming (returns once the last commit is done); the member stays in the group."""
        self.idle.clear()
        self.running.clear()
        if not self.idle.wait(30) and self.thread.is_alive():
            raise RuntimeError("the consumer did not pause within 30 s")

    def resume(self, rate: float | None = None) -> None:
        self.rate = rate or self.rate
        self.running.set()

    def close(self) -> None:
        """Leave the group."""
        self.stopping.set()
        self.thread.join(timeout=30)
        self.consumer.close()
        if self.error:
            raise self.error


class SteadyProducer:
    """Produces ``rate`` records a second to one partition in a thread until stopped."""

    def __init__(self, bootstrap: str, topic: str, rate: float):
        self.producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, **QUIET})
        self.topic, self.rate = topic, rate
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name=f"producer-{topic}", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        index = 0
        while not self.stopping.wait(1.0 / self.rate):
            self.producer.produce(self.topic, f"steady-{index}".encode(), partition=0)
            self.producer.poll(0)
            index += 1

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=30)
        self.producer.flush(30)
