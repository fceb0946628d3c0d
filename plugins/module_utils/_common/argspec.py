# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""One way to build a module's argument spec from the backends' connection options.

Every backend package exports a ``*_COMMON_ARGS`` dict documented by its doc fragment. A module's
spec is those dicts (deep-copied, so no module can mutate another's) followed by its own options.
"""

from __future__ import annotations

import copy


def merge_argspecs(*common, **own):
    """Return a fresh argument spec: each dict of ``common`` in order, then the module's ``own`` options."""
    spec = {}
    for part in common:
        spec.update(copy.deepcopy(part))
    spec.update(copy.deepcopy(own))
    return spec
