"""Local notification receivers on 127.0.0.1: an HTTP server that records every request (a
Slack-compatible webhook and PagerDuty's Events API v2 share it, told apart by path) and an SMTP
server (aiosmtpd) that records every message. The notify role's tests and its molecule scenario
point the role at them and read back what arrived.

    with Receivers() as rx:
        ...  # notify_slack_webhook_url=rx.url('/services/T0/B0/secret'), notify_smtp_port=rx.smtp_port
        rx.requests  # [{'method', 'path', 'headers', 'json'}]
        rx.messages  # [{'from', 'to', 'subject', 'body'}]

``python -m tests.harness.receivers <dir>`` runs them in the foreground for molecule: it writes
``<dir>/receivers.json`` (ports and pid) and appends every request and message to ``<dir>/received.jsonl``.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.harness.procs import LOOPBACK, free_port


class _Recorder(BaseHTTPRequestHandler):
    """Answers like the real APIs: 200 'ok' for a Slack webhook, 202 with a dedup_key for PagerDuty."""

    def do_POST(self):  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace")
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        entry = {"method": "POST", "path": self.path, "headers": dict(self.headers), "json": body, "raw": raw}
        self.server.record(entry)
        if self.path.startswith("/v2/enqueue"):
            answer = json.dumps({"status": "success", "message": "Event processed",
                                 "dedup_key": (body or {}).get("dedup_key")}).encode()
            self._answer(202, answer, "application/json")
        elif self.path.startswith("/fail"):
            self._answer(500, b"internal error", "text/plain")
        else:
            self._answer(200, b"ok", "text/plain")

    def _answer(self, status, payload, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):  # noqa: A002 - http.server's signature; quiet
        return


class _SmtpHandler:
    def __init__(self, record):
        self.record = record

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(("plain",))
        self.record({"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "subject": str(message["subject"]),
                     "body": body.get_content() if body is not None else ""})
        return "250 Message accepted for delivery"


class Receivers:
    """Both receivers, started on enter and stopped on exit; ``log`` also appends entries to a JSON-lines file."""

    def __init__(self, log: Path | None = None):
        self.requests: list[dict] = []
        self.messages: list[dict] = []
        self.log = log
        self._lock = threading.Lock()
        self._http = None
        self._smtp = None
        self.http_port = 0
        self.smtp_port = 0

    def url(self, path: str) -> str:
        return f"http://{LOOPBACK}:{self.http_port}{path}"

    def _record(self, kind: str, entry: dict) -> None:
        with self._lock:
            (self.requests if kind == "http" else self.messages).append(entry)
            if self.log is not None:
                with self.log.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps({"kind": kind, **entry}) + "\n")

    def start(self) -> "Receivers":
        from aiosmtpd.controller import Controller  # pylint: disable=import-outside-toplevel

        self._http = ThreadingHTTPServer((LOOPBACK, 0), _Recorder)
        self._http.record = lambda entry: self._record("http", entry)
        self.http_port = self._http.server_address[1]
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        self.smtp_port = free_port()
        self._smtp = Controller(_SmtpHandler(lambda entry: self._record("smtp", entry)), hostname=LOOPBACK,
                                port=self.smtp_port, ready_timeout=10)
        self._smtp.start()  # returns once the server answers (or raises after ready_timeout)
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._smtp is not None:
            self._smtp.stop()

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self.messages.clear()

    def __enter__(self) -> "Receivers":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str]) -> int:
    run_dir = Path(argv[0])
    run_dir.mkdir(parents=True, exist_ok=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *args: done.set())
    with Receivers(log=run_dir / "received.jsonl") as receivers:
        (run_dir / "receivers.json").write_text(json.dumps(
            {"http_port": receivers.http_port, "smtp_port": receivers.smtp_port, "pid": os.getpid()}))
        done.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
