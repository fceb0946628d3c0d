# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The expected failure of pg_backup and pg_restore: its ``str()`` is one sentence for fail_json."""

from __future__ import annotations


class BackupError(Exception):
    """An expected failure; ``str()`` is one sentence for fail_json."""
