# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Checks every module applies to what users and servers hand it, each failing with one sentence.

The argument spec checks types; these check meaning: a threshold must be a finite number (a NaN
compares False with everything, so a NaN gate would pass every experiment), a URL must be http(s)
with a host, a user's format template may only use the fields we offer, a path we delete must lie
inside the folder we own, and text sent to a server must not carry NUL or line breaks.
"""

from __future__ import annotations

import math
import os
import string
from urllib.parse import urlsplit

# Long values are cut in messages: a 400-digit number or a pasted file makes no readable sentence.
_SHOWN = 60


class InputError(ValueError):
    """A value a module was given cannot be used; ``str()`` is one sentence naming the option."""


def shown(value):
    """``repr`` of a value, cut to a readable length for messages."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN - 3] + "..."


def finite_number(value, option, minimum=None, maximum=None):
    """Return ``value`` as a finite float within [minimum, maximum]; raise InputError otherwise.

    Booleans are refused: ``True`` as a threshold is always a mistake, never 1.0.
    """
    if isinstance(value, bool):
        raise InputError(f"{option} must be a number, not {shown(value)}.")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{option} must be a number, not {shown(value)}.") from None
    if not math.isfinite(number):
        raise InputError(f"{option} must be a finite number, not {shown(value)}.")
    return _within(number, value, option, minimum, maximum, "g")


def bounded_int(value, option, minimum=None, maximum=None):
    """Return ``value`` as an int within [minimum, maximum]; raise InputError otherwise."""
    not_whole = InputError(f"{option} must be a whole number, not {shown(value)}.")
    if isinstance(value, bool):
        raise not_whole
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise not_whole from None
    if number != value and not isinstance(value, str):
        raise not_whole
    return _within(number, value, option, minimum, maximum)


def _within(number, value, option, minimum, maximum, spec=""):
    """``number`` when it lies within [minimum, maximum] (None: no bound); the bounds are shown with ``spec``."""
    if minimum is not None and number < minimum:
        raise InputError(f"{option} must be at least {minimum:{spec}}, not {shown(value)}.")
    if maximum is not None and number > maximum:
        raise InputError(f"{option} must be at most {maximum:{spec}}, not {shown(value)}.")
    return number


def plain_text(value, option, allow_newlines=False):
    """Return ``value`` when it has no NUL byte (nor CR/LF unless allowed); raise InputError otherwise.

    A NUL cuts a C string where the server reads it (libpq, hiredis), so the module would talk
    to another host or database than the one named; CR/LF in an HTTP header splits the request.
    """
    text = "" if value is None else str(value)
    if "\x00" in text:
        raise InputError(f"{option} must not contain a NUL byte.")
    if not allow_newlines and ("\r" in text or "\n" in text):
        raise InputError(f"{option} must not contain a line break.")
    return text


def http_url(value, option):
    """Return ``value`` when it is an http(s) URL with a host; raise InputError otherwise."""
    text = plain_text(value, option).strip()
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError on a port out of range or not a number
    except ValueError:
        raise InputError(f"{option} is not a valid URL: {shown(text)}.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{option} must be an http:// or https:// URL with a host, not {shown(text)}.")
    if port == 0 or any(ch.isspace() for ch in text):
        raise InputError(f"{option} is not a valid URL: {shown(text)}.")
    return text


def safe_format(template, option, fields):
    """Fill ``template`` from ``fields`` (a dict); raise InputError on any field, conversion or spec we do not offer.

    ``str.format`` on a user's template can raise half a dozen exception types, and with
    attribute or index access (``{x.__class__}``) it can read what it should not: only plain
    names from ``fields`` with the ``!s``/``!r`` conversions and a format spec are allowed.
    """
    text = plain_text(template, option, allow_newlines=True)
    offered = ", ".join(sorted(fields))
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise InputError(f"{option} is not a valid template ({exc}); it may use {offered}.") from None
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if "{" in (spec or ""):
            raise InputError(f"{option} nests a field inside a format spec, which is not allowed.")
        if name not in fields:
            raise InputError(f"{option} uses {{{name}}}, which is not offered; it may use {offered}.")
        if conversion not in (None, "", "s", "r"):
            raise InputError(f"{option} uses the conversion !{conversion}, which is not allowed; use !s or !r.")
    try:
        return text.format(**fields)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise InputError(f"{option} cannot be filled in: {exc}.") from None


def contained_path(path, root):
    """True when ``path`` resolves (links followed) to ``root`` itself or to something inside it."""
    try:
        real_root = os.path.realpath(root)
        real_path = os.path.realpath(path)
        return os.path.commonpath([real_root, real_path]) == real_root
    except (TypeError, ValueError, OSError):
        return False


def os_error_sentence(exc, action="use", where=None):
    """One sentence for an OSError: what we tried, on which path, and the system's reason.

    ``dest`` under /proc, an existing file given as a folder, a folder below a file, a full disk:
    the system's reason ("Not a directory", "No space left on device") is what the operator needs.
    ``where`` names the path when the caller knows it better than the exception does.
    """
    reason = exc.strerror or str(exc).strip() or exc.__class__.__name__
    if where is None:
        where = exc.filename if exc.filename is not None else "a file"
        where = f"{where} and {exc.filename2}" if getattr(exc, "filename2", None) else where
    return f"Cannot {action} {where}: {reason.rstrip('.')}."
