# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""I7 dependency checks from inside an application pod: the pure part.

The probe is a short Python program run in the pod's container through the exec API: for each
target a DNS lookup (``getaddrinfo``, the resolver the application itself uses) and, when it
resolved, a TCP connect with a timeout; it prints one JSON list. Here: the targets parsed and
checked, the probe's command line, and its output judged (one sentence per failed target).
"""

from __future__ import annotations

import json
import re

# Runs in the application's container: only the standard library, Python 3.6 and later.
PROBE = r"""
import json, socket, sys, time
targets, timeout = json.loads(sys.argv[1]), float(sys.argv[2])
out = []
for t in targets:
    r = {"name": t["name"], "host": t["host"], "port": t["port"], "dns_ok": False, "addresses": [],
         "connect_ok": False, "ms": None, "error": None}
    try:
        infos = socket.getaddrinfo(t["host"], t["port"], 0, socket.SOCK_STREAM)
        r["addresses"] = sorted(set(i[4][0] for i in infos))
        r["dns_ok"] = True
    except Exception as exc:
        r["error"] = "dns: %s" % (exc,)
    if r["dns_ok"]:
        started = time.monotonic()
        try:
            socket.create_connection((t["host"], t["port"]), timeout=timeout).close()
            r["connect_ok"] = True
        except Exception as exc:
            r["error"] = "connect: %s" % (exc,)
        r["ms"] = round((time.monotonic() - started) * 1000.0, 1)
    out.append(r)
print("SRE-RUNBOOKS-PROBE " + json.dumps(out))
"""
MARKER = "SRE-RUNBOOKS-PROBE "
_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?$")


class TargetError(ValueError):
    """A target the module cannot check; the message is one sentence."""


def _host_ok(host):
    if _HOST.match(host):
        return True
    return ":" in host and re.match(r"^[0-9A-Fa-f:.]+$", host) is not None  # an IPv6 address


def parse_target(value):
    """``"host:port"``, ``"[v6]:port"`` or ``{host, port, name}`` -> {name, host, port}."""
    if isinstance(value, dict):
        host, port, name = value.get("host"), value.get("port"), value.get("name")
    elif isinstance(value, str):
        text = value.strip()
        match = re.match(r"^\[([^\]]+)\]:(\d+)$", text) or re.match(r"^([^:\[\]]+):(\d+)$", text)
        if not match:
            raise TargetError(f"The target {value!r} is not host:port.")
        host, port, name = match.group(1), match.group(2), None
    else:
        raise TargetError(f"The target {value!r} is neither host:port nor a dict with host and port.")
    if not isinstance(host, str) or not host or not _host_ok(host):
        raise TargetError(f"The target {value!r} has no valid host name.")
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise TargetError(f"The target {value!r} has no port number.") from None
    if not 1 <= port <= 65535:
        raise TargetError(f"The port of target {value!r} must be between 1 and 65535.")
    return {"name": str(name) if name else f"{host}:{port}", "host": host, "port": port}


def parse_targets(values):
    if not values:
        raise TargetError("Name at least one target (host:port) to check.")
    targets = [parse_target(value) for value in values]
    names = [t["name"] for t in targets]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise TargetError(f"The targets {', '.join(duplicates)} are named twice.")
    return targets


def probe_command(interpreter, targets, timeout):
    return [interpreter, "-c", PROBE, json.dumps(targets), str(float(timeout))]


def parse_output(text):
    """The probe's JSON list, or None when the output holds none (no interpreter, killed)."""
    for line in reversed((text or "").splitlines()):
        if line.startswith(MARKER):
            try:
                data = json.loads(line[len(MARKER):])
            except ValueError:
                return None
            return data if isinstance(data, list) else None
    return None


def judge(rows, where):
    """Rows with ``ok`` and a sentence in ``error``; the summary counts."""
    judged = []
    for row in rows:
        row = dict(row)
        target = f"{row['host']}:{row['port']}"
        raw = row.get("error") or ""
        if not row.get("dns_ok"):
            row["error"] = f"{row['host']} does not resolve from {where} ({raw.split(': ', 1)[-1]})."
        elif not row.get("connect_ok"):
            cause = raw.split(": ", 1)[-1]
            if "refused" in cause.lower():
                what = "refused the TCP connection"
            elif "timed out" in cause.lower():
                what = "did not answer a TCP connect within the timeout"
            else:
                what = "could not be connected to"
            row["error"] = f"{target} ({', '.join(row.get('addresses') or [])}) {what} from {where} ({cause})."
        else:
            row["error"] = None
        row["ok"] = bool(row.get("dns_ok") and row.get("connect_ok"))
        judged.append(row)
    summary = {"targets": len(judged), "ok": sum(1 for r in judged if r["ok"]),
               "dns_failed": sum(1 for r in judged if not r.get("dns_ok")),
               "connect_failed": sum(1 for r in judged if r.get("dns_ok") and not r.get("connect_ok"))}
    return judged, summary


def choose_pod(pods):
    """The first Running and Ready pod by name (the one an SRE would ``kubectl exec`` into), or None."""
    def ready(pod):
        status = pod.get("status") or {}
        return status.get("phase") == "Running" and any(
            c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    candidates = sorted((p for p in pods if ready(p) and not (p.get("metadata") or {}).get("deletionTimestamp")),
                        key=lambda p: p["metadata"]["name"])
    return candidates[0] if candidates else None
