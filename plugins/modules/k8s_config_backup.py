#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_config_backup
short_description: Export the configuration of Kubernetes namespaces to a checked archive, Secrets vault-encrypted
version_added: 0.1.0
description:
  - The runbooks' configuration backup (B1) with Secrets encrypted at rest (B2). For each namespace in O(namespaces),
    exports the objects of O(kinds), of the custom resources in O(custom_resources) and of the cluster-scoped
    O(cluster_kinds), plus the Namespace objects themselves, as one YAML file per object.
  - Objects are cleaned of what the API server owns so they apply again on an empty cluster - C(status),
    C(metadata.managedFields), C(uid), C(resourceVersion), C(creationTimestamp), C(generation), C(selfLink),
    C(ownerReferences), the C(kubectl.kubernetes.io/last-applied-configuration) and C(deployment.kubernetes.io/revision)
    annotations, a Service's C(clusterIP), C(clusterIPs) and allocated C(nodePort)s (a nodePort the last applied
    configuration set explicitly on a NodePort or LoadBalancer Service is kept), a PVC's C(volumeName) and its
    C(pv.kubernetes.io/*) annotations.
  - Objects a controller or the cluster makes are not exported, since they come back by themselves - anything with a
    controller owner reference (ReplicaSets, Jobs of a CronJob), the C(kube-root-ca.crt) ConfigMap, the C(default)
    ServiceAccount, Secrets of type C(kubernetes.io/service-account-token) and the cluster's bootstrap RBAC objects.
  - Writes C(<dest>/<name>.tar.gz) (a manifest with the counts per kind, the sha256 of every file and the cluster
    version) through a temporary file renamed when complete, then its sidecar C(<dest>/<name>.json) with the
    archive's sha256. M(sre.runbooks.k8s_config_restore) restores it.
  - Secrets are never written in clear, not even to a temporary file - each Secret's YAML is encrypted in memory with
    Ansible Vault 1.1 (AES256) under the vault password, and the archive holds only that vault text. An operator opens
    it with C(ansible-vault view). Without a vault password, a selection that includes Secrets is refused.
  - With O(s3), the archive is uploaded with a SHA256 checksum read back from S3, then the sidecar.
  - With O(retention), older backups of the same namespaces are pruned in O(dest) (and under the S3 prefix) after a
    successful run. Only pairs of C(<name>.tar.gz) and C(<name>.json) whose sidecar parses as a configuration backup
    are ever considered; other files and symlinks are left alone.
author:
  - sre.runbooks maintainers (@sre-runbooks)
requirements:
  - kubernetes
  - cryptography (Secrets)
  - PyYAML
  - boto3 (only with O(s3))
extends_documentation_fragment:
  - sre.runbooks.k8s
  - sre.runbooks.s3
  - sre.runbooks.attributes
  - sre.runbooks.attributes.actiongroup_k8s
attributes:
  check_mode:
    support: full
    details:
      - Lists and cleans the objects and reports the counts and what retention would prune; writes, uploads and deletes
        nothing.
  diff_mode:
    support: full
    details:
      - Shows the names of the backups of the same namespaces in O(dest) before and after the run.
  idempotent:
    support: none
    details:
      - Every run makes a new archive, by design, and reports a change (like M(sre.runbooks.pg_backup)); check mode
        reports no change. The role C(sre.runbooks.config_backup) skips the export while a recent one exists.
options:
  namespaces:
    description: The namespaces to export. Each must exist.
    type: list
    elements: str
    required: true
  kinds:
    description:
      - The namespaced kinds to export. Also accepted - V(Job), V(LimitRange), V(ResourceQuota).
      - Leave V(Secret) out to export without a vault password.
    type: list
    elements: str
    default: [Deployment, StatefulSet, DaemonSet, Service, Ingress, ConfigMap, Secret, HorizontalPodAutoscaler,
              PodDisruptionBudget, NetworkPolicy, ServiceAccount, Role, RoleBinding, CronJob, PersistentVolumeClaim]
  custom_resources:
    description: Custom resources to export, found through API discovery; namespaced ones from O(namespaces) only.
    type: list
    elements: dict
    default: []
    suboptions:
      api_version:
        description: The group and version, such as V(example.com/v1).
        type: str
        required: true
      kind:
        description: The kind, such as V(Widget).
        type: str
        required: true
  cluster_kinds:
    description:
      - Cluster-scoped kinds to export as well (all their objects, filtered by O(label_selector)), from
        V(ClusterRole), V(ClusterRoleBinding), V(CustomResourceDefinition), V(IngressClass), V(PriorityClass) and
        V(StorageClass). The Namespace objects of O(namespaces) are always exported.
    type: list
    elements: str
    default: []
  label_selector:
    description: Export only the objects with these labels (a Kubernetes label selector); not applied to Namespaces.
    type: str
  dest:
    description: Local directory of the archives and sidecars. Created with mode V(0700) when missing.
    type: path
    required: true
  name:
    description:
      - Name of the backup - the files are C(<name>.tar.gz) and C(<name>.json). An existing backup is never
        overwritten.
      - Defaults to C(config-<UTC time as yyyymmddThhmmssZ>).
    type: str
  vault_password_file:
    description:
      - File holding the vault password (its content without trailing whitespace, as C(ansible-vault
        --vault-password-file) reads it). Takes precedence over O(vault_password).
      - A vault password is required when O(kinds) includes V(Secret).
    type: path
  vault_password:
    description:
      - The vault password (E(SRE_RUNBOOKS_VAULT_PASSWORD)).
    type: str
  retention:
    description:
      - Prune older backups of the same O(namespaces) after a successful run, locally and under the S3 prefix.
      - With neither O(retention.keep_last) nor O(retention.max_age_days) nothing is pruned.
    type: dict
    suboptions:
      keep_last:
        description: Keep the N newest backups.
        type: int
      max_age_days:
        description: Remove backups older than this many days.
        type: float
      min_keep:
        description: Never remove the N newest backups, whatever the other rules say.
        type: int
        default: 1
notes:
  - Each kind is listed once per namespace, or once for all namespaces (filtered by the module) when more than four
    namespaces are asked, in pages of 500 objects; the Namespace objects too (one list of namespaces, or a get of
    each when the list is forbidden).
  - Encrypting a Secret costs about 4 ms of CPU (PBKDF2 with 10000 iterations and a fresh salt per Secret, as Ansible
    Vault does). The keys are derived on background threads from the start of the run, while the module imports,
    lists and writes; each key seals one Secret only.
seealso:
  - module: sre.runbooks.k8s_config_restore
  - module: sre.runbooks.pg_backup
"""

EXAMPLES = r"""
---
- name: B1 export the configuration of two namespaces, Secrets vault-encrypted (B2)
  sre.runbooks.k8s_config_backup:
    namespaces: [platform-v2-stable, platform-v2-canary]
    dest: /var/backups/k8s-config
    vault_password_file: /etc/sre/config-backup.vault
    custom_resources:
      - api_version: cert-manager.io/v1
        kind: Certificate

- name: B1 export to S3, keeping the 14 newest backups
  sre.runbooks.k8s_config_backup:
    namespaces: [platform-v2-stable]
    dest: /var/backups/k8s-config
    vault_password: "{{ vault_config_backup_password }}"
    cluster_kinds: [ClusterRole, ClusterRoleBinding]
    s3:
      bucket: sre-backups
      prefix: k8s-config/
    retention:
      keep_last: 14

- name: Count what an export would hold, writing nothing
  sre.runbooks.k8s_config_backup:
    namespaces: [platform-v2-stable]
    kinds: [Deployment, Service, ConfigMap]
    dest: /var/backups/k8s-config
  check_mode: true
  register: config_backup_plan
"""

RETURN = r"""
name:
  description: The backup's name.
  returned: always
  type: str
  sample: config-20261204T233000Z
archive:
  description: Path of the archive (not written in check mode).
  returned: always
  type: str
  sample: /var/backups/k8s-config/config-20261204T233000Z.tar.gz
sidecar:
  description: Path of the sidecar with the archive's sha256 (not written in check mode).
  returned: always
  type: str
  sample: /var/backups/k8s-config/config-20261204T233000Z.json
sha256:
  description: The archive's sha256; null in check mode.
  returned: always
  type: str
size:
  description: The archive's size in bytes.
  returned: success, not in check mode
  type: int
counts:
  description: Objects exported per kind (Namespace included).
  returned: always
  type: dict
  sample: {Namespace: 1, Deployment: 3, Secret: 2, ConfigMap: 4}
objects:
  description: Number of objects exported.
  returned: always
  type: int
secrets_encrypted:
  description: Number of Secrets in the archive, each as Ansible Vault text (in check mode, the number that would be).
  returned: always
  type: int
s3_keys:
  description: The S3 keys written, the archive's then the sidecar's; empty without O(s3).
  returned: always
  type: list
  elements: str
pruned:
  description: The backups retention removed (in check mode, would remove), each with C(name), C(reason), C(rank),
    C(age_days) and C(where) (V(local) or V(s3)).
  returned: always
  type: list
  elements: dict
excluded:
  description: Objects left out because a controller or the cluster makes them (at most 50, with the reason).
  returned: always
  type: list
  elements: str
  sample: ["ConfigMap shop/kube-root-ca.crt: published in every namespace by the cluster"]
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._config.export_args import module_args
from ansible_collections.sre.runbooks.plugins.module_utils._config.export_runner import run_module


def main():
    module = RunbookModule(**module_args())
    module.run(lambda: run_module(module), "k8s_config_backup")


if __name__ == "__main__":
    main()
