"""The AWX configuration: one job template per playbook, surveys that agree with the roles' argument
specs (and a check that fails on a drifted copy), credential injectors that set what the inventory
reads, and every awx.awx task's options against the module's ansible-doc spec."""

from __future__ import annotations

import re
import shutil

import pytest
import yaml

from tests.integration.ansible_run import REPO
from tests.integration.awx.awx_content import argument_problems, render, role_options, survey_disagreements

CONTROLLER_TASKS = REPO / "roles" / "awx_config" / "tasks" / "controller.yml"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return render(tmp_path_factory.mktemp("awx"))


def test_every_playbook_has_one_job_template(rendered):
    playbooks = sorted(f"playbooks/{p.name}" for p in (REPO / "playbooks").glob("*.yml") if p.name != "awx_configure.yml")
    assert sorted(t["playbook"] for t in rendered["job_templates"]) == playbooks
    assert len({t["name"] for t in rendered["job_templates"]}) == len(playbooks)


def test_the_surveys_agree_with_the_argument_specs(rendered):
    asked = [t for t in rendered["job_templates"] if t["survey_spec"]]
    assert len(asked) >= 25, "most templates have a survey"
    problems = [p for t in asked for p in survey_disagreements(t)]
    assert not problems, "\n".join(problems)


def _set_by_playbook(playbook: str) -> set:
    """Variables the playbook sets itself (play vars, role parameters and vars, include/import_role vars)."""
    found = set()

    def tasks(items):
        for task in items or []:
            for key in ("ansible.builtin.include_role", "ansible.builtin.import_role"):
                if key in task:
                    found.update(task.get("vars") or {})
            tasks(task.get("block"))

    for play in yaml.safe_load((REPO / playbook).read_text()):
        found.update(play.get("vars") or {})
        for role in play.get("roles") or []:
            if isinstance(role, dict):
                found.update(k for k in role if k not in ("role", "name", "vars", "tags", "when"))
                found.update(role.get("vars") or {})
        tasks(play.get("tasks"))
    return found


def test_no_survey_asks_for_what_the_playbook_sets_itself(rendered):
    """A survey answer is an extra var and beats the playbook's own vars (restore.yml's db_restore_confirm)."""
    clashes = {t["name"]: sorted({q["variable"] for q in t["survey_spec"]["spec"]} & _set_by_playbook(t["playbook"]))
               for t in rendered["job_templates"] if t["survey_spec"]}
    assert not {name: clash for name, clash in clashes.items() if clash}
    assert "db_restore_confirm" in _set_by_playbook("playbooks/restore.yml"), "the scan sees role vars"
    assert "rollout_action" in _set_by_playbook("playbooks/restart.yml"), "the scan sees role parameters"


def test_the_survey_defaults_are_the_roles_own_defaults(rendered):
    """A survey answer is an extra var: a default unlike the role's would change what the playbook does."""
    problems = []
    for template in (t for t in rendered["job_templates"] if t["survey_spec"]):
        defaults = yaml.safe_load((REPO / "roles" / template["role"] / "defaults" / "main.yml").read_text()) or {}
        for question in template["survey_spec"]["spec"]:
            if "default" in question and question["variable"] in defaults:
                value = defaults[question["variable"]]
                value = str(value).lower() if isinstance(value, bool) else value
                if str(value) != str(question["default"]):
                    problems.append(f"{template['name']}: {question['variable']} {question['default']!r} != {value!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("drift, expected", [
    (lambda o: o["rollout_restart_mode"].update(choices=["rolling", "emergency", "graceful"]), "choices"),
    (lambda o: o["rollout_restart_mode"].update(default="emergency"), "survey default 'rolling' != spec 'emergency'"),
    (lambda o: o["rollout_deployment"].update(type="int"), "survey type text != integer"),
    (lambda o: o.pop("rollout_restart_confirm"), "rollout_restart_confirm is not in the argument spec"),
])
def test_the_survey_check_fails_on_a_drifted_spec(rendered, tmp_path, drift, expected):
    roles = tmp_path / "roles"
    shutil.copytree(REPO / "roles" / "rollout" / "meta", roles / "rollout" / "meta")
    spec_file = roles / "rollout" / "meta" / "argument_specs.yml"
    whole = yaml.safe_load(spec_file.read_text())
    options = dict(role_options(REPO / "roles", "rollout"))
    options = {k: dict(v) for k, v in options.items()}
    drift(options)
    whole["argument_specs"]["main"]["options"] = options
    spec_file.write_text(yaml.safe_dump(whole))
    template = next(t for t in rendered["job_templates"] if t["name"] == "Restart a deployment")
    assert not survey_disagreements(template)
    problems = survey_disagreements(template, roles)
    assert any(expected in p for p in problems), problems


def test_the_credential_injectors_set_what_the_inventory_reads(rendered):
    read = set()
    for path in (REPO / "inventories" / "local" / "group_vars").rglob("*.yml"):
        read |= set(re.findall(r"lookup\('ansible\.builtin\.env', '([A-Z0-9_]+)'", path.read_text()))
    injected = {var for ctype in rendered["credential_types"] for var in ctype["injectors"]["env"]}
    # Variables the inventory reads that are not credentials: where reports and backups go.
    not_credentials = {"SRE_REPORT_DIR", "SRE_BACKUP_DIR"}
    assert read - not_credentials <= injected, sorted(read - not_credentials - injected)
    # And what the modules read besides (AWS_* keys of the s3 options, PGPASSWORD).
    assert {"PGPASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= injected
    for ctype in rendered["credential_types"]:
        fields = {f["id"] for f in ctype["inputs"]["fields"]}
        used = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", yaml.safe_dump(ctype["injectors"]))) - {"tower"}
        assert used <= fields, (ctype["name"], used - fields)
        assert set(ctype["inputs"]["required"]) <= fields


def test_the_schedules_name_templates_that_exist_and_run(rendered):
    templates = {t["name"]: t for t in rendered["job_templates"]}
    scheduled = {s["job_template"] for s in rendered["schedules"]}
    assert scheduled == {"Daily health check", "PostgreSQL backups", "Weekly maintenance"}
    for schedule in rendered["schedules"]:
        assert templates[schedule["job_template"]]["job_type"] == "run", schedule
        assert re.fullmatch(r"DTSTART:\d{8}T\d{6}Z RRULE:FREQ=(DAILY|WEEKLY);INTERVAL=1(;BYDAY=[A-Z]{2})?", schedule["rrule"])


def test_every_awx_task_uses_only_options_of_its_module(rendered):
    assert not argument_problems(CONTROLLER_TASKS, rendered)


def test_the_argument_check_fails_on_an_unknown_option_or_choice(rendered, tmp_path):
    tasks = yaml.safe_load(CONTROLLER_TASKS.read_text())
    block = tasks[0]["block"]
    block[0]["awx.awx.organization"]["colour"] = "blue"
    block[1]["awx.awx.credential_type"]["kind"] = "cloudy"
    drifted = tmp_path / "controller.yml"
    drifted.write_text(yaml.safe_dump(tasks))
    bad_render = dict(rendered, job_templates=[dict(rendered["job_templates"][0], job_type="dry-run")])
    problems = argument_problems(drifted, bad_render)
    assert any("has no option colour" in p for p in problems), problems
    assert any("kind='cloudy' is not one of" in p for p in problems), problems
    assert any("job_type 'dry-run' is not one of" in p for p in problems), problems
