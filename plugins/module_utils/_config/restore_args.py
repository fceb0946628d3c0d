# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_config_restore's argument spec: the archive (local or S3) and its sidecar, the key, the filters, the policy."""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback
from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import K8S_COMMON_ARGS, K8S_RANGES
from ansible_collections.sre.runbooks.plugins.module_utils._s3.store import S3_COMMON_ARGS, S3_RANGES

VAULT_PASSWORD_ENV = "SRE_RUNBOOKS_VAULT_PASSWORD"
RANGES = dict(K8S_RANGES, **S3_RANGES, wait_timeout=(1, 86400), workers=(1, 32))


def argument_spec():
    """k8s_config_restore's options after the connection options of the k8s and s3 doc fragments."""
    return merge_argspecs(
        K8S_COMMON_ARGS,
        S3_COMMON_ARGS,
        src={"type": "path"},
        s3_key={"type": "str", "no_log": False},
        sidecar={"type": "path"},
        vault_password_file={"type": "path", "no_log": False},
        vault_password={"type": "str", "no_log": True, "fallback": (env_fallback, [VAULT_PASSWORD_ENV])},
        namespaces={"type": "list", "elements": "str"},
        namespace_map={"type": "dict", "default": {}},
        kinds={"type": "list", "elements": "str"},
        names={"type": "list", "elements": "str"},
        label_selector={"type": "str"},
        update={"type": "bool", "default": False},
        wait={"type": "bool", "default": True},
        wait_timeout={"type": "int", "default": 300},
        workers={"type": "int", "default": 8},
    )


def module_args():
    return {"argument_spec": argument_spec(), "supports_check_mode": True, "ranges": RANGES,
            "mutually_exclusive": [("src", "s3_key")],
            "required_one_of": [("src", "s3_key")], "required_by": {"s3_key": ("s3",)}}
