# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The kafka_cluster_info module's I/O: one metadata request; topic_plan builds the rows."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._kafka.connection import KafkaAdmin, KafkaModuleError, kafka_module_args
from ansible_collections.sre.runbooks.plugins.module_utils._kafka.topic_plan import topic_rows

OPTIONS = {
    "topics": {"type": "list", "elements": "str", "default": []},
    "include_internal": {"type": "bool", "default": False},
}


def module_args():
    """Keyword arguments of RunbookModule for kafka_cluster_info."""
    return kafka_module_args(OPTIONS)


def metadata_topics(metadata):
    """{topic: [{"id", "leader", "replicas", "isr"}]} from librdkafka's ClusterMetadata."""
    return {name: [{"id": part.id, "leader": part.leader, "replicas": list(part.replicas), "isr": list(part.isrs)}
                   for part in topic.partitions.values()]
            for name, topic in metadata.topics.items() if topic.error is None}


def run_module(module):
    params = module.params
    try:
        metadata = KafkaAdmin(module).metadata()
    except KafkaModuleError as exc:
        module.fail_json(msg=str(exc))
    topics = metadata_topics(metadata)
    missing = sorted(set(params["topics"]) - set(topics))
    if missing:
        module.fail_json(msg=f"Topic {missing[0]!r} does not exist on the Kafka cluster at {params['bootstrap_servers']}.")
    rows, under, offline = topic_rows(topics, params["include_internal"] or bool(params["topics"]), set(params["topics"]))
    brokers = sorted(({"id": broker.id, "host": broker.host, "port": broker.port} for broker in metadata.brokers.values()),
                     key=lambda broker: broker["id"])
    module.exit_json(changed=False, cluster_id=metadata.cluster_id, controller_id=metadata.controller_id,
                     brokers=brokers, topics=rows, under_replicated_partitions=under, offline_partitions=offline)
