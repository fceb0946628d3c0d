# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""``RunbookModule``: AnsibleModule that keeps secrets out of failed argument checks and tracebacks out of results.

ansible-core collects the values of ``no_log`` options in one pass over the argument spec that
stops at the first option whose value has the wrong type (a string given for a dict with
suboptions): every secret, including ones read before the bad option, is then left unmasked in the
failure's ``invocation.module_args``. This is ansible/ansible PR 81631/81672 (open since 2023); no
collection we found works around it. We collect the values again, one option at a time, before
any result leaves the module (the minimal reproducer, which fails once ansible-core is fixed, is
``test_plain_ansible_module_leaks_the_password_when_a_dict_option_gets_a_string`` in
``tests/unit/plugins/module_utils/test_runbook_module.py``).
"""

from __future__ import annotations

import copy
import re
import traceback
from collections.abc import Mapping

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sre.runbooks.plugins.module_utils._common.checks import (
    InputError,
    bounded_int,
    finite_number,
    plain_text,
)


def secret_values(argument_spec, params):
    """Every value of a ``no_log`` option in ``params`` as strings, walking suboptions, never raising."""
    found = set()
    if not isinstance(params, Mapping):
        return found
    for name, spec in (argument_spec or {}).items():
        value = params.get(name)
        if value is None:
            continue
        if spec.get("no_log"):
            found.update(_leaves(value))
        suboptions = spec.get("options")
        if suboptions:
            for entry in value if isinstance(value, list) else [value]:
                found.update(secret_values(suboptions, entry))
    return found


def check_strings(argument_spec, params, prefix=""):
    """Raise InputError for a NUL byte in any string option, suboptions included."""
    for name, spec in (argument_spec or {}).items():
        value = params.get(name) if isinstance(params, Mapping) else None
        if value is None:
            continue
        option = prefix + name
        for text in _leaves(value) if spec.get("type", "str") in ("str", "path", "list", "raw") else ():
            plain_text(text, option, allow_newlines=True)
        if spec.get("options"):
            for entry in value if isinstance(value, list) else [value]:
                check_strings(spec["options"], entry, option + ".")


def check_range(argument_spec, params, path, minimum, maximum, option=None):
    """Raise InputError when the option at ``path`` (dots into suboptions) is outside [minimum, maximum]."""
    option = option or path
    head, _dot, rest = path.partition(".")
    spec = (argument_spec or {}).get(head) or {}
    value = params.get(head) if isinstance(params, Mapping) else None
    if value is None:
        return
    if rest:
        for entry in value if isinstance(value, list) else [value]:
            check_range(spec.get("options"), entry, rest, minimum, maximum, option)
        return
    if spec.get("type") == "int":
        bounded_int(value, option, minimum, maximum)
    else:
        finite_number(value, option, minimum, maximum)


def check_numbers(argument_spec, params, prefix=""):
    """Raise InputError for a NaN, infinite or unconvertible value of any int or float option, suboptions included."""
    for name, spec in (argument_spec or {}).items():
        value = params.get(name) if isinstance(params, Mapping) else None
        if value is None:
            continue
        if spec.get("type") in ("int", "float"):
            finite_number(value, prefix + name)
        if spec.get("options"):
            for entry in value if isinstance(value, list) else [value]:
                check_numbers(spec["options"], entry, prefix + name + ".")


def option_given_text(argument_spec, params, prefix=""):
    """The first option (dotted path) that takes a mapping but was given text, or None."""
    for name, spec in (argument_spec or {}).items():
        value = params.get(name) if isinstance(params, Mapping) else None
        if value is None:
            continue
        if spec.get("type") == "dict" and isinstance(value, str):
            return prefix + name
        if spec.get("options"):
            for entry in value if isinstance(value, list) else [value]:
                if isinstance(entry, str):
                    return prefix + name
                found = option_given_text(spec["options"], entry, prefix + name + ".")
                if found:
                    return found
    return None


_CLASS = re.compile(r"<class '(\w+)'>")
_LONG_WORD = re.compile(r"\S{80,}")


def readable_sentence(msg):
    """ansible-core's argument-check message as one readable sentence: one line, no ``<class 'dict'>``, a full stop."""
    text = " ".join(str(msg).split())
    text = _CLASS.sub(r"a \1", text).replace("'. and ", "' and ")
    text = _LONG_WORD.sub(lambda match: match.group()[:60] + "...", text)
    text = text.rstrip(" :;,")
    return text if text.endswith(".") else text + "."


def short_structure_leaves(argument_spec, params):
    """Leaves shorter than 4 characters of no_log options given as a dict or list (not secrets given as text)."""
    short, texts = set(), set()
    if not isinstance(params, Mapping):
        return short
    for name, spec in (argument_spec or {}).items():
        value = params.get(name)
        if not spec.get("no_log") or value is None:
            continue
        if isinstance(value, (Mapping, list, tuple)):
            short.update(text for text in _leaves(value) if len(text) < 4)
        else:
            texts.add(str(value))
    return short - texts


def _leaves(value):
    """The strings a value is made of (a secret can arrive as a dict or list of them)."""
    if isinstance(value, Mapping):
        return {text for item in value.values() for text in _leaves(item)}
    if isinstance(value, (list, tuple, set)):
        return {text for item in value for text in _leaves(item)}
    text = str(value)
    return {text} if text else set()


