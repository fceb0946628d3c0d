# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""How dump bytes are compressed, hashed and read back: in-process stream consumers and the compressor programs.

A consumer is a callable that takes each chunk of a program's stdout (see
``_postgres.tools.run_chain``); :class:`Writer` stores a dump, :class:`GunzipTail` and
:class:`Tail` read one back to check that it is whole.
"""

from __future__ import annotations

import hashlib
import zlib

from ansible_collections.sre.runbooks.plugins.module_utils._backup.errors import BackupError
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.tools import find_program


class Writer:
    """Receives a dump stream: optionally gzips it (zlib, in this process), hashes it, writes it to a temp file."""

    def __init__(self, handle, gzip_level=None):
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0
        self.raw_size = 0
        # wbits=31: a gzip member (header, deflate data, CRC-32 and length), what the gzip program writes.
        self.compressor = zlib.compressobj(gzip_level, zlib.DEFLATED, 31) if gzip_level else None

    def __call__(self, chunk):
        self.raw_size += len(chunk)
        self._write(self.compressor.compress(chunk) if self.compressor else chunk)

    def close(self):
        if self.compressor:
            self._write(self.compressor.flush())
            self.compressor = None

    def _write(self, data):
        if data:
            self.digest.update(data)
            self.handle.write(data)
            self.size += len(data)


class GunzipTail:
    """Decompresses a gzip stream (several members allowed) into another consumer; the CRC is checked."""

    def __init__(self, target):
        self.target = target
        self.decompressor = zlib.decompressobj(31)

    def __call__(self, chunk):
        while chunk:
            if self.decompressor.eof:  # the previous member ended; the next one starts here
                self.decompressor = zlib.decompressobj(31)
            self.target(self.decompressor.decompress(chunk))
            chunk = self.decompressor.unused_data

    def close(self, path):
        if not self.decompressor.eof:
            raise BackupError(f"The gzip stream of {path} ends early; the file is truncated.")


class Tail:
    """Receives a decompressed stream and keeps only its size and its last bytes."""

    def __init__(self, keep=4096):
        self.keep = keep
        self.tail = b""
        self.size = 0

    def __call__(self, chunk):
        self.size += len(chunk)
        self.tail = (self.tail + chunk[-self.keep:])[-self.keep:]


def compressor_argv(opts):
    """The zstd process behind pg_dump for plain zstd dumps (zlib cannot write zstd in-process)."""
    return [find_program("zstd"), "-q", "-c", f"-{opts['level']}", f"-T{max(1, opts['jobs'])}"]


def decompressor_argv(method, path):
    """The program that writes the decompressed ``path`` to stdout, for ``method`` gzip or zstd."""
    if method == "gzip":
        return [find_program("gzip"), "-d", "-c", path]
    return [find_program("zstd"), "-q", "-d", "-c", path]
