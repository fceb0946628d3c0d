# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can change at any time.

from __future__ import annotations


class ModuleDocFragment:
    """Attribute descriptions shared by every module; modules state only the support level."""

    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation
        indicates no change.
"""

    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
  idempotent:
    support: full
"""

    CONTROLLER_ACTION = r"""
options: {}
attributes:
  action:
    support: full
    description: The work is done by an action plugin, in the controller's process.
  async:
    support: none
    description: Runs in the controller's process; it cannot run asynchronously.
  bypass_host_loop:
    support: none
    description: Runs once per host, like a module.
  platform:
    support: full
    platforms: posix
    description: The files are written on the controller, whatever the host.
"""

    ACTIONGROUP_POSTGRES = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/sre.runbooks.postgres) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - sre.runbooks.postgres
"""

    ACTIONGROUP_REDIS = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/sre.runbooks.redis) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - sre.runbooks.redis
"""

    ACTIONGROUP_K8S = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/sre.runbooks.k8s) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - sre.runbooks.k8s
"""

    ACTIONGROUP_ALERTMANAGER = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/sre.runbooks.alertmanager) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - sre.runbooks.alertmanager
"""

    ACTIONGROUP_KAFKA = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/sre.runbooks.kafka) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - sre.runbooks.kafka
"""

    ACTIONGROUP_PLATFORM = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/sre.runbooks.platform) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - sre.runbooks.platform
"""

    ACTIONGROUP_PROMETHEUS_PLATFORM = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/sre.runbooks.prometheus) or C(group/sre.runbooks.platform) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - sre.runbooks.prometheus
      - sre.runbooks.platform
"""

    ACTIONGROUP_K8S_PROMETHEUS = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/sre.runbooks.k8s) or C(group/sre.runbooks.prometheus) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - sre.runbooks.k8s
      - sre.runbooks.prometheus
"""
