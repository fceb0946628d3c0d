# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Pure logic of the Redis TTL sweep: key patterns, the server-side script, pacing and totals.

The sweep walks the keyspace with SCAN once, whatever the number of patterns, and gives every
key without an expiry that matches one of them a TTL. The fast path is a Lua script: one call
SCANs one bounded batch and EXPIREs the matching keys inside the server, so the work per call
stays short and the network round trip is paid once per batch instead of once per key. Where
scripting is disabled the same walk runs from the client with pipelines.

Keys are matched here, not with SCAN's MATCH, so the sweep knows how many keys it examined and
can apply several patterns in one pass. Patterns keep Redis's glob rules exactly: they are
parsed the way Redis's ``stringmatchlen()`` reads them and emitted as a Lua pattern (for the
script) and a Python regular expression (for the pipeline fallback). The unit tests hold both
against a port of ``stringmatchlen()``; the integration tests hold the Lua side against the
server's own ``KEYS``.
"""

from __future__ import annotations

import re

STAR = "star"
ANY = "any"
LITERAL = "literal"
CLASS = "class"

# One call of the script: SCAN one batch, match, then EXPIRE (mode 'nx' on Redis >= 7, 'ttl' before),
# or only count the keys without a TTL (mode 'count', used by check mode). Returns
# {next_cursor, examined, stopped, matched_1, updated_1, matched_2, updated_2, ...}; 'stopped' is 1
# when the update budget (max_keys) ran out inside this batch.
SWEEP_SCRIPT = """
local cursor, count, ttl, budget, mode = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local npat = #ARGV - 5
local reply = redis.call('SCAN', cursor, 'COUNT', count)
local keys = reply[2]
local find = string.find
local matched, updated = {}, {}
for p = 1, npat do matched[p] = 0; updated[p] = 0 end
local total, examined, stopped = 0, 0, 0
for i = 1, #keys do
  local key = keys[i]
  examined = i
  for p = 1, npat do
    if find(key, ARGV[5 + p]) then
      matched[p] = matched[p] + 1
      local done = 0
      if mode == 'nx' then
        done = redis.call('EXPIRE', key, ttl, 'NX')
      elseif redis.call('TTL', key) == -1 then
        if mode == 'ttl' then redis.call('EXPIRE', key, ttl) end
        done = 1
      end
      updated[p] = updated[p] + done
      total = total + done
      break
    end
  end
  if budget >= 0 and total >= budget then
    stopped = 1
    break
  end
