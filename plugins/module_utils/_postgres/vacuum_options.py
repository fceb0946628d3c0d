# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""pg_vacuum's option rules: which options go with which operation, and the VACUUM/ANALYZE/REINDEX
option words a server version supports. Pure functions; each problem is one sentence."""

from __future__ import annotations

OPERATIONS = ["vacuum", "analyze", "reindex", "terminate_sessions", "report"]
REINDEX_SCOPES = ["index", "table", "schema", "database"]
MAX_PARALLEL_WORKERS = 1024  # PostgreSQL's own upper bound for VACUUM (PARALLEL n)

# Options that only make sense for some operations. Options whose argument_spec default is
# "on" (analyze, lock_timeout, session_states, idle_older_than, top_n) cannot be told apart
# from the default, so they are simply ignored where they do not apply.
OPTION_OPERATIONS = {
    "tables": ("vacuum", "analyze"),
    "thresholds": ("vacuum", "analyze"),
    "schemas": ("vacuum", "analyze", "report"),
    "full": ("vacuum",),
    "freeze": ("vacuum",),
    "parallel": ("vacuum",),
    "skip_locked": ("vacuum", "analyze"),
    "fail_on_lock_timeout": ("vacuum", "analyze", "reindex"),
    "reindex_scope": ("reindex",),
    "names": ("reindex",),
    "concurrently": ("reindex",),
    "session_users": ("terminate_sessions",),
    "application_names": ("terminate_sessions",),
    "session_databases": ("terminate_sessions",),
}

# Minimum server versions (server_version_num) of statement options.
MIN_VERSION = {
    "SKIP_LOCKED": (120000, "skip_locked"),
    "PARALLEL": (130000, "parallel"),
    "CONCURRENTLY": (120000, "concurrently"),
}


class OptionError(ValueError):
    """A bad option value or combination; the message is one sentence for fail_json."""


def _given(value):
    return value not in (None, False, [], {}, "")


def check_option_combinations(params):
    """Raise OptionError for options that do not fit the operation or each other."""
    operation = params["operation"]
    for option, operations in OPTION_OPERATIONS.items():
        if _given(params.get(option)) and operation not in operations:
            allowed = " or ".join(f"operation={name}" for name in operations)
            raise OptionError(f"Option {option} applies only to {allowed}, not operation={operation}.")
    if operation == "vacuum":
        parallel = params.get("parallel")
        if parallel is not None and not 0 <= parallel <= MAX_PARALLEL_WORKERS:
            raise OptionError(f"Option parallel must be between 0 and {MAX_PARALLEL_WORKERS}, got {parallel}.")
        if params.get("full") and parallel:
            raise OptionError("Options full and parallel cannot be combined: PostgreSQL runs VACUUM FULL without parallel workers.")
    if operation == "reindex":
        scope = params.get("reindex_scope")
        if scope != "database" and not params.get("names"):
            raise OptionError(f"Option names is required with reindex_scope={scope}: list the {scope} names to rebuild.")
        if scope == "database" and len(params.get("names") or []) > 1:
            raise OptionError("With reindex_scope=database, names holds at most the connected database's name.")
    if operation == "report" and params.get("top_n") is not None and params["top_n"] < 1:
        raise OptionError(f"Option top_n must be at least 1, got {params['top_n']}.")


def require_server_version(word, server_version_num, server_version_text):
    """Raise OptionError when the server is too old for a statement option word."""
    minimum, option = MIN_VERSION[word]
    if server_version_num < minimum:
        raise OptionError(f"Option {option} needs PostgreSQL {minimum // 10000} or later; the server runs {server_version_text}.")


def vacuum_option_words(params, server_version_num, server_version_text):
    """Option words for 'VACUUM (...)' / 'ANALYZE (...)' from the module params, in PostgreSQL's order."""
    words = []
    if params["operation"] == "vacuum":
        if params.get("full"):
            words.append("FULL")
        if params.get("freeze"):
            words.append("FREEZE")
        if params.get("analyze"):
            words.append("ANALYZE")
    if params.get("skip_locked"):
        require_server_version("SKIP_LOCKED", server_version_num, server_version_text)
        words.append("SKIP_LOCKED")
    if params["operation"] == "vacuum" and params.get("parallel") is not None:
        require_server_version("PARALLEL", server_version_num, server_version_text)
        words.append(f"PARALLEL {int(params['parallel'])}")
    return words
