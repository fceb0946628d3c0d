# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""PersistentVolumeClaims as data (``kubectl get pvc``): phase, capacity, class, and whether that is a problem.

A claim that lost its volume is critical; one still unbound after the grace period a warning. The
capacity is what the health check compares a database's size with (H14). No I/O here.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._k8s.objects import parse_quantity

CRITICAL = "critical"
WARNING = "warning"


def pvc_row(pvc, age, thresholds):
    """The returned row of one claim; ``age`` is its age in seconds (None when unknown)."""
    metadata, spec, status = pvc.get("metadata") or {}, pvc.get("spec") or {}, pvc.get("status") or {}
    phase = status.get("phase") or "Pending"
    capacity = parse_quantity((status.get("capacity") or {}).get("storage"))
    requested = parse_quantity(((spec.get("resources") or {}).get("requests") or {}).get("storage"))
    row = {
        "name": metadata.get("name"), "phase": phase,
        "capacity_bytes": None if capacity is None else int(capacity),
        "requested_bytes": None if requested is None else int(requested),
        "storage_class": spec.get("storageClassName"), "volume": spec.get("volumeName") or None,
        "access_modes": list(status.get("accessModes") or spec.get("accessModes") or []),
        "age_seconds": age, "severity": None, "problem": None, "message": None,
    }
    if phase == "Lost":
        row.update(severity=CRITICAL, problem="Lost",
                   message=f"its volume {row['volume'] or '(unknown)'} no longer exists; the data is gone from the claim")
    elif phase == "Pending" and (age is None or age > thresholds["pending_seconds"]):
        row.update(severity=WARNING, problem="Pending",
                   message="not bound to a volume" + (f" after {int(age)}s" if age is not None else ""))
    return row
