# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""health_check's verdict on SLO compliance (H3), from one slo_check result."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._health.entries import (
    CRITICAL, OK, UNAVAILABLE, WARNING, entry)

# slo_check's status -> the report's: a breached SLO is critical, one without data is not judged.
SLO_STATUS = {"ok": OK, "warning": WARNING, "breached": CRITICAL, "inconclusive": UNAVAILABLE}


def slo_verdict(slo, source):
    """H3: slo_check's own verdict in the report's words; unavailable when there is no source or no answer."""
    status = SLO_STATUS[slo["status"]] if "status" in slo else UNAVAILABLE
    if source == "none":
        summary = "no SLO source configured (health_check_slo_source)"
    elif "status" not in slo:
        summary = f"cannot evaluate the SLOs: {slo.get('msg', 'no answer')}"
    else:
        summary = " ".join(str(objective.get("message")) for objective in slo.get("objectives", []))
    return entry("H3", "slo", "SLO compliance", status, summary,
                 {"source": source, "objectives": slo.get("objectives", [])})
