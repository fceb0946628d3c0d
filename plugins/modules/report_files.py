#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: report_files
short_description: Write a run's report files (JSON, Markdown) on the controller in one task
version_added: 0.1.0
description:
  - Writes each of O(files) into the directory O(dest) on the controller, creating the directory if needed. Each
    file is written to a temporary file beside it and renamed over the old one, so a reader never sees half a
    report; files whose content and mode are already right are left alone.
  - The roles leave their JSON and Markdown reports with it, in one task run in the controller's own process, where
    a M(ansible.builtin.copy) or M(ansible.builtin.template) task per file costs a module run each.
  - Reports are run artifacts rather than managed state, so the roles run this task with C(check_mode=false)
    and C(changed_when=false); on its own it honours check mode and reports what would change.
author:
  - sre.runbooks maintainers (@sre-runbooks)
extends_documentation_fragment:
  - sre.runbooks.attributes
  - sre.runbooks.attributes.controller_action
  - sre.runbooks.report_files
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  dest:
    description: Directory on the controller for the files; created (with O(directory_mode)) when missing.
    type: path
    required: true
  files:
    description:
      - The files to write, as a mapping of file name (no directory part) to its text.
    type: dict
    required: true
notes:
  - A name with a directory part, a path that exists and is not a regular file, or a bad mode fails the task in one
    sentence before anything is written.
seealso:
  - module: ansible.builtin.copy
  - module: ansible.builtin.template
"""

EXAMPLES = r"""
---
- name: Write the health check's JSON and Markdown reports
  sre.runbooks.report_files:
    dest: "{{ health_check_report_dir }}"
    files:
      "health_check-{{ inventory_hostname }}.json": "{{ health_check_result | to_nice_json }}\n"
      "health_check-{{ inventory_hostname }}.md": "{{ lookup('ansible.builtin.template', 'report.md.j2') }}"
  check_mode: false
  changed_when: false
"""

RETURN = r"""
dest:
  description: The directory written to.
  returned: always
  type: str
  sample: /srv/reports/production
files:
  description: The paths of every file in O(files).
  returned: always
  type: list
  elements: str
  sample: [/srv/reports/production/health_check-platform-cluster.json]
written:
  description: The paths of the files written (or that would be, in check mode) because their content or mode differed.
  returned: always
  type: list
  elements: str
  sample: [/srv/reports/production/health_check-platform-cluster.json]
"""
