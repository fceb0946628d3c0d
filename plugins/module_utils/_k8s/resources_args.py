# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_resources' argument spec and the checks of option combinations AnsibleModule cannot make."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import rollout_plan as ro
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import K8S_COMMON_ARGS, K8S_RANGES
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_args import OptionError, wait_options

RANGES = dict(K8S_RANGES, wait_timeout=(0, 86400))  # as k8s_rollout's


def argument_spec():
    """k8s_resources' options after the connection options of the k8s doc fragment."""
    return merge_argspecs(
        K8S_COMMON_ARGS,
        namespace={"type": "str"},
        kind={"type": "str", "default": "Deployment", "choices": list(ro.KINDS)},
        name={"type": "str"},
        label_selectors={"type": "list", "elements": "str"},
        resources={"type": "dict"},
        recommendations={"type": "list", "elements": "raw"},
        **wait_options(auto_rollback=True),
    )


MUTUALLY_EXCLUSIVE = [("resources", "recommendations"), ("name", "label_selectors"), ("recommendations", "name"),
                      ("recommendations", "label_selectors")]
REQUIRED_ONE_OF = [("resources", "recommendations")]


def check_options(params):
    """Raise OptionError, in one sentence, for options AnsibleModule cannot judge alone."""
    if params.get("resources") is not None:
        if not params.get("namespace"):
            raise OptionError("resources needs namespace, and name or label_selectors, to say which workload to change.")
        if not params.get("name") and not params.get("label_selectors"):
            raise OptionError("resources needs name or label_selectors to say which workload to change.")
        if not params["resources"]:
            raise OptionError("resources must name at least one container (or * for every container).")
    if params["wait_timeout"] < 0:
        raise OptionError(f"wait_timeout must be 0 or more seconds, not {params['wait_timeout']}.")
