# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""health_check's verdict on disk and volume usage (H14): the AIC runbook's "disk usage > 85 %".

Two sources: the kubelet's volume statistics in Prometheus (one series per PersistentVolumeClaim, the
fill level in percent, from the role's slo_check threshold objective), and the database's size
(PostgreSQL's own ``pg_database_size``, from the H4 query) against the capacity of the claim it lives on
(from k8s_health_info's ``volumes``), which works where no kubelet statistics are scraped.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._health.entries import (
    CRITICAL, OK, UNAVAILABLE, WARNING, entry)
from ansible_collections.sre.runbooks.plugins.module_utils._health.kubernetes import unreadable
from ansible_collections.sre.runbooks.plugins.module_utils._health.thresholds import worst_known

NAMED_VOLUMES = 5
GIB = 2 ** 30


def level(percent, warning_percent, critical_percent):
    """critical above ``critical_percent``, warning above ``warning_percent``, else ok."""
    if percent > float(critical_percent):
        return CRITICAL
    return WARNING if percent > float(warning_percent) else OK


def volume_rows(objective, warning_percent, critical_percent):
    """One row per claim the kubelet statistics cover, fullest first."""
    rows = []
    for series in (objective or {}).get("series") or []:
        labels = series.get("labels") or {}
        percent = round(float(series["value"]), 1)
        rows.append({"namespace": labels.get("namespace"), "name": labels.get("persistentvolumeclaim"),
                     "used_percent": percent, "status": level(percent, warning_percent, critical_percent)})
    return rows


def _claim(k8s, namespace, name):
    """(the claim's row in k8s_health_info's volumes, or None; why it is missing)."""
    if unreadable(k8s):
        return None, unreadable(k8s)
    report = (k8s.get("namespaces") or {}).get(namespace)
    if report is None or "volumes" not in report:
        return None, f"namespace {namespace} was not read (add it to health_check_namespaces)"
    found = next((row for row in report["volumes"] if row.get("name") == name), None)
    return found, None if found else f"PersistentVolumeClaim {namespace}/{name} not found"


def database_row(pg, k8s, database, pvc, warning_percent, critical_percent):
    """The databases' size against their claim's capacity, or why it cannot be judged (status unavailable)."""
    sizes = (pg.get("query_result") or [{}])[0]
    row = {"database": database, "claim": f"{pvc['namespace']}/{pvc['name']}",
           "database_bytes": sizes.get("database_size"), "databases_bytes": sizes.get("databases_size"),
           "capacity_bytes": None, "used_percent": None, "status": UNAVAILABLE, "reason": None}
    claim, why = _claim(k8s, pvc["namespace"], pvc["name"])
    if "query_result" not in pg:
        row["reason"] = f"cannot read the database size: {str(pg.get('msg', 'no answer')).strip()}"
    elif claim is None or claim.get("capacity_bytes") is None:
        row["reason"] = why or f"PersistentVolumeClaim {row['claim']} has no capacity yet ({claim.get('phase')})"
    elif row["databases_bytes"] is None:
        row["reason"] = "the database query returned no size"
    else:
        row["capacity_bytes"] = claim["capacity_bytes"]
        row["used_percent"] = round(100.0 * row["databases_bytes"] / max(claim["capacity_bytes"], 1), 1)
        row["status"] = level(row["used_percent"], warning_percent, critical_percent)
    return row


def _volumes_summary(rows, objective, prometheus_url, warning_percent):
    if not prometheus_url:
        return "no Prometheus configured for the volume statistics"
    if objective is None:
        return "the volume statistics were not queried"
    if objective.get("error"):
        return f"cannot read the volume statistics: {objective['error']}"
    if not rows:
        return "no kubelet volume statistics in Prometheus"
    over = [row for row in rows if row["status"] != OK]
    summary = f"{len(rows)} volumes, {len(over)} above {warning_percent} %"
    if over:
        summary += ": " + ", ".join(f"{row['namespace']}/{row['name']} {row['used_percent']} %"
                                    for row in over[:NAMED_VOLUMES])
    else:
        summary += f" (fullest {rows[0]['namespace']}/{rows[0]['name']} {rows[0]['used_percent']} %)"
    return summary


def _database_summary(row):
    if row is None:
        return "no database volume configured (health_check_postgres_pvc)"
    if row["status"] == UNAVAILABLE:
        return f"database size unavailable: {row['reason']}"
    return (f"databases {round(row['databases_bytes'] / GIB, 2)} GiB on {row['claim']} of "
            f"{round(row['capacity_bytes'] / GIB, 2)} GiB ({row['used_percent']} %)")


def broken_claims(k8s):
    """The claims k8s_health_info found Lost (critical) or Pending for too long (warning)."""
    return [{"namespace": ns, "name": row["name"], "status": row["severity"], "problem": row["problem"],
             "message": row["message"]}
            for ns, report in (k8s.get("namespaces") or {}).items() for row in report.get("volumes") or []
            if row.get("severity")]


def volumes_verdict(slo, k8s, pg, objective, prometheus_url, database, pvc, warning_percent, critical_percent):
    """H14: the fullest volume, the database's claim or a broken claim; unavailable when nothing could be judged."""
    objective = next((o for o in slo.get("objectives") or [] if o.get("name") == objective), None)
    rows = volume_rows(objective, warning_percent, critical_percent)
    pvc = pvc if (pvc or {}).get("name") else None
    db = database_row(pg, k8s, database, pvc, warning_percent, critical_percent) if pvc else None
    claims = broken_claims(k8s)
    status = worst_known([row["status"] for row in rows + claims] + ([db["status"]] if db else []))
    summary = (f"{_volumes_summary(rows, objective, prometheus_url, warning_percent)}; "
               f"{_database_summary(db)}")
    if claims:
        summary += "; claims " + ", ".join(f"{c['namespace']}/{c['name']} {c['problem']}" for c in claims[:NAMED_VOLUMES])
    return entry("H14", "volumes", "Disk and volume usage", status, summary,
                 {"volumes": rows, "database": db, "claims": claims})
