# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can change at any time.

from __future__ import annotations


class ModuleDocFragment:
    """The file modes of the actions that write reports through report_files' writer."""

    DOCUMENTATION = r"""
options:
  mode:
    description: Permissions of the files written, in octal.
    type: str
    default: "0640"
  directory_mode:
    description: Permissions of O(dest) when it has to be created, in octal.
    type: str
    default: "0750"
"""
