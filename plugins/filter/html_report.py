# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""html_report: a run's report data as one self-contained HTML page.

The rendering is module_utils/_common/html_report.py (unit-tested there); the filter is documented in
html_report.yml next to this one.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._common.html_report import render


def html_report(result, kind):
    try:
        return render(result, kind)
    except ValueError as exc:
        # Imported when needed, as in compliance.py: importing ansible.errors at module level changes
        # ansible.module_utils' warnings for the whole process.
        from ansible.errors import AnsibleFilterError  # pylint: disable=import-outside-toplevel
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    """The HTML report filter."""

    def filters(self):
        return {"html_report": html_report}
