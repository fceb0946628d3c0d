from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._postgres.vacuum_selection import (
    SelectionError,
    choose_tables,
    dead_tuple_ratio,
    display_name,
    normalize_thresholds,
    resolve_relations,
    split_identifier,
    threshold_reasons,
)

DAY = 86400


def table(schema, name, live=1000, dead=0, modified=0, vacuum_age=None, analyze_age=None, relkind="r"):
    return {"schema": schema, "table": name, "relkind": relkind, "n_live_tup": live, "n_dead_tup": dead,
            "n_mod_since_analyze": modified, "last_vacuum_age_s": vacuum_age, "last_analyze_age_s": analyze_age}


ROWS = [
    table("public", "orders", live=1000, dead=500, vacuum_age=2 * DAY, analyze_age=2 * DAY),
    table("public", "events", live=100000, dead=2000, vacuum_age=10 * DAY, analyze_age=DAY),
    table("public", "tiny", live=2, dead=1, vacuum_age=60, analyze_age=60),
    table("billing", "orders", live=50, dead=0, vacuum_age=None, analyze_age=None),
    table("billing", "invoices", live=0, dead=0, vacuum_age=3600, analyze_age=3600, modified=5000),
    table("public", "measurements", live=0, dead=0, relkind="p"),
]
SCHEMAS = ["public", "billing", "empty"]


def names(chosen):
    return [item["name"] for item in chosen]


@pytest.mark.parametrize("text, parts", [
    ("orders", ("orders",)),
    ("public.orders", ("public", "orders")),
    ("Public.Orders", ("public", "orders")),
    ('"Sales"."Q1.totals"', ("Sales", "Q1.totals")),
    ('"say ""hi"""', ('say "hi"',)),
    ("  billing . invoices ", ("billing", "invoices")),
])
def test_split_identifier_follows_sql_folding_and_quoting(text, parts):
    assert split_identifier(text) == parts


@pytest.mark.parametrize("text", ["a.b.c", '"open', "public.", ".orders", ""])
def test_split_identifier_refuses_malformed_names(text):
    with pytest.raises(SelectionError, match=r"^Invalid table name .*\.$"):
        split_identifier(text)


@pytest.mark.parametrize("schema, name, shown", [
    ("public", "orders", "public.orders"),
    ("Sales", "q1", '"Sales".q1'),
    ("public", "q1.totals", 'public."q1.totals"'),
    ("public", "1st", 'public."1st"'),
])
def test_display_name_quotes_only_when_needed(schema, name, shown):
    assert display_name(schema, name) == shown


@pytest.mark.parametrize("live, dead, ratio", [(0, 0, 0.0), (100, 0, 0.0), (50, 50, 0.5), (0, 10, 1.0), (None, None, 0.0)])
def test_dead_tuple_ratio(live, dead, ratio):
    assert dead_tuple_ratio({"n_live_tup": live, "n_dead_tup": dead}) == ratio


def test_thresholds_choose_only_dirty_tables_with_reasons():
    chosen, candidates = choose_tables(ROWS, "app", thresholds={"dead_tuple_ratio": 0.1, "min_dead_tuples": 100},
                                       known_schemas=SCHEMAS)
    assert candidates == 5  # the partitioned parent is not a threshold candidate
    assert names(chosen) == ["public.orders"]
    assert chosen[0]["reasons"] == ["dead_tuple_ratio 0.333 >= 0.1", "n_dead_tup 500 >= 100"]
    assert chosen[0]["dead_tuple_ratio"] == pytest.approx(0.3333, abs=1e-4)


@pytest.mark.parametrize("thresholds, expected", [
    ({"min_dead_tuples": 1000}, ["public.events"]),
    ({"dead_tuple_ratio": 0.3}, ["public.orders", "public.tiny"]),
    # Both dead-tuple limits must hold together: tiny has the share but not the count.
    ({"dead_tuple_ratio": 0.3, "min_dead_tuples": 100}, ["public.orders"]),
    ({"last_vacuum_older_than": "7d"}, ["billing.orders", "public.events"]),
    # Age thresholds are reasons on their own, next to the dead-tuple ones.
    ({"min_dead_tuples": 400, "last_vacuum_older_than": "1 day"}, ["billing.orders", "public.events", "public.orders"]),
    ({"min_modified_since_analyze": 1000}, ["billing.invoices"]),
    ({"last_analyze_older_than": "36h"}, ["billing.orders", "public.orders"]),
    ({"min_dead_tuples": 10 ** 9}, []),
])
def test_threshold_combinations(thresholds, expected):
    chosen, _count = choose_tables(ROWS, "app", thresholds=thresholds, known_schemas=SCHEMAS)
    assert sorted(names(chosen)) == expected


@pytest.mark.parametrize("row, thresholds, reasons", [
    (table("s", "t", vacuum_age=None), {"last_vacuum_older_than": 60}, ["never vacuumed"]),
    (table("s", "t", vacuum_age=9 * DAY), {"last_vacuum_older_than": 7 * DAY}, ["last vacuum 9d ago, older than 7d"]),
    (table("s", "t", analyze_age=None), {"last_analyze_older_than": 60}, ["never analyzed"]),
    (table("s", "t", modified=10), {"min_modified_since_analyze": 10}, ["n_mod_since_analyze 10 >= 10"]),
    (table("s", "t", vacuum_age=59), {"last_vacuum_older_than": 60}, []),
])
def test_threshold_reasons(row, thresholds, reasons):
    assert threshold_reasons(row, thresholds) == reasons


