"""The notify role's messages (module_utils/_notify/messages.py): payload shapes, thresholds and
the one-sentence problems, without a receiver."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._notify import messages

RUN = {"source": "daily_health_check", "status": "critical", "environment": "prod", "run_id": "4711",
       "dedup_key": "sre.runbooks/prod/daily_health_check", "report": "/r/health.md", "error": "",
       "findings": [{"id": "H4", "check": "postgres", "status": "critical", "summary": "PostgreSQL 95% connections."},
                    {"part": "redis", "error": "Redis refused the connection."}, "C2 ns/api"]}


@pytest.mark.parametrize("status, threshold, expected", [
    ("ok", "warning", False), ("warning", "warning", True), ("warning", "critical", False),
    ("critical", "critical", True), ("failed", "critical", True), ("critical", "failed", False),
    ("failed", "failed", True),
])
def test_due_follows_the_threshold_and_never_ok(status, threshold, expected):
    assert messages.due(status, threshold) is expected


@pytest.mark.parametrize("status, threshold", [("bad", "critical"), ("critical", "info")])
def test_due_refuses_unknown_names_in_one_sentence(status, threshold):
    with pytest.raises(messages.NotifyError, match=r"is not one of ok, warning, critical, failed\.$"):
        messages.due(status, threshold)


@pytest.mark.parametrize("item, expected", [
    ({"id": "H4", "summary": "x"}, {"id": "H4", "summary": "x"}),
    ({"part": "jobs", "error": "no kubeconfig"}, {"id": "jobs", "summary": "no kubeconfig"}),
    ({"subject": "svc", "option": "min_availability_percent", "message": "low"}, {"id": "svc", "summary": "low"}),
    ("C2 ns/api", {"id": "C2 ns/api", "summary": ""}),
    ({"summary": "multi\n  line"}, {"id": "unnamed", "summary": "multi line"}),
])
def test_finding_reads_the_usual_keys(item, expected):
    assert messages.finding(item) == expected


def test_finding_refuses_other_types():
    with pytest.raises(messages.NotifyError, match="mapping or a string, not int"):
        messages.finding(3)


def test_slack_payload_names_every_failing_check():
    payload = messages.slack_payload(RUN)
    assert payload["text"] == "[prod] daily_health_check CRITICAL: 3 failing - H4, redis, C2 ns/api"
    assert [block["type"] for block in payload["blocks"]] == ["header", "section", "context"]
    assert payload["blocks"][0]["text"] == {"type": "plain_text", "text": "daily_health_check CRITICAL in prod"}
    assert payload["blocks"][1]["text"]["text"].splitlines() == [
        "- H4: PostgreSQL 95% connections.", "- redis: Redis refused the connection.", "- C2 ns/api"]
    assert "report `/r/health.md`" in payload["blocks"][2]["elements"][0]["text"]


def test_slack_payload_respects_block_kit_limits():
    run = dict(RUN, source="x" * 400, findings=[{"id": f"c{n}", "summary": "y" * 300} for n in range(40)])
    payload = messages.slack_payload(run)
    assert len(payload["blocks"][0]["text"]["text"]) <= 150
    assert len(payload["blocks"][1]["text"]["text"]) <= 3000


def test_pagerduty_event_is_an_events_v2_trigger():
    event = messages.pagerduty_event(dict(RUN, status="failed", error="Task failed."), "KEY", {"failed": "error"})
    assert event["routing_key"] == "KEY" and event["event_action"] == "trigger"
    assert event["dedup_key"] == "sre.runbooks/prod/daily_health_check"
    assert event["payload"]["severity"] == "error" and event["payload"]["class"] == "failed"
    assert event["payload"]["summary"].startswith("[prod] daily_health_check FAILED: 3 failing")
    assert event["payload"]["custom_details"]["error"] == "Task failed."
    assert len(messages.pagerduty_event(dict(RUN, findings=["z" * 2000]), "K", {})["payload"]["summary"]) <= 1024


def test_pagerduty_refuses_an_unknown_severity():
    with pytest.raises(messages.NotifyError, match="PagerDuty severity 'page' for status critical"):
        messages.pagerduty_event(RUN, "K", {"critical": "page"})


def test_email_subject_and_body():
    mail = messages.email(dict(RUN, findings=[], error="Weekly maintenance had failures: jobs."))
    assert mail["subject"] == "[sre.runbooks] prod daily_health_check: CRITICAL"
    assert mail["body"].splitlines()[0] == "[prod] daily_health_check CRITICAL: Weekly maintenance had failures: jobs."
    assert "Run id: 4711" in mail["body"] and "Report: /r/health.md" in mail["body"]


def test_messages_needs_the_run_keys():
    with pytest.raises(messages.NotifyError, match="The notification needs run_id, dedup_key."):
        messages.messages(dict(RUN, run_id="", dedup_key=""))


@pytest.mark.parametrize("channel, result, url, expected", [
    ("slack", {"status": 200, "msg": "OK"}, "https://hooks.example/services/T/B/secret", None),
    ("pagerduty", {"status": 202}, "https://events.example/v2/enqueue", None),
    ("slack", {"status": -1, "msg": "Status code was -1 and not [200]: Request failed: "
                                    "<urlopen error [Errno 111] Connection refused>"},
     "http://127.0.0.1:9/services/T/B/secret",
     "Slack notification not delivered: 127.0.0.1:9 did not answer (Connection refused)."),
    ("pagerduty", {"status": 400, "msg": "Status code was 400"}, "https://events.example/v2/enqueue",
     "PagerDuty notification not delivered: events.example answered HTTP 400."),
    ("slack", {"status": -1, "msg": "Request failed: The read operation timed out"}, "https://h.example/x",
     "Slack notification not delivered: h.example did not answer (The read operation timed out)."),
    ("email", {"msg": "Mail sent successfully"}, "", None),
    ("email", {"skipped": True}, "", None),
    ("email", {"msg": "Unable to Connect 127.0.0.1:1: [Errno 111] Connection refused", "rc": 1}, "",
     "Email notification not delivered: Unable to Connect 127.0.0.1:1: Connection refused."),
])
def test_delivery_problem_is_one_sentence_without_the_secret_path(channel, result, url, expected):
    sentence = messages.delivery_problem(channel, result, url)
    assert sentence == expected
    assert "secret" not in (sentence or "")


def test_delivery_problems_reads_loop_results():
    results = [{"status": 200, "item": {"channel": "slack", "url": "http://a/x"}},
               {"status": 500, "item": {"channel": "pagerduty", "url": "http://b:81/v2/enqueue"}}]
    assert messages.delivery_problems(results) == ["PagerDuty notification not delivered: b:81 answered HTTP 500."]


@pytest.mark.parametrize("channel, settings, expected", [
    ("pagerduty", {"url": "https://e.example/v2/enqueue", "routing_key": ""},
     "PagerDuty notification not sent: notify_pagerduty_routing_key is empty (set it or SRE_PAGERDUTY_ROUTING_KEY)."),
    ("pagerduty", {"url": "events.pagerduty.com", "routing_key": "K"},
     "PagerDuty notification not sent: notify_pagerduty_url is not an http(s) URL."),
    ("pagerduty", {"url": "https://e.example/v2/enqueue", "routing_key": "K"}, None),
    ("email", {"to": []}, "Email notification not sent: notify_email_to names no recipient."),
    ("email", {"to": ["a@b"], "username": "u", "password": ""},
     "Email notification not sent: notify_smtp_username is set but notify_smtp_password is empty "
     "(set it or SRE_SMTP_PASSWORD)."),
    ("email", {"to": ["a@b"]}, None),
    ("slack", {"url": "ftp://x/y"}, "Slack notification not sent: notify_slack_webhook_url is not an http(s) URL."),
    ("slack", {"url": "https://hooks.slack.com/services/T/B/x"}, None),
])
def test_missing_credentials(channel, settings, expected):
    assert messages.missing_credentials(channel, settings) == expected
