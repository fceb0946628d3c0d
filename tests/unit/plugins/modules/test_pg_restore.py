"""pg_restore's main(): option checks before any connection, and the pure restore decision.

Restores themselves need PostgreSQL and are covered by tests/integration/postgres/test_pg_restore.py.
"""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._backup.errors import BackupError
from ansible_collections.sre.runbooks.plugins.module_utils._backup.restore_plan import choose_action, describe_objects
from ansible_collections.sre.runbooks.plugins.modules import pg_restore
# pg_backup's helpers: run() over the shared scaffold, and the autouse fixture that clears PG*/AWS_* variables.
from tests.unit.plugins.modules.test_pg_backup import no_connection_env, run  # noqa: F401  pylint: disable=unused-import


@pytest.mark.parametrize("args, message", [
    ({}, "exactly one of src"),
    ({"src": "/nonexistent/b.dump"}, "has no manifest /nonexistent/b.manifest.json"),
])
def test_bad_options_fail_with_one_sentence_before_any_connection(args, message):
    result = run(dict(args, host="127.0.0.1", port=1), module=pg_restore)  # port 1: nothing would answer
    assert result["failed"] and message in result["msg"], result["msg"]
    assert result["msg"].count(". ") == 0 or "Refusing" in result["msg"]


def test_src_and_s3_key_are_exclusive():
    result = run({"src": "/a", "s3_key": "b", "s3": {"bucket": "x"}}, module=pg_restore)
    assert result["failed"] and "mutually exclusive" in result["msg"]


def test_pg_backup_no_longer_restores():
    result = run({"state": "restored", "src": "/a"})
    assert result["failed"] and "state" in result["msg"] and "present, pruned" in result["msg"]


MANIFEST = {"name": "daily-platform-full-x", "scope": "database", "sha256": "a" * 64}


def state(objects=0, identical=False, relations=(), schemas=()):
    return {"objects": objects, "identical": identical, "relations": list(relations), "schemas": list(schemas)}


@pytest.mark.parametrize("target_state, force, action", [
    (state(), False, "restore"),
    (state(objects=2, relations=["public.t", "public.u"]), True, "replace"),
    (state(objects=2, identical=True), False, "none"),
    (state(objects=2, identical=True), True, "none"),
])
def test_choose_action(target_state, force, action):
    assert choose_action(MANIFEST, "copy", target_state, force, "postgres") == action


def test_a_non_empty_target_is_refused_without_force():
    busy = state(objects=5, relations=["public.a", "public.b", "public.c", "public.d"], schemas=["app"])
    with pytest.raises(BackupError, match='Refusing to restore daily-platform-full-x into database "copy": it already '
                                          r"holds 4 relation\(s\) such as public.a, public.b, public.c and schema\(s\) app;"):
        choose_action(MANIFEST, "copy", busy, False, "postgres")


def test_the_maintenance_database_is_never_replaced():
    with pytest.raises(BackupError, match='Cannot replace database "postgres" while it is the maintenance_database'):
        choose_action(MANIFEST, "postgres", state(objects=1, relations=["public.t"]), True, "postgres")
    schema_backup = dict(MANIFEST, scope="schemas")
    assert choose_action(schema_backup, "postgres", state(objects=1, schemas=["app"]), True, "postgres") == "replace"


def test_describe_objects_without_names():
    assert describe_objects(state(objects=1)) == "objects"
