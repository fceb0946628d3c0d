"""pg_vacuum given hostile arguments against the real PostgreSQL: clean failures only, nothing leaked or lost."""

from __future__ import annotations

from contextlib import closing

import pytest

from tests.integration.badinput.strategies import LONG, generated_cases
from tests.integration.badinput.suite import Case, assert_outcome, judge, run_cases
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.vacuum_args import argument_spec

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.pg_vacuum"


def hand_written(pg, fake, traps):
    args = pg.args
    return [
        Case("thresholds as a string", args(operation="vacuum", thresholds="bogus"), True),
        Case("idle_older_than empty with an idle session", args(operation="terminate_sessions", idle_older_than="",
                                                                session_users=[pg.role]), True),
        Case("idle_older_than nan", args(operation="terminate_sessions", idle_older_than="nan"), True),
        Case("idle_older_than 400 nines", args(operation="terminate_sessions", idle_older_than="9" * 400), True),
        Case("NUL in host", args(operation="report", host="127.0.0.1\x00evil"), True),
        Case("NUL in database", args(operation="report", database=pg.database + "\x00x"), True),
        Case("lock_timeout 400 nines", args(operation="vacuum", lock_timeout="9" * 400), True),
        Case("lock_timeout negative", args(operation="vacuum", lock_timeout="-5s"), True),
        Case("lock_timeout text", args(operation="vacuum", lock_timeout="soon"), True),
        Case("statement_timeout 1e400", args(operation="vacuum", statement_timeout="1e400"), True),
        Case("port -1", args(operation="report", port=-1), True),
        Case("port 70000", args(operation="report", port=70000), True),
        Case("connect_timeout nan", args(operation="report", connect_timeout="nan"), True),
        Case("parallel a million", args(operation="vacuum", parallel=1000000), True),
        Case("top_n negative", args(operation="report", top_n=-1), True),
        Case("dead_tuple_ratio nan", args(operation="vacuum", thresholds={"dead_tuple_ratio": "nan"}), True),
        Case("injection in tables", args(operation="vacuum", tables=["keep_me; DROP TABLE keep_me", "t1"])),
        Case("injection in schemas", args(operation="analyze", schemas=["public'; DROP TABLE keep_me; --"])),
        Case("reindex names injection", args(operation="reindex", reindex_scope="table",
                                             names=['keep_me"; DROP TABLE keep_me; --'])),
        Case("host accepts and never answers", args(operation="report", host="127.0.0.1",
                                                    port=fake["blackhole"].port, connect_timeout=2), True),
        Case("ssl_rootcert below a file", args(operation="report", sslmode="verify-full",
                                               ssl_rootcert=traps["below_file"]), True),
        Case("huge table list", args(operation="vacuum", tables=[LONG] * 3)),
        Case("wrong password", args(operation="report", password="x" + pg.password), True),
        Case("report in check mode", args(operation="report"), False, check=True),
    ]


def test_pg_vacuum_bad_input(pg_target, fake, traps):
    bases = {"report": pg_target.args(operation="report"),
             "vacuum": pg_target.args(operation="vacuum", tables=["t1"]),
             "terminate": pg_target.args(operation="terminate_sessions", session_users=["nobody_badinput"])}
    cases = hand_written(pg_target, fake, traps) + generated_cases(argument_spec(), bases, traps, limit=8)
    with closing(pg_target.connect()) as idle:  # an idle session of another user the module must see
        with idle.cursor() as cursor:
            cursor.execute("SELECT 1")
        results, elapsed, budget = run_cases(MODULE, cases)
    summary, problems = judge(MODULE, cases, results, elapsed, budget, [pg_target.password],
                              damage=lambda: pg_target.damage() + _file_damage(traps))
    assert_outcome(cases, (summary, problems))


def _file_damage(traps):
    return [] if traps["canary"].read_text() == "untouched\n" else ["the canary file outside the target changed"]
