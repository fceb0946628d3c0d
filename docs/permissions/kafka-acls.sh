#!/bin/sh
# Kafka ACLs of the principal sre.runbooks' Kafka modules use (docs/permissions.md, "Kafka").
# Usage: BOOTSTRAP=kafka-0.kafka:9092 ADMIN_CONFIG=admin.properties sh kafka-acls.sh
# Read-only checks (kafka_cluster_info, kafka_consumer_lag_info): Describe on cluster, groups and topics.
# Partition increases (kafka_topic): Alter on the topics it may grow (here: every topic; narrow
# --topic to a prefix with --resource-pattern-type prefixed where you can).
set -eu
: "${BOOTSTRAP:?set BOOTSTRAP to the brokers}" "${ADMIN_CONFIG:?set ADMIN_CONFIG to the properties file of an admin client}"
principal="User:${PRINCIPAL:-sre-runbooks}"
acls() { kafka-acls.sh --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" --add --allow-principal "$principal" "$@"; }
acls --operation Describe --cluster
acls --operation Describe --group '*'
acls --operation Describe --topic '*'
acls --operation Alter --topic '*'
