"""Burrow-style evaluation of consumer lag over sample windows (pure, no broker)."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._kafka import lag_eval


@pytest.mark.parametrize(("committed", "log_end", "lag"), [
    (10, 50, 40), (50, 50, 0), (None, 50, None), (-1001, 50, None),
    # A committed offset past the high watermark (a truncated log) shows lag 0, as the tool does.
    (60, 50, 0),
])
def test_lag_of(committed, log_end, lag):
    assert lag_eval.lag_of(committed, log_end) == lag


# Windows are (committed, log_end) samples, oldest first.
@pytest.mark.parametrize(("window", "owned", "status"), [
    # Burrow rule 1: caught up at least once in the window.
    ([(10, 20), (20, 20), (20, 30)], True, "OK"),
    # Offsets move and the lag falls: healthy.
    ([(10, 50), (30, 55), (50, 56)], True, "OK"),
    # Offsets move, the lag is constant: keeping pace (Burrow would WARN; documented difference).
    ([(10, 20), (20, 30), (30, 40)], True, "OK"),
    # Offsets move but the lag grows and never falls: falling behind.
    ([(10, 20), (15, 30), (20, 40)], True, "WARN"),
    # Lag grows with a flat stretch in between: still never decreased.
    ([(10, 20), (15, 25), (20, 30), (21, 40)], True, "WARN"),
    # Lag grew, then fell: recovering, OK.
    ([(10, 20), (15, 40), (40, 45)], True, "OK"),
    # Offsets frozen while lag > 0 and a member owns the partition: stalled consumer.
    ([(10, 20), (10, 30), (10, 40)], True, "STALL"),
    ([(10, 20), (10, 20)], True, "STALL"),
    # Same, but nobody owns the partition: the consumer stopped.
    ([(10, 20), (10, 30), (10, 40)], False, "STOP"),
    # Offsets went backwards: someone reset the group.
    ([(30, 40), (10, 40), (12, 40)], True, "REWIND"),
    # One sample cannot show a trend.
    ([(10, 40)], True, None),
    # Never committed: no status.
    ([(None, 40), (None, 50)], True, None),
    # The first commit arrives inside the window: judged on the samples that have one.
    ([(None, 40), (10, 50), (20, 50)], True, "OK"),
    ([(None, 40), (10, 50), (10, 60)], True, "STALL"),
])
def test_evaluate_partition(window, owned, status):
    assert lag_eval.evaluate_partition(window, owned) == status


@pytest.mark.parametrize(("statuses", "group"), [
    (["OK", "OK"], "OK"),
    (["OK", "WARN"], "WARN"),
    (["WARN", "STALL"], "ERR"),
    (["OK", "STOP"], "ERR"),
    (["REWIND"], "ERR"),
    ([None, "OK"], "OK"),
    ([None, None], None),
    ([], None),
])
def test_group_status(statuses, group):
    assert lag_eval.group_status(statuses) == group


def test_worst_status():
    assert lag_eval.worst_status(["OK", None, "WARN"]) == "WARN"
    assert lag_eval.worst_status(["ERR", "WARN"]) == "ERR"
    assert lag_eval.worst_status([None]) is None


def test_summarize_group():
    samples = [
        {("orders", 0): (10, 20), ("orders", 1): (5, 5), ("audit", 0): (None, 3)},
        {("orders", 0): (10, 30), ("orders", 1): (9, 9), ("audit", 0): (None, 4)},
    ]
    owners = {("orders", 0): "worker-1@10.0.0.1", ("orders", 1): "worker-2@10.0.0.2", ("audit", 0): "worker-1@10.0.0.1"}
    record = lag_eval.summarize_group("pipeline", "STABLE", 2, samples, owners)
    assert record["status"] == "ERR"  # orders-0 stalled
    assert record["total_lag"] == 20
    assert record["max_lag"] == {"topic": "orders", "partition": 0, "lag": 20}
    by_key = {(p["topic"], p["partition"]): p for p in record["partitions"]}
    assert by_key[("orders", 0)]["status"] == "STALL"
    assert by_key[("orders", 0)]["lag_window"] == [10, 20]
    assert by_key[("orders", 1)]["status"] == "OK"
    assert by_key[("audit", 0)] == {"topic": "audit", "partition": 0, "committed_offset": None, "log_end_offset": 4,
                                    "lag": None, "owner": "worker-1@10.0.0.1", "status": None, "lag_window": [None, None]}
    assert record["topics"] == [{"topic": "audit", "partitions": 1, "lag": 0, "consumers": 1},
                                {"topic": "orders", "partitions": 2, "lag": 20, "consumers": 2}]


def test_summarize_group_partition_seen_late():
    # A partition added between two samples has no earlier sample: it is judged on what exists.
    samples = [{("t", 0): (1, 1)}, {("t", 0): (2, 2), ("t", 1): (0, 5)}]
    record = lag_eval.summarize_group("g", "STABLE", 1, samples, {})
    assert [p["status"] for p in record["partitions"]] == ["OK", None]
    assert record["total_lag"] == 5
