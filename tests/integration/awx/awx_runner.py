"""Jobs the way AWX runs them, without an AWX server: ansible-runner over a private data directory.

AWX builds, for each job: ``env/extravars`` (the template's extra vars, then the survey answers - the
defaults where the operator answered nothing - then the launch-time variables), ``env/envvars`` (the
credentials' injectors rendered with the credentials' inputs; ``file`` injectors become files whose path
is ``tower.filename``), ``env/cmdline`` (``--check`` for a check job, ``--diff`` for diff mode),
``inventory/`` and ``project/``; then runs ``ansible-runner run <dir> -p <playbook>``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import jinja2
import yaml

from tests.integration.ansible_run import ANSIBLE_PLAYBOOK, COLLECTIONS, REPO

ANSIBLE_RUNNER = str(Path(ANSIBLE_PLAYBOOK).with_name("ansible-runner"))
# What the runner's process must not inherit from the test process: the credentials must bring it.
CREDENTIAL_VARS = ("PG", "REDIS_", "S3_", "AWS_", "PROMETHEUS_URL", "ALERTMANAGER_URL", "PLATFORM_", "KUBECONFIG",
                   "K8S_AUTH_")


def survey_answers(template: dict, answers: dict) -> dict:
    """The survey's variables as AWX passes them: the answer, else the default; text answers as text."""
    values = {}
    for question in (template.get("survey_spec") or {}).get("spec", []):
        var = question["variable"]
        if var in answers:
            value = answers[var]
        elif "default" in question:
            value = question["default"]
        else:
            continue
        if question["type"] in ("text", "textarea", "password", "multiplechoice"):
            value = str(value).lower() if isinstance(value, bool) else str(value)
        elif question["type"] == "multiselect" and isinstance(value, list):
            value = "\n".join(value)
        values[var] = value
    return values


def injected_env(rendered: dict, template: dict, inputs: dict, pdd: Path) -> dict:
    """The environment the template's credentials inject, rendered like AWX does (Jinja2 over the inputs)."""
    types = {ctype["name"]: ctype for ctype in rendered["credential_types"]}
    credentials = {cred["name"]: cred for cred in rendered["credentials"]}
    env, jinja = {}, jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined)
    for name in template["credentials"]:
        ctype = types[credentials[name]["credential_type"]]
        values = {f["id"]: f.get("default", "") for f in ctype["inputs"]["fields"]}
        values.update(inputs.get(name, {}))
        missing = [field for field in ctype["inputs"]["required"] if not values.get(field)]
        assert not missing, f"credential {name} lacks its required inputs {missing}"
        tower = {}
        if "file" in ctype["injectors"]:
            path = pdd / f"credential_{name}"
            path.write_text(jinja.from_string(ctype["injectors"]["file"]["template"]).render(**values))
            path.chmod(0o600)
            tower["filename"] = str(path)
        for var, value in ctype["injectors"].get("env", {}).items():
            env[var] = jinja.from_string(value).render(tower=tower, **values)
    return env


def private_data_dir(pdd: Path, rendered: dict, template: dict, inputs: dict, launch_vars: dict,
                     task_env: dict, drop: tuple = ()) -> Path:
    """Write ``pdd`` as AWX writes it for ``template`` launched with ``launch_vars``; ``drop`` removes env vars."""
    (pdd / "env").mkdir(parents=True)
    shutil.copytree(REPO / "playbooks", pdd / "project" / "playbooks")
    shutil.copytree(REPO / "collections", pdd / "project" / "collections")
    shutil.copytree(REPO / rendered["inventory_source_path"], pdd / "inventory")
    extravars = dict(template.get("extra_vars") or {})
    extravars.update(survey_answers(template, launch_vars))
    extravars.update({k: v for k, v in launch_vars.items() if k not in extravars})
    (pdd / "env" / "extravars").write_text(json.dumps(extravars))
    envvars = dict(task_env, **injected_env(rendered, template, inputs, pdd))
    for var in drop:
        envvars.pop(var, None)
    (pdd / "env" / "envvars").write_text(json.dumps(envvars))
    cmdline = (["--check"] if template["job_type"] == "check" else []) + ["--diff"]
    (pdd / "env" / "cmdline").write_text(" ".join(cmdline))
    for path in (pdd / "env").iterdir():
        path.chmod(0o600)
    return pdd


def run_job(pdd: Path, template: dict, timeout: int = 900) -> dict:
    """``ansible-runner run`` the template's playbook; its status, rc and stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(CREDENTIAL_VARS)}
    env["PATH"] = f"{Path(ANSIBLE_RUNNER).parent}:{env.get('PATH', '')}"
    proc = subprocess.run([ANSIBLE_RUNNER, "run", str(pdd), "-p", template["playbook"], "--ident", "job"],
                          env=env, capture_output=True, text=True, timeout=timeout, check=False)
    artifacts = pdd / "artifacts" / "job"
    status = (artifacts / "status").read_text().strip() if (artifacts / "status").exists() else "missing"
    stdout = (artifacts / "stdout").read_text() if (artifacts / "stdout").exists() else proc.stdout
    return {"status": status, "rc": proc.returncode, "stdout": stdout, "stderr": proc.stderr}


def task_env(tmp: Path, state: dict) -> dict:
    """AWX's job environment besides the credentials (AWX_TASK_ENV / the execution environment's own)."""
    return {"ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS), "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
            "SRE_REPORT_DIR": str(tmp / "reports"), "SRE_BACKUP_DIR": str(tmp / "backups"),
            "SRE_PG_BIN_DIR": str(state["postgres"]["bin_dir"])}


def matrix() -> dict:
    return yaml.safe_load((REPO / "tests" / "integration" / "release" / "smoke_matrix.yml").read_text())
