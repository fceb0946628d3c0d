# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_secret_rotate's argument spec: the Secret and key, the value or how to generate it, the restart, PostgreSQL."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import pods as k8s_pods
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import K8S_COMMON_ARGS, K8S_RANGES
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.secret_rotation_plan import WORKLOAD_KINDS
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.connection import (
    POSTGRES_COMMON_ARGS,
    POSTGRES_RANGES,
)

RANGES = dict(K8S_RANGES, length=(8, 4096), wait_timeout=(1, 86400),
              **{f"postgres.{name}": bounds for name, bounds in POSTGRES_RANGES.items()})


def argument_spec():
    """k8s_secret_rotate's options after the connection options of the k8s doc fragment."""
    return merge_argspecs(
        K8S_COMMON_ARGS,
        namespace={"type": "str", "required": True},
        name={"type": "str", "required": True},
        # The key's name, not a secret (validate-modules guesses otherwise from the word "key").
        key={"type": "str", "required": True, "no_log": False},
        value={"type": "str", "no_log": True},
        length={"type": "int", "default": 32},
        alphabet={"type": "str"},
        restart={"type": "bool", "default": True},
        kinds={"type": "list", "elements": "str", "choices": list(WORKLOAD_KINDS), "default": list(WORKLOAD_KINDS)},
        wait={"type": "bool", "default": True},
        wait_timeout={"type": "int", "default": 300},
        fail_fast_reasons={"type": "list", "elements": "str", "default": list(k8s_pods.DEFAULT_FAIL_FAST_REASONS)},
        postgres={"type": "dict", "options": merge_argspecs(POSTGRES_COMMON_ARGS, role={"type": "str", "required": True})},
    )


def module_args():
    return {"argument_spec": argument_spec(), "supports_check_mode": True, "ranges": RANGES}
