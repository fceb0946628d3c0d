"""Backup units, names, extensions and format checks."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._backup import naming

WHEN = datetime.datetime(2025, 1, 15, 2, 0, 5, tzinfo=datetime.timezone.utc)


def test_default_template():
    name = naming.render_name(naming.DEFAULT_TEMPLATE, "daily", "platform", "production", WHEN)
    assert name == "daily-platform-production-20250115T020005Z"


def test_components_are_made_safe_for_files_and_keys():
    name = naming.render_name("{label}_{database}_{date}_{timestamp}", "pre upgrade/x", "../etc", "full", WHEN)
    assert name == "pre_upgrade_x_etc_20250115_20250115T020005Z"
    assert "/" not in name and not name.startswith(".")


@pytest.mark.parametrize("template, message", [
    ("{label}-{database}", "must contain {timestamp}"),
    ("{label}-{host}-{timestamp}", "unknown field"),
    ("backups/{timestamp}", "path separator"),
    ("{timestamp", "not a valid template"),
])
def test_bad_templates(template, message):
    with pytest.raises(naming.NamingError, match=message):
        naming.check_template(template)


@pytest.mark.parametrize("fmt, compression, scope, ext", [
    ("plain", "gzip", "database", ".sql.gz"),
    ("plain", "zstd", "schemas", ".sql.zst"),
    ("plain", "none", "tables", ".sql"),
    ("custom", "gzip", "database", ".dump"),
    ("directory", "zstd", "database", ".dir"),
    ("custom", "gzip", "globals", ".globals.sql.gz"),
    ("directory", "none", "globals", ".globals.sql"),
])
def test_extensions(fmt, compression, scope, ext):
    assert naming.extension(fmt, compression, scope) == ext


@pytest.mark.parametrize("name, base", [
    ("x-20250115T020005Z.sql.gz", "x-20250115T020005Z"),
    ("x.globals.sql.zst", "x"),
    ("x.dump", "x"),
    ("x.dir/", "x"),
    ("x.manifest.json", "x"),
    ("x.unknown", "x.unknown"),
])
def test_strip_data_suffix(name, base):
    assert naming.strip_data_suffix(name) == base


def test_unique_name_appends_a_counter():
    assert naming.unique_name("a", set()) == "a"
    assert naming.unique_name("a", {"a", "a-2"}) == "a-3"


@pytest.mark.parametrize("method, level, expected", [
    ("gzip", None, 6), ("gzip", 1, 1), ("zstd", None, 3), ("zstd", 19, 19), ("none", 5, None),
])
def test_compression_levels(method, level, expected):
    assert naming.compression_level(method, level) == expected


@pytest.mark.parametrize("method, level", [("gzip", 0), ("gzip", 10), ("zstd", 20)])
def test_compression_levels_out_of_range(method, level):
    with pytest.raises(naming.NamingError, match="out of range"):
        naming.compression_level(method, level)


@pytest.mark.parametrize("scope, fmt, compression, major, mode", [
    ("database", "plain", "gzip", 15, "zlib"),
    ("database", "plain", "zstd", 15, "pipe"),
    ("database", "custom", "gzip", 15, "native"),
    ("database", "directory", "zstd", 16, "native"),
    ("database", "custom", "none", 15, None),
    ("globals", "custom", "zstd", 15, "pipe"),
    ("globals", "plain", "gzip", 15, "zlib"),
])
def test_check_format(scope, fmt, compression, major, mode):
    assert naming.check_format(scope, fmt, compression, major) == mode


def test_zstd_inside_archives_needs_pg_dump_16():
    with pytest.raises(naming.NamingError, match="needs pg_dump 16 or later"):
        naming.check_format("database", "directory", "zstd", 15)


def test_units_per_schema_and_combined():
    units = naming.plan_units("schemas", ["production", "experiments_v1", "quarantine"])
    assert [u["scope_part"] for u in units] == ["production", "experiments_v1", "quarantine"]
    assert [u["scope_id"] for u in units] == ["schema:production", "schema:experiments_v1", "schema:quarantine"]
    combined = naming.plan_units("schemas", ["b", "a"], per_schema=False)
    assert len(combined) == 1 and combined[0]["scope_id"] == "schemas:a,b" and combined[0]["schemas"] == ["b", "a"]


def test_units_for_other_scopes():
    assert naming.plan_units("database")[0]["scope_id"] == "full"
    assert naming.plan_units("globals")[0]["scope_part"] == "globals"
    assert naming.plan_units("tables", tables=["public.b", "a"])[0]["scope_id"] == "tables:a,public.b"


@pytest.mark.parametrize("scope, kwargs, message", [
    ("schemas", {}, "needs the schemas option"),
    ("tables", {"tables": []}, "needs the tables option"),
])
def test_units_need_their_names(scope, kwargs, message):
    with pytest.raises(naming.NamingError, match=message):
        naming.plan_units(scope, **kwargs)


def test_set_key_and_prefix():
    assert naming.set_key("daily", "platform", "schema:production") == "daily/platform/schema:production"
    assert naming.s3_prefix("/a/b/") == "a/b/"
    assert naming.s3_prefix("") == ""


@pytest.mark.parametrize("template", ["{label}-{timestamp:d}", "{label!z}-{timestamp}", "{timestamp:>{label}}"])
def test_templates_that_cannot_be_filled_are_one_sentence(template):
    with pytest.raises(naming.NamingError, match=r"^name_template .*\.$"):
        naming.render_name(template, "l", "d", "full", WHEN)
