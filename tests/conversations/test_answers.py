"""Forgiving answer parsing."""

from __future__ import annotations

import pytest

from conversations.answers import Answer, Invalid, closest, parse_answer
from conversations.questionnaire import LocalText, Question, QuestionType


@pytest.mark.parametrize("typed, value", [("oui", "yes"), ("O", "yes"), ("Yes", "yes"), ("non", "no"),
                                          ("N", "no"), (" no ", "no")])
def test_yes_no(questionnaire, typed, value):
    assert parse_answer(questionnaire.question("c1_biometric"), typed) == Answer(value)


@pytest.mark.parametrize("typed", ["?", "je ne sais pas", "Je ne sais pas", "I don't know", "jsp"])
def test_dont_know_is_an_answer(questionnaire, typed):
    assert parse_answer(questionnaire.question("c1_biometric"), typed) == Answer(unknown=True)


@pytest.mark.parametrize("question_id", ["ctx_name", "ctx_purpose", "ctx_direction"])
def test_dont_know_refused_only_where_the_answer_is_the_agents_own(questionnaire, question_id):
    result = parse_answer(questionnaire.question(question_id), "je ne sais pas")
    assert isinstance(result, Invalid) and result.key == "invalid.unknown_not_allowed"


@pytest.mark.parametrize("question_id", ["c2_prohibited", "c2_high_risk", "ctx_supplier", "ctx_data", "c1_bias",
                                         "c6_individual_decision", "c2_legal_text"])
def test_dont_know_is_possible_where_an_agent_may_honestly_not_know(questionnaire, question_id):
    assert parse_answer(questionnaire.question(question_id), "je ne sais pas") == Answer(unknown=True)


def test_choice_by_number_or_label_ignoring_accents_and_case(questionnaire):
    question = questionnaire.question("c2_legal_basis")
    assert parse_answer(question, "2") == Answer("legal_obligation")
    assert parse_answer(question, "obligation legale") == Answer("legal_obligation")
    assert parse_answer(question, "MISSION D'INTÉRÊT PUBLIC") == Answer("public_task")
    assert parse_answer(question, "Public task") == Answer("public_task")


@pytest.mark.parametrize("typed", ["0", "8", "peut-être", "1,2"])
def test_bad_choice_says_what_is_expected(questionnaire, typed):
    result = parse_answer(questionnaire.question("c2_legal_basis"), typed)
    assert isinstance(result, Invalid)
    assert result.key == "invalid.choice" and result.params == {"count": 7}


def test_several_choices(questionnaire):
    question = questionnaire.question("ctx_ai_kind")
    assert parse_answer(question, "1,3") == Answer(["generative_text", "speech"])
    assert parse_answer(question, "3; 1") == Answer(["generative_text", "speech"])
    assert parse_answer(question, "1 3") == Answer(["generative_text", "speech"])
    assert parse_answer(question, "parole et autre") == Answer(["speech", "other"])
    bad = parse_answer(question, "1,9")
    assert isinstance(bad, Invalid) and bad.params["token"] == "9"


def test_exclusive_choice_cannot_be_combined(questionnaire):
    result = parse_answer(questionnaire.question("c2_prohibited"), "1,3")
    assert isinstance(result, Invalid) and result.key == "invalid.exclusive"


def test_text_bounds_are_stated(questionnaire):
    question = questionnaire.question("ctx_name")
    long = parse_answer(question, "x" * 121)
    assert isinstance(long, Invalid) and long.key == "invalid.text_long" and long.params == {"max": 120, "length": 121}
    short = parse_answer(question, "ab")
    assert isinstance(short, Invalid) and short.params["min"] == 3
    assert parse_answer(question, "  Chatbot RH  ") == Answer("Chatbot RH")


def _question(qtype: QuestionType, **extra) -> Question:
    text = LocalText("q", "q")
    return Question(id="q", criterion=0, type=qtype, text=text, help=text, short=text, **extra)


def test_numbers_with_bounds():
    question = _question(QuestionType.NUMBER, minimum=0, maximum=100)
    assert parse_answer(question, "12,5") == Answer(12.5)
    assert parse_answer(question, "40") == Answer(40)
    assert parse_answer(question, "101") == Invalid("invalid.number_high", {"max": 100})
    assert parse_answer(question, "-1") == Invalid("invalid.number_low", {"min": 0})
    assert parse_answer(question, "beaucoup") == Invalid("invalid.number", {})


def test_dates():
    question = _question(QuestionType.DATE)
    assert parse_answer(question, "2026-03-31") == Answer("2026-03-31")
    assert parse_answer(question, "31/03/2026") == Answer("2026-03-31")
    assert parse_answer(question, "demain") == Invalid("invalid.date", {})


@pytest.mark.parametrize(("typed", "value", "comment"), [
    ("Non.", "no", None), ("OUI !", "yes", None), ("« non »", "no", None), ("Yes!!", "yes", None),
    ("non, mais les visages sont floutés", "no", "mais les visages sont floutés"),
    ("NON — pas de caméra dans ce service", "no", "pas de caméra dans ce service"),
    ("oui : une caméra, floutée", "yes", "une caméra, floutée")])
def test_yes_no_reads_a_clear_first_word_and_keeps_the_rest_as_a_comment(questionnaire, typed, value, comment):
    answer = parse_answer(questionnaire.question("c1_biometric"), typed)
    assert isinstance(answer, Answer) and answer.value == value and answer.comment == comment


@pytest.mark.parametrize("typed", ["y a pas de caméra", "n'importe", "nonsense", "no-one knows", "ouiii", "peut-être"])
def test_yes_no_never_reads_a_word_that_only_starts_like_yes_or_no(questionnaire, typed):
    assert parse_answer(questionnaire.question("c1_biometric"), typed) == Invalid("invalid.yesno", {})


def test_a_comment_travels_with_its_answer_and_changes_no_finding(questionnaire):
    answer = parse_answer(questionnaire.question("c1_biometric"), "non, mais les visages sont floutés")
    assert isinstance(answer, Answer)
    stored = answer.to_json()
    assert stored == {"value": "no", "comment": "mais les visages sont floutés"}
    assert Answer.from_json(stored).comment == "mais les visages sont floutés"
    assert Answer.from_json({"value": "no"}).comment is None
    assert answer == Answer("no")  # the rules read the value: the same answer with or without its comment


def test_a_comment_is_bounded_like_any_text(questionnaire):
    question = questionnaire.question("c1_biometric")
    refused = parse_answer(question, "non, " + "x" * (question.max_length + 1))
    assert isinstance(refused, Invalid) and refused.key == "invalid.text_long"


def test_closest_names_the_nearest_spelling_and_never_guesses_between_equals():
    assert closest("nouvau", [("new", "nouveau"), ("new", "nouvelle"), ("help", "aide")]) == ("new", "nouveau")
    assert closest("aidee", [("help", "aide"), ("idea", "idee")]) is None  # as close to both: no guess
    assert closest("aidee", [("help", "aide"), ("help", "idee")]) == ("help", "aide")  # one key: no tie
    assert closest("zzz", [("new", "nouveau")]) is None
    assert closest("nouveau", [("new", "nouveau")]) is None  # typed exactly: read as such, nothing to suggest
