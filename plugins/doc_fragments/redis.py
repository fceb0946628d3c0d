# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can change at any time.

from __future__ import annotations


class ModuleDocFragment:
    """Connection options of every Redis module: exactly REDIS_COMMON_ARGS in module_utils/_redis/connection.py."""

    DOCUMENTATION = r"""
options:
  host:
    description:
      - Host name or IP address of the Redis server.
      - Ignored when O(unix_socket) is set.
    type: str
    default: localhost
  port:
    description:
      - TCP port of the Redis server.
    type: int
    default: 6379
  db:
    description:
      - Number of the logical database to work on (C(SELECT)).
    type: int
    default: 0
  username:
    description:
      - ACL user to authenticate as (Redis 6 and later).
      - Without it, O(password) authenticates the C(default) user.
    type: str
  password:
    description:
      - Password for C(AUTH).
      - If not set, the E(REDISCLI_AUTH) environment variable is used, as C(redis-cli) does.
      - The password stays inside the module process; it never appears on a command line.
    type: str
  tls:
    description:
      - Connect with TLS.
    type: bool
    default: false
  tls_ca_cert:
    description:
      - CA certificate bundle used to verify the server's certificate when O(tls=true).
      - Without it the system's trust store is used.
    type: path
  tls_cert:
    description:
      - Client certificate for mutual TLS. Requires O(tls_key).
    type: path
  tls_key:
    description:
      - Private key of O(tls_cert).
    type: path
  validate_certs:
    description:
      - Verify the server's TLS certificate and host name.
      - Set to V(false) only for test servers with self-signed certificates.
    type: bool
    default: true
  unix_socket:
    description:
      - Path of the server's unix socket. When set, O(host), O(port) and the TLS options are not used.
    type: path
  socket_timeout:
    description:
      - Seconds to wait for the connection and for each reply.
    type: float
    default: 10
requirements:
  - redis (the C(redis) Python package, redis-py) on the host that runs the module
notes:
  - Connection failures (server unreachable, authentication refused, TLS mismatch, timeout) end the task
    with one sentence naming the server and the cause.
"""
