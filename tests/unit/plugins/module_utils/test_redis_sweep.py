"""The TTL sweep's pure logic: Redis glob patterns, the script's contract, pacing and totals.

The pattern emitters are held against ``stringmatch``, a line-by-line port of Redis 7.0's
``stringmatchlen()`` (src/util.c) written independently of the module's parser.
"""

from __future__ import annotations

import itertools
import random
import re

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._redis.sweep import (
    ANY,
    CLASS,
    LITERAL,
    MAX_BATCH_SIZE,
    STAR,
    SWEEP_SCRIPT,
    PatternError,
    SweepTotals,
    check_sweep_options,
    choose_expire_mode,
    effective_batch,
    first_matching,
    glob_to_lua,
    glob_to_regex,
    lua_pattern_bytes,
    pacing_delay,
    parse_glob,
    parse_script_reply,
    remaining_budget,
    scripting_unavailable,
    validate_patterns,
    version_tuple,
)


def _signed(byte):
    return byte - 256 if byte > 127 else byte


def stringmatch(pattern: bytes, string: bytes) -> bool:
    """Redis' stringmatchlen(pattern, string, nocase=0), ported statement by statement."""

    def impl(pi, si):
        plen, slen = len(pattern) - pi, len(string) - si
        while plen and slen:
            char = pattern[pi]
            if char == ord("*"):
                while plen > 1 and pattern[pi + 1] == ord("*"):
                    pi += 1
                    plen -= 1
                if plen == 1:
                    return True
                while slen:
                    if impl(pi + 1, si):
                        return True
                    si += 1
                    slen -= 1
                return False
            if char == ord("?"):
                si += 1
                slen -= 1
            elif char == ord("["):
                pi += 1
                plen -= 1
                negate = plen > 0 and pattern[pi] == ord("^")
                if negate:
                    pi += 1
                    plen -= 1
                match = False
                while True:
                    if plen >= 2 and pattern[pi] == ord("\\"):
                        pi += 1
                        plen -= 1
                        if pattern[pi] == string[si]:
                            match = True
                    elif plen >= 1 and pattern[pi] == ord("]"):
                        break
                    elif plen == 0:
                        pi -= 1
                        plen += 1
                        break
                    elif plen >= 3 and pattern[pi + 1] == ord("-"):
                        start, end = _signed(pattern[pi]), _signed(pattern[pi + 2])
                        if start > end:
                            start, end = end, start
                        pi += 2
                        plen -= 2
                        if start <= _signed(string[si]) <= end:
                            match = True
                    elif pattern[pi] == string[si]:
                        match = True
                    pi += 1
                    plen -= 1
                if negate:
                    match = not match
                if not match:
                    return False
                si += 1
                slen -= 1
            else:
                if char == ord("\\") and plen >= 2:
                    pi += 1
                    plen -= 1
                if pattern[pi] != string[si]:
                    return False
                si += 1
                slen -= 1
            pi += 1
            plen -= 1
            if slen == 0:
                while plen and pattern[pi] == ord("*"):
                    pi += 1
                    plen -= 1
                break
        return plen == 0 and slen == 0

    return impl(0, 0)


def regex_match(pattern, key):
    return glob_to_regex(pattern).fullmatch(key) is not None


@pytest.mark.parametrize("pattern, key, expected", [
    (b"request:*", b"request:1", True),
    (b"request:*", b"request:", True),
    (b"request:*", b"requests:1", False),
    (b"*:session", b"user:42:session", True),
    (b"user:?", b"user:7", True),
    (b"user:?", b"user:77", False),
    (b"h[ae]llo", b"hallo", True),
    (b"h[^e]llo", b"hello", False),
    (b"h[a-b]llo", b"hbllo", True),
    (b"h[b-a]llo", b"hbllo", True),  # Redis swaps reversed range bounds
    (b"a\\*b", b"a*b", True),
    (b"a\\*b", b"axb", False),
    (b"a[\\]]b", b"a]b", True),
    (b"a[]b", b"ab", False),
    (b"a[^]b", b"axb", True),
    (b"a[bc", b"ab", True),  # an unterminated class takes the rest of the pattern
    (b"a\\", b"a\\", True),  # a trailing backslash is literal
    (b"a**b", b"ab", True),
    (b"%d.$(x)+", b"%d.$(x)+", True),  # Lua's magic characters are plain in globs
    (b"k\x00*", b"k\x00v", True),
    (b"caf\xc3\xa9:*", b"caf\xc3\xa9:1", True),
])
def test_emitters_agree_with_redis_on_known_cases(pattern, key, expected):
    assert stringmatch(pattern, key) is expected
    assert regex_match(pattern, key) is expected