def test_without_tables_or_thresholds_every_user_table_is_chosen():
    chosen, candidates = choose_tables(ROWS, "app", known_schemas=SCHEMAS)
    assert candidates == 5 and len(chosen) == 5
    assert all(item["reasons"] == ["every user table (no tables or thresholds given)"] for item in chosen)


def test_schemas_narrow_the_candidates():
    chosen, candidates = choose_tables(ROWS, "app", schemas=["billing"], known_schemas=SCHEMAS)
    assert candidates == 2
    assert sorted(names(chosen)) == ["billing.invoices", "billing.orders"]
    assert all(item["reasons"] == ["in schemas billing"] for item in chosen)


def test_existing_empty_schema_chooses_nothing():
    assert choose_tables(ROWS, "app", schemas=["empty"], known_schemas=SCHEMAS) == ([], 0)


def test_explicit_tables_keep_order_and_may_name_partitioned_parents():
    chosen, candidates = choose_tables(ROWS, "app", tables=["public.tiny", "measurements", "public.tiny"],
                                       known_schemas=SCHEMAS)
    assert candidates == 2
    assert names(chosen) == ["public.tiny", "public.measurements"]
    assert chosen[0]["reasons"] == ["listed in tables"]


def test_explicit_tables_filtered_by_thresholds():
    chosen, _count = choose_tables(ROWS, "app", tables=["public.orders", "events"], thresholds={"min_dead_tuples": 1000},
                                   known_schemas=SCHEMAS)
    assert names(chosen) == ["public.events"]


@pytest.mark.parametrize("kwargs, message", [
    ({"tables": ["nope"]}, 'Table "nope" does not exist in database "app".'),
    ({"tables": ["orders"]}, 'Table "orders" is ambiguous in database "app" (billing.orders, public.orders); '
                             "qualify it with its schema."),
    ({"tables": ["events"], "schemas": ["billing"]}, 'Table "events" does not exist in database "app" within schemas billing.'),
    ({"schemas": ["ghost"]}, 'Schema "ghost" does not exist in database "app".'),
    ({"schemas": ["a.b"]}, "Invalid schema name 'a.b': a schema name has no dot (quote it if it does)."),
])
def test_unknown_or_ambiguous_names_fail_in_one_sentence(kwargs, message):
    with pytest.raises(SelectionError) as caught:
        choose_tables(ROWS, "app", known_schemas=SCHEMAS, **kwargs)
    assert str(caught.value) == message


def test_bare_name_is_resolved_within_schemas():
    chosen, _count = choose_tables(ROWS, "app", tables=["orders"], schemas=["billing"], known_schemas=SCHEMAS)
    assert names(chosen) == ["billing.orders"]


def test_resolve_relations_works_for_indexes():
    rows = [{"schema": "public", "index": "orders_pkey", "table": "orders"}]
    assert resolve_relations(["Orders_Pkey"], rows, "app", kind="index") == rows
    with pytest.raises(SelectionError, match=r'^Index "x" does not exist in database "app"\.$'):
        resolve_relations(["x"], rows, "app", kind="index")


@pytest.mark.parametrize("thresholds, operation, analyze, message", [
    ({}, "vacuum", True, "thresholds needs at least one of"),
    ({"dead_tuple_ratio": None}, "vacuum", True, "thresholds needs at least one of"),
    ({"dead_tuple_ratio": 1.5}, "vacuum", True, "thresholds.dead_tuple_ratio must be between 0 and 1, got 1.5."),
    ({"min_dead_tuples": -1}, "vacuum", True, "thresholds.min_dead_tuples must not be negative, got -1."),
    ({"last_vacuum_older_than": "soon"}, "vacuum", True, "Invalid thresholds.last_vacuum_older_than 'soon'"),
    ({"min_dead_tuples": 5}, "analyze", True, "thresholds.min_dead_tuples does not apply to operation=analyze"),
    ({"last_vacuum_older_than": "1d"}, "analyze", True, "thresholds.last_vacuum_older_than does not apply"),
    ({"min_modified_since_analyze": 5}, "vacuum", False, "thresholds.min_modified_since_analyze needs analyze=true"),
])
def test_thresholds_that_would_never_settle_or_are_malformed_are_refused(thresholds, operation, analyze, message):
    with pytest.raises(SelectionError) as caught:
        normalize_thresholds(thresholds, operation, analyze)
    assert str(caught.value).startswith(message)
    assert str(caught.value).endswith(".")


def test_normalize_thresholds_converts_intervals_and_drops_unset_keys():
    assert normalize_thresholds({"last_analyze_older_than": "2h", "min_dead_tuples": None,
                                 "min_modified_since_analyze": 10}, "analyze") == {
        "last_analyze_older_than": 7200.0, "min_modified_since_analyze": 10}
    assert normalize_thresholds(None, "vacuum") == {}
