# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The argument spec of the health_check_report action (plugins/action/health_check_report.py), importable
without the controller's code (the bad-input suite generates cases from it)."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._common.report_files_args import ARGUMENT_SPEC as FILES_SPEC
from ansible_collections.sre.runbooks.plugins.module_utils._health.judge import PARTS, ROW_ORDER

ARGUMENT_SPEC = {
    "reads": {"type": "dict", "required": True},
    "tagged_parts": {"type": "list", "elements": "str", "choices": list(PARTS), "default": list(PARTS)},
    "checks": {"type": "list", "elements": "str", "choices": list(ROW_ORDER), "required": True},
    "settings": {"type": "dict", "default": {}},
    "fail_on": {"type": "str", "choices": ["warning", "critical", "never"], "default": "critical"},
    "environment": {"type": "str", "default": ""},
    "started_at": {"type": "str"},
    "name": {"type": "str", "required": True},
    "markdown_template": {"type": "str", "default": "report.md.j2"},
    # Written by report_files' write_reports, with its options.
    **{option: FILES_SPEC[option] for option in ("dest", "mode", "directory_mode")},
}
