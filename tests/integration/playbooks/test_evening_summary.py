"""playbooks/evening_summary.yml with inventories/local, against a private Prometheus loaded with a
day of generated platform traffic whose exact numbers are known (tests/integration/slo/history.py).

The history is written with promtool before Prometheus starts, with samples at exactly the start
and the end of the summarized day, so increase() is exact and the report's numbers can be compared
with the analytic ones. --check first (reads, writes the reports, changes nothing), then a real run.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.integration import ansible_run
from tests.integration.slo.history import DAY, History, openmetrics

pytestmark = pytest.mark.slow

HOST = "platform-api"  # the platform host of inventories/local, where the play runs


@pytest.fixture(scope="module")
def day_of_traffic(private_prometheus):
    """{"url", "end", "history"}: Prometheus holding the 26 hours of V2/V1 traffic before ``end``."""
    end = int(time.time()) // 60 * 60 - 120
    stamps = sorted(set(range(end - 26 * 3600, end + 1, 600)) | {end - DAY, end - 2 * 3600, end})
    prom = private_prometheus(openmetrics(end, stamps))
    return {"url": prom["url"], "end": end, "history": History(end)}


def run_playbook(env, extra, check):
    proc = ansible_run.run_playbook("playbooks/evening_summary.yml", extra, check=check, env=env)
    recap = re.search(rf"{HOST}\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", proc.stdout)
    assert proc.returncode == 0 and recap, proc.stdout[-6000:] + proc.stderr[-2000:]
    return int(recap.group(2))


def test_evening_summary_playbook(day_of_traffic, tmp_path):
    end, history = day_of_traffic["end"], day_of_traffic["history"]
    report_dir = tmp_path / "reports"
    env = {"PROMETHEUS_URL": day_of_traffic["url"], "SRE_REPORT_DIR": str(report_dir)}

    # Check mode, for a calendar day (yesterday's midnight-to-midnight window): reads and reports only.
    date = time.strftime("%Y-%m-%d", time.gmtime(end - DAY))
    assert run_playbook(env, {"health_check_summary_date": date}, check=True) == 0
    by_date = json.loads((report_dir / f"evening_summary-{HOST}-{date}.json").read_text())
    assert by_date["check_mode"] is True and by_date["date"] == date
    assert by_date["window_start"] == f"{date}T00:00:00Z" and by_date["window_end"].endswith("T00:00:00Z")

    # The 24 hours before `end`, where the numbers are known exactly.
    assert run_playbook(env, {"health_check_summary_end": end, "health_check_summary_selector": 'api="v2"',
                              "health_check_summary_report_name": "summary"}, check=False) == 0
    report = json.loads((report_dir / "summary.json").read_text())
    assert report["status"] == "ok" and report["error"] is None and report["environment"] == "local"
    metrics = {m["name"]: m for m in report["metrics"]}
    counts = history.counts(DAY)
    assert metrics["requests_total"]["value"] == pytest.approx(counts["total"], rel=1e-6)
    assert metrics["errors_total"]["value"] == pytest.approx(counts["errors"], rel=1e-6)
    assert metrics["error_rate"]["value"] == pytest.approx(100 * history.error_ratio(DAY), abs=1e-3)
    assert metrics["success_rate"]["value"] == pytest.approx(100 - 100 * history.error_ratio(DAY), abs=1e-3)
    assert metrics["response_time_p95"]["value"] == pytest.approx(1000 * history.quantile(DAY, 0.95), rel=1e-3)
    assert metrics["response_time_p95"]["unit"] == "ms" and metrics["requests_total"]["section"] == "Processing"
    # The generated history has no duration _sum, Kafka, Redis exporter or OpenAI series: "no data".
    assert [n for n, m in metrics.items() if m["value"] is None] == [
        "avg_processing_time", "kafka_messages", "redis_operations", "openai_calls"]
    assert "query" not in metrics["requests_total"]

    # The day's SLOs: the 2 % incident of the last two hours breaches the 0.1 % error-rate objective.
    slo = {o["name"]: o for o in report["slo"]["objectives"]}
    assert report["slo"]["status"] == "breached" and slo["error_rate"]["status"] == "breached"
    assert slo["availability"]["requests"] == pytest.approx(counts["total"], rel=1e-6)
    # The HTML page (tests/integration/html renders it in Chromium) is written beside them, from the same data,
    # which now carries each objective's burn rates and error budget.
    assert slo["error_rate"]["burn_rates"] and slo["error_rate"]["error_budget"]["remaining"] < 0
    assert report["reports"]["html"] == str(report_dir / "summary.html")
    assert 'data-id="error_rate"' in (report_dir / "summary.html").read_text()
    markdown = (report_dir / "summary.md").read_text()
    assert "## Errors" in markdown and "Kafka messages processed: no data" in markdown


def test_evening_summary_with_prometheus_down_reports_unavailable_and_fails(tmp_path):
    """Issue 17, defect 16: no numbers must never end green. A closed loopback port stands for Prometheus."""
    import socket
    with socket.socket() as probe:  # a port nothing listens on: bind, note, close
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    report_dir = tmp_path / "reports"
    env = {"PROMETHEUS_URL": f"http://127.0.0.1:{port}", "SRE_REPORT_DIR": str(report_dir)}
    proc = ansible_run.run_playbook("playbooks/evening_summary.yml", {"health_check_summary_report_name": "down"},
                                    env=env)
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert "The evening summary is unavailable: Prometheus did not answer the query" in proc.stdout
    report = json.loads((report_dir / "down.json").read_text())
    assert report["status"] == "unavailable" and "Prometheus did not answer" in report["error"]

    # Reporting only, when the operator asks for it: the same run ends green and still says unavailable.
    proc = ansible_run.run_playbook("playbooks/evening_summary.yml", {"health_check_summary_report_name": "down2",
                                    "health_check_summary_fail_unavailable": False}, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert json.loads((report_dir / "down2.json").read_text())["status"] == "unavailable"
