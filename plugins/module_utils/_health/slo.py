# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""health_check's verdict on SLO compliance (H3), from one slo_check result.

The role's slo_check call also judges the model thresholds (H16) and the volumes (H14): H3 takes
only the objectives it names. An objective whose source could not be read carries ``error``.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._health.entries import (
    CRITICAL, OK, UNAVAILABLE, WARNING, entry)

# slo_check's status -> the report's: a breached SLO is critical, one without data is not judged.
SLO_STATUS = {"ok": OK, "warning": WARNING, "breached": CRITICAL, "inconclusive": UNAVAILABLE}
# slo_check's order of its statuses, worst last.
SLO_RANK = ("ok", "inconclusive", "warning", "breached")


def named(slo, names):
    """The objectives of a slo_check result whose names are in ``names``, in the result's order."""
    return [objective for objective in slo.get("objectives") or [] if objective.get("name") in set(names)]


def worst_slo_status(objectives):
    """slo_check's overall status over some of its objectives (inconclusive for none)."""
    return max((o.get("status", "inconclusive") for o in objectives), key=SLO_RANK.index, default="inconclusive")


def slo_verdict(slo, source, names):
    """H3: slo_check's verdict on the objectives ``names``, in the report's words; unavailable when there is no
    source, or no answer."""
    objectives = named(slo, names)
    errors = [o["error"] for o in objectives if o.get("error")]
    status = SLO_STATUS[worst_slo_status(objectives)] if objectives else UNAVAILABLE
    if source == "none":
        summary = "no SLO source configured (health_check_slo_source)"
    elif not objectives or len(errors) == len(objectives):
        summary = f"cannot evaluate the SLOs: {errors[0] if errors else slo.get('msg', 'no answer')}"
    else:
        summary = " ".join(str(objective.get("message")) for objective in objectives)
    return entry("H3", "slo", "SLO compliance", status, summary, {"source": source, "objectives": objectives})
