"""The compliance report filters: waivers (valid, expired, patterns, bad ones) and JUnit read back with junitparser.

Bad input is tested on the pure functions (ReportError): importing ansible.errors would switch the
process's module warnings to the controller's display and break the module tests that run later;
the filters' conversion to AnsibleFilterError is tested in a process of its own.
"""

from __future__ import annotations

import datetime
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from junitparser import Failure, JUnitXml, Skipped

from ansible_collections.sre.runbooks.plugins.filter import compliance as compliance_filters
from ansible_collections.sre.runbooks.plugins.filter.compliance import FilterModule
from ansible_collections.sre.runbooks.plugins.module_utils._compliance import report

FILTERS = FilterModule().filters()
TODAY = "2026-12-04"


def check(control, obj, status="failed", message="bad."):
    return {"control": control, "object": obj, "namespace": "shop", "status": status, "message": message}


CHECKS = [
    check("C8.probes", "Deployment shop/web", message="container app lacks livenessProbe."),
    check("C8.probes", "Deployment shop/api", "passed", "ok"),
    check("C8.read-only-root-fs", "Deployment shop/web", "warning", "container app has a writable root file system."),
    check("C3.default-deny-ingress", "Namespace shop", message="no default-deny ingress NetworkPolicy."),
]


def waiver(control, obj, expires, reason="ticket SEC-1"):
    return {"control": control, "object": obj, "reason": reason, "expires": expires}


def by_object(checks):
    return {(c["control"], c["object"]): c for c in checks}


def test_no_waivers_changes_nothing_but_adds_the_waiver_key():
    result = FILTERS["compliance_waive"](CHECKS, [], TODAY)
    assert [c["status"] for c in result] == ["failed", "passed", "warning", "failed"]
    assert all(c["waiver"] is None for c in result)


def test_a_valid_waiver_waives_and_an_expired_one_fails_again():
    waivers = [waiver("C8.probes", "Deployment shop/web", "2026-12-04"),
               waiver("C3.default-deny-ingress", "Namespace shop", datetime.date(2026, 12, 3), "legacy app")]
    result = by_object(FILTERS["compliance_waive"](CHECKS, waivers, TODAY))
    web = result[("C8.probes", "Deployment shop/web")]
    assert web["status"] == "waived"
    assert web["message"] == "waived until 2026-12-04 (ticket SEC-1): container app lacks livenessProbe."
    assert web["waiver"] == {"control": "C8.probes", "object": "Deployment shop/web", "reason": "ticket SEC-1",
                             "expires": "2026-12-04", "expired": False}
    shop = result[("C3.default-deny-ingress", "Namespace shop")]
    assert shop["status"] == "failed"
    assert shop["message"] == "no default-deny ingress NetworkPolicy. (waiver expired on 2026-12-03: legacy app)"
    assert shop["waiver"]["expired"] is True


def test_patterns_match_controls_and_objects_and_passed_checks_stay_passed():
    result = FILTERS["compliance_waive"](CHECKS, [waiver("C8.*", "Deployment shop/*", "2027-01-01")], TODAY)
    assert [c["status"] for c in result] == ["waived", "passed", "waived", "failed"]
    assert report.unused_waivers(result, [waiver("C2.*", "*", "2027-01-01")])[0]["control"] == "C2.*"


@pytest.mark.parametrize("waivers, message", [
    ({"control": "x"}, "The waivers must be a list of mappings, not dict."),
    (["C8.probes"], "Waiver 1 must be a mapping with control, object, reason, expires."),
    ([{"control": "C8.probes", "object": "Deployment shop/web", "expires": "2027-01-01"}],
     "Waiver 1 (C8.probes Deployment shop/web) lacks reason."),
    ([waiver("C8.probes", "Deployment shop/web", "next year")],
     "Waiver 1: expires must be a date as YYYY-MM-DD, not 'next year'."),
])
def test_bad_waivers_are_one_sentence(waivers, message):
    with pytest.raises(report.ReportError) as caught:
        report.apply_waivers(CHECKS, waivers, TODAY)
    assert str(caught.value) == message


