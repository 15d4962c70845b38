"""Loading and validating the questionnaire data file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from conversations.questionnaire import (
    DEFAULT_PATH,
    Level,
    QuestionnaireError,
    QuestionType,
    load_questionnaire,
    parse_questionnaire,
)


def test_shipped_questionnaire_covers_the_doctrine(questionnaire):
    assert questionnaire.version == "2025.1"
    numbers = [c.number for c in questionnaire.criteria]
    assert numbers == [0, 1, 2, 3, 4, 5, 6, 7]
    for criterion in questionnaire.rated_criteria:
        always = [q for q in questionnaire.questions if q.criterion == criterion.number and not q.when]
        assert 2 <= len(always) <= 5, f"criterion {criterion.number} always asks {len(always)} questions"
        assert criterion.principle is not None
    context = {q.id for q in questionnaire.questions if q.criterion == 0}
    assert {"ctx_name", "ctx_purpose", "ctx_direction", "ctx_ai_kind", "ctx_supplier", "ctx_users",
            "ctx_hosting", "ctx_data"} <= context


def test_every_question_is_translated_and_helped(questionnaire):
    for question in questionnaire.questions:
        for text in (question.text, question.help):
            assert text.fr.strip() and text.en.strip()


def test_blockers_of_the_brief_are_rules(questionnaire):
    def blocking(question_id: str) -> list[object]:
        return [r.match for r in questionnaire.question(question_id).rules if r.level is Level.BLOCKER]

    assert blocking("c1_biometric") and blocking("c1_sensitive") and blocking("c1_profiling")
    assert blocking("c2_legal_basis")[0].equals == "none"
    assert {m.includes for m in blocking("c2_prohibited")} == set("abcdefgh")
    assert blocking("c6_individual_decision")[0].equals == "automatic"
    assert blocking("c4_monitoring")[0].equals == "emotions"


def test_dpia_question_is_conditional_on_personal_data(questionnaire):
    dpia = questionnaire.question("c2_dpia")
    assert dpia.when and dpia.when[0].question == "ctx_data"


def _raw() -> dict:
    return tomllib.loads(DEFAULT_PATH.read_text(encoding="utf-8"))


def test_every_problem_is_reported_with_its_location():
    data = _raw()
    questions = data["questions"]
    index = {q["id"]: i for i, q in enumerate(questions)}
    questions[index["ctx_users"]]["id"] = "ctx_name"                  # duplicate id
    questions[2]["text"] = {"fr": "Sans anglais"}                     # missing translation
    questions[index["ctx_supplier"]]["max_length"] = 1                # bad bounds (min 2 > max 1)
    dpia = next(q for q in questions if q["id"] == "c2_dpia")
    dpia["when"] = [{"question": "ctx_nowhere", "equals": "x"}]       # unknown reference
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(data, "test.toml")
    problems = "\n".join(caught.value.problems)
    assert f"questions[{index['ctx_users']}]: duplicate id 'ctx_name' (first at questions[0])" in problems
    assert "questions[2] (id 'ctx_direction').text: missing translation 'en'" in problems
    assert f"questions[{index['ctx_supplier']}] (id 'ctx_supplier'): bad bounds" in problems
    assert "unknown question 'ctx_nowhere'" in problems
    assert len(caught.value.problems) == 4
    assert str(caught.value).startswith("test.toml: 4 problem(s)")


def test_a_rule_on_an_impossible_answer_is_refused():
    data = _raw()
    biometric = next(q for q in data["questions"] if q["id"] == "c1_biometric")
    biometric["rules"][0]["equals"] = "peut-être"
    with pytest.raises(QuestionnaireError, match="'peut-être' is not a possible answer of 'c1_biometric'"):
        parse_questionnaire(data)


def test_a_condition_must_look_backwards():
    data = _raw()
    first = data["questions"][0]
    first["when"] = [{"question": "c7_alternative", "equals": "yes"}]
    with pytest.raises(QuestionnaireError, match="not asked before it"):
        parse_questionnaire(data)


def test_unknown_keys_and_types_are_refused():
    data = _raw()
    data["questions"][0]["colour"] = "blue"
    data["questions"][3]["type"] = "slider"
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(data)
    assert any("unknown key 'colour'" in p for p in caught.value.problems)
    assert any("type 'slider' is not one of" in p for p in caught.value.problems)


def test_a_swapped_questionnaire_file_is_used(tmp_path: Path):
    text = DEFAULT_PATH.read_text(encoding="utf-8").replace('version = "2025.1"', 'version = "2025.2"')
    path = tmp_path / "q.toml"
    path.write_text(text, encoding="utf-8")
    assert load_questionnaire(path).version == "2025.2"


def test_missing_and_broken_files_are_reported(tmp_path: Path):
    with pytest.raises(QuestionnaireError, match="file not found"):
        load_questionnaire(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("version = ", encoding="utf-8")
    with pytest.raises(QuestionnaireError, match="not valid TOML"):
        load_questionnaire(broken)


def test_question_types_in_use(questionnaire):
    used = {q.type for q in questionnaire.questions}
    assert {QuestionType.YESNO, QuestionType.CHOICE, QuestionType.MULTI, QuestionType.TEXT} <= used
