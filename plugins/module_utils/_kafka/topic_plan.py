# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Pure decisions of kafka_topic (partition count) and of the morning check's topic rows."""

from __future__ import annotations

import re

# Kafka's own rule for topic names (kafka.common.internals.Topic): at most 249 of these characters.
_TOPIC = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")


class TopicPlanError(ValueError):
    """A request kafka_topic refuses; the message is one sentence."""


def check_topic_name(name):
    if not name or not _TOPIC.match(name) or name in (".", ".."):
        raise TopicPlanError(f"Invalid Kafka topic name {str(name)[:80]!r}: use up to 249 letters, digits, '.', '_' or '-'.")
    return name


def plan_partitions(topic, current, wanted):
    """'keep' or 'increase' for a topic with ``current`` partitions when ``wanted`` are asked for.

    Kafka can only add partitions (records are placed by key hash, so removing one would lose
    its records and move keys): a lower count is refused, never applied.
    """
    if wanted < 1:
        raise TopicPlanError(f"A topic needs at least one partition; {wanted} was asked for topic {topic!r}.")
    if wanted < current:
        raise TopicPlanError(f"Topic {topic!r} has {current} partitions and Kafka cannot decrease a partition count, "
                             f"so {wanted} is refused.")
    return "keep" if wanted == current else "increase"


def topic_rows(topics, include_internal=False, names=None):
    """The morning check's view of cluster metadata.

    ``topics``: ``{name: [{"id", "leader", "replicas": [...], "isr": [...]}]}``. Returns the topic
    rows (partitions, replication factor, under-replicated and offline counts) and the list of
    under-replicated partitions (ISR smaller than the replica set) and offline ones (no leader).
    """
    rows, under, offline = [], [], []
    for name in sorted(topics):
        if names and name not in names:
            continue
        if name.startswith("__") and not include_internal:
            continue
        parts = sorted(topics[name], key=lambda part: part["id"])
        row_under = row_offline = 0
        for part in parts:
            record = {"topic": name, "partition": part["id"], "leader": part["leader"],
                      "replicas": list(part["replicas"]), "isr": list(part["isr"])}
            if part["leader"] is None or part["leader"] < 0:
                offline.append(record)
                row_offline += 1
            if len(part["isr"]) < len(part["replicas"]):
                under.append(record)
                row_under += 1
        rows.append({"topic": name, "partitions": len(parts),
                     "replication_factor": max((len(part["replicas"]) for part in parts), default=0),
                     "under_replicated": row_under, "offline": row_offline})
    return rows, under, offline
