# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Vault-encrypt many Secrets on every CPU: each one still gets its own salt and 10000 PBKDF2 rounds.

The key derivation (~5 ms a Secret) holds the GIL, so threads do not help; a few forked worker
processes do, on an export with many Secrets. The plaintext travels to them through pipes (memory),
never through a file. Where processes cannot be forked, or there are few Secrets, the work is
done in this process.
"""

from __future__ import annotations

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


def encrypt_all(plaintexts, password, cpus=None):
    """The vault text of each plaintext (bytes), in order."""
    plaintexts = list(plaintexts)
    workers = workers_for(len(plaintexts), os.cpu_count() if cpus is None else cpus)
    if workers:
        try:
            import multiprocessing
            context = multiprocessing.get_context("fork")
            with context.Pool(workers) as pool:
                return pool.map(_encrypt, [(text, password) for text in plaintexts], chunksize=8)
        except (ImportError, ValueError, OSError):
            pass  # no fork here (or no resources for it): encrypt in this process
    return [vault.encrypt(text, password) for text in plaintexts]
