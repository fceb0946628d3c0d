# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Block-style YAML text of the API's JSON objects, several times faster than PyYAML's representer.

PyYAML's emitter is C (libyaml) but its representer is Python, and it was the largest cost of an
export after the Secrets' key derivation. Objects from the API are JSON: dicts, lists, strings,
numbers, booleans and null, which this writes directly, in the layout ``kubectl get -o yaml``
uses. A string is written plain only when it cannot read back as anything else (it starts with a
letter, holds no character YAML gives a meaning to, and is not a YAML 1.1 boolean or null);
multi-line text becomes a literal block (``|``) when that reads back exactly, and every other
string is double-quoted with JSON's escapes, which YAML shares. The rare string that fits none of
these (non-ASCII text with control characters) is left to PyYAML. ``yaml.safe_load`` of the text
gives back the object, which the unit tests check on awkward values.
"""

from __future__ import annotations

import json
import math
import re

_PLAIN = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_./-]*|/[A-Za-z0-9_./-]*[A-Za-z0-9_])$")
# YAML 1.1 reads these plain words as booleans or null.
_RESERVED = {"y", "yes", "n", "no", "true", "false", "on", "off", "null"}
_BLOCK_SAFE = re.compile(r"^[\x20-\x7e\n]*$")


def _string(text, pad, fallback, key=False):
    if _PLAIN.match(text) and text.lower() not in _RESERVED:
        return text
    if not key and "\n" in text and _BLOCK_SAFE.match(text) and text.strip():
        block = _literal(text, pad)
        if block is not None:
            return block
    if text.isascii() and "\x7f" not in text:
        return json.dumps(text)
    return fallback(text)


def _literal(text, pad):
    """A literal block scalar of ``text`` indented by ``pad``, or None when one would not read back exactly."""
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    first = next(line for line in lines if line)
    if first.startswith(" ") or any(line.endswith(" ") for line in lines):
        return None
    indicator = "|-" if not text.endswith("\n") else ("|+" if text.endswith("\n\n") else "|")
    return indicator + "".join("\n" + (pad + line if line else "") for line in lines)


def _float(value):
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    if "." not in text and "e" in text:  # 1e-05 reads back as a string in YAML 1.1
        text = text.replace("e", ".0e", 1)
    return text


def _scalar(value, pad, fallback):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        return _string(value, pad, fallback)
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    raise TypeError(f"cannot write a {type(value).__name__} as YAML")


def _mapping(data, pad, out, fallback):
    inner = pad + "  "
    for key, value in data.items():
        name = _string(str(key), inner, fallback, key=True)
        if isinstance(value, dict) and value:
            out.append(f"{pad}{name}:")
            _mapping(value, inner, out, fallback)
        elif isinstance(value, list) and value:
            out.append(f"{pad}{name}:")
            _sequence(value, pad, out, fallback)
        else:
            out.append(f"{pad}{name}: {_scalar(value, inner, fallback)}")


def _sequence(items, pad, out, fallback):
    inner = pad + "  "
    for item in items:
        if isinstance(item, dict) and item:
            start = len(out)
            _mapping(item, inner, out, fallback)
            out[start] = pad + "- " + out[start][len(inner):]
        elif isinstance(item, list) and item:
            out.append(pad + "-")
            _sequence(item, inner, out, fallback)
        else:
            out.append(f"{pad}- {_scalar(item, inner, fallback)}")


def dump(data, fallback):
    """The YAML text of a JSON-like mapping; ``fallback(text)`` quotes the strings this does not (PyYAML)."""
    out = []
    _mapping(data, "", out, fallback)
    return "\n".join(out) + "\n"
