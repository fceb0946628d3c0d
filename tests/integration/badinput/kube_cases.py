"""Cases both Kubernetes modules share: bad kubeconfigs and credentials that fail before any cluster answers.

No case here needs a cluster. The one that points at a server that accepts and never answers runs on
its own with a short budget: request_timeout must end it (it used to hang for 120 s).
"""

from __future__ import annotations

import subprocess

from tests.integration.badinput.hostile import canary, kubeconfig_for
from tests.integration.badinput.strategies import generated_cases
from tests.integration.badinput.suite import Case, run_and_judge, run_cases


def kubeconfig_cases(base: dict, kube: dict, traps: dict) -> list[Case]:
    """Every way a kubeconfig or credential can be wrong, on top of ``base`` (module arguments)."""
    cases = [Case(f"kubeconfig file {name}", {**base, "kubeconfig": kube[name]}, True)
             for name in ("not_yaml", "clusters_oops", "empty", "list_top", "refused", "missing")]
    oops = {**kubeconfig_for("http://127.0.0.1:1", canary("kube-token")), "clusters": "oops"}
    return cases + [
        Case("kubeconfig below a file", {**base, "kubeconfig": traps["below_file"]}, True),
        Case("kubeconfig dict with clusters oops", {**base, "kubeconfig": oops}, True),
        Case("kubeconfig as a list", {**base, "kubeconfig": ["a", "b"]}, True),
        Case("kubeconfig as a number", {**base, "kubeconfig": 7}, True),
        Case("unknown context", {**base, "context": "nope"}, True),
        Case("host not a url", {**base, "kubeconfig": None, "host": "not a url", "api_key": canary("kube-api")}, True),
        Case("host refused", {**base, "kubeconfig": None, "host": "http://127.0.0.1:1",
                              "api_key": canary("kube-api")}, True),
        Case("ca_cert below a file", {**base, "kubeconfig": None, "host": "https://127.0.0.1:1",
                                      "api_key": canary("kube-api"), "ca_cert": traps["below_file"]}, True),
    ]


SECRETS = [canary("kube-token"), canary("kube-api")]


def hangs(module: str, args: dict, seconds: float = 12) -> str | None:
    """Run one call against the black hole; a sentence when it did not end within ``seconds``, else None."""
    try:
        results, elapsed, _budget = run_cases(module, [Case("black hole", args, True)], seconds_per_case=0,
                                              start_budget=seconds)
    except subprocess.TimeoutExpired:
        return f"{module} against a server that never answers did not end within {seconds:.0f} s"
    del results
    return None if elapsed < seconds else f"{module} took {elapsed:.0f} s against a server that never answers"


def run_kube_cases(module: str, spec: dict, base: dict, hand: list[Case], traps: dict, secrets: tuple = ()):
    """``hand`` plus cases generated from ``spec`` on ``base``, run in one batch: (cases, (summary, problems)).

    No case can succeed: the base kubeconfig points at a closed port. ``secrets`` are checked
    besides the credentials' (values a module must never print).
    """
    cases = hand + generated_cases(spec, {"default": base}, traps, limit=8, skip=("kubeconfig",))
    for case in cases:
        case.must_fail = True
    return run_and_judge(module, cases, SECRETS + list(secrets))
