"""Notifications of the notify role from real playbook runs, against receivers on 127.0.0.1.

The receivers (tests/harness/receivers.py) are a recording HTTP server that answers as a Slack
webhook and as PagerDuty's Events API v2, and an aiosmtpd SMTP server. The runs of one test go
side by side (one ansible-playbook each), told apart by the webhook path, the dedup key and the
recipient; each case asserts what its receivers got - including nothing for a green run.

Each run also publishes its summary with set_stats (shown with ANSIBLE_SHOW_CUSTOM_STATS, as
AWX keeps it for the job's artifacts); two playbooks' stats are checked here.

Failures are made without services: weekly_maintenance.yml's jobs part with a kubeconfig that
does not exist (the other parts off) fails in one sentence.
"""

from __future__ import annotations

import concurrent.futures
import json

import pytest

from tests.harness.procs import free_port
from tests.harness.receivers import Receivers
from tests.integration.ansible_run import run_playbook

pytestmark = pytest.mark.slow

ROUTING_KEY = "R0UT1NGKEY0000000000000000000000"
ONLY_JOBS = {"weekly_maintenance_db_maintenance_enabled": False, "weekly_maintenance_backup_enabled": False,
             "weekly_maintenance_redis_enabled": False}


@pytest.fixture(scope="module")
def receivers():
    with Receivers() as running:
        yield running


def _channels(rx: Receivers, case: str, **overrides) -> dict:
    settings = {
        "notify_slack_webhook_url": rx.url(f"/services/T000/B000/{case}"),
        "notify_pagerduty_url": rx.url("/v2/enqueue"),
        "notify_pagerduty_routing_key": ROUTING_KEY,
        "notify_dedup_key": f"it/{case}",
        "notify_run_id": f"run-{case}",
        "notify_smtp_host": "127.0.0.1", "notify_smtp_port": rx.smtp_port, "notify_smtp_secure": "never",
        "notify_email_to": [f"{case}@example.org"], "notify_email_from": "sre@example.org",
        "notify_timeout": 5, "sre_environment": "it",
    }
    settings.update(overrides)
    return settings


def _received(rx: Receivers, case: str) -> dict:
    return {
        "slack": [r["json"] for r in rx.requests if r["path"] == f"/services/T000/B000/{case}"],
        "pagerduty": [r for r in rx.requests if r["path"] == "/v2/enqueue" and (r["json"] or {}).get("dedup_key") == f"it/{case}"],
        "email": [m for m in rx.messages if m["to"] == [f"{case}@example.org"]],
    }


def _run_all(cases: dict) -> dict:
    """Run every case's playbook at once, custom stats shown: {case: completed process}."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(cases)) as pool:
        futures = {case: pool.submit(run_playbook, f"playbooks/{book}.yml", extra, timeout=300,
                                     env={**env, "ANSIBLE_SHOW_CUSTOM_STATS": "1"})
                   for case, (book, extra, env) in cases.items()}
        return {case: future.result() for case, future in futures.items()}


def _stats(output: str) -> dict:
    """The run's set_stats data (aggregate: false, per_host: false), as the default callback prints it."""
    lines = [line for line in output.splitlines() if line.startswith("\tRUN: ")]
    assert len(lines) == 1, output[-3000:]
    return json.loads(lines[0][len("\tRUN: "):])


