"""platform_report_info and playbooks/compliance_report.yml against the platform sandbox (E5).

One sandbox seeded through its API (a month of traffic with a bad day, experiments whose runs
measure known metrics, one quarantined): the module's reports must be the sandbox's own answers,
the thresholds must find exactly the breaches the seeded data has, and the playbook must write
both reports and fail with the breached number.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.integration.ansible_run import run_playbook
from tests.integration.badinput.hostile import FakeHTTP, closed_port
from tests.integration.module_batch import run_module_batch

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.platform_report_info"
MODELS = {"Prompt A": ("gpt-4", {"accuracy": 0.97, "error_rate": 0.002, "latency_p95_ms": 900}),
          "Prompt B": ("gpt-4", {"accuracy": 0.91, "error_rate": 0.004, "latency_p95_ms": 1100}),
          "Prompt C": ("claude-3-opus-20240229", {"accuracy": 0.96, "error_rate": 0.03, "latency_p95_ms": 2500})}


def _seed(sandbox):
    """A month of traffic (99.95 % available, one day at 98 %), three completed experiments, one quarantined."""
    sandbox.add_traffic(from_minutes_ago=43000, to_minutes_ago=1500, requests_per_minute=10, error_ratio=0.0005,
                        latency_seconds=0.2)
    sandbox.add_traffic(from_minutes_ago=1440, to_minutes_ago=1, requests_per_minute=10, error_ratio=0.02,
                        latency_seconds=0.2)
    ids = {}
    for name, (model, metrics) in MODELS.items():
        sandbox.set_outcome(name, run_polls=1, **metrics)
        exp = sandbox.call("v1", "POST", "/api/v1/experiments/create",
                           {"name": name, "primary_model": model, "prompt_template": "Review this code..."}, expect=201)[1]
        sandbox.call("v1", "POST", f"/api/v1/experiments/run/{exp['id']}", {"code_samples": ["def t(): pass"]},
                     expect=202)
        assert sandbox.get("v1", f"/api/v1/experiments/{exp['id']}")["status"] == "completed"
        ids[name] = exp["id"]
    sandbox.call("v1", "POST", f"/api/v1/evaluation/quarantine/{ids['Prompt B']}",
                 {"reason": "Accuracy below threshold (0.91 < 0.95)"}, expect=201)
    return ids


@pytest.fixture
def seeded(platform_sandbox):
    _seed(platform_sandbox)
    return platform_sandbox


def _without(report, *keys):
    return {k: v for k, v in report.items() if k not in keys}


def test_reports_match_the_platform_and_thresholds_find_the_breaches(seeded, tmp_path):
    sandbox = seeded
    conn = sandbox.module_args()
    passing = {"min_availability_percent": 99.0, "min_accuracy": 0.9, "max_error_rate": 0.05,
               "max_quarantine_rate_percent": 50, "max_quarantined_last_24h": 1}
    breaching = {"min_availability_percent": 99.9, "min_daily_availability_percent": 99.0, "breached_objectives": True,
                 "min_accuracy": 0.95, "max_error_rate": 0.01, "max_latency_p95_ms": 2000,
                 "max_quarantine_rate_percent": 20, "max_quarantined_last_24h": 0}
    ok, check, bad = run_module_batch(MODULE, [
        {"args": {**conn, "thresholds": passing}},
        {"args": {**conn, "thresholds": passing}, "check": True},
        {"args": {**conn, "thresholds": breaching}}])

    # The platform's own answers, read after the module's.
    slo = sandbox.get("v2", "/api/v1/metrics/slo-compliance")
    stats = sandbox.get("v3", "/api/v1/quarantine/statistics")
    models = sandbox.get("v2", "/api/v1/metrics/models")

    for result in (ok, check):
        assert not result.failed and not result.changed, result.output
        assert not result["breached"] and result["findings"] == [], result["findings"]
        assert _without(result["quarantine_statistics"], "generated_at") == _without(stats, "generated_at")
        assert _without(result["model_performance"], "generated_at") == _without(models, "generated_at")
        # Past days are settled; today's row also counts the API's own requests (these reads included).
        assert result["slo_compliance"]["daily"][:-1] == slo["daily"][:-1]
        for mine, theirs in zip(result["slo_compliance"]["objectives"], slo["objectives"], strict=True):
            assert _without(mine, "actual", "error_budget_remaining") == _without(theirs, "actual", "error_budget_remaining")
            assert mine["actual"] == pytest.approx(theirs["actual"], rel=1e-4)
        summary = result["summary"]
        requests = sum(d["requests"] for d in slo["daily"])
        errors = sum(d["errors"] for d in slo["daily"])
        assert summary["errors"] == pytest.approx(errors)
        assert 0 < requests - summary["requests"] <= 10
        assert summary["availability_percent"] == pytest.approx((1 - errors / requests) * 100, abs=1e-3)
        assert summary["experiments"] == 3 and summary["quarantined_experiments"] == 1
        assert summary["quarantine_rate_percent"] == pytest.approx(100 / 3, abs=1e-5)
        assert summary["quarantine_records"] == stats["total_records"] == 1

    assert not bad.failed and bad["breached"], bad.output
    found = {(f["option"], f["subject"]): f for f in bad["findings"]}
    by_model = {m["model"]: m for m in models["models"]}
    availability = bad["summary"]["availability_percent"]
    assert availability < 99.9
    assert found[("min_availability_percent", "platform-v2-api")]["message"] == (
        f"Availability of platform-v2-api over 30d is {format(round(availability, 6), '.15g')}, below the minimum "
        "99.9 (min_availability_percent).")
    daily = [key for key in found if key[0] == "min_daily_availability_percent"]
    assert [subject for _o, subject in daily] == [f"platform-v2-api {d['date']}" for d in slo["daily"]
                                                  if d["availability"] < 99.0] and daily
    breached = [o["name"] for o in slo["objectives"] if o["status"] == "breached"]
    assert breached and sorted(s.split()[-1] for o, s in found if o == "breached_objectives") == sorted(breached)
    gpt4 = by_model["gpt-4"]["avg_accuracy"]
    assert gpt4 == pytest.approx((0.97 + 0.91) / 2)
    assert found[("min_accuracy", "gpt-4")]["message"] == (
        f"Model 'gpt-4' average accuracy is {format(round(gpt4, 6), '.15g')}, below the minimum 0.95 (min_accuracy).")
    assert found[("max_error_rate", "claude-3-opus-20240229")]["value"] == 0.03
    assert found[("max_latency_p95_ms", "claude-3-opus-20240229")]["value"] == 2500
    assert ("min_accuracy", "claude-3-opus-20240229") not in found
    assert found[("max_quarantine_rate_percent", "experiments")]["message"] == (
        "Quarantine rate (1 of 3 experiments, percent) is 33.333333, above the maximum 20 (max_quarantine_rate_percent).")
    assert found[("max_quarantined_last_24h", "quarantine records")]["value"] == stats["last_24h"] == 1


def test_playbook_writes_reports_and_fails_with_the_number(seeded, tmp_path):
    sandbox = seeded
    env = dict(sandbox.env(), SRE_REPORT_DIR=str(tmp_path / "reports"))
    thresholds = {"min_availability_percent": 99.0, "min_accuracy": 0.9, "max_error_rate": 0.05,
                  "max_latency_p95_ms": 3000, "max_quarantine_rate_percent": 50}
    passed = run_playbook("playbooks/compliance_report.yml", {"compliance_report_thresholds": thresholds},
                          check=True, env=env)
    assert passed.returncode == 0, passed.stdout[-4000:] + passed.stderr[-2000:]
    report = json.loads((tmp_path / "reports" / "compliance_report-platform-api.json").read_text())
    stats = sandbox.get("v3", "/api/v1/quarantine/statistics")
    assert _without(report["quarantine_statistics"], "generated_at") == _without(stats, "generated_at")
    assert {m["model"] for m in report["model_performance"]["models"]} == {"gpt-4", "claude-3-opus-20240229"}
    assert report["breached"] is False and report["check_mode"] is True
    markdown = (tmp_path / "reports" / "compliance_report-platform-api.md").read_text()
    assert "# Compliance report: platform-v2-api — OK" in markdown
    assert "| claude-3-opus-20240229 | 1 |" in markdown

    failed = run_playbook("playbooks/compliance_report.yml",
                          {"compliance_report_thresholds": dict(thresholds, min_accuracy=0.96)}, env=env)
    assert failed.returncode == 2, failed.stdout[-4000:]
    gpt4 = next(m for m in stats and sandbox.get("v2", "/api/v1/metrics/models")["models"] if m["model"] == "gpt-4")
    message = re.search(r"Compliance report: 1 threshold\(s\) breached: (.*?) See ", " ".join(failed.stdout.split()))
    assert message, failed.stdout[-4000:]
    assert message.group(1) == (f"Model 'gpt-4' average accuracy is {format(round(gpt4['avg_accuracy'], 6), '.15g')}, "
                                "below the minimum 0.96 (min_accuracy).")
    report = json.loads((tmp_path / "reports" / "compliance_report-platform-api.json").read_text())
    assert report["breached"] is True and report["findings"][0]["value"] == gpt4["avg_accuracy"]
    assert "## Thresholds breached" in (tmp_path / "reports" / "compliance_report-platform-api.md").read_text()


def test_bad_answers_and_unreachable_are_one_sentence(platform_sandbox):
    # (Every hostile answer on either API: tests/integration/badinput/test_platform_report_info_bad_input.py.)
    port = closed_port()
    html, wrong = FakeHTTP("html"), FakeHTTP("wrong_types")
    try:
        v3 = platform_sandbox.v3_url
        down, not_json, shape, window = run_module_batch(MODULE, [
            {"args": {"platform_v2_url": f"http://127.0.0.1:{port}", "platform_v3_url": v3}},
            {"args": {"platform_v2_url": html.url, "platform_v3_url": v3}},
            {"args": {"platform_v2_url": wrong.url, "platform_v3_url": v3}},
            {"args": {**platform_sandbox.module_args(), "slo_window": "a month"}},
        ])
    finally:
        for server in (html, wrong):
            server.close()
    assert down["msg"] == f"Cannot reach the V2 production API at http://127.0.0.1:{port}: connection refused."
    assert not_json["msg"] == (f"The V2 production API at {html.url} answered GET /api/v1/metrics/slo-compliance "
                               "with a body that is not JSON.")
    assert shape["msg"] == (f"The V2 production API at {wrong.url} answered GET /api/v1/metrics/slo-compliance "
                            "with a report whose 'daily' is missing.")
    assert window["msg"].startswith(f"The V2 production API at {platform_sandbox.v2_url} answered HTTP 400 to GET "
                                    "/api/v1/metrics/slo-compliance: 'a month' is not a window")
    for result in (down, not_json, shape, window):
        assert result.failed and "Traceback" not in result.output and "\n" not in result["msg"]
