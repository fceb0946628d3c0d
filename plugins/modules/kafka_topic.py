#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kafka_topic
short_description: Raise the partition count of a Kafka topic, idempotently, never lowering it
version_added: 0.1.0
description:
  - Makes an existing topic have O(partitions) partitions. A topic that has them already is not a change; a
    lower count is refused with an error, because Kafka cannot remove partitions.
  - Used to give a lagging consumer group room to scale out (ai-pipeline runbook, consumer lag).
  - In check mode the broker validates the increase without applying it.
author:
  - sre.runbooks maintainers (@sre-runbooks)
extends_documentation_fragment:
  - sre.runbooks.kafka
  - sre.runbooks.attributes
  - sre.runbooks.attributes.actiongroup_kafka
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  name:
    description: The topic.
    type: str
    required: true
  partitions:
    description: The partition count the topic must have (1 to 10000); never lower than the current one.
    type: int
    required: true
notes:
  - Records with a key are placed by the key's hash, so adding partitions moves keys to new partitions; consumers
    relying on per-key order see the change from then on.
  - The module does not create topics.
"""

EXAMPLES = r"""
- name: Kafka | Give inference-requests 12 partitions
  sre.runbooks.kafka_topic:
    bootstrap_servers: kafka-0.kafka.ai-pipeline:9092
    name: inference-requests
    partitions: 12
"""

RETURN = r"""
topic:
  description: The topic.
  returned: success
  type: str
partitions_before:
  description: Partition count before the task.
  returned: success
  type: int
  sample: 6
partitions:
  description: Partition count after the task (or that it would have, in check mode).
  returned: success
  type: int
  sample: 12
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._kafka.topic_runner import module_args, run_module


def main():
    module = RunbookModule(**module_args())
    module.run(lambda: run_module(module), "kafka_topic")


if __name__ == "__main__":
    main()
