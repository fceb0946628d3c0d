# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can change at any time.

from __future__ import annotations


class ModuleDocFragment:
    """Connection options of every Kafka module: exactly KAFKA_COMMON_ARGS in module_utils/_kafka/connection.py."""

    DOCUMENTATION = r"""
options:
  bootstrap_servers:
    description:
      - Comma-separated C(host:port) list of brokers to bootstrap from, such as V(kafka-0.kafka:9092,kafka-1.kafka:9092).
      - If not set, the E(KAFKA_BOOTSTRAP_SERVERS) environment variable is used; one of the two is required.
    type: str
  security_protocol:
    description:
      - How to talk to the brokers, as Kafka's C(security.protocol).
    type: str
    choices: [PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL]
    default: PLAINTEXT
  sasl_mechanism:
    description:
      - SASL mechanism for O(security_protocol=SASL_PLAINTEXT) or V(SASL_SSL).
    type: str
    choices: [PLAIN, SCRAM-SHA-256, SCRAM-SHA-512]
  sasl_username:
    description:
      - SASL user name. If not set, the E(KAFKA_SASL_USERNAME) environment variable is used.
      - Required together with O(sasl_password).
    type: str
  sasl_password:
    description:
      - SASL password. If not set, the E(KAFKA_SASL_PASSWORD) environment variable is used.
    type: str
  ssl_ca_location:
    description:
      - PEM file of the certificate authority that signed the brokers' certificates (TLS protocols).
    type: path
  validate_certs:
    description:
      - Whether to verify the brokers' TLS certificates. Only set V(false) for a self-signed test cluster.
    type: bool
    default: true
  request_timeout:
    description:
      - Seconds to wait for each answer of the cluster (metadata, offsets, group descriptions).
    type: float
    default: 10.0
requirements:
  - confluent-kafka >= 2.6 (Python; its wheel bundles librdkafka)
notes:
  - The modules use Kafka's admin API (the protocol C(kafka-topics.sh) and C(kafka-consumer-groups.sh) use); they
    never join a consumer group and never commit offsets.
  - A cluster that cannot be reached, refuses the credentials or rejects a request ends the task with one sentence
    naming the bootstrap servers and the cause.
"""
