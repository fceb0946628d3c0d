"""RunbookModule: secrets stay masked when argument checking fails; surprises become one sentence.

The first test is the minimal reproducer of the ansible-core defect (ansible/ansible#81672):
plain AnsibleModule prints the password when a dict option is given a string.
"""

from __future__ import annotations

import json

import pytest

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import (
    RunbookModule,
    readable_sentence,
    secret_values,
)

SECRET = "canary-S3cr3t-value"
SPEC = {
    "thresholds": {"type": "dict", "options": {"dead_ratio": {"type": "float"}}},
    "password": {"type": "str", "no_log": True},
    "s3": {"type": "dict", "options": {"secret_key": {"type": "str", "no_log": True}}},
}


def run(module_class, args, capsys, work=None):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module = module_class(argument_spec=SPEC, supports_check_mode=True)
            if work is None:
                module.exit_json(changed=False)
            module.run(work, "demo")
    return json.loads(capsys.readouterr().out)


def test_plain_ansible_module_leaks_the_password_when_a_dict_option_gets_a_string(capsys):
    result = run(AnsibleModule, {"thresholds": "bogus", "password": SECRET}, capsys)
    assert result["failed"]
    assert SECRET in json.dumps(result), "ansible-core fixed the defect: RunbookModule's workaround can go"


@pytest.mark.parametrize("args", [
    {"thresholds": "bogus", "password": SECRET},
    {"thresholds": ["x"], "password": SECRET},
    {"thresholds": "bogus", "s3": {"secret_key": SECRET}},
    {"s3": ["x"], "password": SECRET},
    {"password": SECRET, "thresholds": {"dead_ratio": "many"}},
])
def test_runbook_module_masks_every_secret_when_argument_checking_fails(capsys, args):
    result = run(RunbookModule, args, capsys)
    assert result["failed"]
    assert SECRET not in json.dumps(result)


def test_unexpected_exception_is_one_sentence_without_traceback(capsys):
    def boom():
        raise KeyError("name")

    result = run(RunbookModule, {"password": SECRET}, capsys, work=boom)
    assert result["failed"]
    assert result["msg"] == "demo stopped on an unexpected error: KeyError: 'name'."
    assert "exception" not in result
    assert SECRET not in json.dumps(result)


def test_run_returns_what_the_work_returns(capsys):
    with patch_module_args({}):
        module = RunbookModule(argument_spec=SPEC)
    assert module.run(lambda: 42, "demo") == 42


@pytest.mark.parametrize("params, expected", [
    ({"password": "a"}, {"a"}),
    ({"password": {"k": ["b", "c"]}}, {"b", "c"}),
    ({"s3": [{"secret_key": "d"}, "junk"]}, {"d"}),
    ({"s3": "junk", "thresholds": 3}, set()),
    ("not a dict", set()),
])
def test_secret_values_walks_any_shape_without_raising(params, expected):
    assert secret_values(SPEC, params) == expected


RANGED_SPEC = {
    "timeout": {"type": "float", "default": 30.0},
    "probe": {"type": "dict", "options": {"count": {"type": "int", "default": 20}, "url": {"type": "str"}}},
    "host": {"type": "str"},
    "password": {"type": "str", "no_log": True},
}
RANGES = {"timeout": (0.001, 3600), "probe.count": (1, 10000)}


