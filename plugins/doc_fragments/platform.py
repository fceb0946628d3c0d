# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can change at any time.

from __future__ import annotations


class ModuleDocFragment:
    """Connection options of the experiment platform's APIs: exactly PLATFORM_COMMON_ARGS in module_utils/_platform/client.py."""

    DOCUMENTATION = r"""
options:
  platform_v1_url:
    description:
      - Base URL of the platform's V1 experiments API (experiments, evaluation, promotion, quarantine requests).
      - If not set, the E(PLATFORM_V1_URL) environment variable is used, then V(http://localhost:8002) as in the runbook.
    type: str
    default: http://localhost:8002
  platform_v2_url:
    description:
      - Base URL of the platform's V2 production API (health status, SLO, deployments, model metrics).
      - If not set, the E(PLATFORM_V2_URL) environment variable is used, then V(http://localhost:8001).
    type: str
    default: http://localhost:8001
  platform_v3_url:
    description:
      - Base URL of the platform's V3 quarantine API (quarantine records and statistics).
      - If not set, the E(PLATFORM_V3_URL) environment variable is used, then V(http://localhost:8003).
    type: str
    default: http://localhost:8003
  platform_token:
    description:
      - API token, sent as a bearer token in the C(Authorization) header of every API call.
      - If not set, the E(PLATFORM_API_TOKEN) environment variable is used. Keep it in Ansible Vault.
    type: str
  platform_ca_path:
    description:
      - PEM file of the certificate authority that signed the platform's TLS certificates.
    type: path
  platform_validate_certs:
    description:
      - Whether to verify the platform's TLS certificates.
    type: bool
    default: true
  platform_timeout:
    description:
      - Seconds to wait for each API answer.
    type: float
    default: 30.0
notes:
  - The API contract (paths, JSON bodies, status codes) is described in C(docs/platform-api.md) and
    C(docs/platform-api.openapi.yaml) of the collection's source repository.
  - Every request carries an C(X-Request-Id) header; the ids are returned so the platform's audit log can be matched.
  - An API that cannot be reached, refuses the token or answers with an error ends the task with one sentence
    naming the API, the request and the cause.
"""
