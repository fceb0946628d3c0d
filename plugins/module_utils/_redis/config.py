# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Pure logic for Redis configuration: compare wanted settings with CONFIG GET and the config file.

Redis reports values in its own canonical form (``maxmemory`` in bytes, ``slave`` for
``replica`` in buffer limits, lower-case enums), so values are normalised before comparing:
a wanted ``maxmemory: 1gb`` equals the server's ``1073741824`` and causes no change.
"""

from __future__ import annotations

import re

# Values compared exactly (paths, names, secrets); every other value is case-insensitive in its words.
CASE_SENSITIVE = frozenset((
    "dir", "dbfilename", "logfile", "pidfile", "unixsocket", "aclfile", "appendfilename", "appenddirname",
    "cluster-config-file", "syslog-ident", "masteruser", "masterauth", "requirepass", "tls-cert-file",
    "tls-key-file", "tls-ca-cert-file", "tls-ca-cert-dir", "tls-dh-params-file", "tls-client-cert-file",
    "tls-client-key-file", "tls-key-file-pass", "tls-client-key-file-pass", "tls-ciphers", "tls-ciphersuites",
    "ignore-warnings", "locale-collate", "bind", "replica-announce-ip", "cluster-announce-ip",
))
# Settings whose values are secrets: never shown in results or diffs.
SECRET_SETTINGS = frozenset(("requirepass", "masterauth", "tls-key-file-pass", "tls-client-key-file-pass"))
# Settings that take several lines in a config file; their values add up.
MULTI_LINE = frozenset(("save", "client-output-buffer-limit"))
# Old names Redis still accepts in config files and CONFIG SET.
ALIASES = {
    "slaveof": "replicaof", "slave-serve-stale-data": "replica-serve-stale-data",
    "slave-read-only": "replica-read-only", "slave-priority": "replica-priority",
    "slave-lazy-flush": "replica-lazy-flush", "slave-announce-ip": "replica-announce-ip",
    "slave-announce-port": "replica-announce-port", "slave-ignore-maxmemory": "replica-ignore-maxmemory",
    "hash-max-ziplist-entries": "hash-max-listpack-entries",
    "hash-max-ziplist-value": "hash-max-listpack-value", "zset-max-ziplist-entries": "zset-max-listpack-entries",
    "zset-max-ziplist-value": "zset-max-listpack-value",
}
HIDDEN = "********"

_MEMORY = re.compile(r"(-?\d+)(b|k|kb|m|mb|g|gb)?", re.I)
_UNITS = {None: 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000 ** 2, "mb": 1024 ** 2, "g": 1000 ** 3, "gb": 1024 ** 3}


class ConfigError(ValueError):
    """A setting that cannot be applied or compared; str() is one sentence."""


def canonical_name(name):
    """The setting's current name, lower case ('SLAVE-READ-ONLY' -> 'replica-read-only')."""
    name = str(name).strip().lower()
    return ALIASES.get(name, name)


def parse_memory(text):
    """Redis memory notation -> bytes: '1gb' -> 1073741824, '1g' -> 10**9, '512' -> 512; None if not a size."""
    found = _MEMORY.fullmatch(str(text).strip())
    if not found:
        return None
    unit = found.group(2).lower() if found.group(2) else None
    return int(found.group(1)) * _UNITS[unit]


def reply_text(value):
    """A name or value from a server reply as text; bytes that are not UTF-8 survive (surrogateescape)."""
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else str(value)


def config_reply(reply):
    """CONFIG GET's reply as {name: value} text: a flat [name, value, ...] list in RESP2, a map in RESP3."""
    items = list(reply.items()) if isinstance(reply, dict) else list(zip(reply[0::2], reply[1::2]))
    return {reply_text(key): reply_text(value) for key, value in items}