def run_ranged(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module = RunbookModule(argument_spec=RANGED_SPEC, ranges=RANGES)
            module.exit_json(changed=False)
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("args, message", [
    ({"timeout": "nan"}, "timeout must be a finite number, not nan."),
    ({"timeout": "-1"}, "timeout must be at least 0.001, not -1.0."),
    ({"timeout": "1e400"}, "timeout must be a finite number, not inf."),
    ({"probe": {"count": 300000}}, "probe.count must be at most 10000, not 300000."),
    ({"probe": {"count": 0}}, "probe.count must be at least 1, not 0."),
    ({"host": "db\x00evil"}, "host must not contain a NUL byte."),
    ({"probe": {"url": "http://h/\x00"}}, "probe.url must not contain a NUL byte."),
])
def test_ranges_and_nul_bytes_fail_with_one_sentence(capsys, args, message):
    result = run_ranged(dict(args, password=SECRET), capsys)
    assert result["failed"] and result["msg"] == message
    assert SECRET not in json.dumps(result)


def test_values_in_range_pass(capsys):
    result = run_ranged({"timeout": 5, "probe": {"count": 10}}, capsys)
    assert not result.get("failed")


# ansible-core's own argument checks: their messages become sentences, their crashes name the option.

@pytest.mark.parametrize("args, message", [
    ({"thresholds": "bogus"},
     "thresholds must be a mapping of suboptions, not text (dictionary requested, could not parse JSON or key=value)."),
    ({"thresholds": {"dead_ratio": {"a": 1}}},
     "argument 'dead_ratio' is of type dict found in 'thresholds' and we were unable to convert to float: "
     "a dict cannot be converted to a float."),
    ({"probe": {"count": float("inf")}}, "probe.count must be a finite number, not inf."),
    ({"probe": {"count": float("nan")}}, None),
    ({"thresholds": {"dead_ratio": "y" * 500}}, None),
])
def test_argument_check_messages_are_one_sentence(capsys, args, message):
    result = run_ranged(dict(args, password=SECRET), capsys) if "thresholds" not in args else \
        run(RunbookModule, dict(args, password=SECRET), capsys)
    assert result.get("failed"), result
    assert "\n" not in result["msg"] and result["msg"].endswith(".") and "<class" not in result["msg"]
    assert message is None or result["msg"] == message
    assert len(result["msg"]) < 300 and SECRET not in json.dumps(result)


def test_readable_sentence_shortens_and_ends():
    assert readable_sentence("value of x must be one of: a, b, got: " + "y" * 500) == (
        "value of x must be one of: a, b, got: " + "y" * 60 + "...")
    assert readable_sentence("line one\nline two:") == "line one line two."


@pytest.mark.parametrize("value", ["nan", float("nan"), "inf", "-inf", "1e400"])
def test_non_finite_numbers_are_refused_for_every_float_option_ranged_or_not(capsys, value):
    spec = {"gates": {"type": "list", "elements": "dict", "options": {"min": {"type": "float"}}},
            "password": {"type": "str", "no_log": True}}
    with patch_module_args({"gates": [{"min": value}], "password": SECRET}):
        with pytest.raises(SystemExit):
            RunbookModule(argument_spec=spec).exit_json(changed=False)
    result = json.loads(capsys.readouterr().out)
    assert result.get("failed") and result["msg"].startswith("gates.min must be a finite number"), result


def test_a_multi_line_failure_message_becomes_one_line(capsys):
    with patch_module_args({"password": SECRET}):
        module = RunbookModule(argument_spec=SPEC)
        with pytest.raises(SystemExit):
            module.fail_json(msg='Upload to s3://Invalid Bucket!/x failed: Parameter validation failed:\n'
                                 'Invalid bucket name "Invalid Bucket!": Bucket name must match the regex.')
    result = json.loads(capsys.readouterr().out)
    assert result["msg"] == ('Upload to s3://Invalid Bucket!/x failed: Parameter validation failed: '
                             'Invalid bucket name "Invalid Bucket!": Bucket name must match the regex.')


@pytest.mark.parametrize("gates", ["accuracy>0.9", ["accuracy"]])
def test_a_list_of_dicts_given_text_is_named(capsys, gates):
    spec = {"gates": {"type": "list", "elements": "dict", "options": {"metric": {"type": "str"}}},
            "password": {"type": "str", "no_log": True}}
    with patch_module_args({"gates": gates, "password": SECRET}):
        with pytest.raises(SystemExit):
            RunbookModule(argument_spec=spec).exit_json(changed=False)
    result = json.loads(capsys.readouterr().out)
    assert result["msg"].startswith("gates must be a mapping of suboptions, not text"), result
    assert SECRET not in json.dumps(result)


def test_a_dict_with_env_fallbacks_given_text_is_named_not_a_crash(capsys, monkeypatch):
    # ansible-core applies the suboptions' env fallbacks to the text and raises TypeError (issue 17 defect 13).
    from ansible.module_utils.basic import env_fallback
    spec = {"s3": {"type": "dict", "options": {
        "bucket": {"type": "str"},
        "secret_key": {"type": "str", "no_log": True, "fallback": (env_fallback, ["AWS_SECRET_ACCESS_KEY"])}}}}
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    with patch_module_args({"s3": "bogus"}):
        with pytest.raises(SystemExit):
            RunbookModule(argument_spec=spec).exit_json(changed=False)
    result = json.loads(capsys.readouterr().out)
    assert result["msg"] == "s3 must be a mapping of suboptions, not text.", result
    assert SECRET not in json.dumps(result)


def test_short_words_of_a_structured_secret_do_not_garble_messages(capsys):
    spec = {"kubeconfig": {"type": "raw", "no_log": True}, "password": {"type": "str", "no_log": True}}
    kubeconfig = {"apiVersion": "v1", "kind": "Config", "users": [{"name": "u", "user": {"token": SECRET}}]}
    with patch_module_args({"kubeconfig": kubeconfig, "password": "abc"}):
        with pytest.raises(SystemExit):
            module = RunbookModule(argument_spec=spec)
            module.fail_json(msg="Cannot reach the API as user u with v1: abc")
    result = json.loads(capsys.readouterr().out)
    assert result["msg"] == "Cannot reach the API as user u with v1: ********"  # the short password stays masked
    assert SECRET not in json.dumps(result)


def test_extra_secrets_are_masked_even_when_argument_checking_fails(capsys):
    spec = {"data": {"type": "dict"}, "sensitive": {"type": "list", "elements": "str"}, "count": {"type": "int"}}

    def secrets(params):
        names = params.get("sensitive") or []
        return [str(v) for k, v in (params.get("data") or {}).items() if k in names]

    for args, failed in (({"data": {"TOKEN": SECRET, "N": "4"}, "sensitive": ["TOKEN"], "count": "many"}, True),
                         ({"data": {"TOKEN": SECRET, "N": "4"}, "sensitive": ["TOKEN"]}, False)):
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                module = RunbookModule(argument_spec=spec, extra_secrets=secrets)
                module.exit_json(changed=False, echo=args["data"])
        result = json.loads(capsys.readouterr().out)
        assert bool(result.get("failed")) is failed
        assert SECRET not in json.dumps(result) and result["invocation"]["module_args"]["data"]["N"] == "4"
