# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The notify role's messages, pure: what a failed or critical run sends to a Slack-compatible
webhook, to PagerDuty's Events API v2 and by email, and one sentence for a channel that could not
be used. No I/O: the role posts the payloads with ansible.builtin.uri and community.general.mail.

Payload formats: Slack's incoming webhooks take ``text`` (the fallback shown in notifications)
and ``blocks`` (Block Kit: header text at most 150 characters, section text at most 3,000);
PagerDuty's Events API v2 takes ``routing_key``, ``event_action`` (``trigger``), ``dedup_key`` and a
``payload`` with ``summary`` (at most 1,024 characters), ``source``, ``severity`` (critical, error,
warning, info), ``component``, ``group``, ``class`` and ``custom_details``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

STATUS_RANK = {"ok": 0, "warning": 1, "critical": 2, "failed": 3}
PAGERDUTY_SEVERITIES = ("critical", "error", "warning", "info")
MAIL_SENT = "Mail sent successfully"
_ID_KEYS = ("id", "part", "name", "control", "check", "subject", "option")
_SUMMARY_KEYS = ("summary", "error", "message", "msg")


class NotifyError(ValueError):
    """Bad input to the notify filters, as one sentence."""


def finding(item):
    """One failing check or part as ``{'id', 'summary'}``, from a dict with any of the usual keys or a string."""
    if isinstance(item, str):
        return {"id": item, "summary": ""}
    if not isinstance(item, dict):
        raise NotifyError(f"A finding must be a mapping or a string, not {type(item).__name__}.")
    ident = next((str(item[key]) for key in _ID_KEYS if item.get(key) not in (None, "")), "unnamed")
    summary = next((str(item[key]) for key in _SUMMARY_KEYS if item.get(key) not in (None, "")), "")
    return {"id": ident, "summary": _one_line(summary)}


def due(status, threshold):
    """Whether a run with ``status`` notifies a channel with ``threshold``: never for ok."""
    for value, name in ((status, "status"), (threshold, "threshold")):
        if value not in STATUS_RANK:
            raise NotifyError(f"The notification {name} {value!r} is not one of {', '.join(STATUS_RANK)}.")
    return status != "ok" and STATUS_RANK[status] >= STATUS_RANK[threshold]


def _one_line(text, limit=300):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def summary_line(run):
    """One line naming the environment, the run, its status and the failing checks (the messages' title)."""
    items = [finding(item) for item in run.get("findings") or []]
    head = f"[{run['environment']}] {run['source']} {run['status'].upper()}"
    if items:
        head += f": {len(items)} failing - " + ", ".join(item["id"] for item in items)
    elif run.get("error"):
        head += f": {_one_line(run['error'], 200)}"
    return _one_line(head, 1024)


def _details_lines(run):
    items = [finding(item) for item in run.get("findings") or []]
    lines = [f"- {item['id']}" + (f": {item['summary']}" if item["summary"] else "") for item in items]
    if run.get("error"):
        lines.append(f"Error: {_one_line(run['error'], 600)}")
    return lines


def slack_payload(run):
    """The webhook body: ``text`` (fallback) and ``blocks`` naming every failing check."""
    text = summary_line(run)
    lines = _details_lines(run) or ["(no finding listed)"]
    context = f"run `{run['run_id']}` · dedup `{run['dedup_key']}`"
    if run.get("report"):
        context += f" · report `{run['report']}`"
    return {
        "text": text,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": _one_line(
                f"{run['source']} {run['status'].upper()} in {run['environment']}", 150)}},
            {"type": "section", "text": {"type": "mrkdwn", "text": _truncate("\n".join(lines), 3000)}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": _truncate(context, 3000)}]},
        ],
    }


def _truncate(text, limit):
    return text if len(text) <= limit else text[:limit - 1] + "…"


def pagerduty_event(run, routing_key, severities):
    """The Events API v2 trigger event; ``severities`` maps the run status to PagerDuty's severity."""
    severity = (severities or {}).get(run["status"], "error")
    if severity not in PAGERDUTY_SEVERITIES:
        raise NotifyError(f"The PagerDuty severity {severity!r} for status {run['status']} is not one of "
                          f"{', '.join(PAGERDUTY_SEVERITIES)}.")
    details = {"run_id": run["run_id"], "status": run["status"],
               "findings": [finding(item) for item in run.get("findings") or []]}
    if run.get("error"):
        details["error"] = _one_line(run["error"], 2000)
    if run.get("report"):
        details["report"] = run["report"]
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": run["dedup_key"],
        "client": "sre.runbooks",
        "payload": {
            "summary": summary_line(run),
            "source": f"sre.runbooks/{run['environment']}",
            "severity": severity,
            "component": run["source"],
            "group": run["environment"],
            "class": run["status"],
            "custom_details": details,
        },
    }


