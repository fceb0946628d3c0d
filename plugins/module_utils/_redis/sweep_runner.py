# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""redis_maintain's operation=ttl_sweep: one SCAN walk giving matching keys without an expiry a TTL.

The walk runs as a server-side script where scripting is allowed, else as client-side
pipelines; patterns, the script, pacing and totals are the pure sweep.py's.
"""

from __future__ import annotations

import time

from ansible_collections.sre.runbooks.plugins.module_utils._redis.connection import RedisModuleError, redis_error_text
from ansible_collections.sre.runbooks.plugins.module_utils._redis import sweep


def run_ttl_sweep(maintainer):
    params = maintainer.params
    try:
        patterns = sweep.validate_patterns(params["patterns"])
        sweep.check_sweep_options(params["ttl"], params["batch_size"], params["max_keys"], params["rate_limit"])
    except sweep.PatternError as exc:
        raise RedisModuleError(str(exc)) from exc
    maintainer.refuse_read_only_replica()
    result = SweepRun(maintainer, patterns).run()
    maintainer.result["ttl_sweep"] = result
    maintainer.result["changed"] = result["updated"] > 0
    maintainer.set_diff(
        {"keys_without_ttl": {item["pattern"]: item["updated"] for item in result["per_pattern"]}},
        {"keys_without_ttl": {item["pattern"]: 0 for item in result["per_pattern"]}},
    )


class SweepRun:
    """One TTL sweep: the SCAN walk, by server-side script or client-side pipelines."""

    def __init__(self, maintainer, patterns):
        params = maintainer.params
        self.maintainer = maintainer
        self.client, self.redis = maintainer.client, maintainer.redis
        self.patterns = patterns
        self.ttl, self.max_keys, self.rate_limit = params["ttl"], params["max_keys"], params["rate_limit"]
        self.method = params["sweep_method"]
        self.mode = sweep.choose_expire_mode(maintainer.info.get("redis_version"), maintainer.check_mode)
        # Under a rate limit one batch is about a tenth of a second's keys, so the pacing stays smooth.
        self.batch = sweep.effective_batch(params["batch_size"], params["rate_limit"])
        self.lua_patterns = [sweep.lua_pattern_bytes(p) for p in patterns]
        self.regexes = [sweep.glob_to_regex(p) for p in patterns]
        self.totals = sweep.SweepTotals(patterns)
        self.fallback_reason = None
        self.sha = None
        self.use_script = False

    def run(self):
        started = time.monotonic()
        self.use_script = self.method in ("auto", "script") and self.load_script()
        finished = False
        try:
            self.walk(started)
            finished = True
        finally:
            if not finished:
                # Keep what was done so far in the failed task's result: keys already given a TTL stay so.
                self.maintainer.result["ttl_sweep"] = self.summary(time.monotonic() - started)
        return self.summary(time.monotonic() - started)

    def walk(self, started):
        cursor = b"0"
        while True:
            budget = sweep.remaining_budget(self.max_keys, self.totals.total_updated)
            if budget == 0:
                self.totals.max_keys_reached = True
                return
            if self.use_script:
                reply = self.script_call(cursor, budget)
                if reply is None:  # the server refused the script mid-way: same cursor, pipelines from here
                    self.use_script = False
                    continue
                cursor, examined, stopped, counts = reply
            else:
                cursor, examined, stopped, counts = self.pipeline_batch(cursor, budget)
            self.totals.add(examined, counts, stopped)
            if stopped:
                return
            if cursor in (b"0", 0, "0"):
                self.refuse_restarted_server()
                self.totals.complete = True
                return
            delay = sweep.pacing_delay(self.totals.examined, self.rate_limit, time.monotonic() - started)
            if delay:
                time.sleep(delay)

    def run_id(self):
        """The server's INFO run_id, or None where INFO is not permitted."""
        try:
            return self.client.info("server").get("run_id")
        except self.redis.exceptions.ResponseError:
            return None

    def refuse_restarted_server(self):
        """A walk that ends on another server process than it began on is not complete (redis-py reconnects
        silently between commands, and the old SCAN cursor means nothing to the new process)."""
        if sweep.restart_between(self.maintainer.info.get("run_id"), self.run_id()):
            raise RedisModuleError(
                f"Redis at {self.maintainer.address} restarted during ttl_sweep, so its SCAN walk may have missed keys; "
                "the keys already given a TTL keep it, run the sweep again to finish.")

    def summary(self, duration):
        result = self.totals.as_dict()
        result.update({
            "ttl": self.ttl,
            "method": "script" if self.use_script else "pipeline",
            "expire_mode": self.mode,
            "fallback_reason": self.fallback_reason,
            "batch_size": self.batch,
            "duration_s": round(duration, 3),
            "matched_per_second": round(result["matched"] / duration, 1) if duration > 0 else None,
        })
        return result

    def refuse_script(self, exc):
        """Decide what a script failure means: fall back (returns False) or fail."""
        text = redis_error_text(exc).split(", with args beginning with")[0]
        if self.method == "script" or not sweep.scripting_unavailable(text):
            raise RedisModuleError(f"Redis at {self.maintainer.address} refused the TTL sweep script: {text}.") from exc
        self.fallback_reason = text
        return False

    def load_script(self):
        try:
            self.sha = self.client.execute_command("SCRIPT", "LOAD", sweep.SWEEP_SCRIPT)
        except self.redis.exceptions.ResponseError as exc:
            return self.refuse_script(exc)
        return True

    def script_args(self, cursor, budget):
        return [cursor, self.batch, self.ttl, budget, self.mode] + self.lua_patterns

    def script_call(self, cursor, budget):
        args = self.script_args(cursor, budget)
        try:
            try:
                reply = self.client.execute_command("EVALSHA", self.sha, 0, *args)
            except self.redis.exceptions.NoScriptError:  # the script cache was flushed meanwhile
                reply = self.client.execute_command("EVAL", sweep.SWEEP_SCRIPT, 0, *args)
        except self.redis.exceptions.ResponseError as exc:
            return self.refuse_script(exc) or None
        return sweep.parse_script_reply(reply, len(self.patterns))

    def pipeline_batch(self, cursor, budget):
        """One client-side batch: SCAN, match here, then pipelined EXPIRE NX, or TTL (+ EXPIRE)."""
        next_cursor, keys = self.maintainer.call("SCAN", self.client.scan, cursor=int(cursor), count=self.batch)
        candidates = []
        for index, key in enumerate(keys):
            pattern = sweep.first_matching(self.regexes, key)
            if pattern is not None:
                candidates.append((index, key, pattern))
        done = {}
        total, position, stopped_at = 0, 0, None
        while position < len(candidates):
            room = len(candidates) - position if budget < 0 else min(len(candidates) - position, budget - total)
            chunk = candidates[position:position + room]
            outcome = self.expire_chunk([key for _index, key, _pattern in chunk])
            for (index, _key, _pattern), value in zip(chunk, outcome):
                done[index] = value
                total += value
            position += len(chunk)
            if budget >= 0 and total >= budget:
                stopped_at = chunk[-1][0]
                break
        examined = len(keys) if stopped_at is None else stopped_at + 1
        counts = [[0, 0] for _pattern in self.patterns]
        for index, _key, pattern in candidates:
            if index < examined:
                counts[pattern][0] += 1
                counts[pattern][1] += done.get(index, 0)
        return str(next_cursor).encode(), examined, stopped_at is not None, [tuple(c) for c in counts]

    def expire_chunk(self, keys):
        """1/0 per key: given a TTL now (or, in check mode, would be)."""
        pipe = self.client.pipeline(transaction=False)
        if self.mode == "nx":
            for key in keys:
                pipe.execute_command("EXPIRE", key, self.ttl, "NX")
            return [int(value) for value in self.maintainer.call("EXPIRE NX", pipe.execute)]
        for key in keys:
            pipe.ttl(key)
        without = [1 if int(value) == -1 else 0 for value in self.maintainer.call("TTL", pipe.execute)]
        if self.mode == "ttl" and any(without):
            pipe = self.client.pipeline(transaction=False)
            for key, flag in zip(keys, without):
                if flag:
                    pipe.expire(key, self.ttl)
            self.maintainer.call("EXPIRE", pipe.execute)
        return without
