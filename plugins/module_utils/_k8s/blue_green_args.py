# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_blue_green's argument spec and the checks of option combinations AnsibleModule cannot judge alone."""

from __future__ import annotations

import re

from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._common.checks import InputError, http_url, plain_text
from ansible_collections.sre.runbooks.plugins.module_utils._common.intervals import IntervalError, parse_interval
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import pods as k8s_pods
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import K8S_COMMON_ARGS, K8S_RANGES

ACTIONS = ("status", "deploy", "promote", "abort", "cleanup")
# Options that only make sense for some actions: giving them to another is a mistake worth reporting.
ACTION_OPTIONS = {
    "images": ("deploy", "promote"),
    "replicas": ("deploy", "promote"),
    "smoke_tests": ("promote",),
}
SMOKE_TEST_OPTIONS = {
    "name": {"type": "str", "required": True},
    "path": {"type": "str"},
    "url": {"type": "str"},
    "port": {"type": "str"},
    "method": {"type": "str", "default": "GET", "choices": ["GET", "HEAD"]},
    "status": {"type": "list", "elements": "int", "default": [200]},
    "body_contains": {"type": "str"},
    "headers": {"type": "dict", "no_log": True},
    "timeout": {"type": "float", "default": 10.0},
}
# Bounds on numbers (RunbookModule ranges).
RANGES = dict(K8S_RANGES, wait_timeout=(0, 86400), replicas=(0, 10000), **{"smoke_tests.timeout": (0.001, 600)})
# A DNS label (RFC 1123), as Kubernetes names Services and slots' Deployments, and label values.
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


def argument_spec():
    """k8s_blue_green's options after the connection options of the k8s doc fragment."""
    return merge_argspecs(
        K8S_COMMON_ARGS,
        action={"type": "str", "required": True, "choices": list(ACTIONS)},
        name={"type": "str", "required": True},
        namespace={"type": "str", "required": True},
        slots={"type": "list", "elements": "str", "default": ["blue", "green"]},
        slot_label={"type": "str", "default": "version"},
        service={"type": "str"},
        preview_service={"type": "str"},
        ingress={"type": "str"},
        images={"type": "dict"},
        replicas={"type": "int"},
        smoke_tests={"type": "list", "elements": "dict", "options": SMOKE_TEST_OPTIONS},
        wait_timeout={"type": "int", "default": 600},
        fail_fast_reasons={"type": "list", "elements": "str", "default": list(k8s_pods.DEFAULT_FAIL_FAST_REASONS)},
        scale_down_delay={"type": "str", "default": "24h"},
        cleanup_mode={"type": "str", "default": "delete", "choices": ["delete", "scale_down"]},
    )


def _dns_label(value, option, longest=63):
    if not _DNS_LABEL.match(value or "") or len(value) > longest:
        raise InputError(f"{option} must be a lower-case DNS label of at most {longest} characters "
                         f"(letters, digits and '-'), not {value!r}.")


def check_options(params):
    """Raise InputError, in one sentence, for options that do not fit together; return the scale-down delay (s)."""
    action = params["action"]
    for option, actions in ACTION_OPTIONS.items():
        if params.get(option) is not None and action not in actions:
            raise InputError(f"{option} is used only with action={' or action='.join(actions)}, not action={action}.")
    if action == "deploy" and not params.get("images"):
        raise InputError("action=deploy needs images (container name: image).")
    slots = params["slots"]
    if len(slots) != 2 or slots[0] == slots[1]:
        raise InputError(f"slots must be two different names, such as [blue, green], not {slots!r}.")
    for slot in slots:
        _dns_label(slot, "each slot", longest=20)
    # Deployments are <name>-<slot>: the name must leave room for the slot within a DNS label.
    _dns_label(params["name"], "name", longest=62 - max(len(slot) for slot in slots))
    for option in ("service", "preview_service", "ingress"):
        if params.get(option) is not None:
            _dns_label(params[option], option)
    if not _LABEL_KEY.match(params["slot_label"] or "") or len(params["slot_label"]) > 253:
        raise InputError(f"slot_label must be a label key such as version or app.kubernetes.io/version, "
                         f"not {params['slot_label']!r}.")
    if params.get("ingress") and params.get("preview_service"):
        raise InputError("preview_service is used only when the Service's selector switches traffic; with ingress, "
                         "the idle slot's own Service <service>-<slot> is the preview.")
    for name, image in (params.get("images") or {}).items():
        if image is None or not str(image).strip():
            raise InputError(f"images: the image for container {name!r} is empty.")
    if params["wait_timeout"] < 0:
        raise InputError(f"wait_timeout must be 0 or more seconds, not {params['wait_timeout']}.")
    for test in params.get("smoke_tests") or []:
        _check_smoke_test(test)
    try:
        return parse_interval(params["scale_down_delay"], "scale_down_delay")
    except IntervalError as exc:
        raise InputError(str(exc)) from None


def _check_smoke_test(test):
    name = test["name"]
    if (test.get("path") is None) == (test.get("url") is None):
        raise InputError(f"smoke test {name!r} needs exactly one of path (sent to every pod behind the preview "
                         "Service) and url.")
    if test.get("url") is not None:
        http_url(test["url"], f"the url of smoke test {name!r}")
        if test.get("port") is not None:
            raise InputError(f"smoke test {name!r}: port is used only with path, not with url.")
    elif not str(test["path"]).startswith("/"):
        raise InputError(f"smoke test {name!r}: path must start with '/', not {test['path']!r}.")
    for header, value in (test.get("headers") or {}).items():
        plain_text(header, f"smoke test {name!r}: a header name")
        plain_text(value, f"smoke test {name!r}: the header {str(header)[:40]}")
    if not test["status"]:
        raise InputError(f"smoke test {name!r}: status must list at least one HTTP status.")
    for status in test["status"]:
        if not 100 <= status <= 599:
            raise InputError(f"smoke test {name!r}: {status} is not an HTTP status.")
