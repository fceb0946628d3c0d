# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Error text from client libraries and servers, reduced to the few words a one-sentence message needs.

Each backend keeps its own table of causes (pattern -> our words) and its own noise prefixes;
the way a message is cut to its first line and matched against a table is the same for all.
"""

from __future__ import annotations

import re


def first_line(message, prefixes):
    """The first meaningful line of ``message``: each regex of ``prefixes`` removed in turn, no trailing period."""
    for line in str(message).splitlines():
        line = line.strip()
        for prefix in prefixes:
            line = re.sub(prefix, "", line)
        if line:
            return line.rstrip(".")
    return "unknown error"


def matching_cause(text, causes, **values):
    """The template of the first ``(pattern, template)`` in ``causes`` whose pattern is found in ``text``,
    filled with the pattern's groups and ``values``; None when none is found."""
    for pattern, template in causes:
        found = pattern.search(text)
        if found:
            return template.format(*found.groups(), **values)
    return None
