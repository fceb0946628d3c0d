# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The compliance run's report (C8), pure: waivers applied to check entries, and the entries as JUnit XML.

A check entry is ``{"control", "object", "namespace", "status", "message"}`` (module_utils/_k8s/hygiene.py);
status is ``passed``, ``failed`` or ``warning``, and after :func:`apply_waivers` also ``waived``.

A waiver is ``{"control", "object", "reason", "expires"}``: ``control`` and ``object`` are the check's (shell
patterns allowed: ``C8.*``, ``Deployment legacy/*``), ``expires`` a date (YYYY-MM-DD) that is the waiver's
last day. A waiver past its date no longer applies: the check fails again, its message naming the expired
waiver.
"""

from __future__ import annotations

import datetime
import fnmatch
import xml.etree.ElementTree as ET

WAIVER_KEYS = ("control", "object", "reason", "expires")


class ReportError(ValueError):
    """Bad waivers or checks; ``str()`` is one sentence."""


def as_date(value, what):
    """``value`` (a date, a datetime or YYYY-MM-DD) as a date; ReportError naming ``what`` otherwise."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ReportError(f"{what} must be a date as YYYY-MM-DD, not {str(value)[:40]!r}.") from None


def check_waivers(waivers):
    """The waivers with ``expires`` as a date; raise ReportError naming the first bad one."""
    if waivers is None:
        return []
    if not isinstance(waivers, list):
        raise ReportError(f"The waivers must be a list of mappings, not {type(waivers).__name__}.")
    checked = []
    for number, waiver in enumerate(waivers, 1):
        where = f"Waiver {number}"
        if not isinstance(waiver, dict):
            raise ReportError(f"{where} must be a mapping with {', '.join(WAIVER_KEYS)}.")
        missing = [key for key in WAIVER_KEYS if not str(waiver.get(key) or "").strip()]
        if missing:
            raise ReportError(f"{where} ({waiver.get('control')} {waiver.get('object')}) lacks {', '.join(missing)}.")
        checked.append(dict(waiver, expires=as_date(waiver["expires"], f"{where}: expires")))
    return checked


def _matches(waiver, check):
    return fnmatch.fnmatchcase(check["control"], str(waiver["control"])) and \
        fnmatch.fnmatchcase(check["object"], str(waiver["object"]))


def apply_waivers(checks, waivers, today):
    """Checks with the waived failures and warnings as ``waived``; an expired waiver leaves its check failing.

    ``today`` is a date (or YYYY-MM-DD). Each check gains ``waiver`` (the applied or expired waiver, or None).
    """
    today = as_date(today, "today")
    waivers = check_waivers(waivers)
    result = []
    for check in checks:
        check = dict(check, waiver=None)
        if check["status"] in ("failed", "warning"):
            matching = [w for w in waivers if _matches(w, check)]
            valid = [w for w in matching if w["expires"] >= today]
            if valid:
                waiver = valid[0]
                check.update(status="waived", waiver=_public(waiver, False),
                             message=f"waived until {waiver['expires']} ({waiver['reason']}): {check['message']}")
            elif matching:
                waiver = max(matching, key=lambda w: w["expires"])
                check.update(status="failed", waiver=_public(waiver, True),
                             message=f"{check['message']} (waiver expired on {waiver['expires']}: {waiver['reason']})")
        result.append(check)
    return result


def _public(waiver, expired):
    return {"control": str(waiver["control"]), "object": str(waiver["object"]), "reason": str(waiver["reason"]),
            "expires": waiver["expires"].isoformat(), "expired": expired}


def unused_waivers(checks, waivers):
    """Waivers that matched no failing or warning check (stale entries of the waiver file)."""
    used = {(c["waiver"]["control"], c["waiver"]["object"]) for c in checks if c.get("waiver")}
    return [_public(w, False) for w in check_waivers(waivers) if (str(w["control"]), str(w["object"])) not in used]


def counts(checks):
    """Checks by status, plus ``total``."""
    result = {status: 0 for status in ("passed", "failed", "warning", "waived")}
    for check in checks:
        result[check["status"]] = result.get(check["status"], 0) + 1
    result["total"] = len(checks)
    return result


def summarise(checks):
    """``counts`` plus ``failures``: one line ``<control> <object>: <finding>`` per failed check."""
    result = counts(checks)
    result["failures"] = [f"{c['control']} {c['object']}: {c.get('message') or ''}" for c in checks
                          if c["status"] == "failed"]
    return result


def junit_xml(checks, name="compliance", timestamp=None):
    """JUnit XML: one testsuite per control, one testcase per object (classname the control, name the object).

    A failed check is a ``failure`` whose message is the finding; a waived one is ``skipped`` with the waiver;
    a warning passes with the finding in ``system-out``.
    """
    root = ET.Element("testsuites", name=name)
    suites = {}
    for check in checks:
        if not isinstance(check, dict) or not check.get("control") or not check.get("object"):
            raise ReportError("Every check must be a mapping with control, object, status and message.")
        suites.setdefault(check["control"], []).append(check)
    total = counts(checks)
    root.set("tests", str(total["total"]))
    root.set("failures", str(total["failed"]))
    root.set("skipped", str(total["waived"]))
    root.set("errors", "0")
    for control, members in suites.items():
        tally = counts(members)
        suite = ET.SubElement(root, "testsuite", name=control, tests=str(tally["total"]),
                              failures=str(tally["failed"]), skipped=str(tally["waived"]), errors="0")
        if timestamp:
            suite.set("timestamp", str(timestamp))
        for check in members:
            case = ET.SubElement(suite, "testcase", classname=control, name=check["object"])
            message = str(check.get("message") or "")
            if check["status"] == "failed":
                ET.SubElement(case, "failure", message=message, type=control).text = message
            elif check["status"] == "waived":
                ET.SubElement(case, "skipped", message=message)
            elif check["status"] == "warning":
                ET.SubElement(case, "system-out").text = f"warning: {message}"
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
