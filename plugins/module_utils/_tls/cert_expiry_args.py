# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""cert_expiry_info's argument spec and the checks of its options."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._common.checks import InputError
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import K8S_COMMON_ARGS, K8S_RANGES
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.health import HealthInputError, check_namespace_name

SOURCES = ("secrets", "certificates")
RANGES = dict(K8S_RANGES, **{"timeout": (0.1, 300), "warning_days": (0, 3650), "critical_days": (0, 3650),
                             "endpoints.port": (1, 65535)})


def argument_spec():
    """cert_expiry_info's options after the connection options of the k8s doc fragment."""
    return merge_argspecs(
        K8S_COMMON_ARGS,
        endpoints={"type": "list", "elements": "dict", "default": [], "options": {
            "host": {"type": "str", "required": True},
            "port": {"type": "int", "default": 443},
            "server_name": {"type": "str"},
        }},
        ca_path={"type": "path"},
        timeout={"type": "float", "default": 10.0},
        namespaces={"type": "list", "elements": "str", "default": []},
        include={"type": "list", "elements": "str", "choices": list(SOURCES), "default": list(SOURCES)},
        warning_days={"type": "int", "default": 30},
        critical_days={"type": "int", "default": 7},
        on_error={"type": "str", "choices": ["fail", "report"], "default": "fail"},
    )


def module_args():
    return {"argument_spec": argument_spec(), "supports_check_mode": True, "ranges": RANGES}


def check_options(params):
    """Normalised options (endpoints, namespaces); raise InputError with one sentence."""
    if params["critical_days"] > params["warning_days"]:
        raise InputError(f"critical_days ({params['critical_days']}) must not be more than warning_days "
                         f"({params['warning_days']}).")
    endpoints = []
    for endpoint in params["endpoints"]:
        host = (endpoint["host"] or "").strip()
        if not host or any(c.isspace() or c in "/@" for c in host):
            raise InputError(f"endpoints: {host!r} is not a host name or address.")
        endpoints.append({"host": host, "port": endpoint["port"],
                          "server_name": (endpoint.get("server_name") or host).strip()})
    namespaces = []
    for name in params["namespaces"]:
        try:
            name = check_namespace_name(name.strip() if isinstance(name, str) else name)
        except HealthInputError as exc:
            raise InputError(str(exc)) from None
        if name not in namespaces:
            namespaces.append(name)
    if not endpoints and not namespaces:
        raise InputError("Name at least one TLS endpoint (endpoints) or namespace (namespaces) to check.")
    return {"endpoints": endpoints, "namespaces": namespaces, "include": [s for s in SOURCES if s in params["include"]]}
