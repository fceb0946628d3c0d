"""A small HTTP proxy on loopback that breaks every Nth request it forwards (for the S3 fault test).

    with FlakyProxy("http://127.0.0.1:5000", every=3) as proxy:
        ... endpoint_url=proxy.url ...
        proxy.faults  # how many requests were answered 500/503 or dropped

Faults cycle through 503 SlowDown, 500 InternalError and a connection closed without an answer;
every other request goes to the upstream server unchanged (headers, body and status).
"""

from __future__ import annotations

import http.client
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tests.harness.procs import LOOPBACK

ERROR_BODY = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>injected by the fault "
              "proxy</Message><RequestId>fault</RequestId></Error>")
FAULTS = [(503, "SlowDown"), (500, "InternalError"), (None, "drop")]
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


class FlakyProxy:
    def __init__(self, upstream: str, every: int = 3):
        target = urlsplit(upstream)
        self.upstream = (target.hostname, target.port)
        self.every = every
        self.requests = 0
        self.faults = 0
        self.log: list[tuple[str, str, object]] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def handle_one(self):
                body = self.read_body()
                with proxy.lock:
                    proxy.requests += 1
                    fault = FAULTS[(proxy.faults) % len(FAULTS)] if proxy.requests % proxy.every == 0 else None
                    if fault:
                        proxy.faults += 1
                    proxy.log.append((self.command, self.path, fault[1] if fault else "ok"))
                if fault and fault[0] is None:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault:
                    payload = ERROR_BODY.format(code=fault[1]).encode()
                    self.send_response(fault[0])
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                self.forward(body)

            def read_body(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def forward(self, body):
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                    headers["Content-Length"] = str(len(body))
                    conn.request(self.command, self.path, body=body, headers=headers)
                    answer = conn.getresponse()
                    payload = answer.read()
                finally:
                    conn.close()
                self.send_response(answer.status, answer.reason)
                for key, value in answer.getheaders():
                    if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_one

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{LOOPBACK}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
