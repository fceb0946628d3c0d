from __future__ import annotations

import os

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._common.checks import (
    InputError,
    bounded_int,
    contained_path,
    finite_number,
    http_url,
    plain_text,
    safe_format,
)


@pytest.mark.parametrize("value", ["nan", "NaN", float("nan"), "inf", "-inf", float("inf"), "1e400", True, None, "x", [1]])
def test_finite_number_refuses_what_would_compare_wrongly(value):
    with pytest.raises(InputError, match=r"^gates\[0\]\.min must be a (finite )?number, not .*\.$"):
        finite_number(value, "gates[0].min")


@pytest.mark.parametrize("value, expected", [("0.5", 0.5), (3, 3.0), (-1.5, -1.5), ("1e3", 1000.0)])
def test_finite_number_accepts_numbers_and_numeric_text(value, expected):
    assert finite_number(value, "x") == expected


def test_finite_number_range_is_one_sentence():
    with pytest.raises(InputError, match=r"^timeout must be at least 0, not -1\.$"):
        finite_number(-1, "timeout", minimum=0)
    with pytest.raises(InputError, match=r"^timeout must be at most 3600, not 9999\.$"):
        finite_number(9999, "timeout", maximum=3600)


@pytest.mark.parametrize("value", [2.5, "2.5", True, None, "many", 10 ** 9])
def test_bounded_int_refuses_fractions_bools_and_huge_counts(value):
    with pytest.raises(InputError, match=r"^jobs must be"):
        bounded_int(value, "jobs", minimum=1, maximum=64)


def test_bounded_int_accepts_whole_numbers_in_range():
    assert bounded_int("8", "jobs", 1, 64) == 8
    assert bounded_int(2.0, "jobs", 1, 64) == 2


@pytest.mark.parametrize("value", ["", "not a url", "ftp://host/x", "http://", "http:///path", "http://h:99999/",
                                   "http://h:0/", "http://a b/", "http://h/\r\nX: y", "http://h/\x00"])
def test_http_url_refuses_what_is_not_an_http_endpoint(value):
    with pytest.raises(InputError, match=r"^prometheus_url "):
        http_url(value, "prometheus_url")


@pytest.mark.parametrize("value", ["http://127.0.0.1:9090", "https://prom.example.com/prometheus/", "http://[::1]:80/x"])
def test_http_url_accepts_http_endpoints(value):
    assert http_url(value, "prometheus_url") == value


def test_plain_text_refuses_nul_and_line_breaks():
    with pytest.raises(InputError, match="NUL"):
        plain_text("db\x00other", "host")
    with pytest.raises(InputError, match="line break"):
        plain_text("GET\r\nX: 1", "probe.method")
    assert plain_text("a\nb", "reason", allow_newlines=True) == "a\nb"


@pytest.mark.parametrize("template, message", [
    ("{label}-{timestamp:d}", "cannot be filled in"),
    ("{failed_summary!z}", "conversion !z"),
    ("{label.__class__}", "not offered"),
    ("{0}", "not offered"),
    ("{unknown}", "not offered"),
    ("{label", "not a valid template"),
    ("}", "not a valid template"),
])
def test_safe_format_refuses_user_templates_it_cannot_fill(template, message):
    with pytest.raises(InputError, match=message):
        safe_format(template, "name_template", {"label": "nightly", "timestamp": "20260101T000000Z", "failed_summary": "x"})


def test_safe_format_fills_offered_fields():
    assert safe_format("{label}-{timestamp}", "t", {"label": "a", "timestamp": "b"}) == "a-b"
    assert safe_format("{label!r:>5}", "t", {"label": "a"}) == "  'a'"


def test_contained_path_follows_links_and_dotdot(tmp_path):
    root = tmp_path / "backups"
    root.mkdir()
    (root / "x.dump").write_text("x")
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, root / "link")
    assert contained_path(root / "x.dump", root)
    assert not contained_path(root / ".." / "outside", root)
    assert not contained_path(root / "link" / "file", root)
    assert not contained_path("/etc/passwd", root)
    assert not contained_path(None, root)
