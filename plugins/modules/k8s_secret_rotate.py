#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_secret_rotate
short_description: Rotate a key of a Kubernetes Secret (and a PostgreSQL role's password) and restart its consumers
version_added: 0.1.0
description:
  - The runbooks' secret rotation (C1) as one task. Sets key O(key) of Secret O(namespace)/O(name) to O(value) or
    to a generated value, and writes the annotation C(sre.runbooks/rotated-at) (RFC 3339 UTC) with it. The write
    only succeeds if nobody changed the Secret since it was read.
  - Then restarts, as C(kubectl rollout restart) does, exactly the Deployments, StatefulSets and DaemonSets of the
    namespace whose pod template reads that key (C(env[].valueFrom.secretKeyRef), C(envFrom[].secretRef),
    C(secret) volumes and C(projected) volume sources, in containers and init containers; a reference that lists
    C(items) without the key does not count), and waits for each rollout with the fail-fast diagnostics of
    M(sre.runbooks.k8s_rollout).
  - With O(postgres), the role O(postgres.role) gets the new value as its password first (C(ALTER ROLE)), then
    the Secret is written, then the consumers restart, then a login as the role with the new value must succeed
    and one with the old value must fail. If the Secret cannot be written, the role gets its old password back,
    so the application never holds a dead password.
  - Check mode reads the Secret, the workloads and (with O(postgres)) the role, and reports the key and the
    consumers that would restart; it changes nothing. No value is ever returned, logged or shown in a diff.
author:
  - sre.runbooks maintainers (@sre-runbooks)
requirements:
  - kubernetes
  - psycopg2 (only with O(postgres))
extends_documentation_fragment:
  - sre.runbooks.k8s
  - sre.runbooks.attributes
  - sre.runbooks.attributes.actiongroup_k8s
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the Secret's keys, the rotation time and the consumers restarted, never a value.
  idempotent:
    support: partial
    details:
      - With O(value), a Secret (and role) that already hold it are left alone and nothing restarts.
      - Without O(value), every run generates a new value and rotates.
options:
  namespace:
    description: Namespace of the Secret and of the workloads that may consume it.
    type: str
    required: true
  name:
    description: Name of the Secret. It must exist.
    type: str
    required: true
  key:
    description: The key of the Secret to set; it is added if the Secret does not have it yet.
    type: str
    required: true
  value:
    description:
      - The new value. Leave it out to generate one (see O(length) and O(alphabet)).
    type: str
  length:
    description:
      - Without O(alphabet), the number of random bytes of the generated value, which is their base64 text as
        C(openssl rand -base64 <length>) prints it (the default gives 44 characters).
      - With O(alphabet), the number of characters.
    type: int
    default: 32
  alphabet:
    description:
      - Characters the generated value is drawn from (uniformly, with Python's C(secrets) module), for
        applications that accept only some characters. Mutually exclusive with O(value).
    type: str
  restart:
    description: Restart the consumers. With V(false), only the Secret (and the role) change.
    type: bool
    default: true
  kinds:
    description: Kinds of workload that are searched for consumers.
    type: list
    elements: str
    choices: [Deployment, StatefulSet, DaemonSet]
    default: [Deployment, StatefulSet, DaemonSet]
  wait:
    description: Wait for each restarted workload to finish rolling out; the task fails if one does not.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for each rollout.
    type: int
    default: 300
  fail_fast_reasons:
    description: Pod reasons of the new revision that end the wait at once as a failure (see M(sre.runbooks.k8s_rollout)).
    type: list
    elements: str
    default: [ProgressDeadlineExceeded, CrashLoopBackOff, ImagePullBackOff, ErrImagePull, CreateContainerConfigError,
              InvalidImageName]
  postgres:
    description:
      - Rotate the password of a PostgreSQL role together with the Secret. The connection options are those of
        the M(sre.runbooks.pg_vacuum) family (the PG* environment variables apply); the login check connects
        to the same server and database as O(postgres.role).
    type: dict
    suboptions:
      role:
        description: The role whose password is the Secret's key.
        type: str
        required: true
      host:
        description: Host name or IP address of the server (E(PGHOST)).
        type: str
        default: localhost
      port:
        description: TCP port of the server (E(PGPORT)).
        type: int
        default: 5432
      user:
        description: Role to connect as to run C(ALTER ROLE) (E(PGUSER)).
        type: str
        default: postgres
      password:
        description: Password of O(postgres.user) (E(PGPASSWORD)).
        type: str
      database:
        description: Database to connect to (E(PGDATABASE)).
        type: str
        default: postgres
      sslmode:
        description: libpq SSL mode (E(PGSSLMODE)).
        type: str
        default: prefer
        choices: [disable, allow, prefer, require, verify-ca, verify-full]
      ssl_rootcert:
        description: CA certificate file for O(postgres.sslmode=verify-ca) and V(verify-full) (E(PGSSLROOTCERT)).
        type: path
      connect_timeout:
        description: Seconds to wait for a connection (E(PGCONNECT_TIMEOUT)).
        type: int
        default: 10
notes:
  - C(ALTER ROLE ... PASSWORD) sends the new password to the server, which hashes it (scram-sha-256); a server
    that logs DDL statements (C(log_statement=ddl) or C(all)) writes it to its log.
  - Pods of a workload with C(updateStrategy) C(OnDelete) are not replaced by the restart.
seealso:
  - module: sre.runbooks.k8s_rollout
  - module: kubernetes.core.k8s
"""

EXAMPLES = r"""
---
- name: C1 rotate the API token as the runbook does (openssl rand -base64 32), restarting its consumers
  sre.runbooks.k8s_secret_rotate:
    namespace: platform-v2-stable
    name: platform-api
    key: api-token

- name: See which workloads would restart, without changing anything
  sre.runbooks.k8s_secret_rotate:
    namespace: platform-v2-stable
    name: platform-api
    key: api-token
  check_mode: true
  register: rotation_plan

- name: C1 rotate the database password of the application and its Secret together
  sre.runbooks.k8s_secret_rotate:
    namespace: platform-v2-stable
    name: platform-db
    key: password
    length: 24
    alphabet: "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    postgres:
      host: db.internal
      user: postgres
      password: "{{ vault_pg_admin_password }}"
      database: platform
      role: platform_app
"""

RETURN = r"""
secret:
  description: The Secret and key, C(rotated_at) (the annotation written, or the one already there) and C(key_created).
  returned: always
  type: dict
  sample: {namespace: platform-v2-stable, name: platform-db, key: password, rotated_at: "2026-12-04T21:30:00Z",
           key_created: false}
consumers:
  description: The workloads that read the key, each restarted (or, in check mode, that would be).
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: V(Deployment), V(StatefulSet) or V(DaemonSet).
      type: str
    name:
      description: Its name.
      type: str
    references:
      description: How it reads the key (C(env DB_PASSWORD of container app), C(volume creds), ...).
      type: list
      elements: str
    restarted:
      description: Whether it was restarted.
      type: bool
    wait:
      description: The rollout wait's C(outcome), C(reason), C(message) and C(elapsed) seconds, or null.
      type: dict
    failing_pods:
      description: Pods of the new revision that failed, with their reasons.
      type: list
      elements: dict
postgres:
  description: >-
    With O(postgres): C(role), C(password_set), C(login_verified) (the role logs in with the new value) and
    C(old_password_rejected) (it no longer logs in with the old one); null without O(postgres).
  returned: always
  type: dict
  sample: {role: platform_app, password_set: true, login_verified: true, old_password_rejected: true}
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.secret_rotate_args import module_args
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.secret_rotate_runner import run_module


def main():
    module = RunbookModule(**module_args())
    module.run(lambda: run_module(module), "k8s_secret_rotate")


if __name__ == "__main__":
    main()
