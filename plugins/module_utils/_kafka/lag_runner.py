# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The kafka_consumer_lag_info module's I/O: committed and log-end offsets, sampled; lag_eval judges."""

from __future__ import annotations

import time

from ansible_collections.sre.runbooks.plugins.module_utils._kafka import lag_eval
from ansible_collections.sre.runbooks.plugins.module_utils._kafka.connection import KafkaAdmin, KafkaModuleError, kafka_module_args

OPTIONS = {
    "groups": {"type": "list", "elements": "str", "default": []},
    "topics": {"type": "list", "elements": "str", "default": []},
    "samples": {"type": "int", "default": 1},
    "interval": {"type": "float", "default": 10.0},
}
# A window longer than half an hour is a monitoring system's job, not a task's.
RANGES = {"samples": (1, 60), "interval": (0.1, 600)}
MAX_WINDOW_SECONDS = 1800


def module_args():
    """Keyword arguments of RunbookModule for kafka_consumer_lag_info."""
    return kafka_module_args(OPTIONS, RANGES)


# Group states in which nobody consumes: the group exists only through its committed offsets.
_EMPTY_STATES = ("EMPTY", "DEAD")


def _state_name(description):
    state = getattr(description, "state", None)
    return str(getattr(state, "name", state) or "UNKNOWN").upper()


def _owners(description, topics):
    """{(topic, partition): 'client_id@host'} of the group's current assignments."""
    owners = {}
    for member in getattr(description, "members", None) or []:
        assignment = getattr(member, "assignment", None)
        who = f"{member.client_id}@{member.host}".replace("@/", "@")
        for part in getattr(assignment, "topic_partitions", None) or []:
            if not topics or part.topic in topics:
                owners[(part.topic, part.partition)] = who
    return owners


def _sample(admin, groups, topics):
    """One sample: {group: {(topic, partition): (committed, log_end)}} and the owners per group."""
    committed = {}
    for group in groups:
        offsets = admin.committed_offsets(group)
        committed[group] = {key: value for key, value in offsets.items() if not topics or key[0] in topics}
    descriptions = admin.describe_groups(groups)
    owners = {group: _owners(descriptions[group], topics) for group in groups}
    keys = {key for group in groups for key in list(committed[group]) + list(owners[group])}
    ends = admin.end_offsets(sorted(keys))
    sample = {group: {key: (committed[group].get(key), ends.get(key))
                      for key in set(committed[group]) | set(owners[group])} for group in groups}
    return sample, owners, descriptions


def _check_groups(params, groups, descriptions, first_sample):
    """A group named by the task must exist: members, or committed offsets."""
    for group in params["groups"]:
        members = getattr(descriptions[group], "members", None) or []
        if _state_name(descriptions[group]) == "DEAD" and not members and not first_sample[group]:
            raise KafkaModuleError(f"Consumer group {group!r} does not exist on the Kafka cluster at "
                                   f"{params['bootstrap_servers']} (no members and no committed offsets).")
    return groups


def run_module(module):
    params = module.params
    if params["samples"] > 1 and params["interval"] * (params["samples"] - 1) > MAX_WINDOW_SECONDS:
        module.fail_json(msg=f"samples x interval spans more than {MAX_WINDOW_SECONDS // 60} minutes; "
                             "use fewer samples or a shorter interval.")
    if any(not str(name).strip() for name in params["groups"]):
        module.fail_json(msg="groups must not contain an empty group name.")
    try:
        admin = KafkaAdmin(module)
        # One metadata request first: an unreachable cluster is then reported as such, not as a
        # timeout of the group coordinator lookup.
        metadata = admin.metadata()
        groups = sorted(set(params["groups"])) if params["groups"] else admin.group_ids()
        samples, owners, descriptions = [], {}, {}
        for index in range(params["samples"]):
            if index:
                time.sleep(params["interval"])  # the window's spacing, not a wait for a condition
            sample, owners, descriptions = _sample(admin, groups, params["topics"])
            if index == 0:
                _check_groups(params, groups, descriptions, sample)
            samples.append(sample)
    except KafkaModuleError as exc:
        module.fail_json(msg=str(exc))
    records = []
    for group in groups:
        description = descriptions[group]
        record = lag_eval.summarize_group(
            group, _state_name(description), len(getattr(description, "members", None) or []),
            [sample[group] for sample in samples], owners[group])
        # The topic's own partition count: how many consumers can share it (KafkaConsumerLag's scale target).
        for row in record["topics"]:
            topic = metadata.topics.get(row["topic"])
            row["topic_partitions"] = len(topic.partitions) if topic is not None and topic.error is None else None
        records.append(record)
    module.exit_json(
        changed=False, groups=records, samples=params["samples"],
        window_seconds=round(params["interval"] * (params["samples"] - 1), 3) if params["samples"] > 1 else 0,
        total_lag=sum(record["total_lag"] for record in records),
        status=lag_eval.worst_status(record["status"] for record in records),
        lagging_groups=[record["group"] for record in records if record["total_lag"] > 0],
    )