def test_the_filters_raise_ansible_filter_errors():
    code = (
        "from ansible.errors import AnsibleFilterError\n"
        "from ansible_collections.sre.runbooks.plugins.filter.compliance import FilterModule\n"
        "filters = FilterModule().filters()\n"
        "for name, args in (('compliance_waive', ([], 'x', '2026-01-01')), ('compliance_summary', ([{}],)),\n"
        "                   ('compliance_junit', ([{}],))):\n"
        "    try:\n"
        "        filters[name](*args)\n"
        "    except AnsibleFilterError as exc:\n"
        "        print(name, exc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": ":".join(sys.path)})
    assert proc.stdout.splitlines() == [
        "compliance_waive The waivers must be a list of mappings, not str.",
        "compliance_summary Every check must be a mapping with control, object, status and message.",
        "compliance_junit Every check must be a mapping with control, object, status and message.",
    ]


def test_junit_has_one_case_per_control_per_object(tmp_path):
    checks = FILTERS["compliance_waive"](CHECKS, [waiver("C3.*", "Namespace shop", "2027-01-01")], TODAY)
    path = tmp_path / "compliance.xml"
    path.write_text(FILTERS["compliance_junit"](checks, "ci", "2026-12-04T12:00:00"))
    xml = JUnitXml.fromfile(str(path))
    cases = {(suite.name, case.name): case for suite in xml for case in suite}
    assert set(cases) == {("C8.probes", "Deployment shop/web"), ("C8.probes", "Deployment shop/api"),
                          ("C8.read-only-root-fs", "Deployment shop/web"), ("C3.default-deny-ingress", "Namespace shop")}
    failure = cases[("C8.probes", "Deployment shop/web")].result
    assert len(failure) == 1 and isinstance(failure[0], Failure)
    assert failure[0].message == "container app lacks livenessProbe."
    assert cases[("C8.probes", "Deployment shop/api")].is_passed
    assert cases[("C8.read-only-root-fs", "Deployment shop/web")].is_passed
    assert cases[("C8.read-only-root-fs", "Deployment shop/web")].system_out == \
        "warning: container app has a writable root file system."
    skipped = cases[("C3.default-deny-ingress", "Namespace shop")].result
    assert isinstance(skipped[0], Skipped)
    assert xml.tests == 4 and xml.failures == 1 and xml.skipped == 1


def test_junit_escapes_markup_in_messages(tmp_path):
    path = tmp_path / "x.xml"
    path.write_text(FILTERS["compliance_junit"]([check("C8.image-tag", 'Deployment a/<b>&"c"', message="<&>")]))
    case = next(iter(next(iter(JUnitXml.fromfile(str(path))))))
    assert case.name == 'Deployment a/<b>&"c"'
    assert case.result[0].message == "<&>"


def test_junit_refuses_entries_that_are_not_checks():
    with pytest.raises(report.ReportError, match="Every check must be a mapping"):
        report.junit_xml([{"status": "failed"}])


def test_summary_counts_and_failure_lines():
    checks = FILTERS["compliance_waive"](CHECKS, [waiver("C3.*", "Namespace shop", "2027-01-01")], TODAY)
    assert FILTERS["compliance_summary"](checks) == {
        "passed": 1, "failed": 1, "warning": 1, "waived": 1, "total": 4,
        "failures": ["C8.probes Deployment shop/web: container app lacks livenessProbe."]}
    with pytest.raises(KeyError):
        report.summarise([{"control": "x"}])


def test_every_compliance_filter_has_its_documentation_file():
    filter_dir = Path(compliance_filters.__file__).parent
    for name in FILTERS:
        doc = yaml.safe_load((filter_dir / f"{name}.yml").read_text())
        assert doc["DOCUMENTATION"]["name"] == name
        assert set(doc) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    assert sorted(path.stem for path in filter_dir.glob("compliance_*.yml")) == sorted(FILTERS)