def exception_text(exc):
    """An exception as ``Type: first line of its text`` (200 characters at most), or ``Type`` without a text."""
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"{exc.__class__.__name__}: {first}" if first else exc.__class__.__name__


def unexpected_error(what, exc):
    """One sentence for an exception nobody foresaw: "pg_backup stopped on an unexpected error: KeyError: 'name'."."""
    return f"{what} stopped on an unexpected error: {exception_text(exc)}."


class RunbookModule(AnsibleModule):
    """The collection's AnsibleModule: the same, plus the guarantees described above.

    ``ranges`` maps option paths (``"probe.count"``, ``"prometheus_timeout"``) to ``(minimum,
    maximum)``: the argument spec accepts NaN, infinity and 10**9 for a float or int, and a NaN
    timeout or a million workers is never what the operator meant. NaN and infinity are refused
    for every int and float option, ranged or not: a NaN threshold compares False with everything
    and would pass every gate. Every string option is also refused when it carries a NUL byte,
    which C libraries (libpq, hiredis) would cut the value at. ansible-core's own argument-check
    messages are rewritten into one sentence (no ``<class 'dict'>``, long values cut), and a value
    its checks crash on (an infinite float for an int option) fails with a sentence naming the option.
    """

    # False until ansible-core's argument checking is over: its messages are rewritten into sentences.
    _checked = False

    def __init__(self, *args, ranges=None, extra_secrets=None, **kwargs):
        # extra_secrets(params) -> strings: values that are secret by the module's own rules (a
        # ConfigMap key named in 'sensitive'), masked like no_log values, even when argument
        # checking fails. It gets the raw arguments too, so it must not trust their types.
        self._extra_secrets = extra_secrets
        try:
            super().__init__(*args, **kwargs)
        except (SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # pylint: disable=broad-exception-caught
            # ansible-core's checks raise on some values (int() of an infinite float): name the option.
            if self._ending or not hasattr(self, "params"):
                raise
            # (a dict option given text when its suboptions have env fallbacks, such as s3 with AWS_* set).
            given_text = option_given_text(self.argument_spec, self._given)
            try:
                check_numbers(self.argument_spec, self.params)
                message = f"The module arguments could not be checked: {readable_sentence(exc)}"
            except InputError as bad:
                message = str(bad)
            if given_text:
                message = f"{given_text} must be a mapping of suboptions, not text."
            self.fail_json(msg=message)
        self._checked = True
        # A kubeconfig given as a dict (or a list by mistake) is no_log as a whole, so ansible-core
        # masks each of its leaves: 'v1', 'Config', a cluster called 'c'. Masking words of 1-3
        # characters garbles every message ("C********nnot re********ch") and hides no real secret.
        self.no_log_values.difference_update(short_structure_leaves(self.argument_spec, self.params))
        try:
            check_strings(self.argument_spec, self.params)
            check_numbers(self.argument_spec, self.params)
            for path, (minimum, maximum) in (ranges or {}).items():
                check_range(self.argument_spec, self.params, path, minimum, maximum)
        except InputError as exc:
            self.fail_json(msg=str(exc))

    # The arguments as given, before ansible-core's checks convert or drop them (a text given for a
    # list of dicts becomes [] in self.params): messages name the option from these.
    _given = None

    def _load_params(self):
        super()._load_params()
        self._given = copy.deepcopy(self.params)

    def _mask_secrets(self):
        for params in (getattr(self, "params", None), self._given):
            self.no_log_values.update(secret_values(self.argument_spec, params))
            if self._extra_secrets is not None and isinstance(params, Mapping):
                self.no_log_values.update(text for text in self._extra_secrets(params)
                                          if isinstance(text, str) and len(text) >= 4)
        for params in (getattr(self, "params", None), self._given):
            self.no_log_values.difference_update(short_structure_leaves(self.argument_spec, params))

    # Set once the module is ending: whatever exit_json/fail_json raise (SystemExit, or a test
    # double's exception) must pass through run() untouched.
    _ending = False

    def exit_json(self, **kwargs):
        self._ending = True
        self._mask_secrets()
        super().exit_json(**kwargs)

    def fail_json(self, msg, **kwargs):
        self._ending = True
        self._mask_secrets()
        if not self._checked:
            given_text = option_given_text(self.argument_spec, self._given)
            if given_text and "dictionary requested" in msg:
                msg = f"{given_text} must be a mapping of suboptions, not text ({msg})"
            msg = readable_sentence(msg)
        elif "\n" in str(msg):  # a library's multi-line text (botocore's) joined into one line
            msg = " ".join(str(msg).split())
        super().fail_json(msg=msg, **kwargs)

    def run(self, work, what):
        """Call ``work()``; an exception we did not foresee becomes one sentence (the trace goes to -vvv only).

        ``what`` names the job ("pg_backup"), so the sentence reads
        "pg_backup stopped on an unexpected error: KeyError: 'name'.".
        """
        try:
            return work()
        except (SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # pylint: disable=broad-exception-caught
            if self._ending:
                raise
            extra = {"exception": traceback.format_exc()} if self._verbosity >= 3 else {}
            self.fail_json(msg=unexpected_error(what, exc), **extra)
