"""Tags select role sections (issue 15, "Artifacts and selection"): every playbook lists tags
beyond `always`, and `--tags postgres` on the weekly maintenance selects the PostgreSQL parts and
not the Redis or Kubernetes ones. ansible-playbook --list-tags / --list-tasks only: no service."""

from __future__ import annotations

import re
from pathlib import Path

from tests.integration.ansible_run import REPO, run_playbook

PLAYBOOKS = sorted(f"playbooks/{p.name}" for p in (REPO / "playbooks").glob("*.yml"))


def _tags(output: str) -> set[str]:
    found = set()
    for listed in re.findall(r"TASK TAGS: \[([^\]]*)\]", output):
        found.update(tag.strip() for tag in listed.split(",") if tag.strip())
    return found


def test_every_playbook_lists_section_tags():
    # One ansible-playbook for every playbook (it lists each under "playbook: <path>").
    proc = run_playbook(PLAYBOOKS[0], options=[*PLAYBOOKS[1:], "--list-tags"], timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    sections = dict(re.findall(r"^playbook: playbooks/(\S+)\n(.*?)(?=^playbook: |\Z)", proc.stdout, re.S | re.M))
    assert sorted(sections) == sorted(Path(name).name for name in PLAYBOOKS), sorted(sections)
    untagged = {name: text[-300:] for name, text in sections.items() if not _tags(text) - {"always"}}
    assert not untagged, untagged


def test_tags_postgres_selects_the_postgres_parts_of_the_weekly_maintenance():
    proc = run_playbook("playbooks/weekly_maintenance.yml", options=["--list-tasks", "--tags", "postgres"], timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tasks = [line.strip().split("\t")[0] for line in proc.stdout.splitlines() if "TAGS: [" in line]
    assert "Run database maintenance" in tasks and "Run database backups with retention" in tasks, tasks
    assert "Run Redis maintenance with the TTL sweep" not in tasks and "Run the weekly Kubernetes jobs" not in tasks, tasks
    # The closing report is written whatever tags select.
    assert any(task.endswith("closing reports") for task in tasks), tasks

    proc = run_playbook("playbooks/weekly_maintenance.yml", options=["--list-tasks", "--tags", "redis"], timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Run Redis maintenance with the TTL sweep" in proc.stdout
    assert "Run database maintenance" not in proc.stdout and "Run database backups" not in proc.stdout
