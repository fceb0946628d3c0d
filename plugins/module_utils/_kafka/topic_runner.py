# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The kafka_topic module's I/O: read the partition count, raise it when asked; topic_plan decides."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._kafka.connection import KafkaAdmin, KafkaModuleError, kafka_module_args
from ansible_collections.sre.runbooks.plugins.module_utils._kafka.topic_plan import TopicPlanError, check_topic_name, plan_partitions

OPTIONS = {
    "name": {"type": "str", "required": True},
    "partitions": {"type": "int", "required": True},
}
# Kafka has no fixed ceiling, but a typo of 100000 partitions would overload the controller.
RANGES = {"partitions": (1, 10000)}


def module_args():
    """Keyword arguments of RunbookModule for kafka_topic."""
    return kafka_module_args(OPTIONS, RANGES)


def _partition_count(admin, params, name):
    topic = admin.metadata(topic=name).topics.get(name)
    if topic is None or topic.error is not None:
        raise KafkaModuleError(f"Topic {name!r} does not exist on the Kafka cluster at {params['bootstrap_servers']}; "
                               "kafka_topic only raises the partition count of an existing topic.")
    return len(topic.partitions)


def run_module(module):
    params = module.params
    try:
        name = check_topic_name(params["name"])
        admin = KafkaAdmin(module)
        current = _partition_count(admin, params, name)
        action = plan_partitions(name, current, params["partitions"])
        if action == "increase":
            # In check mode the broker still validates the request (validate_only), changing nothing.
            admin.create_partitions(name, params["partitions"], validate_only=module.check_mode)
    except (KafkaModuleError, TopicPlanError) as exc:
        module.fail_json(msg=str(exc))
    after = params["partitions"]
    result = {"changed": action == "increase", "topic": name, "partitions_before": current, "partitions": after}
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = {"before": {"topic": name, "partitions": current}, "after": {"topic": name, "partitions": after}}
    module.exit_json(**result)
