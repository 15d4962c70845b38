"""Loading and validating the questionnaire data file."""

from __future__ import annotations

import re
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


def test_combined_rules_are_validated_at_load_like_the_rest():
    data = _raw()
    rule = next(r for r in data["combined_rules"] if r["id"] == "c1_biometric_contradiction")
    rule["all"][0]["question"] = "ctx_ai_kinds"                       # a question that does not exist
    rule["all"][1]["any_of"] = ["images", "faces"]                    # a choice the question does not have
    rule["level"] = "blocker"                                         # a combination is a point to check
    data["combined_rules"].append({"id": "ctx_name", "criterion": 9, "level": "to_check", "all": [],
                                   "reason": {"fr": "r", "en": "r"}, "short": {"fr": "s"}})
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(data)
    problems = "\n".join(caught.value.problems)
    where = "combined_rules[2] (id 'c1_biometric_contradiction')"
    assert f"{where}: a combined rule is a point to check" in problems
    assert f"{where}.all: reads unknown question 'ctx_ai_kinds'" in problems
    assert f"{where}.all: 'faces' is not a possible answer of 'ctx_data'" in problems
    assert "combined_rules[8] (id 'ctx_name'): criterion 9 is not one of the rated criteria" in problems
    assert "combined_rules[8] (id 'ctx_name'): all = [...] lists the answers the rule reads" in problems
    assert "combined_rules[8] (id 'ctx_name').short: missing translation 'en'" in problems


def test_every_question_has_a_short_label_and_says_where_dont_know_goes():
    data = _raw()
    questions = {q["id"]: q for q in data["questions"]}
    del questions["c2_ciso"]["short"]
    questions["c1_bias"]["unknown_allowed"] = False          # a criterion's choice cannot refuse « je ne sais pas »
    del questions["ctx_hosting"]["unknown_criterion"]        # where would its « je ne sais pas » be checked?
    questions["c4_monitoring"]["rules"][0]["touches"] = [0, 8]
    data["review"]["read_first"].append("c2_legal_texte")
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(data)
    problems = caught.value.problems
    assert any(p.endswith("(id 'c2_ciso').short: missing (a table with fr and en)") for p in problems)
    assert any("(id 'c1_bias'): unknown_allowed = false is refused on a criterion's" in p for p in problems)
    assert any("(id 'ctx_hosting'): a context question that allows « je ne sais pas » names the criterion" in p
               for p in problems)
    assert any("touches names criterion 0" in p for p in problems)
    assert any("touches names criterion 8" in p for p in problems)
    assert "review.read_first: unknown question 'c2_legal_texte'" in problems
    assert len(problems) == 6


def test_dont_know_is_offered_everywhere_but_on_the_agents_own_answers(questionnaire):
    refused = [q.id for q in questionnaire.questions if not q.unknown_allowed]
    assert {q for q in refused if not q.startswith("ctx_")} <= {
        q.id for q in questionnaire.questions if q.type is QuestionType.TEXT}
    assert [q for q in refused if q.startswith("ctx_")] == ["ctx_name", "ctx_purpose", "ctx_direction",
                                                            "ctx_direction_other"]
    for question in questionnaire.questions:
        if question.criterion and question.type in (QuestionType.YESNO, QuestionType.CHOICE, QuestionType.MULTI):
            assert question.unknown_allowed, question.id
    assert questionnaire.question("ctx_hosting").checked_by == 2


def test_annex_iii_is_complete_as_it_applies_to_a_city(questionnaire):
    areas = {c.id for c in questionnaire.question("c2_high_risk").choices} - {"none"}
    assert areas == {"biometrics", "infrastructure", "education", "employment", "benefits", "emergency",
                     "law_enforcement", "migration", "justice_democracy"}
    flagged = [r for r in questionnaire.question("c2_high_risk").rules if r.match.any_of]
    assert set(flagged[0].match.any_of) == areas


def test_the_questions_come_in_the_order_a_reviewer_reasons_in(questionnaire):
    order = [q.id for q in questionnaire.questions]
    assert order.index("c2_legal_basis") < order.index("c2_legal_text")
    assert order.index("c7_alternative") < order.index("c7_alternative_what") < order.index("c7_why_better")
    assert questionnaire.question("c7_why_better").when == questionnaire.question("c7_alternative_what").when
    for question_id in ("c6_human_review", "c6_contest"):
        when = questionnaire.question(question_id).when
        assert [(c.question, c.match.any_of) for c in when] == [("c6_individual_decision", ("human", "automatic"))]
    assert questionnaire.read_first[:4] == ("ctx_direction", "ctx_direction_other", "ctx_purpose", "ctx_data")


def test_every_prohibited_practice_names_its_letter_and_touches_criterion_1_or_6(questionnaire):
    rules = [r for r in questionnaire.question("c2_prohibited").rules if r.level is Level.BLOCKER]
    for rule in rules:
        letter = f"art. 5 ({rule.match.includes})"
        assert letter in rule.reason.fr and letter in rule.reason.en
        assert set(rule.touches) & {1, 6}, rule.match.includes
    assert next(r for r in rules if r.match.includes == "f").touches == (1, 4)


def test_the_earlier_version_is_kept_and_read_with_its_own_questions(questionnaire):
    from conversations.questionnaire import load_versions

    versions = load_versions(questionnaire)
    assert sorted(versions) == ["2024.1", "2025.1"] and versions["2025.1"] is questionnaire
    old = versions["2024.1"]
    assert not old.has("c2_legal_text") and not old.combined_rules
    assert old.question("ctx_data").unknown_allowed is False  # as it was released


def test_an_archived_file_must_be_named_after_its_version(tmp_path: Path, questionnaire):
    from conversations.questionnaire import load_versions

    (tmp_path / "2023.9.toml").write_text(DEFAULT_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(QuestionnaireError, match=re.escape("version '2025.1' is not the file's name: name it 2025.1")):
        load_versions(questionnaire, tmp_path)
