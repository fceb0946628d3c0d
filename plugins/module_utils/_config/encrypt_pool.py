# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Vault keys derived ahead on threads: each Secret still gets its own salt and 10000 PBKDF2 rounds.

The key derivation (~4 ms a Secret) is the export's largest cost, and it needs the password and a
fresh salt, not the Secret. ``cryptography`` releases the GIL while it derives, so a few threads
keep every CPU deriving while this process imports, connects, lists and writes; each Secret is
sealed with a key of its own when it is written (AES-CTR and HMAC of a Secret take microseconds).
The plaintext never leaves this process, not even through a pipe.

Until the number of Secrets is known (``expect``) the pool derives at most ``ahead`` keys, on one
thread fewer than the CPUs (the caller's thread is busy importing and listing meanwhile); keys
nobody takes are dropped. A key is handed out once, and ``vault.SealKey`` refuses a second use.
"""

from __future__ import annotations

import collections
import sys
import threading

from ansible_collections.sre.runbooks.plugins.module_utils._config import vault

# Keys derived before the Secrets are counted: about a second of two CPUs, the time the module
# spends importing, connecting and listing the Secrets. An export without Secrets wastes at most these.
AHEAD = 256
MAX_THREADS = 4
# A thread that finished a derivation needs the GIL for microseconds to hand the key over; with
# Python's default switch interval (5 ms) it waits up to that long behind the caller's YAML and tar
# work, more than a derivation lasts, so the pool's CPUs would idle half the time.
SWITCH_INTERVAL = 0.001
_JOIN_TIMEOUT = 10


def threads_for(cpus):
    """How many deriving threads to run on ``cpus`` CPUs (at least one, so listing and deriving overlap)."""
    return max(1, min(cpus or 1, MAX_THREADS))


class KeyPool:
    """Derives single-use ``vault.SealKey``s on ``threads`` threads; ``take`` hands them out, in any order.

    Use it as a context manager (or call ``close``): leaving stops the threads and drops the keys
    not taken.
    """

    def __init__(self, password, threads, ahead=AHEAD):
        self._password = password
        # Threads deriving before ``expect``: leave a CPU to the caller, which is importing and listing.
        self._running = max(1, threads - 1)
        self._ready = collections.deque()
        self._cond = threading.Condition()
        # Keys to hand out in all (taken ones included); ``expect`` sets it once the Secrets are counted.
        self._goal = ahead
        self._started = 0
        self._deriving = 0
        self._taken = 0
        self._closed = False
        self._error = None
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_interval, SWITCH_INTERVAL))
        self._threads = [threading.Thread(target=self._derive, args=(number,), name=f"vault-keys-{number}",
                                          daemon=True)
                         for number in range(threads)]
        for thread in self._threads:
            thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    @property
    def derived(self):
        """How many derivations have started (the keys this run paid for)."""
        with self._cond:
            return self._started

    @property
    def available(self):
        """How many keys are derived and not taken yet."""
        with self._cond:
            return len(self._ready)

    def _idle(self, number):
        """Whether thread ``number`` has nothing to do now (called with the lock held)."""
        return number >= self._running or self._taken + len(self._ready) + self._deriving >= self._goal

    def _derive(self, number):
        while True:
            with self._cond:
                while not self._closed and self._idle(number):
                    self._cond.wait()
                if self._closed:
                    return
                self._started += 1
                self._deriving += 1
            try:
                key = vault.SealKey(self._password)
            except Exception as exc:  # pylint: disable=broad-exception-caught
                # Raised again by take(), in the thread that can report it.
                with self._cond:
                    self._deriving -= 1
                    self._error = exc
                    self._cond.notify_all()
                return
            with self._cond:
                self._deriving -= 1
                if not self._closed:
                    self._ready.append(key)
                self._cond.notify_all()

    def expect(self, count):
        """Exactly ``count`` more keys will be taken: derive that many, and no more."""
        with self._cond:
            self._goal = self._taken + count
            self._running = len(self._threads)
            surplus = len(self._ready) - count
            for _extra in range(max(0, surplus)):
                self._ready.pop()
            self._cond.notify_all()

    def take(self, timeout=None):
        """A key of its own for one Secret, waiting for its derivation; VaultError when none can come."""
        with self._cond:
            # Taking more than expected is allowed: the pool derives one more.
            self._goal = max(self._goal, self._taken + 1)
            self._running = len(self._threads)
            self._cond.notify_all()
            while not self._ready:
                if self._error is not None:
                    raise vault.VaultError(f"Deriving a vault key failed ({self._error.__class__.__name__}: "
                                           f"{str(self._error)[:120]}).")
                if self._closed:
                    raise vault.VaultError("The vault key pool was closed before every Secret was sealed.")
                if not self._cond.wait(timeout):
                    raise vault.VaultError(f"No vault key was derived within {timeout} s.")
            self._taken += 1
            return self._ready.popleft()

    def close(self):
        """Stop deriving and drop the keys not taken (idempotent)."""
        with self._cond:
            self._closed = True
            self._ready.clear()
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(_JOIN_TIMEOUT)
        sys.setswitchinterval(self._switch_interval)
