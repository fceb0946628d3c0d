# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""health_check's verdict on PostgreSQL (H4): it answers, and how full its connection slots are.

``pg`` is the registered community.postgresql.postgresql_query result of the role's one catalog query
(total, active, idle_in_transaction, max_connections, reserved, in_recovery, version).
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._health.entries import CRITICAL, OK, WARNING, entry


def connection_usage(row):
    """(usable connections, percent of them in use): the superuser-reserved slots are not usable by clients."""
    usable = max(row.get("max_connections", 0) - row.get("reserved", 0), 1)
    return usable, round(100.0 * float(row.get("total", 0)) / max(float(usable), 1.0), 1)


def postgres_verdict(pg, host, port, database, warning_percent, critical_percent):
    """H4: critical when the query fails or connections pass ``critical_percent``, a warning past ``warning_percent``."""
    answered = "query_result" in pg
    row = pg.get("query_result", [{}])[0]
    usable, percent = connection_usage(row)
    if not answered:
        status = CRITICAL
        summary = f"cannot query {database} at {host}:{port}: {str(pg.get('msg', 'no answer')).strip()}"
    else:
        status = CRITICAL if percent > float(critical_percent) else (
            WARNING if percent > float(warning_percent) else OK)
        summary = (f"PostgreSQL {row.get('version')}{' (replica)' if row.get('in_recovery') else ''} answers; "
                   f"{row.get('total')} of {usable} usable connections ({percent} %, warning above "
                   f"{warning_percent} %), {row.get('idle_in_transaction')} idle in transaction")
    details = {"host": host, "port": int(port), "database": database, "connections": row,
               "usage_percent": percent if answered else None}
    return entry("H4", "postgres", "PostgreSQL connectivity and connections", status, summary, details)
