"""The HTML reports rendered in headless Chromium (issue 15): every check row and chart is there, the console has
no errors and no request leaves the page; a screenshot of each page is kept under .cache/test-artifacts/html-reports/.

Inputs: report JSON recorded from real playbook runs against the harness services (fixtures/README.md says
which). Driver: Selenium over Debian's chromium and chromium-driver (tests/harness/services.py PACKAGES).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.harness import services
from tests.integration.waiting import wait_until

# Pure rendering code, no controller imports (the filter plugin wraps exactly this function).
from ansible_collections.sre.runbooks.plugins.module_utils._common import html_report

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
ARTIFACTS = HERE.parents[2] / ".cache" / "test-artifacts" / "html-reports"
PAGES = {
    "health_check": "health_check.json",
    "health_check-backups": "health_check-backups.json",
    "weekly_maintenance": "weekly_maintenance.json",
    "slo": "evening_summary.json",
    "compliance": "compliance.json",
}


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="pip install -c constraints.txt selenium")
    services.ensure_packages()
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,900", "--hide-scrollbars", "--no-first-run",
                     # Nothing of Chromium's own (updates, field trials) may show up as the page's traffic.
                     "--disable-background-networking", "--disable-component-update"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def open_page(driver, path):
    """Load ``path``; return (console entries, URLs the page sent requests to) of this load only."""
    driver.get_log("browser")
    driver.get_log("performance")
    driver.get(path.as_uri())
    wait_until(lambda: driver.execute_script("return document.readyState") == "complete",
               f"{path.name} to finish loading", timeout=10, interval=0.05)
    console = driver.get_log("browser")
    # A request the browser refused before sending (the page's CSP) fails with a blockedReason; every other
    # request was sent, answered or not.
    sent, blocked = {}, set()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            sent[params["requestId"]] = params["request"]["url"]
        elif message["method"] == "Network.loadingFailed" and params.get("blockedReason"):
            blocked.add(params["requestId"])
    return console, [url for request_id, url in sent.items() if request_id not in blocked]


def left_the_page(requests, page_uri):
    """Requests other than the page itself (data: URIs are inline)."""
    return [url for url in requests if url != page_uri and not url.startswith("data:")]


def screenshot(driver, name):
    # The whole page, not the window: the viewport is set to the document's height first.
    height = driver.execute_script("return Math.min(document.documentElement.scrollHeight, 8000)")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 1280, "height": max(600, height), "deviceScaleFactor": 1, "mobile": False})
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / f"{name}.png"
    assert driver.save_screenshot(str(target)), f"no screenshot of {name}"
    print(f"screenshot: {target}")
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return target


def report_json(name):
    return json.loads((FIXTURES / PAGES[name]).read_text())


@pytest.mark.parametrize("name", sorted(PAGES))
def test_report_page_renders_in_chromium(browser, tmp_path, name):
    kind = "health_check" if name.startswith("health_check") else name
    result = report_json(name)
    page = tmp_path / f"{name}.html"
    page.write_text(html_report.render(result, kind), encoding="utf-8")

    console, requests = open_page(browser, page)
    shot = screenshot(browser, name)

    # Every check of the JSON is a row, in order, with its status; every chart is drawn with a size.
    expected_rows = [(str(row[0]), str(row[2])) for row in html_report.ROWS[kind](result)]
    rows = browser.execute_script(
        "return [...document.querySelectorAll('tr.check-row')].map(r => [r.dataset.id, r.dataset.status,"
        " r.getBoundingClientRect().height])")
    assert [(r[0], r[1]) for r in rows] == expected_rows and expected_rows, name
    assert all(r[2] > 0 for r in rows)
    expected_charts = html_report.CHART_IDS[kind](result)
    charts = browser.execute_script(
        "return [...document.querySelectorAll('svg.chart')].map(s => {const b = s.getBoundingClientRect();"
        " return [s.dataset.chart, b.width, b.height, s.querySelectorAll('rect.bar, text.no-data').length]})")
    assert [c[0] for c in charts] == expected_charts and expected_charts, name
    assert all(c[1] > 100 and c[2] > 10 and c[3] > 0 for c in charts), charts

    assert [e for e in console if e["level"] in ("SEVERE", "WARNING")] == [], console
    assert left_the_page(requests, page.as_uri()) == [], requests
    assert shot.stat().st_size > 10000


def test_the_checks_catch_a_page_that_fetches(browser, tmp_path):
    """A value that turned into markup and tried to load something is caught: the page's CSP refuses it, which
    Chromium reports on the console. (The renderer escapes values; this page is written by hand.)"""
    text = html_report.render({"checks": [{"id": "H1", "title": "t", "status": "ok", "summary": "s"}]}, "health_check")
    page = tmp_path / "fetching.html"
    page.write_text(text.replace("</body>", '<img src="http://127.0.0.1:9/x.png"></body>'), encoding="utf-8")
    console, requests = open_page(browser, page)
    assert any("Content Security Policy" in e["message"] and "127.0.0.1:9" in e["message"] for e in console), console
    assert left_the_page(requests, page.as_uri()) == []

    # Without the CSP the request leaves the page, and the request check sees it.
    page.write_text(page.read_text().replace(html_report.CSP, "default-src *"), encoding="utf-8")
    console, requests = open_page(browser, page)
    assert "http://127.0.0.1:9/x.png" in left_the_page(requests, page.as_uri())
