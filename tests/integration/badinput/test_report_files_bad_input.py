"""report_files (an action: it writes on the controller) given hostile arguments and hostile destinations."""

from __future__ import annotations

import pytest

from tests.integration.badinput.strategies import LONG, generated_cases
from tests.integration.badinput.suite import Case, assert_outcome, run_and_judge
from ansible_collections.sre.runbooks.plugins.module_utils._common.report_files_args import ARGUMENT_SPEC

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.report_files"


def test_report_files_bad_input(traps, tmp_path):
    dest = tmp_path / "reports"
    (tmp_path / "a-folder" / "report.json").mkdir(parents=True)
    (tmp_path / "linked").mkdir()
    (tmp_path / "linked" / "report.md").symlink_to(traps["canary"])
    base = {"dest": str(dest), "files": {"report.json": '{"status": "ok"}\n', "report.md": "# ok\n"}}

    def args(**options):
        return {**base, **options}

    hand = [
        Case("dest is a file", args(dest=traps["existing"]), True, mentions="not a directory"),
        Case("dest below a file", args(dest=traps["below_file"]), True),
        Case("dest in /proc", args(dest=traps["proc"]), True),
        Case("dest empty", args(dest=""), True),
        Case("dest with a NUL byte", args(dest="re\x00ports"), True, mentions="NUL"),
        Case("files as text", args(files="report.json"), True),
        Case("files as a list", args(files=["report.json"]), True),
        Case("files empty", args(files={})),
        Case("name with a directory part", args(files={"../canary.txt": "overwritten"}), True),
        Case("name absolute", args(files={str(traps["canary"]): "overwritten"}), True),
        Case("name dot dot", args(files={"..": "x"}), True),
        Case("name empty", args(files={"": "x"}), True),
        Case("name with NUL", args(files={"a\x00b": "x"}), True),
        Case("name of 100k characters", args(files={LONG: "x"}), True),
        Case("a directory where a file goes", args(dest=str(tmp_path / "a-folder")), True, mentions="not a regular file"),
        Case("a link to the canary where a file goes", args(dest=str(tmp_path / "linked")), True,
             mentions="not a regular file"),
        Case("content of 100k characters", args(files={"big.md": LONG})),
        Case("content null", args(files={"null.md": None})),
        Case("content a number", args(files={"n.json": 3})),
        Case("content a dict", args(files={"d.json": {"a": 1}})),
        Case("mode not octal", args(mode="rw-r-----"), True, mentions="octal"),
        Case("mode 9999", args(mode="9999"), True, mentions="octal"),
        Case("mode negative", args(mode="-1"), True),
        Case("mode 0777", args(mode="0777")),
        Case("directory_mode not octal", args(directory_mode="abc"), True, mentions="octal"),
        Case("unknown option", args(owner="root"), True),
        Case("check mode", args(files={"check.md": "x"}), check=True),
    ]
    cases = hand + generated_cases(ARGUMENT_SPEC, {"two files": base}, traps, limit=10)

    def damage():
        found = []
        if traps["canary"].read_text() != "untouched\n":
            found.append("the canary file was overwritten")
        if (dest / "check.md").exists():
            found.append("check mode wrote a file")
        return found

    _cases, outcome = run_and_judge(MODULE, cases, [], damage=damage, seconds_per_case=3.0)
    assert_outcome(cases, outcome)
    # The base case wrote both reports.
    assert (dest / "report.json").read_text() == '{"status": "ok"}\n' and (dest / "report.md").read_text() == "# ok\n"