def test_notifications_only_on_failure_and_stats_for_awx(receivers, tmp_path):
    missing_kubeconfig = str(tmp_path / "no-such-kubeconfig")
    closed_port = free_port()  # nothing listens there: the webhook cannot be reached
    no_kubeconfig = {"K8S_AUTH_KUBECONFIG": missing_kubeconfig}
    unreachable_channels = _channels(
        receivers, "unreachable", notify_pagerduty_routing_key="",
        notify_slack_webhook_url=f"http://127.0.0.1:{closed_port}/services/T/B/secret-token")
    cases = {
        # Green: every part off, channels configured.
        "green": ("weekly_maintenance", {**ONLY_JOBS, "weekly_maintenance_jobs_enabled": False,
                                         "sre_report_dir": str(tmp_path / "green"), **_channels(receivers, "green")}, {}),
        # Failed: the jobs part cannot read its kubeconfig; the run fails and every channel is told.
        "failed": ("weekly_maintenance", {**ONLY_JOBS, "sre_report_dir": str(tmp_path / "failed"),
                                          **_channels(receivers, "failed")}, no_kubeconfig),
        # Failed part without failing the run, an unreachable webhook and no routing key: the run
        # still succeeds, each problem is one sentence, email still arrives.
        "unreachable": ("weekly_maintenance", {**ONLY_JOBS, "weekly_maintenance_fail_on_error": False,
                                               "sre_report_dir": str(tmp_path / "unreachable"), **unreachable_channels},
                        no_kubeconfig),
        # The evening summary without a Prometheus fails (issue 17): notified, and its stats say why.
        "evening": ("evening_summary", {"sre_report_dir": str(tmp_path / "evening"), **_channels(receivers, "evening")},
                    {"PROMETHEUS_URL": ""}),
    }
    procs = _run_all(cases)

    green = procs["green"]
    assert green.returncode == 0, (green.stdout + green.stderr)[-6000:]
    assert _received(receivers, "green") == {"slack": [], "pagerduty": [], "email": []}
    assert "Notified" not in green.stdout
    assert _stats(green.stdout)["weekly_maintenance"]["status"] == "ok"
    assert _stats(green.stdout)["weekly_maintenance"]["notifications"]["due"] == []

    failed = procs["failed"]
    assert failed.returncode != 0, failed.stdout[-6000:]
    got = _received(receivers, "failed")
    assert len(got["slack"]) == 1 and len(got["pagerduty"]) == 1 and len(got["email"]) == 1, (got, failed.stdout[-6000:])
    slack = got["slack"][0]
    assert slack["text"].startswith("[it] weekly_maintenance FAILED: 1 failing - jobs"), slack
    assert [block["type"] for block in slack["blocks"]] == ["header", "section", "context"]
    assert "- jobs: " in slack["blocks"][1]["text"]["text"]
    assert "run `run-failed`" in slack["blocks"][2]["elements"][0]["text"]
    event = got["pagerduty"][0]
    assert event["headers"]["Content-Type"] == "application/json"
    body = event["json"]
    assert body["routing_key"] == ROUTING_KEY and body["event_action"] == "trigger" and body["dedup_key"] == "it/failed"
    assert body["payload"]["severity"] == "error" and body["payload"]["component"] == "weekly_maintenance"
    assert body["payload"]["summary"] == slack["text"] and body["payload"]["group"] == "it"
    assert body["payload"]["custom_details"]["findings"][0]["id"] == "jobs"
    assert "Weekly maintenance had failures: jobs" in body["payload"]["custom_details"]["error"]
    mail = got["email"][0]
    assert mail["subject"] == "[sre.runbooks] it weekly_maintenance: FAILED" and mail["from"] == "sre@example.org"
    assert "- jobs: " in mail["body"] and "Run id: run-failed" in mail["body"] and "Dedup key: it/failed" in mail["body"]
    assert "Notified slack, pagerduty, email." in failed.stdout
    report = (tmp_path / "failed" / "weekly_maintenance.md").read_text()
    assert "## Notifications" in report and "- slack: sent" in report
    assert ROUTING_KEY not in failed.stdout + failed.stderr
    stats = _stats(failed.stdout)["weekly_maintenance"]
    assert stats["status"] == "failed" and stats["counts"]["failed_parts"] == 1
    assert stats["failures"][0]["error"].startswith("Cannot configure the Kubernetes client"), stats
    assert stats["reports"]["markdown"] == str(tmp_path / "failed" / "weekly_maintenance.md")
    assert stats["notifications"]["sent"] == ["slack", "pagerduty", "email"]

    unreachable = procs["unreachable"]
    assert unreachable.returncode == 0, (unreachable.stdout + unreachable.stderr)[-6000:]
    got = _received(receivers, "unreachable")
    assert got["slack"] == [] and got["pagerduty"] == [] and len(got["email"]) == 1, got
    slack_sentence = f"Slack notification not delivered: 127.0.0.1:{closed_port} did not answer (Connection refused)."
    pd_sentence = ("PagerDuty notification not sent: notify_pagerduty_routing_key is empty "
                   "(set it or SRE_PAGERDUTY_ROUTING_KEY).")
    assert f'"msg": "Notified email. {pd_sentence} {slack_sentence}"' in unreachable.stdout, unreachable.stdout[-6000:]
    assert "secret-token" not in unreachable.stdout + unreachable.stderr
    report = json.loads((tmp_path / "unreachable" / "weekly_maintenance.json").read_text())
    assert report["failures"][0]["part"] == "jobs"
    markdown = (tmp_path / "unreachable" / "weekly_maintenance.md").read_text()
    assert slack_sentence in markdown and pd_sentence in markdown
    assert _stats(unreachable.stdout)["weekly_maintenance"]["notifications"]["problems"] == [pd_sentence, slack_sentence]

    evening = procs["evening"]
    assert evening.returncode != 0, evening.stdout[-6000:]
    cause = "The evening summary is unavailable: no Prometheus configured (health_check_summary_prometheus_url)."
    got = _received(receivers, "evening")
    assert len(got["slack"]) == 1 and len(got["pagerduty"]) == 1 and len(got["email"]) == 1, got
    assert got["slack"][0]["text"] == f"[it] evening_summary FAILED: {cause}"
    assert got["pagerduty"][0]["json"]["payload"]["custom_details"]["error"] == cause
    stats = _stats(evening.stdout)["evening_summary"]
    assert stats["status"] == "failed" and stats["error"] == cause
    assert stats["reports"]["markdown"].startswith(str(tmp_path / "evening"))
