# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can change at any time.

from __future__ import annotations


class ModuleDocFragment:
    """Connection options of every Kubernetes module: exactly K8S_COMMON_ARGS in module_utils/_k8s/client.py."""

    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, or the kubeconfig itself as a dictionary.
      - If not set, the E(K8S_AUTH_KUBECONFIG) environment variable is used; without either, the in-cluster
        service account when the module runs in a pod, else the E(KUBECONFIG) variable or C(~/.kube/config).
      - Same meaning as in the C(kubernetes.core) modules.
    type: raw
  context:
    description:
      - The kubeconfig context to use instead of its current context.
      - If not set, the E(K8S_AUTH_CONTEXT) environment variable is used.
    type: str
  host:
    description:
      - URL of the Kubernetes API server, for example V(https://k8s.example.com:6443).
      - With O(api_key) the kubeconfig is not read at all; alone, it overrides the server of the kubeconfig.
      - If not set, the E(K8S_AUTH_HOST) environment variable is used.
    type: str
  api_key:
    description:
      - Bearer token to authenticate with, for example a service account token.
      - If not set, the E(K8S_AUTH_API_KEY) environment variable is used.
    type: str
  ca_cert:
    description:
      - CA certificate file that signed the API server's certificate.
      - If not set, the E(K8S_AUTH_SSL_CA_CERT) environment variable is used.
    type: path
    aliases: [ssl_ca_cert]
  validate_certs:
    description:
      - Whether to check the API server's TLS certificate. The kubeconfig decides when not set.
      - If not set, the E(K8S_AUTH_VERIFY_SSL) environment variable is used.
    type: bool
    aliases: [verify_ssl]
  request_timeout:
    description:
      - Seconds to wait for the answer to one API request (watches wait as long as the operation's own timeout).
      - A server that accepts the connection and never answers ends the task after this time, naming the request.
    type: float
    default: 30
requirements:
  - kubernetes (the Python client) on the host that runs the module
  - the C(kubernetes.core) collection, whose authentication helpers build the connection
notes:
  - The connection is set up by C(kubernetes.core)'s own helpers, so the other E(K8S_AUTH_*) variables it
    knows (client certificate and key, proxy, impersonation) apply here as well.
  - An API server that cannot be reached, refused credentials or missing permissions end the task with one
    sentence naming the server or the object and the cause.
"""
