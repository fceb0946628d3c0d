#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: health_check_info
short_description: Read every part of the daily health check at the same time, in one task
version_added: 1.0.0
description:
  - The reads of the daily health check (the C(sre.runbooks.health_check) role)
    in one task - Kubernetes (H1, H6-H8, H13, H14), the endpoints, SLOs and Prometheus thresholds (H2, H3, H14, H16),
    PostgreSQL (H4, H14), Redis (H5, H15), the backups (H9) and Kafka (H12).
  - Each part is the work of an existing read module, given that module's options and returning what it returns;
    the parts run at the same time, each in a process of its own. One task instead of five or six - the controller
    builds one module instead of one per read, and the modules' common start-up happens once.
  - A part left out is not read. A part that cannot be read (a server down, a refused login) carries C(failed) and
    C(msg) in its own key, the way its module's registered result would under C(failed_when=false), and the other
    parts are read as usual; RV(failed_parts) names them. The task itself fails only on bad options, in one
    sentence naming the part.
  - In each part, an option set to null is left unset, so its default or environment fallback applies.
  - Read-only; check mode reads the same.
  - When the host is the controller itself (local connection, the controller's own Python as interpreter, no
    become, not async), its action plugin runs the module in a fork of the controller's worker process, with the
    same arguments and environment and in a process of its own, which spares the module's build and start-up
    (over a second of the daily health check). Anywhere else the module runs as any module runs.
author:
  - sre.runbooks maintainers (@sre-runbooks)
extends_documentation_fragment:
  - sre.runbooks.attributes
  - sre.runbooks.attributes.info_module
attributes:
  action:
    support: full
    description: An action plugin runs the module in a fork of the controller's worker when the host is the controller.
  idempotent:
    support: full
options:
  kubernetes:
    description:
      - The options of M(sre.runbooks.k8s_health_info) (pods, workloads, HPAs, usage, claims, nodes, log errors).
    type: dict
  slo:
    description:
      - The options of M(sre.runbooks.slo_check) (endpoint probes, SLOs and Prometheus thresholds).
      - Its C(fail_on) defaults to V(never) here, a read reports verdicts without failing on them. With another value,
        a missed objective marks the part failed, as the module would fail.
    type: dict
  postgres:
    description:
      - The connection options of M(sre.runbooks.pg_vacuum) (C(host), C(port), C(user), C(password), C(database), C(sslmode),
        C(ssl_rootcert), C(connect_timeout), with the same C(PG*) environment fallbacks).
      - One catalog query gives the connections by state, C(max_connections), the superuser-reserved slots, whether
        the server is a replica, its version, the database's size and the size of every database the user may
        connect to. It runs with a 30 second statement timeout.
    type: dict
  redis:
    description:
      - The connection options of M(sre.runbooks.redis_maintain) (C(host), C(port), C(db), C(username),
        C(password), C(tls), C(tls_ca_cert), C(tls_cert), C(tls_key), C(validate_certs), C(unix_socket),
        C(socket_timeout)). The read is its O(sre.runbooks.redis_maintain#module:operation=memory) report (role,
        memory against C(maxmemory), hit rate, evictions); no other option is taken, so nothing is ever written.
    type: dict
  backups:
    description:
      - The options of M(sre.runbooks.pg_backup_info) (a local folder, an S3 bucket, or both).
    type: dict
  kafka:
    description:
      - The options of M(sre.runbooks.kafka_consumer_lag_info). The cluster's metadata (the read of
        M(sre.runbooks.kafka_cluster_info)) comes first; the groups' lag is sampled only when the cluster answered.
    type: dict
  timeout:
    description:
      - Seconds the whole read may take; a part still reading then is stopped and reported failed. Each part's own
        timeouts (connect, request, socket) apply within it.
    type: float
    default: 300
notes:
  - The parts run in child processes (C(fork)), so their libraries (kubernetes, boto3, redis-py, psycopg2,
    confluent-kafka) load on every core at once. Each part's warnings come back prefixed with its name.
seealso:
  - module: sre.runbooks.k8s_health_info
  - module: sre.runbooks.slo_check
  - module: sre.runbooks.redis_maintain
  - module: sre.runbooks.pg_backup_info
  - module: sre.runbooks.kafka_consumer_lag_info
"""

EXAMPLES = r"""
- name: H1-H9 H12-H16 | Read every part at once
  sre.runbooks.health_check_info:
    kubernetes:
      namespaces: [ai-platform, ai-pipeline]
      include: [pods, workloads, hpa, logs]
    slo:
      source: prometheus
      prometheus_url: http://prometheus.monitoring:9090
      probes:
        - name: platform-v2
          url: https://api.platform.example.com/api/v1/health/status
          count: 3
    postgres:
      host: postgresql.data-services
      user: sre_monitor
      password: "{{ vault_pg_monitor_password }}"
      database: platform
    redis:
      host: redis-master.data-services
    backups:
      dest: /var/backups/postgres/platform
  register: reads

- name: Name the parts that could not be read
  ansible.builtin.debug:
    msg: "{{ reads.failed_parts | map('extract', reads) | map(attribute='msg') | list }}"
  when: reads.failed_parts | length > 0
"""

RETURN = r"""
kubernetes:
  description: What M(sre.runbooks.k8s_health_info) returns, or C(failed) and C(msg).
  returned: when O(kubernetes) is given
  type: dict
slo:
  description: What M(sre.runbooks.slo_check) returns (RV(sre.runbooks.slo_check#module:probes) among it), or C(failed) and C(msg).
  returned: when O(slo) is given
  type: dict
postgres:
  description:
    - C(query_result), a list of one row with C(total), C(active), C(idle_in_transaction), C(max_connections),
      C(reserved), C(in_recovery), C(version), C(database_size) and C(databases_size) (bytes); or C(failed) and C(msg).
  returned: when O(postgres) is given
  type: dict
  sample: {"query_result": [{"total": 12, "active": 2, "idle_in_transaction": 0, "max_connections": 100, "reserved": 3,
           "in_recovery": false, "version": "16.4", "database_size": 52428800, "databases_size": 62914560}]}
redis:
  description: What M(sre.runbooks.redis_maintain) returns for O(sre.runbooks.redis_maintain#module:operation=memory), or C(failed) and C(msg).
  returned: when O(redis) is given
  type: dict
backups:
  description: What M(sre.runbooks.pg_backup_info) returns, or C(failed) and C(msg).
  returned: when O(backups) is given
  type: dict
kafka:
  description:
    - C(cluster), what M(sre.runbooks.kafka_cluster_info) returns, and C(lag), what
      M(sre.runbooks.kafka_consumer_lag_info) returns; each may be C(failed) with C(msg). C(lag) is C(skipped) when
      the cluster did not answer.
  returned: when O(kafka) is given
  type: dict
failed_parts:
  description: The parts that could not be read.
  returned: always
  type: list
  elements: str
  sample: [redis]
seconds:
  description: Seconds each part took (null for one stopped at O(timeout)).
  returned: always
  type: dict
  sample: {"kubernetes": 0.41, "postgres": 0.05}
started_at:
  description: UTC start of the read (ISO 8601).
  returned: always
  type: str
finished_at:
  description: UTC end of the read (ISO 8601).
  returned: always
  type: str
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._health.read_runner import RANGES, argument_spec, part_secrets, run_module


def main():
    module = RunbookModule(argument_spec=argument_spec(), supports_check_mode=True, ranges=RANGES,
                           extra_secrets=part_secrets)
    module.run(lambda: run_module(module), "health_check_info")


if __name__ == "__main__":
    main()
