"""Every job template runs green through ansible-runner against the demo environment (check-mode templates
in check mode), with a private data directory built the way AWX builds it (tests/integration/awx/awx_runner.py);
and bad input - a survey answer outside the spec's choices, a missing credential variable - is one sentence."""

from __future__ import annotations

import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.integration.awx.awx_content import render
from tests.integration.awx.awx_runner import matrix, private_data_dir, run_job, task_env
from tests.integration.release.demo_env import demo_environment, kubectl

pytestmark = pytest.mark.slow

PARALLEL = 3
VAULT_PASSWORD = "smoke-vault-pass"
# The jobs the others depend on, run first: a database backup (restore.yml restores it) and a
# configuration backup (config_restore.yml reads it).
FIRST = ("playbooks/backup.yml", "playbooks/config_backup.yml")


@pytest.fixture(scope="module")
def awx(k8s_cluster, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("awx")
    rendered = render(tmp)
    with demo_environment(k8s_cluster) as demo:
        state, sandbox = demo["state"], demo["sandbox"]
        inputs = {
            "sre-postgres": {"host": state["postgres"]["host"], "port": str(state["postgres"]["port"]),
                             "user": state["postgres"]["user"], "password": state["postgres"]["password"]},
            "sre-redis": {"host": state["redis"]["host"], "port": str(state["redis"]["port"])},
            "sre-s3": {"endpoint_url": state["s3"]["endpoint_url"], "access_key": state["s3"]["access_key"],
                       "secret_key": state["s3"]["secret_key"], "region": state["s3"]["region"]},
            "sre-prometheus": {"prometheus_url": state["prometheus"]["url"],
                               "alertmanager_url": state.get("alertmanager", {}).get("url", "http://127.0.0.1:9")},
            "sre-platform": {"v1_url": sandbox.v1_url, "v2_url": sandbox.v2_url, "v3_url": sandbox.v3_url,
                             "api_token": sandbox.token or ""},
            "sre-kubeconfig": {"kubeconfig": Path(k8s_cluster.kubeconfig).read_text()},
        }
        yield {"rendered": rendered, "inputs": inputs, "env": task_env(tmp, state), "tmp": tmp, "cluster": k8s_cluster}


def launch_vars(template: dict, awx: dict) -> dict:
    """What the operator answers and passes on launch: smoke_matrix.yml's variables for the playbook."""
    spec = matrix()[Path(template["playbook"]).name] or {}
    answers = dict(spec.get("extra_vars") or {})
    if spec.get("needs_node"):
        answers["node"] = kubectl(awx["cluster"], "get", "nodes", "-o", "jsonpath={.items[0].metadata.name}")
    if spec.get("needs_archive"):
        answers["config_restore_src"] = str(next((awx["tmp"] / "config-backups").glob("*.tar.gz")))
    if template["playbook"] == "playbooks/config_backup.yml":
        answers["config_backup_dest"] = str(awx["tmp"] / "config-backups")
    return answers


def job(awx: dict, template: dict, answers: dict | None = None, drop: tuple = ()) -> dict:
    slug = re.sub(r"\W+", "-", template["name"].lower())
    pdd = private_data_dir(awx["tmp"] / f"job-{slug}-{time.monotonic_ns()}", awx["rendered"], template, awx["inputs"],
                           launch_vars(template, awx) if answers is None else answers, awx["env"], drop)
    return run_job(pdd, template)


def describe(template: dict, result: dict) -> str:
    fatal = [line[:600] for line in result["stdout"].splitlines() if line.startswith(("fatal:", "ERROR!"))]
    return f"{template['name']} ({template['playbook']}, {template['job_type']}): {result['status']} " \
           f"{' | '.join(fatal) or result['stdout'][-1500:] + result['stderr'][-800:]}"


def selected(templates: dict) -> list:
    """The templates to run after FIRST: all, or those AWX_PLAYBOOKS names (comma-separated), to re-run one."""
    wanted = [f"playbooks/{name}" for name in os.environ.get("AWX_PLAYBOOKS", "").split(",") if name]
    assert set(wanted) <= set(templates), f"AWX_PLAYBOOKS names playbooks without a template: {wanted}"
    return [t for p, t in sorted(templates.items()) if p not in FIRST and (not wanted or p in wanted)]


def test_every_job_template_runs_green_through_ansible_runner(awx):
    templates = {t["playbook"]: t for t in awx["rendered"]["job_templates"]}
    started = time.monotonic()
    failures = []
    for playbook in FIRST:
        result = job(awx, templates[playbook])
        if result["status"] != "successful":
            failures.append(describe(templates[playbook], result))
    assert not failures, "\n".join(failures)
    rest = selected(templates)
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        for template, result in zip(rest, pool.map(lambda t: job(awx, t), rest)):
            if result["status"] != "successful" or "PLAY RECAP" not in result["stdout"]:
                failures.append(describe(template, result))
    print(f"{len(FIRST) + len(rest)} job templates through ansible-runner in {time.monotonic() - started:.0f} s")
    assert not failures, "\n".join(failures)


def last_error(stdout: str) -> str:
    lines = [line for line in stdout.splitlines() if line.startswith("fatal:")]
    assert lines, stdout[-3000:]
    return lines[-1]


def test_a_survey_answer_outside_the_choices_is_one_sentence(awx):
    template = next(t for t in awx["rendered"]["job_templates"] if t["name"] == "Daily health check")
    result = job(awx, template, {"health_check_fail_on": "sometimes"})
    assert result["status"] == "failed"
    fatal = last_error(result["stdout"])
    # The role's argument validation (meta/argument_specs.yml), before any check runs.
    assert "value of health_check_fail_on must be one of: critical, warning, never, got: sometimes" in fatal, fatal
    assert "Traceback" not in result["stdout"]


def test_a_missing_credential_variable_is_one_sentence(awx):
    template = next(t for t in awx["rendered"]["job_templates"] if t["name"] == "Database maintenance")
    result = job(awx, template, {}, drop=("PGPASSWORD",))
    assert result["status"] == "failed"
    fatal = last_error(result["stdout"])
    assert "Traceback" not in result["stdout"], result["stdout"][-3000:]
    assert "the server wants a password and none was given (set password or PGPASSWORD)." in fatal, fatal
