# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Where pg_backup runs pg_dump: on the managed host, or in the database pod through the Kubernetes exec API."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._backup.errors import BackupError
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import connect as k8s_connect
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.exec_transport import KubeExecTransport


def check_transport(transport, fmt):
    """Raise BackupError when the kubernetes transport cannot do this dump; True when it is remote."""
    if not transport or transport.get("type", "local") == "local":
        return False
    if not transport.get("pod"):
        raise BackupError("transport.pod is required with transport.type=kubernetes.")
    if fmt not in ("plain", "custom"):
        raise BackupError(f"format={fmt} is not supported with transport.type=kubernetes (the archive would be "
                          "written inside the pod); use custom or plain.")
    return True


class _ModuleView:
    """What k8s.connect() needs of a module: the transport's settings as params, and fail_json."""

    def __init__(self, params, module):
        self.params = params
        self.fail_json = module.fail_json


def open_dump_transport(module, settings):
    """A KubeExecTransport into the pod named by the ``transport`` option ``settings``."""
    return KubeExecTransport(k8s_connect(_ModuleView(settings, module)), settings["namespace"], settings["pod"],
                             settings.get("container"))
