# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""health_check_report: judge the daily health check's reads and write its JSON, Markdown and HTML reports.

Runs in the controller's process, in one step: the verdicts are the pure functions of
module_utils/_health (judge.py), the Markdown report is the role's Jinja template rendered by plain
Jinja (the template lookup deep-copies every variable of the play first), and the files are written as
report_files writes them. The options and results are documented in plugins/modules/health_check_report.py.
"""

from __future__ import annotations

import datetime
import json

from collections.abc import Mapping

import jinja2

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.plugins.action import ActionBase
from ansible.plugins.filter.core import to_nice_json

from ansible_collections.sre.runbooks.plugins.action.report_files import write_reports
from ansible_collections.sre.runbooks.plugins.module_utils._common.html_report import render as render_html
from ansible_collections.sre.runbooks.plugins.module_utils._common.module import readable_sentence, unexpected_error
from ansible_collections.sre.runbooks.plugins.module_utils._health.judge import JudgeError, health_result, judge
from ansible_collections.sre.runbooks.plugins.module_utils._health.report_args import ARGUMENT_SPEC


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def plain(value):
    """The templated arguments as plain Python data (the verdicts compare types; the JSON report sorts keys)."""
    return json.loads(json.dumps(value, default=str))


def render_markdown(path, result):
    """The role's Markdown template over ``health_check_result``, as the template lookup renders it
    (trim_blocks, trailing newlines kept); AnsibleActionFail in one sentence for a broken template."""
    try:
        with open(path, encoding="utf-8") as handle:
            source = handle.read()
        environment = jinja2.Environment(trim_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined,
                                         autoescape=False)  # nosec B701 - Markdown, not HTML
        return environment.from_string(source).render(health_check_result=result)
    except OSError as exc:
        raise AnsibleActionFail(f"Cannot read the Markdown template {path}: {exc.strerror or exc}.") from None
    except jinja2.TemplateError as exc:
        raise AnsibleActionFail(f"The Markdown template {path} does not render: {str(exc).rstrip('.')}.") from None


class ActionModule(ActionBase):
    """Judges every selected check over ``reads``, writes the three reports into ``dest``, returns the result."""

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        try:
            return self._report(super().run(tmp, task_vars), task_vars or {})
        except AnsibleActionFail:
            raise
        except Exception as exc:  # pylint: disable=broad-exception-caught
            # Whatever nobody foresaw is still one sentence, never a traceback in the middle of the report.
            raise AnsibleActionFail(unexpected_error("health_check_report", exc)) from None

    def _report(self, result, task_vars):
        for option in ("reads", "settings"):
            if option in self._task.args and not isinstance(self._task.args[option], (Mapping, type(None))):
                raise AnsibleActionFail(f"{option} must be a mapping, not {type(self._task.args[option]).__name__}.")
        try:
            _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        except AnsibleActionFail as exc:
            raise AnsibleActionFail(readable_sentence(exc.message)) from None
        try:
            template = self._find_needle("templates", args["markdown_template"])
        except AnsibleError:
            raise AnsibleActionFail(f"markdown_template: no template {args['markdown_template']!r} in the role's "
                                    "templates or the playbook's.") from None
        started = utc_now()
        try:
            entries = judge(plain(args["reads"]), args["tagged_parts"], args["checks"], plain(args["settings"]))
        except JudgeError as exc:
            raise AnsibleActionFail(str(exc)) from None
        name, dest = args["name"], args["dest"]
        files = {ext: f"{name}.{ext}" for ext in ("json", "md", "html")}
        run = {"environment": args["environment"], "host": task_vars.get("inventory_hostname", ""),
               "started_at": args["started_at"] or started, "finished_at": utc_now(),
               "check_mode": bool(self._play_context.check_mode)}
        health = health_result(entries, args["fail_on"], run,
                               {"json": f"{dest}/{files['json']}", "markdown": f"{dest}/{files['md']}",
                                "html": f"{dest}/{files['html']}"})
        texts = {files["json"]: to_nice_json(health) + "\n", files["md"]: render_markdown(template, health),
                 files["html"]: render_html(health, "health_check")}
        # Reports are the run's artifacts, not managed state: written in check mode too (CI's compliance
        # run reads them; the result's check_mode says the run only read), never counted as a change.
        written = write_reports(dest, texts, args["mode"], args["directory_mode"], check_mode=False, diff=False)
        result.update(changed=False, health_check_result=health, files=written["files"], written=written["written"])
        return result
