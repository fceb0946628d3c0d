# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""pg_vacuum's argument spec (documented in the module's DOCUMENTATION) and its interval options in seconds."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._common.intervals import IntervalError, parse_interval
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.connection import POSTGRES_COMMON_ARGS, POSTGRES_RANGES
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.session_selection import SESSION_STATES
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.vacuum_options import OPERATIONS, REINDEX_SCOPES

REQUIRED_IF = [("operation", "reindex", ["reindex_scope"])]
# Bounds on numbers (RunbookModule ranges): NaN and runaway values are refused in one sentence.
RANGES = dict(POSTGRES_RANGES, **{
    "thresholds.dead_tuple_ratio": (None, None),  # finite; the runner checks 0..1 with its own sentence
    "thresholds.min_dead_tuples": (0, 10 ** 15),
    "thresholds.min_modified_since_analyze": (0, 10 ** 15),
    "parallel": (0, 1024),
    "top_n": (0, 100000),
})

# Options given as human intervals ('5s', '1h'); the runner works in seconds.
INTERVAL_OPTIONS = ("lock_timeout", "statement_timeout", "idle_older_than")


def argument_spec():
    return merge_argspecs(
        POSTGRES_COMMON_ARGS,
        operation={"type": "str", "required": True, "choices": OPERATIONS},
        tables={"type": "list", "elements": "str"},
        schemas={"type": "list", "elements": "str"},
        thresholds={"type": "dict", "options": {
            "dead_tuple_ratio": {"type": "float"},
            "min_dead_tuples": {"type": "int"},
            "last_vacuum_older_than": {"type": "str"},
            "min_modified_since_analyze": {"type": "int"},
            "last_analyze_older_than": {"type": "str"},
        }},
        full={"type": "bool", "default": False},
        freeze={"type": "bool", "default": False},
        analyze={"type": "bool", "default": True},
        skip_locked={"type": "bool", "default": False},
        parallel={"type": "int"},
        lock_timeout={"type": "str", "default": "5s"},
        statement_timeout={"type": "str"},
        fail_on_lock_timeout={"type": "bool", "default": False},
        reindex_scope={"type": "str", "choices": REINDEX_SCOPES},
        names={"type": "list", "elements": "str"},
        concurrently={"type": "bool", "default": False},
        session_states={"type": "list", "elements": "str", "choices": SESSION_STATES,
                        "default": ["idle", "idle in transaction"]},
        idle_older_than={"type": "str", "default": "1h"},
        session_users={"type": "list", "elements": "str"},
        application_names={"type": "list", "elements": "str"},
        session_databases={"type": "list", "elements": "str"},
        top_n={"type": "int", "default": 10},
    )


# Intervals a run cannot do without: an empty one is refused instead of read as "not set".
NEEDED_INTERVALS = ("idle_older_than",)


def parse_intervals(params):
    """The interval options as seconds (None when not set); raises IntervalError naming the option."""
    for name in NEEDED_INTERVALS:
        if params.get(name) is not None and not str(params[name]).strip():
            raise IntervalError(f"{name} must not be empty; use an interval such as 1h, or 0 for every session.")
    return {
        name: (parse_interval(params[name], name) if params.get(name) not in (None, "") else None)
        for name in INTERVAL_OPTIONS
    }
