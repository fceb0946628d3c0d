from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._postgres.session_selection import (
    choose_sessions,
    describe_session,
    session_reason,
    termination_refusal,
)

OWN_PID = 100
HOUR = 3600


def session(pid, state="idle", age=2 * HOUR, user="app", application="web", database="platform",
            backend_type="client backend"):
    return {"pid": pid, "state": state, "state_age_s": age, "user": user, "application_name": application,
            "database": database, "backend_type": backend_type}


ROWS = [
    session(OWN_PID, state="idle", age=10 * HOUR),          # ourselves: never
    session(1, state="idle", age=2 * HOUR),
    session(2, state="idle in transaction", age=3 * HOUR, application="worker"),
    session(3, state="active", age=5 * HOUR),               # running a query
    session(4, state="idle", age=10),                       # idle, but only briefly
    session(5, state="idle", age=2 * HOUR, user="admin", database="postgres"),
    session(6, state="idle", age=9 * HOUR, backend_type="walsender"),
    session(7, state=None, age=None),                       # state hidden from us
]
DEFAULT_STATES = ["idle", "idle in transaction"]


def pids(chosen):
    return [row["pid"] for row in chosen]


@pytest.mark.parametrize("kwargs, expected", [
    ({}, [1, 2, 5]),
    ({"users": ["admin"]}, [5]),
    ({"applications": ["worker"]}, [2]),
    ({"databases": ["platform"]}, [1, 2]),
    ({"users": ["app"], "databases": ["platform"], "applications": ["web"]}, [1]),
    ({"older_than_s": 4 * HOUR}, []),
    ({"older_than_s": 0}, [1, 2, 4, 5]),
    ({"states": ["active"]}, [3]),
    ({"states": ["idle in transaction (aborted)"]}, []),
])
def test_choose_sessions_filters(kwargs, expected):
    arguments = {"states": DEFAULT_STATES, "older_than_s": HOUR}
    arguments.update(kwargs)
    assert pids(choose_sessions(ROWS, OWN_PID, **arguments)) == expected


def test_own_session_is_never_chosen_even_when_it_matches_everything():
    chosen = choose_sessions(ROWS, OWN_PID, ["idle", "active"], 0, users=["app"])
    assert OWN_PID not in pids(chosen)


def test_chosen_sessions_carry_a_reason():
    chosen = choose_sessions(ROWS, OWN_PID, DEFAULT_STATES, HOUR)
    assert chosen[1]["reason"] == "idle in transaction for 3h (limit 1h)"
    assert session_reason({"state": "idle", "state_age_s": 90}, 60) == "idle for 1m (limit 1m)"


def test_describe_session_is_one_line():
    assert describe_session(session(42, age=7200)) == "pid 42 web@platform as app (idle 2h)"
    assert describe_session({"pid": 9, "state": "idle", "state_age_s": None}) == "pid 9 -@- as - (idle 0s)"


@pytest.mark.parametrize("row, caller_superuser, caller_signal_backend, expected", [
    ({"superuser": True, "own_role": False}, True, False, None),            # a superuser ends anything
    ({"superuser": True, "own_role": True}, False, True, "only a superuser may terminate a superuser's session"),
    ({"superuser": False, "own_role": False}, False, True, None),           # pg_signal_backend (RDS)
    ({"superuser": False, "own_role": True}, False, False, None),           # sessions of a role we are a member of
    ({"superuser": False, "own_role": False}, False, False,
     "the role needs pg_signal_backend (or membership in the session's role) to terminate it"),
    ({}, False, False, None),                                               # unknown: the server decides
])
def test_termination_refusal_follows_postgres_rules(row, caller_superuser, caller_signal_backend, expected):
    assert termination_refusal(row, caller_superuser, caller_signal_backend) == expected
