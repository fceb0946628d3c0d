# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Consumer lag over a window of samples, evaluated the way Burrow evaluates consumers (pure).

A sample of a partition is ``(committed_offset, log_end_offset)`` taken at one moment; a window
is the list of a partition's samples, oldest first. Burrow's rules (its ``evaluator`` docs),
applied in its order:

1. A lag of zero anywhere in the window: the consumer caught up at least once, **OK**.
2. The committed offset went backwards: **REWIND** (someone reset the group's offsets).
3. The committed offset did not move over the window while the lag stayed above zero: the
   consumer is stuck. Burrow tells a consumer that still holds the partition (**STALL**) from one
   that stopped committing altogether (**STOP**, which Burrow infers from the age of the last
   commit); the admin API has no commit timestamps, so here STOP means no member of the group
   owns the partition any more (the consumer left) and STALL means a member owns it.
4. The lag never decreased across the window and grew from its first to its last sample: the
   consumer falls behind, **WARN**. (Burrow also warns on a constant lag; with offsets moving a
   constant lag is a consumer keeping pace with its producers, so it is OK here.)
5. Otherwise **OK**.

A group's status is Burrow's too: ERR when a partition is STOP, STALL or REWIND, WARN when one is
WARN, else OK. One sample cannot show a trend: its partitions get no status (``None``).
"""

from __future__ import annotations

PARTITION_STATUSES = ("OK", "WARN", "STALL", "STOP", "REWIND")
# Burrow maps the partition statuses onto the group's.
_GROUP_OF = {"OK": "OK", "WARN": "WARN", "STALL": "ERR", "STOP": "ERR", "REWIND": "ERR"}
_GROUP_ORDER = {"OK": 0, "WARN": 1, "ERR": 2}


def lag_of(committed, log_end):
    """The lag as kafka-consumer-groups computes it: log-end minus committed, never below zero;
    None without a committed offset (the tool shows '-')."""
    if committed is None or log_end is None or committed < 0 or log_end < 0:
        return None
    return max(log_end - committed, 0)


def evaluate_partition(window, owned):
    """Status of one partition from its ``window`` of (committed, log_end) samples, oldest first.

    ``owned``: whether a member of the group owns the partition at the last sample. Returns one of
    PARTITION_STATUSES, or None when the window cannot be judged (one sample, or no committed
    offset in the last sample: the group never consumed that partition).
    """
    if len(window) < 2:
        return None
    committed = [sample[0] for sample in window]
    lags = [lag_of(*sample) for sample in window]
    if committed[-1] is None or lags[-1] is None:
        return None
    known = [(offset, lag) for offset, lag in zip(committed, lags) if lag is not None]
    if any(lag == 0 for _offset, lag in known):
        return "OK"
    if len(known) < 2:
        return None
    offsets = [offset for offset, _lag in known]
    if any(later < earlier for earlier, later in zip(offsets, offsets[1:])):
        return "REWIND"
    if offsets[0] == offsets[-1]:
        return "STALL" if owned else "STOP"
    lag_values = [lag for _offset, lag in known]
    never_decreased = all(later >= earlier for earlier, later in zip(lag_values, lag_values[1:]))
    if never_decreased and lag_values[-1] > lag_values[0]:
        return "WARN"
    return "OK"


def group_status(partition_statuses):
    """Burrow's group status over its partitions' statuses (None entries ignored); None if none was judged."""
    judged = [_GROUP_OF[status] for status in partition_statuses if status is not None]
    if not judged:
        return None
    return max(judged, key=_GROUP_ORDER.__getitem__)


def worst_status(statuses):
    """The worst of several groups' statuses (None ignored), for the task's headline."""
    judged = [status for status in statuses if status is not None]
    return max(judged, key=_GROUP_ORDER.__getitem__) if judged else None


def summarize_group(group, state, members, samples, owners):
    """The module's record of one group.

    ``samples``: list (oldest first) of ``{(topic, partition): (committed, log_end)}``;
    ``owners``: ``{(topic, partition): member description}`` at the last sample;
    ``members``: the number of members. Partitions are those seen in any sample.
    """
    keys = sorted({key for sample in samples for key in sample})
    partitions = []
    for key in keys:
        window = [sample.get(key, (None, None)) for sample in samples]
        committed, log_end = window[-1]
        lag = lag_of(committed, log_end)
        partitions.append({
            "topic": key[0], "partition": key[1], "committed_offset": committed, "log_end_offset": log_end,
            "lag": lag, "owner": owners.get(key), "status": evaluate_partition(window, key in owners),
            "lag_window": [lag_of(*sample) for sample in window],
        })
    topics = {}
    for part in partitions:
        entry = topics.setdefault(part["topic"], {"topic": part["topic"], "partitions": 0, "lag": 0, "consumers": set()})
        entry["partitions"] += 1
        entry["lag"] += part["lag"] or 0
        if part["owner"]:
            entry["consumers"].add(part["owner"])
    topic_rows = [dict(entry, consumers=len(entry["consumers"])) for _name, entry in sorted(topics.items())]
    status = group_status([part["status"] for part in partitions])
    lagging = [part for part in partitions if part["lag"]]
    worst = max(lagging, key=lambda part: part["lag"]) if lagging else None
    return {
        "group": group, "state": state, "members": members, "status": status,
        "total_lag": sum(part["lag"] or 0 for part in partitions),
        "max_lag": {"topic": worst["topic"], "partition": worst["partition"], "lag": worst["lag"]} if worst else None,
        "partitions": partitions, "topics": topic_rows,
    }
