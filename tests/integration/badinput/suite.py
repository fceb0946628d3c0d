"""Run a batch of hostile cases through one module and judge every result.

A case passes when the module (a) left no traceback, (b) finished within the batch's time budget,
(c) failed, if it failed, with one readable sentence, (d) printed none of the canary secrets,
(e) changed nothing outside its target (the test's own ``damage`` check), and (f) failed when the
case is marked ``must_fail``. ``judge`` returns the counts for the issue note and every problem.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass

from tests.integration.module_batch import run_module_batch

# Python's repr noise in a message means an exception text leaked through unedited.
NOISE = re.compile(r"<class '|object at 0x|Traceback \(most recent|\bFile \".*\", line \d+")


@dataclass
class Case:
    """One call: ``must_fail`` True (any success is wrong), False (must succeed) or None (either, cleanly)."""

    name: str
    args: dict
    must_fail: bool | None = None
    check: bool = False


def run_cases(module: str, cases: list[Case], seconds_per_case: float = 6.0, env: dict | None = None):
    """Run all ``cases`` in one playbook run with a time budget; return (results, elapsed seconds, budget)."""
    budget = 30 + seconds_per_case * len(cases)
    start = time.monotonic()
    results = run_module_batch(module, [{"args": case.args, "check": case.check} for case in cases],
                               env=env, timeout=budget)
    return results, time.monotonic() - start, budget


def one_sentence(msg: str) -> str | None:
    """Why ``msg`` is not one readable sentence, or None."""
    text = msg.strip()
    if not text:
        return "empty message"
    if "\n" in text:
        return "message spans several lines"
    if not text.endswith((".", ".)", '."', ".'")):
        return "message does not end with a full stop"
    if NOISE.search(text):
        return "message carries Python repr noise"
    return None


def case_problems(case: Case, result, secrets: list[str]) -> list[str]:
    """Everything wrong with one result (empty when the case passed)."""
    problems = []
    text = json.dumps(dict(result), default=str)
    if "module_stderr" in result or "Traceback" in text or "Module failed:" in str(result.get("msg", "")):
        problems.append("traceback")
    if result.failed:
        reason = one_sentence(str(result.get("msg", "")))
        if reason:
            problems.append(f"{reason}: {str(result.get('msg', ''))[:300]!r}")
    if case.must_fail and not result.failed:
        problems.append("succeeded but must fail")
    if case.must_fail is False and result.failed:
        problems.append(f"failed but must succeed: {str(result.get('msg', ''))[:200]!r}")
    problems.extend(f"secret {secret[:14]}... in the result" for secret in secrets if secret in text)
    return problems


def judge(module: str, cases: list[Case], results, elapsed: float, budget: float, secrets: list[str],
          damage=None) -> tuple[dict, list[str]]:
    """Counts ({"cases", "failed cleanly", "succeeded", "problems"}) and every problem as 'case: problem'."""
    problems = []
    for case, result in zip(cases, results):
        problems.extend(f"{case.name}: {problem}" for problem in case_problems(case, result, secrets))
    output = results[0].output if results else ""
    problems.extend(f"{module}: secret {s[:14]}... in the ansible output" for s in secrets if s in output)
    if elapsed > budget:
        problems.append(f"{module}: the batch took {elapsed:.0f} s, over its budget of {budget:.0f} s")
    if damage:
        problems.extend(f"{module}: {what}" for what in damage())
    bad = {problem.split(": ", 1)[0] for problem in problems}
    summary = {"module": module, "cases": len(cases),
               "failed cleanly": sum(1 for c, r in zip(cases, results) if r.failed and c.name not in bad),
               "succeeded": sum(1 for c, r in zip(cases, results) if not r.failed and c.name not in bad),
               "with problems": len(bad & {c.name for c in cases}), "seconds": round(elapsed, 1)}
    print(f"\nbad-input summary: {json.dumps(summary)}")
    return summary, problems


def split_known(cases: list[Case], problems: list[str], known: set[str]) -> tuple[list[str], list[str]]:
    """Problems of cases not in ``known`` (must be none) and of cases in ``known`` (the xfailed ones)."""
    new = [p for p in problems if p.split(": ", 1)[0] not in known]
    old = [p for p in problems if p.split(": ", 1)[0] in known]
    return new, old
