# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Which tables pg_vacuum works on, and why: pure functions over catalog rows, no server needed.

A candidate row is a dict with the keys ``schema``, ``table``, ``relkind`` and the statistics of
``pg_stat_user_tables`` the thresholds read: ``n_live_tup``, ``n_dead_tup``,
``n_mod_since_analyze``, ``last_vacuum_age_s`` and ``last_analyze_age_s`` (seconds since the most
recent manual or automatic run, None when it never ran).
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._common.intervals import (
    IntervalError,
    format_seconds,
    parse_interval,
)

DEAD_TUPLE_KEYS = ("dead_tuple_ratio", "min_dead_tuples")
VACUUM_KEYS = DEAD_TUPLE_KEYS + ("last_vacuum_older_than",)
ANALYZE_KEYS = ("min_modified_since_analyze", "last_analyze_older_than")
THRESHOLD_KEYS = VACUUM_KEYS + ANALYZE_KEYS
# Partitioned parents carry no statistics of their own; their partitions are separate rows.
THRESHOLD_RELKINDS = ("r", "m")


class SelectionError(ValueError):
    """Bad names or thresholds; the message is one sentence for fail_json."""


def split_identifier(text, what="table"):
    """Split 'schema.table' (or a bare name) into parts, following SQL's identifier rules.

    Unquoted parts fold to lower case, as in psql; double-quoted parts keep case and may hold
    dots ('"Sales"."Q1.totals"'). Returns a tuple of one or two names.
    """
    raw = str(text).strip()
    parts, current, quoted, index = [], [], False, 0
    was_quoted = False
    while index < len(raw):
        char = raw[index]
        if quoted:
            if char == '"' and raw[index + 1:index + 2] == '"':
                current.append('"')
                index += 1
            elif char == '"':
                quoted = False
            else:
                current.append(char)
        elif char == '"':
            quoted, was_quoted = True, True
        elif char == ".":
            parts.append(_finish_part(current, was_quoted, raw, what))
            current, was_quoted = [], False
        else:
            current.append(char)
        index += 1
    if quoted:
        raise SelectionError(f"Invalid {what} name {raw!r}: a double quote is not closed.")
    parts.append(_finish_part(current, was_quoted, raw, what))
    if len(parts) > 2:
        raise SelectionError(f"Invalid {what} name {raw!r}: use '{what}' or 'schema.{what}'.")
    return tuple(parts)


def _finish_part(chars, was_quoted, raw, what):
    part = "".join(chars)
    if not was_quoted:
        part = part.strip().lower()
    if not part:
        raise SelectionError(f"Invalid {what} name {raw!r}: a name part is empty.")
    return part


def display_name(schema, name):
    """'schema.table', quoting a part only when SQL would need it, so names read back unambiguously."""
    return f"{_display_part(schema)}.{_display_part(name)}"


def _display_part(part):
    plain = part and part == part.lower() and part.replace("_", "a").isalnum() and not part[0].isdigit()
    return part if plain else '"' + part.replace('"', '""') + '"'


def resolve_schemas(requested, known_schemas, database):
    """Normalise the ``schemas`` option against the database's schemas; unknown names fail."""
    resolved = []
    for text in requested or []:
        parts = split_identifier(text, "schema")
        if len(parts) != 1:
            raise SelectionError(f"Invalid schema name {text!r}: a schema name has no dot (quote it if it does).")
        if parts[0] not in known_schemas:
            raise SelectionError(f'Schema "{parts[0]}" does not exist in database "{database}".')
        if parts[0] not in resolved:
            resolved.append(parts[0])
    return resolved


def resolve_relations(requested, rows, database, schemas=None, kind="table"):
    """The rows named by ``requested`` ('rel' or 'schema.rel'), in the order given.

    ``rows`` carry ``schema`` and a ``kind`` key ('table' or 'index') with the relation name.
    Unknown names and bare names found in several schemas fail with one sentence.
    """
    in_scope = [row for row in rows if not schemas or row["schema"] in schemas]
    within = f" within schemas {', '.join(schemas)}" if schemas else ""
    chosen = []
    for text in requested:
        parts = split_identifier(text, kind)
        if len(parts) == 2:
            matches = [row for row in in_scope if (row["schema"], row[kind]) == parts]
        else:
            matches = [row for row in in_scope if row[kind] == parts[0]]
        if not matches:
            raise SelectionError(f'{kind.capitalize()} "{text}" does not exist in database "{database}"{within}.')
        if len(matches) > 1:
            found = ", ".join(sorted(display_name(row["schema"], row[kind]) for row in matches))
            raise SelectionError(f'{kind.capitalize()} "{text}" is ambiguous in database "{database}" ({found}); '
                                 "qualify it with its schema.")
        if matches[0] not in chosen:
            chosen.append(matches[0])
    return chosen


