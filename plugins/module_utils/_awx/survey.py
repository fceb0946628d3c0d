# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""AWX surveys from a role's meta/argument_specs.yml: the spec is the one source of truth.

Pure functions, unit-tested in tests/unit/plugins/module_utils/test_awx_survey.py; the filter
sre.runbooks.awx_survey (plugins/filter/awx.py) calls them.
"""

from __future__ import annotations

import re

# AWX survey types of the argument spec's option types (for options without choices).
SCALAR_TYPES = {"str": "text", "int": "integer", "float": "float", "path": "text"}
# A bool is a two-answer multiple choice: AWX passes the answer as text, which the role's
# argument validation converts back to a bool.
BOOL_CHOICES = ["true", "false"]
# ansible-doc markup (C(x), O(x=y), M(fqcn)): a survey shows plain text.
MARKUP = re.compile(r"\b[A-Z]{1,2}\(([^()]*)\)")


class SurveyError(Exception):
    """An option that cannot be a survey question, named with the reason."""


def _templated(value):
    return isinstance(value, str) and "{{" in value


def question(name, option, required=False):
    """One AWX survey question (a spec item) for the argument spec option ``name``.

    ``required`` makes the question required where the spec does not (a template's target);
    a survey never relaxes the spec.
    """
    if not isinstance(option, dict):
        raise SurveyError(f"Option {name} has no argument spec to build a survey question from.")
    kind = option.get("type", "str")
    choices = option.get("choices")
    default = option.get("default")
    description = option.get("description", "")
    if isinstance(description, list):
        description = " ".join(str(line) for line in description)
    description = MARKUP.sub(r"\1", str(description))
    item = {"variable": name, "question_name": name.replace("_", " ").capitalize(),
            "question_description": str(description), "required": bool(option.get("required", False) or required)}
    if kind == "list" and choices:
        item.update(type="multiselect", choices=[str(c) for c in choices])
        # AWX's multiselect default is the chosen answers, one per line.
        default = "\n".join(str(c) for c in default) if isinstance(default, list) else default
    elif choices:
        if kind not in SCALAR_TYPES:
            raise SurveyError(f"Option {name} of type {kind} with choices cannot be a survey question.")
        item.update(type="multiplechoice", choices=[str(c) for c in choices])
    elif kind == "bool":
        item.update(type="multiplechoice", choices=list(BOOL_CHOICES))
        default = None if default is None else str(bool(default)).lower()
    elif kind in SCALAR_TYPES:
        item["type"] = SCALAR_TYPES[kind]
    else:
        raise SurveyError(f"Option {name} is of type {kind}, which an AWX survey cannot ask for (text answers only).")
    if option.get("no_log"):
        item["type"] = "password"
    # A templated default ("{{ sre_postgres.host }}") means the inventory decides: AWX would pass the
    # template as literal text, so the question gets no default.
    if default is not None and not _templated(default):
        item["default"] = default if item["type"] in ("integer", "float") else str(default)
    return item


def survey(spec, variables, name="", description="", required=None):
    """The survey_spec of a job template: one question per name in ``variables``, from ``spec``.

    ``spec`` is a role's argument_specs.yml (the whole file, an entry point, or its options).
    """
    if not isinstance(variables, list) or not all(isinstance(v, str) for v in variables):
        raise SurveyError("The survey variables must be a list of option names.")
    options = spec
    if isinstance(options, dict) and "argument_specs" in options:
        options = options["argument_specs"].get("main", {})
    if isinstance(options, dict) and "options" in options:
        options = options["options"]
    if not isinstance(options, dict):
        raise SurveyError(f"The argument spec of survey {name or '(unnamed)'} has no options.")
    unknown = [v for v in variables if v not in options]
    if unknown:
        raise SurveyError(f"Survey {name or '(unnamed)'} asks for {', '.join(unknown)}, which the role's argument spec does not have.")
    required = required or []
    extra = [v for v in required if v not in variables]
    if extra:
        raise SurveyError(f"Survey {name or '(unnamed)'} requires {', '.join(extra)}, which it does not ask for.")
    return {"name": name, "description": description,
            "spec": [question(v, options[v], v in required) for v in variables]}
