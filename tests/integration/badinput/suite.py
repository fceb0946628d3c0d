"""Run a batch of hostile cases through one module and judge every result.

A case passes when the module (a) left no traceback, (b) finished within the batch's time budget,
(c) failed, if it failed, with one readable sentence, (d) printed none of the canary secrets,
(e) changed nothing outside its target (the test's own ``damage`` check), and (f) failed when the
case is marked ``must_fail``. ``judge`` returns the counts for the issue note and every problem.
"""

from __future__ import annotations

import json
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tests.integration.module_batch import run_module_batch

# Python's repr noise in a message means an exception text leaked through unedited.
NOISE = re.compile(r"<class '|object at 0x|Traceback \(most recent|\bFile \".*\", line \d+")
# ansible-core masks no_log values everywhere in a result: a one-letter secret turns "Cannot" into "C********nnot".
GARBLED = re.compile(r"[A-Za-z]\*{8}|\*{8}[A-Za-z]")


@dataclass
class Case:
    """One call: ``must_fail`` True (any success is wrong), False (must succeed) or None (either, cleanly).

    ``mentions``: text the failure message must contain (the file or option it is about).
    """

    name: str
    args: dict
    must_fail: bool | None = None
    check: bool = False
    mentions: str | None = None


def run_cases(module: str, cases: list[Case], seconds_per_case: float = 6.0, env: dict | None = None,
              start_budget: float = 30, workers: int = 3):
    """Run ``cases`` in ``workers`` concurrent playbook runs with a time budget: (results in order, elapsed, budget).

    Most of a call's cost is ansible-playbook's per-task overhead, which runs in parallel well.
    A run over budget raises subprocess.TimeoutExpired. Pipelining saves a file copy per call.
    """
    env = {"ANSIBLE_PIPELINING": "1", **(env or {})}
    budget = start_budget + seconds_per_case * len(cases)
    size = max(1, -(-len(cases) // workers))
    chunks = [cases[i:i + size] for i in range(0, len(cases), size)]
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
        batches = list(pool.map(lambda chunk: run_module_batch(
            module, [{"args": case.args, "check": case.check} for case in chunk], env=env, timeout=budget), chunks))
    return [result for batch in batches for result in batch], time.monotonic() - start, budget


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
    if "stopped on an unexpected error" in str(result.get("msg", "")):  # RunbookModule.run's catch-all
        problems.append(f"an unforeseen exception: {str(result.get('msg'))[:200]!r}")
    if result.failed:
        reason = one_sentence(str(result.get("msg", "")))
        if reason:
            problems.append(f"{reason}: {str(result.get('msg', ''))[:300]!r}")
        if GARBLED.search(str(result.get("msg", ""))):
            problems.append(f"message garbled by masking a short secret: {str(result.get('msg', ''))[:120]!r}")
        if case.mentions and case.mentions not in str(result.get("msg", "")):
            problems.append(f"message does not name {case.mentions!r}: {str(result.get('msg', ''))[:200]!r}")
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
    output = "".join({r.output for r in results})
    leaked = " ".join(problems)  # a secret already found in a case's result is in the output too
    problems.extend(f"{module}: secret {s[:14]}... in the ansible output" for s in secrets
                    if s in output and f"secret {s[:14]}... in the result" not in leaked)
    if "Traceback (most recent call last)" in output and not any(p.endswith(": traceback") for p in problems):
        problems.append(f"{module}: a traceback in the ansible output")
    if elapsed > budget:
        problems.append(f"{module}: the batch took {elapsed:.0f} s, over its budget of {budget:.0f} s")
    if damage:
        problems.extend(f"{module}: {what}" for what in damage())
    bad = {case.name for case in cases if _has_problem(case.name, problems)}
    summary = {"module": module, "cases": len(cases),
               "failed cleanly": sum(1 for c, r in zip(cases, results) if r.failed and c.name not in bad),
               "succeeded": sum(1 for c, r in zip(cases, results) if not r.failed and c.name not in bad),
               "with problems": len(bad), "seconds": round(elapsed, 1)}
    print(f"\nbad-input summary: {json.dumps(summary)}")
    print("  succeeded: " + "; ".join(c.name for c, r in zip(cases, results) if not r.failed))
    if os.environ.get("BADINPUT_VERBOSE"):  # every case and its message, for the issue note
        for case, result in zip(cases, results):
            print(f"  {case.name[:70]} -> {'failed' if result.failed else 'ok'}: {str(result.get('msg', ''))[:160]}")
    return summary, problems


def _has_problem(name: str, problems: list[str]) -> bool:
    return any(problem.startswith(name + ": ") for problem in problems)


def assert_outcome(cases: list[Case], outcome: tuple) -> None:
    """At least 30 cases, and not one problem (traceback, hang, secret, damage, wrong success, bad message)."""
    summary, problems = outcome
    assert summary["cases"] >= 30, summary
    assert not problems, "\n".join(problems)


def run_and_judge(module: str, cases: list[Case], secrets: list, damage=None, seconds_per_case: float = 6.0) -> tuple:
    """Run ``cases`` of ``module`` in batches and judge every result: (cases, (summary, problems))."""
    results, elapsed, budget = run_cases(module, cases, seconds_per_case=seconds_per_case)
    return cases, judge(module, cases, results, elapsed, budget, secrets, damage=damage)
