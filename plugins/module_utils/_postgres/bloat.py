# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Table bloat estimated from planner statistics, without the pgstattuple extension.

The estimate compares the pages a table occupies with the pages its live rows would need at
their average width (pg_stats), the way the widely used check_postgres / ioguide queries do.
It is an estimate: good for ranking tables, not for exact byte counts.
"""

from __future__ import annotations

import math

PAGE_HEADER_BYTES = 24
TUPLE_HEADER_BYTES = 23
LINE_POINTER_BYTES = 4
MAXALIGN = 8


def _align(size):
    return int(math.ceil(size / MAXALIGN) * MAXALIGN)


def fillfactor_from_reloptions(reloptions, default=100):
    """The table's fillfactor from pg_class.reloptions (['fillfactor=70', ...]), else ``default``."""
    for option in reloptions or []:
        key, _sep, value = str(option).partition("=")
        if key.strip() == "fillfactor" and value.strip().isdigit():
            return int(value)
    return default


def tuple_bytes(data_width, column_count, has_nulls):
    """Bytes one average row takes on a heap page, line pointer included."""
    header = TUPLE_HEADER_BYTES + (int(math.ceil(column_count / 8.0)) if has_nulls else 0)
    return _align(header) + _align(data_width) + LINE_POINTER_BYTES


def estimate_table_bloat(relpages, reltuples, data_width, column_count, has_nulls=False,
                         block_size=8192, fillfactor=100):
    """Estimate bloat; return a dict with expected_pages, bloat_pages, bloat_bytes, bloat_ratio.

    Returns None when the table has no statistics yet (never analyzed: reltuples is -1 on
    PostgreSQL 14 and later, or no pg_stats rows so ``data_width`` is None).
    """
    if data_width is None or reltuples is None or reltuples < 0 or relpages is None:
        return None
    usable = (block_size - PAGE_HEADER_BYTES) * fillfactor / 100.0
    rows_per_page = max(1, int(usable // tuple_bytes(data_width, column_count, has_nulls)))
    expected_pages = int(math.ceil(reltuples / rows_per_page)) if reltuples else 0
    bloat_pages = max(0, int(relpages) - expected_pages)
    return {
        "expected_pages": expected_pages,
        "bloat_pages": bloat_pages,
        "bloat_bytes": bloat_pages * block_size,
        "bloat_ratio": round(bloat_pages / relpages, 4) if relpages else 0.0,
    }
