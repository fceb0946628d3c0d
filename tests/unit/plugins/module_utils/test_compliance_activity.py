"""C6 (activity): suspicious log lines per Deployment and Warning events of security interest as checks."""

from __future__ import annotations

import re

from ansible_collections.sre.runbooks.plugins.module_utils._compliance import activity


def test_the_pattern_finds_the_runbooks_markers_and_not_ordinary_numbers():
    pattern = re.compile(activity.PATTERN, re.I)
    for line in ("GET /admin 403 12ms", "auth: 401 Unauthorized", "AUTH_FAILED user=bob", "THREAT_DETECTED sqli",
                 "VULNERABILITY CVE-2026-1", "request forbidden by policy"):
        assert pattern.search(line), line
    for line in ("GET / 200 4031 bytes", "took 1401 ms", "user 4030 logged in"):
        assert not pattern.search(line), line


def test_deployments_above_the_threshold_fail_with_the_count_and_the_last_lines():
    health = {"logs": {"deployments": [
        {"namespace": "shop", "name": "api", "error_lines": 3, "previous_error_lines": 1,
         "last_errors": ["api-1/app: GET /admin 403"]},
        {"namespace": "shop", "name": "web", "error_lines": 1}]}, "namespaces": {}}
    api, web = activity.checks(health, max_lines=1, window="6h")
    assert (api["control"], api["object"], api["status"]) == ("suspicious-logs", "Deployment shop/api", "failed")
    assert api["message"].startswith("4 suspicious log lines (401/403, AUTH_FAILED, THREAT_DETECTED, VULNERABILITY) "
                                     "in the last 6h, above 1; last: api-1/app: GET /admin 403")
    assert web["status"] == "passed" and web["message"] == "1 suspicious log lines in the last 6h"


def test_secret_mount_failures_and_refusals_are_security_events_and_others_are_not():
    events = [{"kind": "Pod", "name": "api-1", "reason": "FailedMount", "count": 4,
               "message": 'MountVolume.SetUp failed for volume "creds" : secret "db" not found'},
              {"kind": "Pod", "name": "api-2", "reason": "FailedMount", "message": 'configmap "x" not found'},
              {"kind": "ReplicaSet", "name": "api-7d", "reason": "FailedCreate",
               "message": 'pods "api-7d-x" is forbidden: exceeded quota'},
              {"kind": "Pod", "name": "api-3", "reason": "BackOff", "message": "Back-off restarting"}]
    [shop, quiet] = activity.checks({"namespaces": {"shop": {"events": events}, "zz": {"events": []}}})
    assert shop["status"] == "failed" and shop["object"] == "Namespace shop"
    assert "Pod/api-1 FailedMount x4: a Secret could not be mounted" in shop["message"]
    assert "ReplicaSet/api-7d FailedCreate x1: a request was refused" in shop["message"]
    assert "api-2" not in shop["message"] and "api-3" not in shop["message"]
    assert quiet["status"] == "passed"
