# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""AWX content from the roles: survey specs built from meta/argument_specs.yml.

The logic is module_utils/_awx/survey.py (unit-tested there); the filter is documented in
awx_survey.yml next to this file.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._awx import survey as awx_survey_lib


def awx_survey(spec, variables, name="", description="", required=None):
    try:
        return awx_survey_lib.survey(spec, variables, name, description, required)
    except awx_survey_lib.SurveyError as exc:
        # Imported when needed, like plugins/filter/compliance.py does (ansible.errors changes
        # module_utils' warnings for the whole process).
        from ansible.errors import AnsibleFilterError  # pylint: disable=import-outside-toplevel
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    """The AWX filters."""

    def filters(self):
        return {"awx_survey": awx_survey}
