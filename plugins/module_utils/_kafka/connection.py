# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Kafka connection plumbing shared by every sre.runbooks Kafka module (confluent-kafka's AdminClient).

``KAFKA_COMMON_ARGS`` is documented, option for option, by the ``sre.runbooks.kafka`` doc fragment.
:class:`KafkaAdmin` wraps the few admin calls the modules make; every call is bounded by
``request_timeout`` and every failure becomes one sentence naming the cluster:
``Cannot reach the Kafka cluster at <bootstrap servers>: <cause>.``
"""

from __future__ import annotations

import logging
import re
import traceback

from ansible.module_utils.basic import env_fallback, missing_required_lib
from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._common.errors import matching_cause

KAFKA_COMMON_ARGS = {
    "bootstrap_servers": {"type": "str", "fallback": (env_fallback, ["KAFKA_BOOTSTRAP_SERVERS"])},
    "security_protocol": {"type": "str", "default": "PLAINTEXT",
                          "choices": ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]},
    "sasl_mechanism": {"type": "str", "choices": ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]},
    "sasl_username": {"type": "str", "fallback": (env_fallback, ["KAFKA_SASL_USERNAME"])},
    "sasl_password": {"type": "str", "no_log": True, "fallback": (env_fallback, ["KAFKA_SASL_PASSWORD"])},
    "ssl_ca_location": {"type": "path"},
    "validate_certs": {"type": "bool", "default": True},
    "request_timeout": {"type": "float", "default": 10.0},
}

# librdkafka takes milliseconds as int: a NaN or a year-long timeout is never meant.
KAFKA_RANGES = {"request_timeout": (0.1, 600)}
KAFKA_REQUIRED_TOGETHER = [("sasl_username", "sasl_password")]

# A host:port list, as Kafka clients take it; no scheme, no path.
_SERVER = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")

# What librdkafka says -> the cause in our sentence. Checked in order.
_CAUSES = (
    (re.compile(r"SASL authentication error|Authentication failed|SaslAuthenticate", re.I),
     "authentication failed (wrong SASL user name, password or mechanism)"),
    (re.compile(r"certificate verify failed|CERTIFICATE_VERIFY_FAILED", re.I), "the brokers' TLS certificate did not verify"),
    (re.compile(r"SSL|TLS handshake", re.I), "the TLS handshake failed (is TLS enabled on both sides?)"),
    (re.compile(r"Connection refused", re.I), "connection refused"),
    (re.compile(r"Failed to resolve|Name or service not known|Resolve", re.I), "the host name does not resolve"),
    (re.compile(r"Broker transport failure|all brokers down|Transport", re.I), "no broker answered (connection refused or closed)"),
    (re.compile(r"Timed out|timeout", re.I), "no answer within {timeout}s (request_timeout)"),
)


def kafka_module_args(options, ranges=None):
    """Keyword arguments of RunbookModule for a Kafka module with its own ``options`` and ``ranges``."""
    return {"argument_spec": merge_argspecs(KAFKA_COMMON_ARGS, **options), "supports_check_mode": True,
            "ranges": dict(KAFKA_RANGES, **(ranges or {})), "required_together": KAFKA_REQUIRED_TOGETHER}


class KafkaModuleError(Exception):
    """An expected Kafka failure; ``str()`` is one sentence fit for fail_json."""


def check_bootstrap_servers(value):
    """The bootstrap servers as a list of 'host:port'; KafkaModuleError in one sentence otherwise."""
    servers = [item.strip() for item in str(value or "").split(",") if item.strip()]
    if not servers:
        raise KafkaModuleError("No Kafka bootstrap servers given: set bootstrap_servers or KAFKA_BOOTSTRAP_SERVERS "
                               "(such as kafka-0.kafka:9092,kafka-1.kafka:9092).")
    for server in servers:
        match = _SERVER.match(server)
        if not match or not 0 < int(match.group(2)) < 65536:
            raise KafkaModuleError(f"Invalid Kafka bootstrap server {server[:80]!r}: use host:port, such as kafka-0.kafka:9092.")
    return servers


def client_config(params):
    """librdkafka settings for ``params`` (KAFKA_COMMON_ARGS); checks the servers first."""
    servers = check_bootstrap_servers(params.get("bootstrap_servers"))
    config = {
        "bootstrap.servers": ",".join(servers),
        "security.protocol": params.get("security_protocol") or "PLAINTEXT",
        "socket.timeout.ms": int(params["request_timeout"] * 1000),
        # One attempt per broker address: an unreachable cluster should fail within the timeout,
        # not after librdkafka's reconnect back-off has tried for minutes.
        "reconnect.backoff.max.ms": 1000,
    }
    if params.get("sasl_mechanism"):
        config["sasl.mechanism"] = params["sasl_mechanism"]
    if params.get("sasl_username"):
        config["sasl.username"] = params["sasl_username"]
        config["sasl.password"] = params.get("sasl_password") or ""
    if params.get("ssl_ca_location"):
        config["ssl.ca.location"] = params["ssl_ca_location"]
    if not params.get("validate_certs", True):
        config["enable.ssl.certificate.verification"] = False
    return config


def _error_text(exc):
    """librdkafka's own words: KafkaException carries a KafkaError whose str() is the reason."""
    first = exc.args[0] if getattr(exc, "args", None) else None
    text_of = getattr(first, "str", None)
    return (text_of() if callable(text_of) else str(exc)) or type(exc).__name__


