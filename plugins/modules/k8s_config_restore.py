#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_config_restore
short_description: Restore Kubernetes configuration from a checked, vault-encrypted backup archive
version_added: 0.1.0
description:
  - The runbooks' configuration restore (B3). Reads an archive written by M(sre.runbooks.k8s_config_backup), from a
    local file (O(src)) or from S3 (O(s3_key)), and puts its objects back into the cluster, into the same namespaces
    or mapped ones (O(namespace_map)).
  - Before anything is applied, the whole archive is checked against the sha256 of its sidecar C(<name>.json), every
    member against the manifest's sha256, and the format version against the one this collection reads; then the
    selected Secrets are decrypted (in memory only) with the vault key, every object is parsed and the cluster's
    API discovery must serve every kind. Any failure there refuses the restore with one sentence, nothing applied.
  - Objects are applied in dependency order, one step after the other; the objects of one step concurrently (see
    O(workers)). Order - Namespace, ServiceAccount, Secret and ConfigMap, PersistentVolumeClaim, Role and
    ClusterRole, RoleBinding and ClusterRoleBinding, Deployment/StatefulSet/DaemonSet/CronJob, Service, Ingress,
    HorizontalPodAutoscaler, PodDisruptionBudget, NetworkPolicy, then custom resources (whose
    CustomResourceDefinitions must already exist).
  - Missing objects are created (field manager C(sre.runbooks)). Existing objects are left alone and reported
    unchanged, unless O(update), which server-side applies them (field manager C(sre.runbooks), conflicts forced)
    when a server-side dry run shows they would change.
  - Check mode sends every write as a server-side dry run (C(dryRun=All)); objects of a namespace the restore
    would create are reported without a dry run, since the server refuses them until the namespace exists.
author:
  - sre.runbooks maintainers (@sre-runbooks)
requirements:
  - kubernetes
  - PyYAML
  - cryptography (when Secrets are restored)
  - boto3 (only with O(s3_key))
extends_documentation_fragment:
  - sre.runbooks.k8s
  - sre.runbooks.s3
  - sre.runbooks.attributes
  - sre.runbooks.attributes.actiongroup_k8s
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - A created object is shown whole; an updated one as the live object before and the server-side dry-run
        result after, both without the fields the server owns. Secret values are never shown, only their keys.
  idempotent:
    support: full
    details:
      - Objects that exist are left alone without O(update); with it, only objects that would change are applied.
options:
  src:
    description:
      - The local archive C(<name>.tar.gz). Exactly one of O(src) and O(s3_key) is required.
    type: path
  s3_key:
    description:
      - The key of the archive in the bucket of O(s3) (the full key, C(<prefix><name>.tar.gz)). It is downloaded to a
        temporary folder, removed at the end; Secrets in it are encrypted.
    type: str
  sidecar:
    description:
      - The sidecar C(<name>.json) with the archive's sha256. Default - beside the archive (O(src) or O(s3_key))
        with C(.json) instead of C(.tar.gz); with O(s3_key), a key in the same bucket. It must exist; without it the
        restore is refused.
    type: path
  vault_password_file:
    description:
      - A file holding the vault password the Secrets were encrypted with (as C(ansible-vault --vault-password-file)
        reads it). Needed only when the selection holds Secrets; it takes precedence over O(vault_password).
    type: path
  vault_password:
    description:
      - The vault password itself (E(SRE_RUNBOOKS_VAULT_PASSWORD)).
    type: str
  namespaces:
    description:
      - Restore only these namespaces of the archive (default - all of them). A namespace the archive does not hold
        is refused.
    type: list
    elements: str
  namespace_map:
    description:
      - Restore namespace C(old) into C(new) (a dict C(old -> new)) - objects land in the new namespace, the
        Namespace object is renamed, and the ServiceAccount subjects of RoleBindings that pointed into the old
        namespace point into the new one.
    type: dict
    default: {}
  kinds:
    description:
      - Restore only objects of these kinds. The Namespace objects of the restored namespaces are always restored.
    type: list
    elements: str
  names:
    description:
      - Restore only objects with these names.
    type: list
    elements: str
  label_selector:
    description:
      - Restore only objects whose labels match this selector (C(app=web,tier!=db), C(env in (a,b)), C(!legacy)).
    type: str
  update:
    description:
      - Server-side apply objects that already exist (when a dry run shows a change), reporting the change in the
        diff. With V(false) existing objects are left alone.
    type: bool
    default: false
  wait:
    description:
      - Wait until the Deployments and StatefulSets the restore created or updated are Available or Ready.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for each workload.
    type: int
    default: 300
  workers:
    description: How many objects of one restore step are sent to the API at once.
    type: int
    default: 8
notes:
  - Objects owned by the cluster (ReplicaSets, Pods, service-account tokens) are not in the archive; their
    controllers make them again.
seealso:
  - module: sre.runbooks.k8s_config_backup
"""

EXAMPLES = r"""
---
- name: B3 restore the shop namespace from last night's archive
  sre.runbooks.k8s_config_restore:
    src: /var/backups/k8s/config-20261204T020000Z.tar.gz
    vault_password_file: /etc/sre-runbooks/vault-pass
    namespaces: [shop]

- name: B3 restore shop into shop-restored, only the ConfigMaps and Secrets, showing what would be created
  sre.runbooks.k8s_config_restore:
    s3_key: k8s/config-20261204T020000Z.tar.gz
    s3:
      bucket: backups
    namespace_map:
      shop: shop-restored
    kinds: [ConfigMap, Secret]
  check_mode: true
  diff: true

- name: B3 put the archived Deployments back over the live ones
  sre.runbooks.k8s_config_restore:
    src: /var/backups/k8s/config-20261204T020000Z.tar.gz
    kinds: [Deployment]
    update: true
"""

RETURN = r"""
created:
  description: The objects created (in check mode, that would be), as C(Kind/namespace/name) (C(Kind/name) when
    cluster-scoped).
  returned: always
  type: list
  elements: str
  sample: [Namespace/shop, ConfigMap/shop/app-config, Deployment/shop/web]
updated:
  description: The existing objects that were (would be) changed by server-side apply (only with O(update)).
  returned: always
  type: list
  elements: str
unchanged:
  description: The objects that exist and were left alone.
  returned: always
  type: list
  elements: str
order:
  description: Every selected object in the order the restore went through them.
  returned: always
  type: list
  elements: str
archive_sha256:
  description: The sha256 of the archive, as checked against its sidecar.
  returned: always
  type: str
waited:
  description: The rollout waits, each C(object), C(outcome) (C(complete), C(timeout), C(failed)) and C(elapsed) seconds.
  returned: always
  type: list
  elements: dict
diff:
  description: With C(--diff), one entry per created or updated object (C(before), C(after), headers).
  returned: when diff mode is on and something changes
  type: list
  elements: dict
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._config.restore_args import module_args
from ansible_collections.sre.runbooks.plugins.module_utils._config.restore_runner import run_module


def main():
    module = RunbookModule(**module_args())
    module.run(lambda: run_module(module), "k8s_config_restore")


if __name__ == "__main__":
    main()
