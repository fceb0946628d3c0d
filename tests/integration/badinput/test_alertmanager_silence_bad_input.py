"""alertmanager_silence given hostile arguments and hostile servers (the real Alertmanager, broken fakes)."""

from __future__ import annotations

import pytest

from tests.integration.badinput.hostile import ANSWERS, canary
from tests.integration.badinput.strategies import generated_cases
from tests.integration.badinput.suite import Case, assert_outcome, judge, run_cases
from ansible_collections.sre.runbooks.plugins.module_utils._alertmanager.silence_runner import module_args

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.alertmanager_silence"
MATCHERS = [{"name": "namespace", "value": "badinput", "is_regex": False}]


def test_alertmanager_silence_bad_input(services, fake, traps):
    secrets = [canary("am-password"), canary("am-token")]
    url = services["alertmanager"]["url"]
    present = {"alertmanager_url": url, "alertmanager_timeout": 3, "matchers": MATCHERS, "duration": "10m",
               "comment": "bad input base", "alertmanager_token": canary("am-token")}
    absent = {"alertmanager_url": url, "alertmanager_timeout": 3, "state": "absent", "matchers": MATCHERS,
              "comment": "bad input base", "alertmanager_username": "sre", "alertmanager_password": canary("am-password")}
    bases = {"present": present, "absent": absent}

    def with_(base, **options):
        return {**bases[base], **options}

    hand = [
        Case("matchers as text", with_("present", matchers="namespace=x"), True),
        Case("no matchers", with_("present", matchers=[]), True),
        Case("matcher without value", with_("present", matchers=[{"name": "job"}]), True),
        Case("label name with a dash", with_("present", matchers=[{"name": "a-b", "value": "x"}]), True,
             mentions="label name"),
        Case("regex that does not compile",
             with_("present", matchers=[{"name": "job", "value": "(", "is_regex": True}]), True),
        Case("matchers that silence everything",
             with_("present", matchers=[{"name": "job", "value": ".*", "is_regex": True}]), True),
        Case("no duration nor end", {k: v for k, v in present.items() if k != "duration"}, True),
        Case("duration and ends_at", with_("present", ends_at="2030-01-01T00:00:00Z"), True),
        Case("duration garbage", with_("present", duration="soon"), True),
        Case("duration of 400 nines", with_("present", duration="9" * 400 + "d"), True),
        Case("duration of a second", with_("present", duration="1s"), True),
        Case("ends_at in the past", {**{k: v for k, v in present.items() if k != "duration"},
                                     "ends_at": "2001-01-01T00:00:00Z"}, True),
        Case("ends_at not a time", {**{k: v for k, v in present.items() if k != "duration"},
                                    "ends_at": "next tuesday"}, True),
        Case("empty comment", with_("present", comment="  "), True),
        Case("absent without id nor matchers", {"alertmanager_url": url, "state": "absent"}, True),
        Case("absent with matchers and no comment", {"alertmanager_url": url, "state": "absent", "matchers": MATCHERS},
             True),
        Case("absent by an id that is no UUID", {"alertmanager_url": url, "state": "absent", "id": "../../x?y"}),
        Case("url not a url", with_("present", alertmanager_url="not a url"), True),
        Case("url empty", with_("present", alertmanager_url=""), True),
        Case("timeout negative", with_("present", alertmanager_timeout=-1), True),
        Case("timeout nan", with_("present", alertmanager_timeout="nan"), True),
        Case("token and username",
             with_("present", alertmanager_username="sre", alertmanager_password=canary("am-password")), True),
        Case("unreachable Alertmanager", with_("present", alertmanager_url="http://127.0.0.1:1"), True,
             mentions="connection refused"),
        Case("Alertmanager accepts and never answers", with_("present", alertmanager_url=fake["blackhole"].url,
                                                             alertmanager_timeout=1), True),
        Case("ca_path missing", with_("present", alertmanager_url="https://127.0.0.1:1",
                                      alertmanager_ca_path=str(traps["root"] / "none.pem")), True, mentions="none.pem"),
        Case("present in check mode", with_("present"), False, check=True),
    ]
    hand += [Case(f"Alertmanager answers {name}", with_(base, alertmanager_url=fake[name].url), True)
             for name in ANSWERS if name != "empty_list" for base in ("present", "absent")]
    cases = hand + generated_cases(module_args()["argument_spec"], bases, traps, limit=6)
    results, elapsed, budget = run_cases(MODULE, cases)
    summary, problems = judge(MODULE, cases, results, elapsed, budget, secrets)
    assert_outcome(cases, (summary, problems))
