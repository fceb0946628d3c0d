# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_config_backup's argument spec: what to export, where, the vault key, S3 and retention."""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback
from ansible_collections.sre.runbooks.plugins.module_utils._backup.args import RETENTION_SPEC
from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._config.clean import DEFAULT_KINDS
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import K8S_COMMON_ARGS, K8S_RANGES
from ansible_collections.sre.runbooks.plugins.module_utils._s3.store import S3_COMMON_ARGS, S3_RANGES

VAULT_PASSWORD_ENV = "SRE_RUNBOOKS_VAULT_PASSWORD"
RANGES = dict(K8S_RANGES, **S3_RANGES, **{"retention.max_age_days": (None, None)})


def argument_spec():
    """k8s_config_backup's options after the connection options of the k8s and s3 doc fragments."""
    return merge_argspecs(
        K8S_COMMON_ARGS, S3_COMMON_ARGS,
        namespaces={"type": "list", "elements": "str", "required": True},
        kinds={"type": "list", "elements": "str", "default": list(DEFAULT_KINDS)},
        custom_resources={"type": "list", "elements": "dict", "default": [], "options": {
            "api_version": {"type": "str", "required": True},
            "kind": {"type": "str", "required": True},
        }},
        cluster_kinds={"type": "list", "elements": "str", "default": []},
        label_selector={"type": "str"},
        dest={"type": "path", "required": True},
        name={"type": "str"},
        vault_password_file={"type": "path", "no_log": False},
        vault_password={"type": "str", "no_log": True, "fallback": (env_fallback, [VAULT_PASSWORD_ENV])},
        retention={"type": "dict", "options": RETENTION_SPEC},
    )


def module_args():
    return {"argument_spec": argument_spec(), "supports_check_mode": True, "ranges": RANGES}