def test_emitters_agree_with_redis_on_generated_patterns():
    rng = random.Random(20240607)
    pattern_alphabet = b"ab*?[]^-\\"
    key_alphabet = b"ab]^-\\["
    keys = [bytes(k) for length in range(1, 5) for k in itertools.product(key_alphabet[:4], repeat=length)]
    keys += [bytes(rng.choice(key_alphabet) for _char in range(rng.randint(1, 6))) for _key in range(300)]
    mismatches = []
    for _round in range(1500):
        pattern = bytes(rng.choice(pattern_alphabet) for _char in range(rng.randint(1, 7)))
        regex = glob_to_regex(pattern)
        for key in keys:
            if (regex.fullmatch(key) is not None) != stringmatch(pattern, key):
                mismatches.append((pattern, key))
    assert not mismatches[:10]


def test_signed_char_ranges_follow_redis():
    # Redis compares range bounds as C signed chars: [a-\xff] is really [\xff..a] = -1..97.
    pattern = b"[a-\xff]"
    for byte in range(256):
        key = bytes([byte])
        assert regex_match(pattern, key) == stringmatch(pattern, key), byte


def test_parse_glob_tokens():
    assert parse_glob("a**?[^b-c\\]]\\*") == [
        (LITERAL, ord("a")), (STAR,), (ANY,), (CLASS, frozenset(b"bc]"), True), (LITERAL, ord("*")),
    ]


@pytest.mark.parametrize("pattern, lua", [
    ("request:*", "^request%:.*$"),
    ("user:?", "^user%:.$"),
    ("h[ae]llo", "^h[ae]llo$"),
    ("h[^a-c]", "^h[^abc]$"),
    ("50%", "^50%%$"),
    ("a.b", "^a%.b$"),
    ("a[]b", "^a[^%z\x01-\xff]b$"),
    ("a[^]b", "^a.b$"),
    ("x\x00", "^x%z$"),
    ("k1", "^k1$"),  # digits stay bare: '%1' would be a back-reference in Lua
])
def test_lua_pattern_text(pattern, lua):
    assert glob_to_lua(pattern) == lua


def test_lua_pattern_bytes_are_latin1_of_the_key_bytes():
    assert lua_pattern_bytes("caf\u00e9:*") == b"^caf%\xc3%\xa9%:.*$"


def test_lua_escapes_every_non_alphanumeric_byte():
    pattern = bytes(range(1, 256)).replace(b"*", b"").replace(b"?", b"").replace(b"[", b"").replace(b"\\", b"")
    lua = glob_to_lua(pattern)[1:-1]
    items = re.findall(r"%.|.", lua, re.S)
    assert len(items) == len(pattern)
    for item, byte in zip(items, pattern):
        char = chr(byte)
        assert item == (char if char.isascii() and char.isalnum() else "%" + char)


def test_script_contract():
    # ARGV layout and reply shape the module relies on.
    assert "ARGV[5 + p]" in SWEEP_SCRIPT
    assert "redis.call('SCAN', cursor, 'COUNT', count)" in SWEEP_SCRIPT
    assert "'EXPIRE', key, ttl, 'NX'" in SWEEP_SCRIPT
    assert parse_script_reply([b"42", 1000, 0, 750, 700, 10, 10], 2) == (b"42", 1000, False, [(750, 700), (10, 10)])
    assert parse_script_reply([0, 5, 1, 5, 5], 1) == (b"0", 5, True, [(5, 5)])
    with pytest.raises(ValueError):
        parse_script_reply([b"0", 1, 0], 1)


@pytest.mark.parametrize("patterns, expected", [
    (["a:*"], ["a:*"]),
    (["a:*", "b:*", "a:*"], ["a:*", "b:*"]),
])
def test_validate_patterns(patterns, expected):
    assert validate_patterns(patterns) == expected


@pytest.mark.parametrize("patterns", [None, [], ["a", ""]])
def test_validate_patterns_refuses(patterns):
    with pytest.raises(PatternError, match=r"\.$"):
        validate_patterns(patterns)


