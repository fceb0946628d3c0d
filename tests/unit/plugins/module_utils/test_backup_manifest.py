"""Manifest parsing and the comparisons made against it."""

from __future__ import annotations

import hashlib
import json

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._backup import manifest as manifests

GOOD = {"tool": manifests.TOOL, "manifest_version": 1, "name": "n", "database": "d", "scope": "database",
        "format": "custom", "compression": "gzip", "file": "n.dump", "sha256": "ab" * 32,
        "finished_at": "2025-01-15T02:00:00Z", "row_counts": {"public.a": 3, "public.b": 0}}


def test_round_trip():
    assert manifests.loads(manifests.dumps(GOOD), "m.json") == GOOD


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    (json.dumps({"tool": "other"}), "not a pg_backup manifest"),
    (json.dumps({"tool": manifests.TOOL, "name": "n"}), "lacks database"),
    (json.dumps(dict(GOOD, manifest_version=99)), "newer than this module understands"),
])
def test_bad_manifests(text, message):
    with pytest.raises(manifests.ManifestError, match=message):
        manifests.loads(text, "m.json")


def test_row_counts_match():
    result = manifests.compare_row_counts({"public.a": 3, "public.b": 0}, {"public.a": 3, "public.b": 0, "x.extra": 7})
    assert result == {"ok": True, "tables": 2, "matched": 2, "mismatched": [], "missing": []}


def test_row_counts_differ_and_tables_missing():
    result = manifests.compare_row_counts({"public.a": 3, "public.b": 5, "public.c": 1}, {"public.a": 2, "public.c": 1})
    assert not result["ok"]
    assert result["mismatched"] == [{"table": "public.a", "expected": 3, "actual": 2}]
    assert result["missing"] == ["public.b"]
    assert manifests.describe_count_problems(result) == "public.a has 2 rows, expected 3, public.b is missing"


def test_count_problem_summary_is_bounded():
    expected = {f"t{i}": 1 for i in range(10)}
    result = manifests.compare_row_counts(expected, {})
    assert manifests.describe_count_problems(result, limit=2).endswith("and 8 more")


def test_directory_digest_is_order_independent_and_sha256sum_style():
    files = {"toc.dat": "a" * 64, "3001.dat.gz": "b" * 64}
    lines = f"{'b' * 64}  3001.dat.gz\n{'a' * 64}  toc.dat\n"
    assert manifests.directory_digest(files) == hashlib.sha256(lines.encode()).hexdigest()
    assert manifests.directory_digest(dict(reversed(list(files.items())))) == manifests.directory_digest(files)


def test_compare_files():
    problems = manifests.compare_files({"a": "1" * 64, "b": "2" * 64}, {"a": "1" * 64, "b": "3" * 64, "c": "4" * 64})
    assert problems == ["c is not in the manifest", "b has sha256 333333333333..., the manifest says 222222222222..."]


def test_summary_and_status():
    summary = manifests.summary(dict(GOOD, verification={"level": "restore", "status": "failed"}))
    assert summary["verification_status"] == "failed"
    assert summary["rows_total"] == 3 and summary["tables_counted"] == 2
    assert manifests.verification_status(GOOD) == "skipped"


def test_restore_marker_round_trip():
    marker = {"full": "a" * 64, "schema:production": "b" * 64}
    assert manifests.parse_marker(manifests.format_marker(marker)) == marker
    assert manifests.parse_marker("") == {}
    assert manifests.parse_marker("garbage;full=abc") == {"full": "abc"}
