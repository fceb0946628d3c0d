"""Hypothesis strategies that turn a module's argument spec into hostile arguments.

Each generated case is one option of the spec (suboptions included, as ``"thresholds.min_dead_tuples"``)
given one hostile value - the wrong type, empty, huge, negative, NaN/inf, NUL and CR/LF, unicode,
path tricks - on top of an otherwise valid base argument set that points at the real local
services. :func:`generated_cases` draws a fixed, derandomized batch, so a run is reproducible and
every module's cases fit in one playbook run.
"""

from __future__ import annotations

import copy
import math

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.integration.badinput.suite import Case

HUGE = "1" + "0" * 400          # 10**400 as text: int() takes it, float() makes it inf
LONG = "x" * 100_000
UNICODE = "ünï\u202ecode-\U0001f525"  # a right-to-left override and an emoji


def _not_in_choices(spec, value):
    choices = spec.get("choices")
    if not choices:
        return False
    values = value if isinstance(value, list) else [value]
    return any(not isinstance(v, (str, int, float)) or v not in choices for v in values)


def hostile_values(spec: dict, traps: dict) -> list[tuple[object, bool | None]]:
    """(value, must_fail) pairs for one option: must_fail True when no module may accept the value."""
    kind = spec.get("type", "str")
    number = [(-1, None), (0, None), (HUGE, True), (float("nan"), True), (float("inf"), True), ("nan", True),
              ("-inf", True), ("ten", True), ([1], True), ({"a": 1}, True), (-(10 ** 30), True)]
    text = [({"a": 1}, None), ([1, 2], None), ("", None), (LONG, None), ("nul\x00byte", True), ("cr\r\nlf", None),
            (UNICODE, None), ("../../etc", None), ("/proc/x", None), ("{0.__class__}", None), ("-1", None)]
    values = {
        "int": number, "float": number,
        "dict": [("bogus", True), ("k=v", None), (7, True), (["x"], True), ({}, None), ({"unknown": LONG}, None)],
        "list": [({"a": 1}, None), ([], None), ([None], None), ([LONG], None), (["nul\x00"], True), ([UNICODE], None),
                 ([{"a": 1}], None)],
        "bool": [("maybe", True), (2, True), ([True], True), ({"a": 1}, True)],
        "path": [("", None), ("nul\x00byte", True), (traps["existing"], None), (traps["below_file"], None),
                 (traps["proc"], None), (traps["dotdot"], None), (UNICODE, None), ({"a": 1}, None)],
        "str": text, "raw": text + [(7, None), (["x"], None)],
    }[kind]
    if spec.get("elements") == "dict" and kind == "list":
        values = values + [(["bogus"], True), ("bogus", True)]
    return [(value, True if _not_in_choices(spec, value) else must_fail) for value, must_fail in values]


def option_paths(spec: dict, prefix: str = "") -> list[tuple[str, dict]]:
    """Every option and suboption of ``spec`` as (dotted path, its spec), in spec order."""
    paths = []
    for name, option in spec.items():
        paths.append((prefix + name, option))
        if option.get("options"):
            paths.extend(option_paths(option["options"], prefix + name + "."))
    return paths


def with_value(base: dict, path: str, value) -> dict:
    """A deep copy of ``base`` with the option at dotted ``path`` set (into the first entry of a list of dicts)."""
    args = copy.deepcopy(base)
    head, _dot, rest = path.partition(".")
    if not rest:
        args[head] = value
        return args
    parent = args.get(head)
    if isinstance(parent, list):
        args[head] = [with_value(parent[0] if parent and isinstance(parent[0], dict) else {}, rest, value)] + parent[1:]
    else:
        args[head] = with_value(parent if isinstance(parent, dict) else {}, rest, value)
    return args


def _label(value) -> str:
    text = repr(value)
    if isinstance(value, float) and not math.isfinite(value):
        text = f"float({text!r})"
    return text if len(text) <= 40 else f"{text[:30]}...({len(text)} chars)"


def generated_cases(spec: dict, bases: dict, traps: dict, limit: int, skip: tuple = ()) -> list[Case]:
    """Each base as given (it must succeed), then up to ``limit`` distinct cases: one hostile value of one
    option on top of one of ``bases`` (name -> args).

    Hypothesis draws them with a fixed seed (derandomize), no example database and only the
    generate phase, so the same spec always yields the same batch.
    """
    paths = [(path, option) for path, option in option_paths(spec) if not path.startswith(skip)]
    drawn = []

    @settings(max_examples=limit * 4, derandomize=True, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(sorted(bases)),
           st.sampled_from(paths).flatmap(
               lambda item: st.tuples(st.just(item[0]), st.sampled_from(hostile_values(item[1], traps)))))
    def collect(base, pick):
        path, (value, must_fail) = pick
        drawn.append(Case(f"{base}:{path}={_label(value)}", with_value(bases[base], path, value), must_fail))

    collect()  # pylint: disable=no-value-for-parameter
    cases, seen = [], set()
    for case in drawn:
        if case.name not in seen and len(seen) < limit:
            seen.add(case.name)
            cases.append(case)
    return [Case(f"base {name} as given", args, False) for name, args in bases.items()] + cases
