# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can change at any time.

from __future__ import annotations


class ModuleDocFragment:
    """Connection options of every Prometheus reader: exactly PROMETHEUS_COMMON_ARGS in module_utils/_slo/prometheus.py."""

    DOCUMENTATION = r"""
options:
  prometheus_url:
    description:
      - Base URL of the Prometheus server (or of an API-compatible proxy such as Thanos Query), without C(/api/v1).
      - If not set, the E(PROMETHEUS_URL) environment variable is used, then V(http://localhost:9090).
    type: str
    default: http://localhost:9090
  prometheus_token:
    description:
      - Bearer token sent in the C(Authorization) header.
      - If not set, the E(PROMETHEUS_TOKEN) environment variable is used.
      - Mutually exclusive with O(prometheus_username).
    type: str
  prometheus_username:
    description:
      - User name for HTTP basic authentication.
      - If not set, the E(PROMETHEUS_USERNAME) environment variable is used.
    type: str
  prometheus_password:
    description:
      - Password for HTTP basic authentication; required with O(prometheus_username).
      - If not set, the E(PROMETHEUS_PASSWORD) environment variable is used.
    type: str
  prometheus_ca_path:
    description:
      - PEM file of the certificate authority that signed the server certificate.
    type: path
  prometheus_validate_certs:
    description:
      - Whether to verify the server's TLS certificate. Only set V(false) for a self-signed test server.
    type: bool
    default: true
  prometheus_timeout:
    description:
      - Seconds to wait for each query's answer.
    type: float
    default: 30.0
notes:
  - Queries are instant queries sent as form-encoded C(POST /api/v1/query) requests, so long PromQL is not cut by URL limits.
  - A server that cannot be reached, refuses the credentials or rejects a query ends the task with one sentence
    naming the server and the cause.
"""