def value_text(value):
    """A wanted value as the text CONFIG SET takes: booleans as yes/no, lists joined by spaces."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return " ".join(value_text(item) for item in value)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def normalise(name, value):
    """The form two values of setting ``name`` are compared in."""
    text = value_text(value).strip()
    if canonical_name(name) in CASE_SENSITIVE:
        return text
    words = []
    for word in text.split():
        size = parse_memory(word)
        if size is not None:
            words.append(str(size))
            continue
        word = word.lower()
        words.append({"slave": "replica", "true": "yes", "false": "no"}.get(word, word))
    return " ".join(words)


def shown(name, value):
    """The value as it may appear in results and diffs (secrets hidden)."""
    return HIDDEN if canonical_name(name) in SECRET_SETTINGS and value not in (None, "") else value


def plan_changes(current, wanted):
    """Which wanted settings differ from the server's.

    ``current``: {name: value} from CONFIG GET (names as the server reports them);
    ``wanted``: {name: value} from the task. Returns a list of dicts {name, before, after}
    (``after`` as the text CONFIG SET gets), in the task's order. Raises ConfigError for a
    setting the server does not have.
    """
    known = {canonical_name(name): value for name, value in current.items()}
    changes = []
    for name, value in wanted.items():
        key = canonical_name(name)
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", key):
            raise ConfigError(f"'{name}' is not a configuration parameter name (letters, digits and dashes only).")
        if key not in known:
            raise ConfigError(f"the server has no configuration parameter named '{name}'.")
        after = value_text(value)
        if normalise(key, known[key]) != normalise(key, after):
            changes.append({"name": key, "before": value_text(known[key]), "after": after})
    return changes


def diff_for(changes):
    """The module's diff: before/after of the changed settings only, secrets hidden."""
    return {
        "before": {c["name"]: shown(c["name"], c["before"]) for c in changes},
        "after": {c["name"]: shown(c["name"], c["after"]) for c in changes},
    }


def split_args(line):
    """Split one config file line the way Redis does (sdssplitargs): quotes, \\xHH and \\n escapes.

    Raises ConfigError for unbalanced quotes.
    """
    args, i, n = [], 0, len(line)
    escapes = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "a": "\a"}
    while True:
        while i < n and line[i].isspace():
            i += 1
        if i >= n:
            return args
        current, quote = [], None
        while i < n:
            char = line[i]
            if quote is not None and char == quote:
                quote = None
                if i + 1 < n and not line[i + 1].isspace():
                    raise ConfigError("closing quote must be followed by a space")
            elif quote == '"' and char == "\\" and i + 3 < n and line[i + 1] == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", line[i + 2:i + 4]):
                current.append(chr(int(line[i + 2:i + 4], 16)))
                i += 3
            elif quote == '"' and char == "\\" and i + 1 < n:
                i += 1
                current.append(escapes.get(line[i], line[i]))
            elif quote == "'" and char == "\\" and i + 1 < n and line[i + 1] == "'":
                i += 1
                current.append("'")
            elif quote is not None:
                current.append(char)
            elif char.isspace():
                break
            elif char in "\"'":
                quote = char
            else:
                current.append(char)
            i += 1
        if quote:
            raise ConfigError("unbalanced quotes")
        args.append("".join(current))


def parse_config_file(text):
    """A redis.conf's settings: {name: value text}; multi-line settings (save, buffer limits) joined.

    Returns None when the file cannot be judged on its own (it has 'include' lines).
    """
    settings = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            args = split_args(line)
        except ConfigError:
            continue
        if not args:
            continue
        name = canonical_name(args[0])
        if name == "include":
            return None
        value = " ".join(args[1:])
        if name in MULTI_LINE and name in settings and value:
            settings[name] = f"{settings[name]} {value}".strip()
        else:
            settings[name] = value
    return settings


def file_differs(file_settings, wanted):
    """Names of wanted settings whose config-file value differs (a missing line counts as different)."""
    differing = []
    for name, value in wanted.items():
        key = canonical_name(name)
        if key not in file_settings or normalise(key, file_settings[key]) != normalise(key, value_text(value)):
            differing.append(key)
    return differing
