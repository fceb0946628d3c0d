# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import re

from html.parser import HTMLParser

import pytest

from ansible_collections.sre.runbooks.plugins.filter.html_report import FilterModule
from ansible_collections.sre.runbooks.plugins.module_utils._common import html_report as hr

EVIL = '<script>alert(1)</script><img src="http://203.0.113.9/x.png">'

BURNS = [{"severity": "page", "long_window": "1h", "short_window": "5m", "factor": 14.4,
          "long_burn_rate": 20.0, "short_burn_rate": 3.5, "firing": False},
         {"severity": "ticket", "long_window": "3d", "short_window": "6h", "factor": 1.0,
          "long_burn_rate": 0.5, "short_burn_rate": None, "firing": False}]
OBJECTIVE = {"name": EVIL, "sli": "availability", "status": "warning", "target": 99.9, "unit": "%", "message": EVIL,
             "burn_rates": BURNS, "error_budget": {"allowed_ratio": 0.001, "remaining_percent": 42.5}}
HEALTH = {"status": "warning", "environment": EVIL, "host": "h", "checks": [
    {"id": "H1", "check": "pods", "title": "Pods", "status": "ok", "summary": EVIL, "details": {}},
    {"id": "H3", "check": "slo", "title": "SLO compliance", "status": "warning", "summary": "s",
     "details": {"objectives": [OBJECTIVE]}},
    {"id": "H9", "check": "backups", "title": "Backup freshness", "status": "ok", "summary": "s",
     "details": {"sets": {"full": {"size": 3 * 1048576, "latest_ok_age_seconds": 7200},
                          "schema-a": {"size": None, "latest_ok_age_seconds": None}}}}]}
WEEKLY = {"environment": "local", "check_mode": False, "hosts": ["pg", "redis"], "unreachable_or_failed_hosts": ["k8s"],
          "failures": [{"part": "jobs", "msg": EVIL}], "jobs": [],
          "db_maintenance": [{"vacuumed": [{"name": "public.orders", "n_dead_tup": 5000}],
                              "report": {"dead_tuples": [{"schema": "public", "table": "orders", "n_dead_tup": 12}]}}],
          "backups": [{"made": [{"name": "b1", "set_key": "full", "size": 2048, "finished_at": "t"}]}], "redis": [{}]}
SLO = {"date": "2026-12-04", "status": "ok", "slo": {"status": "warning", "objectives": [OBJECTIVE]},
       "metrics": [{"name": "requests_total", "value": 10, "unit": EVIL}]}
COMPLIANCE = {"check_mode": True, "namespaces": ["a"], "checks": [
    {"control": "C1", "object": EVIL, "namespace": "a", "status": "failed", "message": EVIL},
    {"control": "C2", "object": "o", "namespace": "a", "status": "passed", "message": "m"}]}
RESULTS = {"health_check": HEALTH, "weekly_maintenance": WEEKLY, "slo": SLO, "compliance": COMPLIANCE}


class Collector(HTMLParser):
    """Tags with their attributes, and whether any element fetches from anywhere."""

    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def parsed(text):
    collector = Collector()
    collector.feed(text)
    return collector.tags


@pytest.mark.parametrize("kind", hr.KINDS)
def test_every_row_and_chart_is_drawn_and_user_text_is_escaped(kind):
    text = FilterModule().filters()["html_report"](RESULTS[kind], kind)
    tags = parsed(text)
    rows = [attrs["data-id"] for tag, attrs in tags if tag == "tr" and "check-row" in attrs.get("class", "")]
    assert rows == [str(row[0]) for row in hr.ROWS[kind](RESULTS[kind])] and rows
    charts = [attrs["data-chart"] for tag, attrs in tags if tag == "svg"]
    assert charts == hr.CHART_IDS[kind](RESULTS[kind]) and charts
    # User text never becomes markup, and nothing can load from the network.
    assert "<script" not in text and not [t for t, a in tags if t in ("script", "img", "link", "iframe")]
    assert "&lt;script&gt;" in text
    assert not re.search(r'(src|href)="https?:', text)
    assert "default-src 'none'" in text


def test_burn_rates_are_drawn_against_the_factor():
    bars = hr.burn_bars(OBJECTIVE)
    assert [(b["label"], b["value"], b["threshold"]) for b in bars] == [
        ("page 1h", 20.0, 14.4), ("page 5m", 3.5, 14.4), ("ticket 3d", 0.5, 1.0), ("ticket 6h", None, 1.0)]
    svg = hr.bar_chart("c", "c", bars)
    # Only the 1h page burn (20 > 14.4) is red; the missing one says so.
    assert svg.count('fill="#c62828"') == 1 and "no data" in svg and svg.count('class="threshold"') == 4


def test_vacuum_before_and_after_and_backup_sizes():
    assert hr.vacuum_bars(WEEKLY["db_maintenance"]) == [
        {"label": "public.orders before", "value": 5000.0, "colour": "#c62828"},
        {"label": "public.orders after", "value": 12.0, "colour": "#2e7d32"}]
    ages, sizes = hr.backup_set_bars(HEALTH["checks"][2]["details"]["sets"])
    assert [(a["label"], a["value"]) for a in ages] == [("full", 2.0), ("schema-a", None)]
    assert [s["value"] for s in sizes] == [3.0, None]
    assert "2.0 KiB" in hr.weekly_page(WEEKLY)


def test_weekly_rows_name_failures_and_lost_hosts():
    rows = hr.weekly_rows(WEEKLY)
    assert [(r[0], r[2]) for r in rows] == [("jobs", "failed"), ("db_maintenance", "ok"), ("backups", "ok"),
                                            ("redis", "ok"), ("failure-1", "failed"), ("host-k8s", "failed")]


@pytest.mark.parametrize("value, expected", [(None, None), ("x", None), (float("nan"), None), (float("inf"), None),
                                             ("1.23456", 1.235), (3, 3.0)])
def test_number(value, expected):
    assert hr.number(value) == expected


@pytest.mark.parametrize("size, expected", [(None, None), (512, "512 B"), (1536, "1.5 KiB"), (5 * 1024 ** 5, "5120.0 TiB")])
def test_human_bytes(size, expected):
    assert hr.human_bytes(size) == expected


def test_empty_results_render_an_empty_grid():
    for kind in hr.KINDS:
        text = hr.render({}, kind)
        assert "no checks in this run" in text or "check-row" in text
        assert "<svg" not in text


@pytest.mark.parametrize("result, kind, message", [
    ({}, "pdf", "kind must be one of health_check, weekly_maintenance, slo, compliance, not 'pdf'."),
    ([], "slo", "The report must be a mapping, not list."),
])
def test_bad_input_is_one_sentence(result, kind, message):
    from ansible.errors import AnsibleFilterError  # pylint: disable=import-outside-toplevel
    with pytest.raises(AnsibleFilterError, match=re.escape(message)):
        FilterModule().filters()["html_report"](result, kind)
