#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kafka_consumer_lag_info
short_description: Consumer lag per group, topic and partition, with a Burrow-style status over a window of samples
version_added: 0.1.0
description:
  - Reports, for each consumer group, the committed offset, the log-end offset and the lag of every partition the
    group has committed or owns, the totals per topic and group, and the member that owns each partition; the
    figures are those C(kafka-consumer-groups.sh --describe) shows.
  - With O(samples) above 1 it takes that many samples O(interval) seconds apart and evaluates each partition the way
    Burrow does - V(OK); V(WARN) when the lag grew and never fell over the window; V(STALL) when the committed
    offset did not move while the lag stayed above zero and a consumer still owns the partition; V(STOP) when the
    same happens and no consumer owns it any more; V(REWIND) when the committed offset went backwards. A group is
    V(ERR) when a partition is STALL, STOP or REWIND, V(WARN) when one is WARN, else V(OK).
  - Used by the ai-pipeline runbook's Kafka consumer-lag checks and the C(KafkaConsumerLag) alert response.
author:
  - sre.runbooks maintainers (@sre-runbooks)
extends_documentation_fragment:
  - sre.runbooks.kafka
  - sre.runbooks.attributes
  - sre.runbooks.attributes.actiongroup_kafka
  - sre.runbooks.attributes.info_module
attributes:
  idempotent:
    support: full
options:
  groups:
    description:
      - Consumer groups to report. Empty means every group the cluster knows.
      - A group named here that has neither members nor committed offsets ends the task with an error.
    type: list
    elements: str
    default: []
  topics:
    description:
      - Only report these topics. Empty means every topic the groups consume.
    type: list
    elements: str
    default: []
  samples:
    description:
      - Number of samples in the window, 1 to 60. With 1 the figures are reported and no status is given.
    type: int
    default: 1
  interval:
    description:
      - Seconds between two samples (0.1 to 600); the window (O(samples) - 1) x O(interval) is at most 30 minutes.
    type: float
    default: 10.0
notes:
  - The lag is the log-end offset (high watermark) minus the committed offset, as C(kafka-consumer-groups.sh)
    computes it. A partition the group owns but never committed has a null committed offset and lag, and no status.
  - Burrow infers STOP from the age of the last commit; the admin API gives no commit time, so here STOP means that
    the offsets did not move and no member of the group owns the partition.
seealso:
  - name: Burrow consumer lag evaluation
    description: The rules the status follows.
    link: https://github.com/linkedin/Burrow/wiki/Consumer-Lag-Evaluation-Rules
"""

EXAMPLES = r"""
- name: Kafka | Consumer lag of the pipeline's groups over one minute
  sre.runbooks.kafka_consumer_lag_info:
    bootstrap_servers: kafka-0.kafka.ai-pipeline:9092
    groups: [inference-workers, feature-writers]
    samples: 7
    interval: 10
  register: lag

- name: Kafka | Fail when a group falls behind
  ansible.builtin.assert:
    that: lag.status in ['OK', None]
    fail_msg: "{{ lag.groups | selectattr('status', 'ne', 'OK') | map(attribute='group') | list }} lagging"
"""

RETURN = r"""
status:
  description: The worst group status (V(OK), V(WARN) or V(ERR)); null with one sample.
  returned: success
  type: str
  sample: WARN
total_lag:
  description: Sum of the lag of every reported partition.
  returned: success
  type: int
  sample: 1200
lagging_groups:
  description: Groups whose total lag is above zero.
  returned: success
  type: list
  elements: str
samples:
  description: Number of samples taken.
  returned: success
  type: int
window_seconds:
  description: Seconds between the first and the last sample.
  returned: success
  type: float
groups:
  description: One entry per consumer group.
  returned: success
  type: list
  elements: dict
  contains:
    group:
      description: Group ID.
      type: str
    state:
      description: Group state from the coordinator (V(STABLE), V(EMPTY), V(PREPARING_REBALANCE), ...).
      type: str
    members:
      description: Number of consumers in the group.
      type: int
    status:
      description: Burrow's group status V(OK), V(WARN), V(ERR); null with one sample.
      type: str
    total_lag:
      description: Lag of the group over its partitions.
      type: int
    max_lag:
      description: The partition with the highest lag (C(topic), C(partition), C(lag)); null without lag.
      type: dict
    topics:
      description:
        - Per topic - C(topic), C(partitions) (those the group committed or owns), C(topic_partitions) (the topic's
          partition count), C(lag) and C(consumers) (members owning its partitions).
      type: list
      elements: dict
    partitions:
      description: Per partition.
      type: list
      elements: dict
      contains:
        topic:
          description: Topic.
          type: str
        partition:
          description: Partition number.
          type: int
        committed_offset:
          description: The group's committed offset; null when it never committed.
          type: int
        log_end_offset:
          description: The partition's log-end offset (high watermark).
          type: int
        lag:
          description: Log-end offset minus committed offset; null without a committed offset.
          type: int
        owner:
          description: C(client_id@host) of the member owning the partition; null when none does.
          type: str
        status:
          description: V(OK), V(WARN), V(STALL), V(STOP) or V(REWIND); null with one sample or without a commit.
          type: str
        lag_window:
          description: The lag at each sample, oldest first.
          type: list
          elements: int
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._kafka.lag_runner import module_args, run_module


def main():
    module = RunbookModule(**module_args())
    module.run(lambda: run_module(module), "kafka_consumer_lag_info")


if __name__ == "__main__":
    main()