def email(run):
    """Subject and plain-text body."""
    body = [summary_line(run), ""] + _details_lines(run) + [
        "", f"Run id: {run['run_id']}", f"Dedup key: {run['dedup_key']}"]
    if run.get("report"):
        body.append(f"Report: {run['report']}")
    return {"subject": _one_line(f"[sre.runbooks] {run['environment']} {run['source']}: {run['status'].upper()}", 200),
            "body": "\n".join(body) + "\n"}


def messages(run, routing_key="", severities=None):
    """Every channel's message for ``run`` (source, status, environment, run_id, dedup_key, findings, error, report)."""
    missing = [key for key in ("source", "status", "environment", "run_id", "dedup_key") if not run.get(key)]
    if missing:
        raise NotifyError(f"The notification needs {', '.join(missing)}.")
    if run["status"] not in STATUS_RANK:
        raise NotifyError(f"The notification status {run['status']!r} is not one of {', '.join(STATUS_RANK)}.")
    return {"summary": summary_line(run), "slack": slack_payload(run),
            "pagerduty": pagerduty_event(run, routing_key, severities), "email": email(run)}


_CHANNEL_NAMES = {"slack": "Slack", "pagerduty": "PagerDuty", "email": "Email"}


def _reason(message):
    """The cause inside uri's or mail's message.

    'Connection refused' from '... Request failed: <(library) error [Errno 111] Connection refused>'.
    """
    text = str(message or "").strip()
    text = re.sub(r"^.*Request failed: ", "", text)
    # The URL library's exception text, wrapped in angle brackets.
    text = re.sub(r"^<\w+ error (.*)>$", r"\1", text)
    text = re.sub(r"\[Errno -?\d+\] ", "", text)
    return _one_line(text.rstrip("."), 200) or "no answer"


def delivery_problem(channel, result, url=""):
    """One sentence when a channel's task did not deliver, else None.

    ``result`` is the registered result of the uri task (``status``, ``msg``) or the mail task
    (``failed``, ``msg``); ``url`` names only its host, never the path (a webhook's path is its secret).
    """
    name = _CHANNEL_NAMES.get(channel, channel)
    result = result or {}
    if result.get("skipped"):
        return None
    if channel == "email":
        # community.general.mail's own words for a delivered message (failed_when: false hides 'failed').
        if result.get("msg") == MAIL_SENT:
            return None
        return f"{name} notification not delivered: {_reason(result.get('msg'))}."
    status = result.get("status", -1)
    host = urlsplit(str(url)).hostname or "the endpoint"
    port = urlsplit(str(url)).port if urlsplit(str(url)).hostname else None
    where = f"{host}:{port}" if port else host
    if isinstance(status, int) and 200 <= status < 300 and not result.get("failed"):
        return None
    if status in (-1, None) or not isinstance(status, int):
        return f"{name} notification not delivered: {where} did not answer ({_reason(result.get('msg'))})."
    return f"{name} notification not delivered: {where} answered HTTP {status}."


def delivery_problems(results):
    """The sentences for a list of registered results, each with ``item`` naming its ``channel`` and ``url``."""
    sentences = []
    for result in results or []:
        item = (result or {}).get("item") or {}
        sentence = delivery_problem(item.get("channel", "webhook"), result, item.get("url", ""))
        if sentence:
            sentences.append(sentence)
    return sentences


def missing_credentials(channel, settings):
    """One sentence naming the variable a channel needs and lacks, else None."""
    if channel == "pagerduty" and not settings.get("routing_key"):
        return ("PagerDuty notification not sent: notify_pagerduty_routing_key is empty "
                "(set it or SRE_PAGERDUTY_ROUTING_KEY).")
    if channel == "email":
        if not settings.get("to"):
            return "Email notification not sent: notify_email_to names no recipient."
        if settings.get("username") and not settings.get("password"):
            return ("Email notification not sent: notify_smtp_username is set but notify_smtp_password is empty "
                    "(set it or SRE_SMTP_PASSWORD).")
    if channel == "slack":
        url = urlsplit(str(settings.get("url", "")))
        if url.scheme not in ("http", "https") or not url.hostname:
            return "Slack notification not sent: notify_slack_webhook_url is not an http(s) URL."
    if channel == "pagerduty":
        url = urlsplit(str(settings.get("url", "")))
        if url.scheme not in ("http", "https") or not url.hostname:
            return "PagerDuty notification not sent: notify_pagerduty_url is not an http(s) URL."
    return None