end
local out = {reply[1], examined, stopped}
for p = 1, npat do out[#out + 1] = matched[p]; out[#out + 1] = updated[p] end
return out
"""

# Errors that mean "this server will not run our script": fall back to client-side pipelines.
_SCRIPTING_UNAVAILABLE = re.compile(
    r"unknown command|NOPERM|not allowed|no permissions|scripting is disabled|command is disabled|"
    r"Error running script|Error compiling script|user_script",
    re.I,
)

MAX_BATCH_SIZE = 100000


class PatternError(ValueError):
    """A key pattern that cannot be used; str() is one sentence."""


def _signed(byte):
    """The byte as C's signed char, the way Redis compares range bounds."""
    return byte - 256 if byte > 127 else byte


def parse_glob(pattern):
    """Tokens of a Redis glob pattern (bytes or str), read exactly as Redis's stringmatchlen() reads it.

    Returns a list of (STAR,), (ANY,), (LITERAL, byte) and (CLASS, frozenset(bytes), negated).
    Runs of '*' collapse into one STAR. Ranges in classes follow Redis: bounds in either order,
    compared as signed chars; an unterminated '[' class takes the rest of the pattern.
    """
    if isinstance(pattern, str):
        pattern = pattern.encode("utf-8", "surrogateescape")
    tokens = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == 0x2A:  # '*'
            while i + 1 < n and pattern[i + 1] == 0x2A:
                i += 1
            tokens.append((STAR,))
        elif char == 0x3F:  # '?'
            tokens.append((ANY,))
        elif char == 0x5B:  # '['
            i += 1
            negated = i < n and pattern[i] == 0x5E  # '^'
            if negated:
                i += 1
            members = set()
            while True:
                if i < n - 1 and pattern[i] == 0x5C:  # '\\' escapes the next byte
                    i += 1
                    members.add(pattern[i])
                elif i < n and pattern[i] == 0x5D:  # ']'
                    break
                elif i >= n:  # unterminated: the class ends with the pattern
                    break
                elif n - i >= 3 and pattern[i + 1] == 0x2D:  # 'a-z'
                    low, high = sorted((_signed(pattern[i]), _signed(pattern[i + 2])))
                    members.update(value & 0xFF for value in range(low, high + 1))
                    i += 2
                else:
                    members.add(pattern[i])
                i += 1
            tokens.append((CLASS, frozenset(members), negated))
        elif char == 0x5C and i + 1 < n:  # '\\x' is a literal x
            i += 1
            tokens.append((LITERAL, pattern[i]))
        else:
            tokens.append((LITERAL, char))
        i += 1
    return tokens


def _lua_char(byte):
    """One byte as a Lua pattern item matching exactly that byte."""
    if byte == 0:
        return "%z"
    char = chr(byte)
    if char.isascii() and char.isalnum():
        return char
    return "%" + char


def glob_to_lua(pattern):
    """The anchored Lua pattern (a str of code points 0-255, to be sent as latin-1 bytes) for a Redis glob."""
    out = ["^"]
    for token in parse_glob(pattern):
        if token[0] == STAR:
            out.append(".*")
        elif token[0] == ANY:
            out.append(".")
        elif token[0] == LITERAL:
            out.append(_lua_char(token[1]))
        else:
            members, negated = token[1], token[2]
            if not members:
                # '[]' matches nothing and '[^]' any byte.
                out.append("." if negated else "[^%z\x01-\xff]")
            else:
                out.append("[" + ("^" if negated else "") + "".join(_lua_char(b) for b in sorted(members)) + "]")
    out.append("$")
    return "".join(out)


def lua_pattern_bytes(pattern):
    """glob_to_lua() as the bytes the script receives."""
    return glob_to_lua(pattern).encode("latin-1")


def glob_to_regex(pattern):
    """A compiled bytes regular expression matching exactly the keys Redis's glob ``pattern`` matches (non-empty keys)."""
    out = []
    for token in parse_glob(pattern):
        if token[0] == STAR:
            out.append(b".*")
        elif token[0] == ANY:
            out.append(b".")
        elif token[0] == LITERAL:
            out.append(re.escape(bytes([token[1]])))
        else:
            members, negated = token[1], token[2]
            if not members:
                out.append(b"." if negated else b"(?!)")
            else:
                body = b"".join(re.escape(bytes([b])) for b in sorted(members))
                out.append(b"[" + (b"^" if negated else b"") + body + b"]")
    return re.compile(b"".join(out), re.DOTALL)


def validate_patterns(patterns):
    """The patterns as a list of non-empty, distinct strings; raises PatternError in one sentence."""
    if not patterns:
        raise PatternError("ttl_sweep needs at least one key pattern in patterns.")
    seen = []
    for pattern in patterns:
        if pattern is None or str(pattern) == "":
            raise PatternError("patterns must not contain an empty pattern.")
        pattern = str(pattern)
        if pattern not in seen:
            seen.append(pattern)
    return seen


def check_sweep_options(ttl, batch_size, max_keys, rate_limit):
    """Raise PatternError (one sentence) for out-of-range sweep options."""
    if ttl is None or ttl < 1:
        raise PatternError(f"ttl must be a positive number of seconds, got {ttl}.")
    if batch_size < 1 or batch_size > MAX_BATCH_SIZE:
        raise PatternError(f"batch_size must be between 1 and {MAX_BATCH_SIZE}, got {batch_size}.")
    if max_keys is not None and max_keys < 1:
        raise PatternError(f"max_keys must be at least 1 when set, got {max_keys}.")
    if rate_limit is not None and rate_limit < 1:
        raise PatternError(f"rate_limit must be at least 1 key per second when set, got {rate_limit}.")


def version_tuple(text):
    """'7.0.15' -> (7, 0, 15); anything unparsable -> (0,)."""
    parts = re.findall(r"\d+", str(text or ""))[:3]
    return tuple(int(p) for p in parts) or (0,)


def choose_expire_mode(redis_version, check_mode):
    """'count' in check mode, 'nx' where EXPIRE has the NX flag (Redis >= 7.0), else 'ttl' (TTL check, then EXPIRE)."""
    if check_mode:
        return "count"
    return "nx" if version_tuple(redis_version) >= (7, 0) else "ttl"


def effective_batch(batch_size, rate_limit):
    """The SCAN COUNT per call: batch_size, but small enough for about ten calls a second under a rate limit."""
    if rate_limit:
        return max(1, min(batch_size, rate_limit // 10 or 1))
    return batch_size


def pacing_delay(examined, rate_limit, elapsed):
    """Seconds to wait so that ``examined`` keys over ``elapsed`` seconds stay within ``rate_limit`` keys/s."""
    if not rate_limit:
        return 0.0
    return max(0.0, examined / float(rate_limit) - elapsed)


def remaining_budget(max_keys, updated):
    """How many more keys may be updated (-1: no cap)."""
    if max_keys is None:
        return -1
    return max(0, max_keys - updated)


def scripting_unavailable(message):
    """True when a script call failed because this server does not let us run scripts (use pipelines instead)."""
    return bool(_SCRIPTING_UNAVAILABLE.search(str(message)))


def restart_between(run_id_before, run_id_after):
    """True when the server answering now is not the one the walk started on (its INFO run_id changed).

    SCAN's guarantees hold for one server process only: a restarted server rebuilds its hash table
    with a new seed, so the old cursor skips keys. Unknown run ids (INFO not permitted) prove nothing.
    """
    return bool(run_id_before) and bool(run_id_after) and run_id_before != run_id_after


def parse_script_reply(reply, npatterns):
    """The script's flat reply -> (next_cursor bytes, examined, stopped, [(matched, updated), ...])."""
    if not isinstance(reply, (list, tuple)) or len(reply) != 3 + 2 * npatterns:
        raise ValueError(f"unexpected reply from the sweep script: {reply!r:.80}")
    cursor = reply[0] if isinstance(reply[0], bytes) else str(reply[0]).encode()
    counts = [(int(reply[3 + 2 * i]), int(reply[4 + 2 * i])) for i in range(npatterns)]
    return cursor, int(reply[1]), bool(reply[2]), counts


class SweepTotals:
    """Running totals of a sweep, per pattern and overall."""

    def __init__(self, patterns):
        self.patterns = list(patterns)
        self.matched = [0] * len(self.patterns)
        self.updated = [0] * len(self.patterns)
        self.examined = 0
        self.calls = 0
        self.max_keys_reached = False
        self.complete = False

    def add(self, examined, counts, stopped=False):
        self.calls += 1
        self.examined += examined
        for index, (matched, updated) in enumerate(counts):
            self.matched[index] += matched
            self.updated[index] += updated
        if stopped:
            self.max_keys_reached = True

    @property
    def total_matched(self):
        return sum(self.matched)

    @property
    def total_updated(self):
        return sum(self.updated)

    def as_dict(self):
        return {
            "scanned": self.examined,
            "matched": self.total_matched,
            "updated": self.total_updated,
            "already_expiring": self.total_matched - self.total_updated,
            "calls": self.calls,
            "complete": self.complete,
            "max_keys_reached": self.max_keys_reached,
            "per_pattern": [
                {"pattern": pattern, "matched": self.matched[i], "updated": self.updated[i]}
                for i, pattern in enumerate(self.patterns)
            ],
        }


def first_matching(regexes, key):
    """Index of the first compiled pattern that matches ``key`` entirely, or None."""
    for index, regex in enumerate(regexes):
        if regex.fullmatch(key):
            return index
    return None
