from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._postgres.vacuum_options import (
    OptionError,
    check_option_combinations,
    vacuum_option_words,
)

PG15 = (150004, "15.4")
PG12 = (120010, "12.10")
PG11 = (110020, "11.20")


def params(**overrides):
    base = {"operation": "vacuum", "tables": None, "schemas": None, "thresholds": None, "full": False, "freeze": False,
            "analyze": True, "skip_locked": False, "parallel": None, "fail_on_lock_timeout": False, "reindex_scope": None,
            "names": None, "concurrently": False, "session_users": None, "application_names": None,
            "session_databases": None, "top_n": 10}
    base.update(overrides)
    return base


@pytest.mark.parametrize("overrides", [
    {},
    {"operation": "vacuum", "full": True, "freeze": True, "tables": ["t"]},
    {"operation": "vacuum", "parallel": 4, "skip_locked": True},
    {"operation": "vacuum", "parallel": 0, "full": True},
    {"operation": "analyze", "tables": ["t"], "skip_locked": True},
    {"operation": "reindex", "reindex_scope": "index", "names": ["i"], "concurrently": True},
    {"operation": "reindex", "reindex_scope": "database"},
    {"operation": "reindex", "reindex_scope": "database", "names": ["app"]},
    {"operation": "terminate_sessions", "session_users": ["u"], "application_names": ["a"], "session_databases": ["d"]},
    {"operation": "report", "schemas": ["public"], "top_n": 1},
])
def test_valid_combinations_pass(overrides):
    check_option_combinations(params(**overrides))


@pytest.mark.parametrize("overrides, message", [
    ({"operation": "analyze", "full": True}, "Option full applies only to operation=vacuum, not operation=analyze."),
    ({"operation": "report", "tables": ["t"]},
     "Option tables applies only to operation=vacuum or operation=analyze, not operation=report."),
    ({"operation": "vacuum", "names": ["i"]}, "Option names applies only to operation=reindex, not operation=vacuum."),
    ({"operation": "reindex", "reindex_scope": "table", "names": ["t"], "skip_locked": True},
     "Option skip_locked applies only to operation=vacuum or operation=analyze, not operation=reindex."),
    ({"operation": "vacuum", "session_users": ["u"]},
     "Option session_users applies only to operation=terminate_sessions, not operation=vacuum."),
    ({"operation": "terminate_sessions", "concurrently": True},
     "Option concurrently applies only to operation=reindex, not operation=terminate_sessions."),
    ({"operation": "vacuum", "full": True, "parallel": 2},
     "Options full and parallel cannot be combined: PostgreSQL runs VACUUM FULL without parallel workers."),
    ({"operation": "vacuum", "parallel": -1}, "Option parallel must be between 0 and 1024, got -1."),
    ({"operation": "reindex", "reindex_scope": "table"},
     "Option names is required with reindex_scope=table: list the table names to rebuild."),
    ({"operation": "reindex", "reindex_scope": "database", "names": ["a", "b"]},
     "With reindex_scope=database, names holds at most the connected database's name."),
    ({"operation": "report", "top_n": 0}, "Option top_n must be at least 1, got 0."),
])
def test_bad_combinations_fail_in_one_sentence(overrides, message):
    with pytest.raises(OptionError) as caught:
        check_option_combinations(params(**overrides))
    assert str(caught.value) == message


@pytest.mark.parametrize("overrides, version, words", [
    ({}, PG15, ["ANALYZE"]),
    ({"analyze": False}, PG15, []),
    ({"full": True, "freeze": True}, PG15, ["FULL", "FREEZE", "ANALYZE"]),
    ({"skip_locked": True, "parallel": 2}, PG15, ["ANALYZE", "SKIP_LOCKED", "PARALLEL 2"]),
    ({"operation": "analyze", "skip_locked": True}, PG12, ["SKIP_LOCKED"]),
    # analyze=true is the option's default; for operation=analyze it must not add a word.
    ({"operation": "analyze"}, PG15, []),
])
def test_vacuum_option_words(overrides, version, words):
    assert vacuum_option_words(params(**overrides), *version) == words


@pytest.mark.parametrize("overrides, version, message", [
    ({"parallel": 2}, PG12, "Option parallel needs PostgreSQL 13 or later; the server runs 12.10."),
    ({"skip_locked": True}, PG11, "Option skip_locked needs PostgreSQL 12 or later; the server runs 11.20."),
])
def test_options_newer_than_the_server_are_refused(overrides, version, message):
    with pytest.raises(OptionError) as caught:
        vacuum_option_words(params(**overrides), *version)
    assert str(caught.value) == message
