# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_rollout's argument spec and the checks of option combinations that need the action."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import pods as k8s_pods
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import rollout_plan as ro
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import K8S_COMMON_ARGS, K8S_RANGES

ACTIONS = ["status", "set_image", "restart", "undo", "history", "scale", "pause", "resume", "hpa"]
# Options that only make sense for some actions: giving them to another is a mistake worth reporting.
ACTION_OPTIONS = {
    "images": ("set_image",),
    "to_revision": ("undo",),
    "replicas": ("scale",),
    "current_replicas": ("scale",),
    "hpa_name": ("hpa",),
    "min_replicas": ("hpa",),
    "max_replicas": ("hpa",),
    "change_cause": ("set_image", "restart", "undo"),
}


# Bounds on numbers (RunbookModule ranges); replica counts have their own checks in check_options.
RANGES = dict(K8S_RANGES, wait_timeout=(0, 86400))


def wait_options(auto_rollback):
    """The options of a change that rolls out: change cause, the wait, and the automatic rollback (default given)."""
    return {
        "change_cause": {"type": "str"},
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": 600},
        "fail_fast_reasons": {"type": "list", "elements": "str", "default": list(k8s_pods.DEFAULT_FAIL_FAST_REASONS)},
        "auto_rollback": {"type": "bool", "default": auto_rollback},
        "fail_on_rollback": {"type": "bool", "default": True},
    }


def argument_spec():
    """k8s_rollout's options after the connection options of the k8s doc fragment."""
    return merge_argspecs(
        K8S_COMMON_ARGS,
        action={"type": "str", "required": True, "choices": ACTIONS},
        kind={"type": "str", "default": "Deployment", "choices": list(ro.KINDS)},
        name={"type": "str"},
        label_selectors={"type": "list", "elements": "str"},
        namespace={"type": "str", "required": True},
        images={"type": "dict"},
        to_revision={"type": "int"},
        replicas={"type": "int"},
        current_replicas={"type": "int"},
        hpa_name={"type": "str"},
        min_replicas={"type": "int"},
        max_replicas={"type": "int"},
        **wait_options(auto_rollback=False),
    )


class OptionError(Exception):
    """Options that do not fit together; one sentence."""


def check_options(params):
    """Raise OptionError, in one sentence, for options AnsibleModule cannot judge alone."""
    action = params["action"]
    for option, actions in ACTION_OPTIONS.items():
        if params.get(option) is not None and action not in actions:
            raise OptionError(f"{option} is used only with action={' or action='.join(actions)}, not action={action}.")
    if action == "set_image" and not params.get("images"):
        raise OptionError("action=set_image needs images (container name: image).")
    if action == "scale" and params.get("replicas") is None:
        raise OptionError("action=scale needs replicas.")
    if action == "hpa" and params.get("min_replicas") is None and params.get("max_replicas") is None:
        raise OptionError("action=hpa needs min_replicas, max_replicas or both.")
    if action in ("pause", "resume") and params["kind"] != "Deployment":
        raise OptionError(f"Only Deployments can be paused and resumed, not a {params['kind']} "
                          "(kubectl rollout pause has the same limit).")
    if params.get("to_revision") is not None and params["to_revision"] < 0:
        raise OptionError(f"to_revision must be a revision number (or 0 for the previous one), not {params['to_revision']}.")
    if params["wait_timeout"] < 0:
        raise OptionError(f"wait_timeout must be 0 or more seconds, not {params['wait_timeout']}.")
    for name, image in (params.get("images") or {}).items():
        if image is None or not str(image).strip():
            raise OptionError(f"images: the image for container {name!r} is empty.")
