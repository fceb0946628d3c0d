from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._postgres.bloat import (
    estimate_table_bloat,
    fillfactor_from_reloptions,
    tuple_bytes,
)


@pytest.mark.parametrize("reloptions, fillfactor", [
    (None, 100), ([], 100), (["fillfactor=70"], 70), (["autovacuum_enabled=false", "fillfactor = 50"], 50),
    (["fillfactor=abc"], 100),
])
def test_fillfactor_from_reloptions(reloptions, fillfactor):
    assert fillfactor_from_reloptions(reloptions) == fillfactor


@pytest.mark.parametrize("width, columns, nulls, size", [
    (8, 2, False, 24 + 8 + 4),       # header 23 aligns to 24
    (9, 2, False, 24 + 16 + 4),      # data aligns up to 16
    (8, 9, True, 32 + 8 + 4),        # 23 + 2 bitmap bytes aligns to 32
])
def test_tuple_bytes(width, columns, nulls, size):
    assert tuple_bytes(width, columns, nulls) == size


def test_table_exactly_as_big_as_its_rows_has_no_bloat():
    # 36-byte rows: (8192 - 24) // 36 = 226 rows per page; 226,000 rows need 1000 pages.
    estimate = estimate_table_bloat(relpages=1000, reltuples=226000, data_width=8, column_count=2)
    assert estimate == {"expected_pages": 1000, "bloat_pages": 0, "bloat_bytes": 0, "bloat_ratio": 0.0}


def test_table_four_times_too_big_is_three_quarters_bloat():
    estimate = estimate_table_bloat(relpages=4000, reltuples=226000, data_width=8, column_count=2)
    assert estimate["bloat_pages"] == 3000
    assert estimate["bloat_bytes"] == 3000 * 8192
    assert estimate["bloat_ratio"] == 0.75


def test_fillfactor_raises_the_expected_pages():
    full = estimate_table_bloat(1000, 226000, 8, 2, fillfactor=100)
    half = estimate_table_bloat(1000, 226000, 8, 2, fillfactor=50)
    assert half["expected_pages"] > full["expected_pages"]
    assert half["bloat_pages"] == 0


@pytest.mark.parametrize("relpages, reltuples, width", [(10, -1, 8), (10, 100, None), (None, 100, 8)])
def test_tables_without_statistics_are_not_estimated(relpages, reltuples, width):
    assert estimate_table_bloat(relpages, reltuples, width, 2) is None


def test_empty_table():
    assert estimate_table_bloat(0, 0, 8, 2) == {"expected_pages": 0, "bloat_pages": 0, "bloat_bytes": 0, "bloat_ratio": 0.0}
