# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Pure helpers over any Kubernetes object as the API returns it (a JSON dict). No I/O here."""

from __future__ import annotations


def condition(obj, kind):
    """The ``status.conditions`` entry of type ``kind`` (``Ready``, ``Progressing``, ``ScalingActive``...), or None."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return None
