# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can change at any time.

from __future__ import annotations


class ModuleDocFragment:
    """Connection options of every Alertmanager client: exactly ALERTMANAGER_COMMON_ARGS in module_utils/_alertmanager/client.py."""

    DOCUMENTATION = r"""
options:
  alertmanager_url:
    description:
      - Base URL of the Alertmanager server, without C(/api/v2).
      - If not set, the E(ALERTMANAGER_URL) environment variable is used, then V(http://localhost:9093).
    type: str
    default: http://localhost:9093
  alertmanager_token:
    description:
      - Bearer token sent in the C(Authorization) header.
      - If not set, the E(ALERTMANAGER_TOKEN) environment variable is used.
      - Mutually exclusive with O(alertmanager_username).
    type: str
  alertmanager_username:
    description:
      - User name for HTTP basic authentication.
      - If not set, the E(ALERTMANAGER_USERNAME) environment variable is used.
    type: str
  alertmanager_password:
    description:
      - Password for HTTP basic authentication; required with O(alertmanager_username).
      - If not set, the E(ALERTMANAGER_PASSWORD) environment variable is used.
    type: str
  alertmanager_ca_path:
    description:
      - PEM file of the certificate authority that signed the server certificate.
    type: path
  alertmanager_validate_certs:
    description:
      - Whether to verify the server's TLS certificate. Only set V(false) for a self-signed test server.
    type: bool
    default: true
  alertmanager_timeout:
    description:
      - Seconds to wait for each answer of the API.
    type: float
    default: 30.0
notes:
  - Silences go through Alertmanager's v2 API (C(/api/v2/silences)).
  - A server that cannot be reached, refuses the credentials or rejects a request ends the task with one sentence
    naming the server and the cause.
"""