def normalize_thresholds(thresholds, operation, analyze=True):
    """Validate the ``thresholds`` option for an operation; return it with intervals as seconds.

    ANALYZE does not remove dead tuples and VACUUM without ANALYZE does not refresh statistics,
    so a threshold the statement cannot reset is refused: the next run would pick the same
    tables again, for ever.
    """
    given = {key: value for key, value in (thresholds or {}).items() if value is not None and key in THRESHOLD_KEYS}
    if thresholds is not None and not given:
        raise SelectionError("thresholds needs at least one of " + ", ".join(THRESHOLD_KEYS) + ".")
    if operation == "analyze":
        for key in VACUUM_KEYS:
            if key in given:
                raise SelectionError(f"thresholds.{key} does not apply to operation=analyze because ANALYZE does not vacuum; "
                                     "use min_modified_since_analyze or last_analyze_older_than.")
    elif not analyze:
        for key in ANALYZE_KEYS:
            if key in given:
                raise SelectionError(f"thresholds.{key} needs analyze=true, because VACUUM alone does not refresh statistics.")
    ratio = given.get("dead_tuple_ratio")
    if ratio is not None and not 0 <= ratio <= 1:
        raise SelectionError(f"thresholds.dead_tuple_ratio must be between 0 and 1, got {ratio}.")
    for key in ("min_dead_tuples", "min_modified_since_analyze"):
        if given.get(key) is not None and given[key] < 0:
            raise SelectionError(f"thresholds.{key} must not be negative, got {given[key]}.")
    for key in ("last_vacuum_older_than", "last_analyze_older_than"):
        if key in given:
            try:
                given[key] = parse_interval(given[key], f"thresholds.{key}")
            except IntervalError as exc:
                raise SelectionError(str(exc)) from None
    return given


def dead_tuple_ratio(row):
    """Dead tuples as a share of all tuples (0.0 for an empty table)."""
    live, dead = row.get("n_live_tup") or 0, row.get("n_dead_tup") or 0
    return dead / (live + dead) if live + dead else 0.0


def threshold_reasons(row, thresholds):
    """The reasons ``row`` passes ``thresholds`` (normalized), or an empty list.

    The dead-tuple thresholds given must all hold together (a big enough share AND a big enough
    count, like autovacuum's scale factor plus threshold); each age or modification threshold
    is a reason on its own.
    """
    reasons = []
    dead_checks = []
    if "dead_tuple_ratio" in thresholds:
        ratio = dead_tuple_ratio(row)
        dead_checks.append((ratio >= thresholds["dead_tuple_ratio"],
                            f"dead_tuple_ratio {ratio:.3f} >= {thresholds['dead_tuple_ratio']}"))
    if "min_dead_tuples" in thresholds:
        dead = row.get("n_dead_tup") or 0
        dead_checks.append((dead >= thresholds["min_dead_tuples"], f"n_dead_tup {dead} >= {thresholds['min_dead_tuples']}"))
    if dead_checks and all(passed for passed, _text in dead_checks):
        reasons.extend(text for _passed, text in dead_checks)
    if "last_vacuum_older_than" in thresholds:
        reasons.extend(_age_reason(row.get("last_vacuum_age_s"), thresholds["last_vacuum_older_than"], "vacuum", "vacuumed"))
    if "min_modified_since_analyze" in thresholds:
        modified = row.get("n_mod_since_analyze") or 0
        if modified >= thresholds["min_modified_since_analyze"]:
            reasons.append(f"n_mod_since_analyze {modified} >= {thresholds['min_modified_since_analyze']}")
    if "last_analyze_older_than" in thresholds:
        reasons.extend(_age_reason(row.get("last_analyze_age_s"), thresholds["last_analyze_older_than"], "analyze", "analyzed"))
    return reasons


def _age_reason(age_s, limit_s, noun, participle):
    if age_s is None:
        return [f"never {participle}"]
    if age_s >= limit_s:
        return [f"last {noun} {format_seconds(age_s)} ago, older than {format_seconds(limit_s)}"]
    return []


def choose_tables(rows, database, operation="vacuum", tables=None, schemas=None, thresholds=None,
                  known_schemas=None, analyze=True):
    """Pick the tables to work on; return ``(chosen, candidate_count)``.

    ``chosen`` is a list of dicts: the candidate row plus ``name`` ('schema.table'),
    ``dead_tuple_ratio`` and ``reasons`` (why it was chosen). Explicit ``tables`` narrow the
    candidates, ``schemas`` narrow both; thresholds then filter. Without thresholds every
    candidate is chosen, so no tables and no thresholds means every user table.
    """
    known = set(known_schemas) if known_schemas is not None else {row["schema"] for row in rows}
    schemas = resolve_schemas(schemas, known, database)
    limits = normalize_thresholds(thresholds, operation, analyze)
    if tables:
        candidates = resolve_relations(tables, rows, database, schemas)
        default_reason = "listed in tables"
    else:
        candidates = [row for row in rows
                      if row.get("relkind", "r") in THRESHOLD_RELKINDS and (not schemas or row["schema"] in schemas)]
        default_reason = f"in schemas {', '.join(schemas)}" if schemas else "every user table (no tables or thresholds given)"
    chosen = []
    for row in candidates:
        reasons = threshold_reasons(row, limits) if limits else [default_reason]
        if reasons:
            chosen.append(dict(row, name=display_name(row["schema"], row["table"]),
                               dead_tuple_ratio=round(dead_tuple_ratio(row), 4), reasons=reasons))
    return chosen, len(candidates)