@pytest.mark.parametrize("ttl, batch, max_keys, rate, message", [
    (0, 1000, None, None, "ttl must be a positive"),
    (None, 1000, None, None, "ttl must be a positive"),
    (60, 0, None, None, "batch_size must be between"),
    (60, MAX_BATCH_SIZE + 1, None, None, "batch_size must be between"),
    (60, 1000, 0, None, "max_keys must be at least 1"),
    (60, 1000, None, 0, "rate_limit must be at least 1"),
])
def test_check_sweep_options(ttl, batch, max_keys, rate, message):
    with pytest.raises(PatternError, match=message):
        check_sweep_options(ttl, batch, max_keys, rate)


def test_check_sweep_options_accepts_sane_values():
    check_sweep_options(86400, 1000, None, None)
    check_sweep_options(1, MAX_BATCH_SIZE, 1, 1)


@pytest.mark.parametrize("version, check, mode", [
    ("7.0.15", False, "nx"),
    ("7.2.4", False, "nx"),
    ("6.2.14", False, "ttl"),
    ("5.0.7", False, "ttl"),
    ("garbage", False, "ttl"),
    ("7.0.15", True, "count"),
])
def test_choose_expire_mode(version, check, mode):
    assert choose_expire_mode(version, check) == mode


def test_version_tuple():
    assert version_tuple("7.0.15") == (7, 0, 15)
    assert version_tuple("") == (0,)


@pytest.mark.parametrize("batch, rate, expected", [
    (1000, None, 1000),
    (1000, 100000, 1000),
    (1000, 5000, 500),
    (1000, 5, 1),
])
def test_effective_batch(batch, rate, expected):
    assert effective_batch(batch, rate) == expected


@pytest.mark.parametrize("examined, rate, elapsed, delay", [
    (1000, None, 0.0, 0.0),
    (1000, 1000, 0.25, 0.75),
    (1000, 1000, 2.0, 0.0),
    (5000, 10000, 0.1, 0.4),
])
def test_pacing_delay(examined, rate, elapsed, delay):
    assert pacing_delay(examined, rate, elapsed) == pytest.approx(delay)


def test_pacing_keeps_the_average_rate():
    # Simulate batches that take no time: after pacing, the rate equals the limit.
    rate, batch, clock, examined = 2000, 200, 0.0, 0
    for _batch in range(50):
        examined += batch
        clock += pacing_delay(examined, rate, clock)
    assert examined / clock == pytest.approx(rate)


@pytest.mark.parametrize("max_keys, updated, budget", [(None, 10, -1), (100, 10, 90), (100, 100, 0), (100, 150, 0)])
def test_remaining_budget(max_keys, updated, budget):
    assert remaining_budget(max_keys, updated) == budget


@pytest.mark.parametrize("message, unavailable", [
    ("unknown command 'EVALSHA', with args beginning with: ...", True),
    ("ERR unknown command 'SCRIPT'", True),
    ("NOPERM this user has no permissions to run the 'evalsha' command", True),
    ("ERR Error running script (call to f_x): @user_script:3: ...", True),
    ("BUSY Redis is busy running a script", False),
    ("OOM command not allowed when used memory > 'maxmemory'", True),
    ("READONLY You can't write against a read only replica.", False),
])
def test_scripting_unavailable(message, unavailable):
    assert scripting_unavailable(message) is unavailable


def test_sweep_totals():
    totals = SweepTotals(["a:*", "b:*"])
    totals.add(1000, [(10, 5), (3, 0)])
    totals.add(500, [(2, 2), (1, 1)], stopped=True)
    data = totals.as_dict()
    assert data["scanned"] == 1500 and data["matched"] == 16 and data["updated"] == 8
    assert data["already_expiring"] == 8 and data["calls"] == 2 and data["max_keys_reached"] is True
    assert data["per_pattern"] == [{"pattern": "a:*", "matched": 12, "updated": 7},
                                   {"pattern": "b:*", "matched": 4, "updated": 1}]


def test_first_matching_prefers_the_first_pattern():
    regexes = [glob_to_regex("request:*"), glob_to_regex("*")]
    assert first_matching(regexes, b"request:1") == 0
    assert first_matching(regexes, b"other") == 1
    assert first_matching([glob_to_regex("x")], b"y") is None
