# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Reading what child processes write on their pipes, all at once and up to a deadline."""

from __future__ import annotations

import os
import selectors
import time


def read_pipes(pipes, deadline):
    """``{name: fd}`` -> ``({name: bytes read}, {names whose pipe was still open at deadline})``.

    Reads every pipe as data arrives (a child that writes more than a pipe holds never blocks on a
    reader waiting for another) until each is closed by its writer or ``deadline`` (time.monotonic())
    passes. The descriptors are left open; the caller closes them.
    """
    chunks = {name: [] for name in pipes}
    selector = selectors.DefaultSelector()
    for name, fd in pipes.items():
        selector.register(fd, selectors.EVENT_READ, name)
    open_ends = len(pipes)
    try:
        while open_ends and time.monotonic() < deadline:
            for key, _events in selector.select(max(deadline - time.monotonic(), 0.0)):
                data = os.read(key.fd, 1 << 16)
                if data:
                    chunks[key.data].append(data)
                else:
                    selector.unregister(key.fd)
                    open_ends -= 1
        still_open = {key.data for key in selector.get_map().values()}
    finally:
        selector.close()
    return {name: b"".join(parts) for name, parts in chunks.items()}, still_open
