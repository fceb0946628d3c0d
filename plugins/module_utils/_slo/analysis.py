# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""A bake period as repeated SLO measurements, judged the way Argo Rollouts judges an AnalysisRun. No I/O.

Each measurement evaluates every objective once and is ``Successful``, ``Failed`` (an objective at
or past ``failed_status``), ``Inconclusive`` (no data, nothing failed) or ``Error`` (the source
could not be read). The run ends early as soon as

* more than ``failure_limit`` measurements failed: ``Failed``;
* more than ``inconclusive_limit`` were inconclusive: ``Inconclusive``;
* more than ``consecutive_error_limit`` errors came in a row: ``Error``;

and otherwise after ``count`` measurements: ``Successful`` when at least one measurement
succeeded, else ``Inconclusive`` (errors alone prove nothing). Argo's names and defaults:
failureLimit 0, inconclusiveLimit 0, consecutiveErrorLimit 4.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._common.intervals import IntervalError, parse_interval

SUCCESSFUL, FAILED, INCONCLUSIVE, ERROR, RUNNING = "Successful", "Failed", "Inconclusive", "Error", "Running"
MEASUREMENT_PHASES = (SUCCESSFUL, FAILED, INCONCLUSIVE, ERROR)
FAILED_STATUSES = {"breached": frozenset({"breached"}), "warning": frozenset({"breached", "warning"})}

OPTIONS = {
    "interval": {"type": "str", "default": "1m"},
    "count": {"type": "int", "default": 1},
    "initial_delay": {"type": "str", "default": "0s"},
    "failure_limit": {"type": "int", "default": 0},
    "inconclusive_limit": {"type": "int", "default": 0},
    "consecutive_error_limit": {"type": "int", "default": 4},
    "failed_status": {"type": "str", "choices": list(FAILED_STATUSES), "default": "breached"},
}
RANGES = {"analysis.count": (1, 10000), "analysis.failure_limit": (0, 10000),
          "analysis.inconclusive_limit": (0, 10000), "analysis.consecutive_error_limit": (0, 10000)}
# A bake longer than a day is a watch, not a deployment step.
MAX_SECONDS = 86400


class AnalysisError(ValueError):
    """Analysis settings that cannot be used; one sentence."""


def settings(raw):
    """The analysis options with ``interval_seconds`` and ``initial_delay_seconds``, or AnalysisError."""
    result = dict(raw)
    for key in ("interval", "initial_delay"):
        try:
            seconds = parse_interval(raw[key], option=f"analysis.{key}")
        except IntervalError as exc:
            raise AnalysisError(str(exc)) from None
        if not 0 <= seconds <= MAX_SECONDS:
            raise AnalysisError(f"analysis.{key} must lie between 0 and 1 day, not {raw[key]}.")
        result[f"{key}_seconds"] = seconds
    if result["count"] > 1 and result["interval_seconds"] <= 0:
        raise AnalysisError("analysis.interval must be longer than zero when analysis.count is above 1.")
    total = result["initial_delay_seconds"] + result["interval_seconds"] * (result["count"] - 1)
    if total > MAX_SECONDS:
        raise AnalysisError(f"The analysis would last {total / 3600:.1f} hours (initial_delay + interval x (count - 1)); "
                            "keep it within a day.")
    return result


def due(start, config, index):
    """When measurement ``index`` (0-based) is due, on the clock ``start`` was read from."""
    return start + config["initial_delay_seconds"] + config["interval_seconds"] * index


def measurement_phase(objectives, failed_status="breached"):
    """Successful, Failed or Inconclusive for one evaluation of every objective."""
    statuses = {objective["status"] for objective in objectives}
    if statuses & FAILED_STATUSES[failed_status]:
        return FAILED
    if "inconclusive" in statuses or not statuses:
        return INCONCLUSIVE
    return SUCCESSFUL


def counts(measurements):
    """Number of measurements per phase."""
    result = dict.fromkeys(MEASUREMENT_PHASES, 0)
    for measurement in measurements:
        result[measurement["phase"]] += 1
    return {phase.lower(): number for phase, number in result.items()}


def _trailing_errors(measurements):
    number = 0
    for measurement in reversed(measurements):
        if measurement["phase"] != ERROR:
            break
        number += 1
    return number


def run_phase(measurements, config):
    """(phase, sentence) of the run so far: Running while it must go on, else how it ended and why."""
    tally = counts(measurements)
    done = len(measurements)
    if tally["failed"] > config["failure_limit"]:
        return FAILED, (f"{tally['failed']} of {done} measurements failed, more than failure_limit "
                        f"{config['failure_limit']}")
    if tally["inconclusive"] > config["inconclusive_limit"]:
        return INCONCLUSIVE, (f"{tally['inconclusive']} of {done} measurements were inconclusive, more than "
                              f"inconclusive_limit {config['inconclusive_limit']}")
    errors = _trailing_errors(measurements)
    if errors > config["consecutive_error_limit"]:
        return ERROR, (f"{errors} measurements in a row could not be taken, more than consecutive_error_limit "
                       f"{config['consecutive_error_limit']}")
    if done < config["count"]:
        return RUNNING, f"{done} of {config['count']} measurements taken"
    if not tally["successful"]:
        return INCONCLUSIVE, f"none of the {done} measurements succeeded"
    return SUCCESSFUL, f"{tally['successful']} of {done} measurements succeeded"


def failure_detail(measurements):
    """What the last measurement that was not Successful saw, for the task's message."""
    for measurement in reversed(measurements):
        if measurement["phase"] != SUCCESSFUL:
            return measurement["message"]
    return ""
