"""Findings, summary per criterion and recommendation."""

from __future__ import annotations

from conversations.answers import Answer, parse_answer
from conversations.questionnaire import Level
from conversations.rules import Recommendation, applicable_questions, findings, summarize, with_answer
from tests.helpers import CLEAN


def _answers(questionnaire, overrides=None):
    typed = {**CLEAN, **(overrides or {})}
    answers = {}
    for question in questionnaire.questions:
        if question.id in typed and all(c.question in answers for c in question.when):
            choices = None
            if question.choices_from == "directions":
                from conversations.questionnaire import Choice, LocalText
                choices = (Choice("numerique", LocalText("Numérique", "Digital")),)
            parsed = parse_answer(question, typed[question.id], choices)
            assert isinstance(parsed, Answer), (question.id, parsed)
            answers[question.id] = parsed
    return answers


def test_clean_answers_are_favourable(questionnaire):
    summary = summarize(questionnaire, _answers(questionnaire))
    assert summary.recommendation is Recommendation.FAVOURABLE
    assert all(c.level is Level.OK for c in summary.criteria)


def test_dont_know_is_never_a_silent_pass(questionnaire):
    summary = summarize(questionnaire, _answers(questionnaire, {"c1_biometric": "?"}))
    criterion = summary.criteria[1]
    assert criterion.level is Level.TO_CHECK
    assert "je ne sais pas" in criterion.findings[0].reason.fr
    assert summary.recommendation is Recommendation.WITH_CHECKS


def test_blocker_wins_and_names_the_ai_act_letter(questionnaire):
    summary = summarize(questionnaire, _answers(questionnaire, {"c2_prohibited": "7", "c2_legal_basis": "6"}))
    legal = summary.criteria[2]
    assert legal.level is Level.BLOCKER
    reasons = [f.reason.fr for f in legal.findings]
    assert any("art. 5 (f)" in r for r in reasons)
    assert any("Intérêts légitimes" in r for r in reasons)
    assert summary.recommendation is Recommendation.BLOCKED


def test_rule_can_attribute_a_context_finding_to_a_criterion(questionnaire):
    found = findings(questionnaire, _answers(questionnaire, {"ctx_hosting": "4"}))
    assert [(f.question_id, f.criterion, f.level) for f in found] == [("ctx_hosting", 2, Level.TO_CHECK)]


def test_conditions_decide_what_is_asked(questionnaire):
    without = {q.id for q in applicable_questions(questionnaire, _answers(questionnaire))}
    assert "c2_dpia" not in without
    with_personal = {q.id for q in applicable_questions(questionnaire, _answers(questionnaire, {"ctx_data": "3"}))}
    assert "c2_dpia" in with_personal


def test_partial_summary_counts_unanswered(questionnaire):
    summary = summarize(questionnaire, {"ctx_name": Answer("x")})
    assert summary.criteria[1].unanswered == 4
    assert summary.criteria[1].level is Level.OK


def test_setting_answers_one_by_one_keeps_only_the_answers_that_apply_in_order(questionnaire):
    final = _answers(questionnaire, {"ctx_data": "3", "c1_sensitive": "?", "c2_ciso": "non", "c1_biometric": "oui"})
    # In order, then edits of earlier answers (some that conditions read, some that none reads).
    edits = [(qid, Answer(unknown=True)) for qid in ("ctx_name", "c2_ciso", "c3_problem", "ctx_data")]
    answers: dict[str, Answer] = {}
    for question_id, answer in [*final.items(), *edits]:
        answers = with_answer(questionnaire, answers, question_id, answer)
        order = [q.id for q in questionnaire.questions if q.id in answers]
        assert list(answers) == order, question_id
        applying = {q.id for q in applicable_questions(questionnaire, answers)}
        assert set(answers) <= applying, question_id
    assert any(f.level is Level.BLOCKER for f in findings(questionnaire, answers))
    assert "c2_dpia" not in answers  # dropped when ctx_data became "I don't know"


def test_an_answer_a_condition_reads_drops_the_answers_that_no_longer_apply(questionnaire):
    answers = _answers(questionnaire, {"ctx_data": "3"})
    dependent = [q.id for q in questionnaire.questions if any(c.question == "ctx_data" for c in q.when)]
    assert all(qid in answers for qid in dependent)
    changed = with_answer(questionnaire, answers, "ctx_data", Answer(value=["internal"]))
    assert dependent and not any(qid in changed for qid in dependent)
