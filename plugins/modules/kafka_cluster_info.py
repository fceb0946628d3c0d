#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kafka_cluster_info
short_description: Brokers, topics and under-replicated partitions of a Kafka cluster
version_added: 0.1.0
description:
  - The morning check of the ai-pipeline runbook (row H12) - the brokers the cluster reports, its topics with their
    partition count and replication factor, and every partition whose in-sync replica set is smaller than its
    replica set (under-replicated) or that has no leader (offline).
  - One metadata request, the one C(kafka-topics.sh --describe) makes.
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
  topics:
    description:
      - Only report these topics (internal ones included when named). A topic named here that does not exist ends
        the task with an error.
    type: list
    elements: str
    default: []
  include_internal:
    description:
      - Also report Kafka's internal topics (C(__consumer_offsets) and others starting with two underscores).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: H12 | Kafka topics and replication
  sre.runbooks.kafka_cluster_info:
    bootstrap_servers: kafka-0.kafka.ai-pipeline:9092
  register: kafka

- name: H12 | No under-replicated partitions
  ansible.builtin.assert:
    that: kafka.under_replicated_partitions | length == 0
"""

RETURN = r"""
cluster_id:
  description: The cluster's ID.
  returned: success
  type: str
controller_id:
  description: Broker ID of the active controller (-1 when unknown).
  returned: success
  type: int
brokers:
  description: The brokers (C(id), C(host), C(port)).
  returned: success
  type: list
  elements: dict
topics:
  description: Per topic - C(topic), C(partitions), C(replication_factor), C(under_replicated), C(offline).
  returned: success
  type: list
  elements: dict
  sample: [{topic: inference-requests, partitions: 6, replication_factor: 3, under_replicated: 0, offline: 0}]
under_replicated_partitions:
  description: Partitions whose ISR is smaller than the replica set (C(topic), C(partition), C(leader), C(replicas), C(isr)).
  returned: success
  type: list
  elements: dict
offline_partitions:
  description: Partitions without a leader, same keys.
  returned: success
  type: list
  elements: dict
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._kafka.cluster_runner import module_args, run_module


def main():
    module = RunbookModule(**module_args())
    module.run(lambda: run_module(module), "kafka_cluster_info")


if __name__ == "__main__":
    main()
