"""AWX surveys from argument specs: each option type, choices, defaults, required, and the options a survey cannot ask for."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._awx import survey

SPEC = {"argument_specs": {"main": {"options": {
    "x_mode": {"type": "str", "choices": ["pre", "post"], "default": "pre", "description": ["Which", "phase."]},
    "x_name": {"type": "str", "default": "", "required": True, "description": "Name."},
    "x_count": {"type": "int", "default": 3},
    "x_ratio": {"type": "float", "default": 0.5},
    "x_flag": {"type": "bool", "default": False},
    "x_checks": {"type": "list", "elements": "str", "choices": ["a", "b", "c"], "default": ["a", "c"]},
    "x_host": {"type": "str", "default": "{{ sre_postgres.host }}"},
    "x_secret": {"type": "str", "no_log": True, "default": ""},
    "x_map": {"type": "dict", "default": {}},
    "x_any": {"type": "raw"},
    "x_list": {"type": "list", "elements": "str", "default": []},
}}}}


def questions(*names):
    return {q["variable"]: q for q in survey.survey(SPEC, list(names), "S")["spec"]}


@pytest.mark.parametrize("name, expected", [
    ("x_mode", {"type": "multiplechoice", "choices": ["pre", "post"], "default": "pre", "required": False,
                "question_description": "Which phase."}),
    ("x_name", {"type": "text", "default": "", "required": True}),
    ("x_count", {"type": "integer", "default": 3}),
    ("x_ratio", {"type": "float", "default": 0.5}),
    ("x_flag", {"type": "multiplechoice", "choices": ["true", "false"], "default": "false"}),
    ("x_checks", {"type": "multiselect", "choices": ["a", "b", "c"], "default": "a\nc"}),
    ("x_secret", {"type": "password", "default": ""}),
])
def test_option_types_become_survey_types(name, expected):
    got = questions(name)[name]
    assert {key: got.get(key) for key in expected} == expected


def test_markup_is_plain_text_and_a_template_may_require_more_than_the_spec():
    spec = {"x_doc": {"type": "str", "default": "", "description": "See O(x_mode=pre) and M(sre.runbooks.k8s_lock)."}}
    got = survey.survey(spec, ["x_doc"], "S", required=["x_doc"])["spec"][0]
    assert (got["question_description"], got["required"]) == ("See x_mode=pre and sre.runbooks.k8s_lock.", True)
    with pytest.raises(survey.SurveyError, match="requires x_other, which it does not ask for"):
        survey.survey(spec, ["x_doc"], "S", required=["x_other"])


def test_a_templated_default_leaves_the_question_without_default():
    assert "default" not in questions("x_host")["x_host"]


def test_the_survey_keeps_the_order_and_accepts_an_entry_point_or_options():
    whole = survey.survey(SPEC, ["x_flag", "x_mode"], "Name", "Desc")
    assert [q["variable"] for q in whole["spec"]] == ["x_flag", "x_mode"]
    assert (whole["name"], whole["description"]) == ("Name", "Desc")
    main = SPEC["argument_specs"]["main"]
    assert survey.survey(main, ["x_flag", "x_mode"], "Name", "Desc") == whole
    assert survey.survey(main["options"], ["x_flag", "x_mode"], "Name", "Desc") == whole


@pytest.mark.parametrize("names, message", [
    (["x_map"], "Option x_map is of type dict, which an AWX survey cannot ask for (text answers only)."),
    (["x_any"], "Option x_any is of type raw, which an AWX survey cannot ask for (text answers only)."),
    (["x_list"], "Option x_list is of type list, which an AWX survey cannot ask for (text answers only)."),
    (["x_mode", "x_nope"], "Survey S asks for x_nope, which the role's argument spec does not have."),
])
def test_options_a_survey_cannot_ask_for_are_one_sentence(names, message):
    with pytest.raises(survey.SurveyError) as err:
        survey.survey(SPEC, names, "S")
    assert str(err.value) == message


def test_bad_arguments_are_one_sentence():
    with pytest.raises(survey.SurveyError, match="must be a list of option names"):
        survey.survey(SPEC, "x_mode", "S")
    with pytest.raises(survey.SurveyError, match="has no options"):
        survey.survey(["not", "a", "spec"], ["x_mode"], "S")
