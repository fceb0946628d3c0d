# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Vault-encrypt many Secrets on every CPU: each one still gets its own salt and 10000 PBKDF2 rounds.

The key derivation (~4 ms a Secret) holds the GIL, so threads do not help; a few forked worker
processes do, on an export with many Secrets, and ``encrypting`` lets them work while the caller
writes the other objects. The plaintext travels to them through pipes (memory), never through a
file. Where processes cannot be forked, or there are few Secrets, the work is done in this process.
"""

from __future__ import annotations

import contextlib
import os

from ansible_collections.sre.runbooks.plugins.module_utils._config import vault

# Below this many Secrets, starting workers costs more than it saves.
MIN_PARALLEL = 32
MAX_WORKERS = 4


def _encrypt(job):
    plaintext, password = job
    return vault.encrypt(plaintext, password)


def workers_for(count, cpus):
    """How many worker processes to use for ``count`` Secrets on ``cpus`` CPUs (0: none, work here)."""
    if count < MIN_PARALLEL or not cpus or cpus < 2:
        return 0
    return min(cpus, MAX_WORKERS)


def _start(jobs, workers):
    """(pool, pending map) encrypting ``jobs`` in worker processes, or (None, None) where none can start."""
    try:
        import multiprocessing
        pool = multiprocessing.get_context("fork").Pool(workers)
    except (ImportError, ValueError, OSError):
        return None, None  # no fork here (or no resources for it): encrypt in this process
    return pool, pool.map_async(_encrypt, jobs, chunksize=8)


@contextlib.contextmanager
def encrypting(plaintexts, password, cpus=None):
    """Start encrypting; yields ``results()``, which returns the vault text of each plaintext, in order.

    Worker processes (when worth it) encrypt while the ``with`` body does other work; leaving the
    block stops them, also on an error.
    """
    jobs = [(text, password) for text in plaintexts]
    workers = workers_for(len(jobs), os.cpu_count() if cpus is None else cpus)
    pool, pending = _start(jobs, workers) if workers else (None, None)
    if pool is None:
        yield lambda: [_encrypt(job) for job in jobs]
        return
    del jobs  # the workers hold the plaintexts now; this process keeps none longer than it must
    try:
        yield pending.get
    finally:
        pool.terminate()
        pool.join()


def encrypt_all(plaintexts, password, cpus=None):
    """The vault text of each plaintext (bytes), in order."""
    with encrypting(plaintexts, password, cpus) as results:
        return results()
