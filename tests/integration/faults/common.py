"""What every fault test asserts about a failure, and the processes it starts (tests/integration/faults)."""

from __future__ import annotations

import re
from pathlib import Path


def assert_one_sentence(result, *fragments):
    """A failed module result: one readable sentence naming what failed, no traceback, containing ``fragments``."""
    msg = result.get("msg") or ""
    assert result.failed, result.output
    assert "Traceback" not in result.output and "module_stderr" not in result, result.output
    assert msg and "\n" not in msg.strip(), msg
    assert msg.rstrip().endswith((".", ")")) or re.search(r"[.!?]\W*$", msg), msg
    for fragment in fragments:
        assert fragment in msg, msg
    return msg


def descendants(pid: int) -> set[int]:
    """Every living process below ``pid`` (read from /proc; procps-free)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
