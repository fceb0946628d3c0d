# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""health_check's verdict on the service health endpoints (H2), from the ``probes`` of one slo_check result.

slo_check probes every configured endpoint at once and reports each in ``probes`` (status codes,
errors, latency percentiles), in the order configured; without ``probes`` (the task failed before
probing) its ``msg`` says why. The endpoints as configured carry the per-endpoint latency limits.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._health.entries import (
    CRITICAL, OK, UNAVAILABLE, WARNING, entry, ladder)


def _probe_summary(probe, sent, limit):
    summary = f"{sent - probe['errors']}/{sent} answered OK"
    median = probe.get("latency_p50")
    if median is not None:
        summary += f", median {round(median * 1000, 1)} ms"
    if (median or 0) > limit:
        summary += f" (above {int(round(limit * 1000, 0))} ms)"
    if probe["errors"]:
        codes = ("no answer" if str(code) == "error" else str(code) for code in probe.get("status_codes", {}))
        summary += ", got " + ", ".join(codes)
    return summary


def endpoint_row(endpoint, probe, msg, latency_warning):
    """One endpoint's row: critical when it was not probed or no request was answered, a warning on errors or a
    slow median. ``probe`` is its report in slo_check's ``probes`` (None when it was not probed, ``msg`` says why)."""
    # Requests sent: the answers per status code, plus `error` for the unanswered ones.
    sent = sum((probe or {}).get("status_codes", {}).values())
    limit = float(endpoint.get("latency_warning_seconds", latency_warning))
    if probe is None or probe["errors"] == sent:
        status = CRITICAL
    else:
        status = WARNING if probe["errors"] > 0 or (probe.get("latency_p50") or 0) > limit else OK
    summary = _probe_summary(probe, sent, limit) if probe is not None else (msg or "the probe failed")
    probe = probe or {}
    return {"name": endpoint["name"] if "name" in endpoint else endpoint["url"], "url": endpoint["url"],
            "requests": sent, "errors": probe.get("errors"), "status_codes": probe.get("status_codes", {}),
            "latency_seconds": probe.get("latency_p50"), "latency_max_seconds": probe.get("latency_p99"),
            "status": status, "summary": summary}


def endpoints_verdict(slo, endpoints, latency_warning):
    """H2: the worst endpoint row; unavailable when no endpoint is configured."""
    probes = slo.get("probes")
    reports = probes if isinstance(probes, list) and len(probes) == len(endpoints) else [None] * len(endpoints)
    rows = [endpoint_row(endpoint, report, slo.get("msg"), latency_warning)
            for endpoint, report in zip(endpoints, reports)]
    if not rows:
        return entry("H2", "endpoints", "Service health endpoints", UNAVAILABLE,
                     "no health endpoints configured (health_check_endpoints)", {"endpoints": rows})
    bad = [row for row in rows if row["status"] != OK]
    summary = f"{len(rows) - len(bad)} of {len(rows)} endpoints healthy"
    if bad:
        summary += " (" + "; ".join(f"{row['name']}: {row['summary']}" for row in bad) + ")"
    status = ladder(row["status"] for row in bad)
    return entry("H2", "endpoints", "Service health endpoints", status, summary, {"endpoints": rows})