def describe_error(params, exc, action="answer"):
    """One sentence for a failed admin call: which cluster, what we asked, why."""
    text = _error_text(exc)
    where = params.get("bootstrap_servers")
    cause = matching_cause(text, _CAUSES, timeout=_number(params.get("request_timeout")))
    if cause is not None:
        return f"Cannot reach the Kafka cluster at {where}: {cause}."
    return f"The Kafka cluster at {where} did not {action}: {' '.join(text.split())[:300].rstrip('.')}."


def _number(value):
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _quiet_logger():
    # librdkafka logs every failed connection attempt; modules report one sentence instead, and
    # a module's stderr must not fill up with retries.
    logger = logging.getLogger("sre.runbooks.kafka")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    return logger


def import_library(module):
    """confluent_kafka's admin names, or fail the module with the missing library's message."""
    try:
        import confluent_kafka  # pylint: disable=import-outside-toplevel
        from confluent_kafka import admin  # pylint: disable=import-outside-toplevel
    except ImportError:
        module.fail_json(msg=missing_required_lib("confluent-kafka"), exception=traceback.format_exc())
    return confluent_kafka, admin


class KafkaAdmin:
    """The admin calls the modules make, on one AdminClient; each bounded by request_timeout."""

    def __init__(self, module):
        self.params = module.params
        self.lib, self.admin_lib = import_library(module)
        self.config = client_config(self.params)
        self.timeout = float(self.params["request_timeout"])
        try:
            self.admin = self.admin_lib.AdminClient(dict(self.config, logger=_quiet_logger()))
        except (self.lib.KafkaException, ValueError, TypeError) as exc:
            # librdkafka checks its settings (a missing CA file, an unknown mechanism) when the client is built.
            text = " ".join(_error_text(exc).split())[:300].rstrip(".")
            raise KafkaModuleError(f"The Kafka client settings for {self.params['bootstrap_servers']} were refused: {text}.") from None

    def _wait(self, futures, action):
        """{key: result} of a dict of futures; the first failure as KafkaModuleError."""
        results = {}
        for key, future in futures.items():
            try:
                results[key] = future.result(timeout=self.timeout + 5)
            except self.lib.KafkaException as exc:
                raise KafkaModuleError(describe_error(self.params, exc, action)) from None
            except Exception as exc:  # pylint: disable=broad-exception-caught
                # concurrent.futures.TimeoutError and librdkafka's own ValueErrors
                raise KafkaModuleError(describe_error(self.params, exc, action)) from None
        return results

    def metadata(self, topic=None):
        """Cluster metadata (brokers, topics with partitions, leaders, replicas and ISRs)."""
        try:
            return self.admin.list_topics(topic=topic, timeout=self.timeout)
        except self.lib.KafkaException as exc:
            raise KafkaModuleError(describe_error(self.params, exc, "return its metadata")) from None

    def group_ids(self):
        future = self.admin.list_consumer_groups(request_timeout=self.timeout)
        result = self._wait({"groups": future}, "list its consumer groups")["groups"]
        return sorted(item.group_id for item in result.valid)

    def describe_groups(self, groups):
        """{group: ConsumerGroupDescription} (state, members with their assignments)."""
        futures = self.admin.describe_consumer_groups(list(groups), request_timeout=self.timeout)
        return self._wait(futures, "describe the consumer groups")

    def committed_offsets(self, group):
        """{(topic, partition): committed offset} of one group (partitions without a commit left out)."""
        request = [self.lib.ConsumerGroupTopicPartitions(group)]
        futures = self.admin.list_consumer_group_offsets(request, request_timeout=self.timeout)
        result = self._wait(futures, f"return the offsets of consumer group {group!r}")
        offsets = {}
        for item in result.values():
            for part in item.topic_partitions:
                if part.offset >= 0:
                    offsets[(part.topic, part.partition)] = part.offset
        return offsets

    def end_offsets(self, partitions):
        """{(topic, partition): log-end offset} (the high watermark, as kafka-consumer-groups shows it)."""
        if not partitions:
            return {}
        request = {self.lib.TopicPartition(topic, partition): self.admin_lib.OffsetSpec.latest()
                   for topic, partition in partitions}
        futures = self.admin.list_offsets(request, request_timeout=self.timeout)
        results = self._wait(futures, "return the log-end offsets")
        return {(part.topic, part.partition): info.offset for part, info in results.items()}

    def create_partitions(self, topic, count, validate_only):
        futures = self.admin.create_partitions([self.admin_lib.NewPartitions(topic, count)],
                                               validate_only=validate_only, request_timeout=self.timeout)
        self._wait(futures, f"raise the partitions of topic {topic!r} to {count}")
