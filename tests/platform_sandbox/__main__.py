"""Command line of the platform sandbox (run from the repository root).

    python -m tests.platform_sandbox serve [--db platform.db] [--v2-port 8001 --v1-port 8002 --v3-port 8003]
    python -m tests.platform_sandbox start --run-dir DIR [--lifetime 1800]   # background; prints the URLs as JSON
    python -m tests.platform_sandbox stop --run-dir DIR

``serve`` runs in the foreground (the runbook's ports by default). ``start`` / ``stop`` are
for molecule and the demo: the state (pid, URLs, log) lives in DIR/sandbox.json. The API
token, when wanted, comes from the SANDBOX_API_TOKEN environment variable.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from tests.platform_sandbox.control import SandboxError, load_sandbox, start_sandbox, stop_sandbox
from tests.platform_sandbox.server import serve


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.platform_sandbox", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="run the three APIs in the foreground")
    p_serve.add_argument("--db", default="platform-sandbox.db", help="SQLite file (kept across restarts)")
    p_serve.add_argument("--host", default="127.0.0.1")
    p_serve.add_argument("--v2-port", type=int, default=8001)
    p_serve.add_argument("--v1-port", type=int, default=8002)
    p_serve.add_argument("--v3-port", type=int, default=8003)
    p_serve.add_argument("--ports-file", help="write pid and URLs here once listening (ports 0 pick free ports)")
    p_serve.add_argument("--run-seconds", type=float, default=2.0, help="how long an experiment run takes")
    p_serve.add_argument("--criteria", help="JSON object overriding the promotion criteria")
    p_serve.add_argument("--no-test-controls", action="store_true", help="disable the /_sandbox/ endpoints")
    p_serve.add_argument("--lifetime", type=float, help="exit after this many seconds")
    p_serve.add_argument("--log-requests", action="store_true")
    p_start = sub.add_parser("start", help="start in the background, wait until ready, print the URLs")
    p_start.add_argument("--run-dir", required=True)
    p_start.add_argument("--run-seconds", type=float, default=1.0)
    p_start.add_argument("--lifetime", type=float, help="exit after this many seconds (a guard against orphans)")
    p_stop = sub.add_parser("stop", help="stop the sandbox started in --run-dir")
    p_stop.add_argument("--run-dir", required=True)
    args = parser.parse_args(argv)

    if args.command == "serve":
        return serve(args.db, host=args.host, ports=(args.v2_port, args.v1_port, args.v3_port), ports_file=args.ports_file,
                     token=os.environ.get("SANDBOX_API_TOKEN") or None, run_seconds=args.run_seconds,
                     criteria=json.loads(args.criteria) if args.criteria else None,
                     controls=not args.no_test_controls, lifetime=args.lifetime, log_requests=args.log_requests)
    if args.command == "start":
        existing = load_sandbox(args.run_dir)
        if existing:
            stop_sandbox(existing)
        try:
            sandbox = start_sandbox(args.run_dir, token=os.environ.get("SANDBOX_API_TOKEN") or None,
                                    run_seconds=args.run_seconds, lifetime=args.lifetime)
        except SandboxError as exc:
            print(f"platform sandbox: {exc}", file=sys.stderr)
            return 1
        print(json.dumps({"pid": sandbox.pid, "v1_url": sandbox.v1_url, "v2_url": sandbox.v2_url,
                          "v3_url": sandbox.v3_url, "log": sandbox.log}))
        return 0
    sandbox = load_sandbox(args.run_dir)
    if sandbox is None:
        print("platform sandbox: not running")
        return 0
    stop_sandbox(sandbox)
    print(f"platform sandbox stopped (pid {sandbox.pid})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
