"""pg_vacuum's argument spec, interval options and result counts, without a server."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._common.intervals import IntervalError
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.connection import POSTGRES_COMMON_ARGS
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.vacuum_args import argument_spec, parse_intervals
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.vacuum_options import OPERATIONS
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.vacuum_runner import _ms, status_counts


def test_argument_spec_merges_the_connection_options():
    spec = argument_spec()
    assert set(POSTGRES_COMMON_ARGS) <= set(spec)
    assert spec["operation"]["choices"] == OPERATIONS
    spec["host"]["default"] = "elsewhere"
    assert argument_spec()["host"]["default"] == "localhost"


def test_parse_intervals_gives_seconds_and_none_for_unset_options():
    assert parse_intervals({"lock_timeout": "5s", "statement_timeout": "", "idle_older_than": "1h"}) == {
        "lock_timeout": 5, "statement_timeout": None, "idle_older_than": 3600}
    assert parse_intervals({"lock_timeout": None})["lock_timeout"] is None


def test_parse_intervals_names_the_bad_option():
    with pytest.raises(IntervalError, match="statement_timeout"):
        parse_intervals({"lock_timeout": "5s", "statement_timeout": "soon", "idle_older_than": "1h"})


def test_status_counts_adds_one_key_per_status_after_the_given_totals():
    items = [{"status": "done"}, {"status": "lock_timeout"}, {"status": "done"}]
    assert status_counts(items, candidates=10, chosen=3) == {"candidates": 10, "chosen": 3, "done": 2, "lock_timeout": 1}
    assert list(status_counts(items, candidates=10)) == ["candidates", "done", "lock_timeout"]


@pytest.mark.parametrize("seconds, ms", [(None, None), (0, 0), (1.5, 1500), (0.0004, 0)])
def test_ms(seconds, ms):
    assert _ms(seconds) == ms
