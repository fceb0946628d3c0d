# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The base of redis_maintain's operations that need more than one function (backup, config)."""

from __future__ import annotations


class MaintainerOperation:
    """One operation over the running RedisMaintainer, with short names for the parts it uses."""

    def __init__(self, maintainer):
        self.maintainer = maintainer
        self.module = maintainer.module
        self.client = maintainer.client
        self.params = maintainer.params
        self.check_mode = maintainer.check_mode
        self.address = maintainer.address

    @classmethod
    def run_on(cls, maintainer):
        """Build one for ``maintainer`` and run it: the form maintainer.OPERATION_RUNNERS calls."""
        cls(maintainer).run()

    def run(self):
        raise NotImplementedError
