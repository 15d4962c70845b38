"""Findings, summary per criterion and recommendation."""

from __future__ import annotations

import pytest

from conversations.answers import Answer
from conversations.questionnaire import Level
from conversations.rules import Recommendation, applicable_questions, findings, summarize, with_answer
from tests.helpers import answers_for as _answers


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


STREET_CAMERA = {"ctx_ai_kind": "2", "ctx_data": "4,6"}  # image analysis; images of people and location data


def _criterion_1(questionnaire, overrides):
    summary = summarize(questionnaire, _answers(questionnaire, overrides))
    return summary.criteria[1]


def test_a_use_analysing_images_of_people_cannot_pass_criterion_1_on_one_non(questionnaire):
    criterion = _criterion_1(questionnaire, STREET_CAMERA)  # and "non" to every question of criterion 1
    assert criterion.level is Level.TO_CHECK
    labels = [f.label.fr for f in criterion.findings]
    assert labels == ["Analyse d'images de personnes", "Localisation de personnes",
                      "Identification biométrique : réponses contradictoires",
                      "Caractérisation des personnes : réponses contradictoires"]
    contradiction = criterion.findings[2]
    assert contradiction.reason.fr.startswith("Contradiction : « non » à l'identification biométrique")
    assert contradiction.questions == ("ctx_ai_kind", "ctx_data", "c1_biometric")


def test_each_combination_holds_only_when_every_answer_it_reads_does(questionnaire):
    images_only = _criterion_1(questionnaire, {"ctx_ai_kind": "5", "ctx_data": "4"})  # stored, not analysed
    assert images_only.findings == ()
    location = _criterion_1(questionnaire, {"ctx_data": "6"})
    assert [f.question_id for f in location.findings] == ["c1_location_of_people"]
    assert location.level is Level.TO_CHECK
    answered_yes = summarize(questionnaire, _answers(questionnaire, {**STREET_CAMERA, "c1_biometric": "oui"}))
    ids = [f.question_id for f in answered_yes.criteria[1].findings]
    assert "c1_biometric" in ids and "c1_biometric_contradiction" not in ids  # no contradiction with a "oui"


def test_a_combination_is_not_read_on_answers_that_no_longer_apply(questionnaire):
    answers = _answers(questionnaire, {"ctx_ai_kind": "4", "ctx_data": "3", "c6_individual_decision": "1"})
    assert [f.question_id for f in findings(questionnaire, answers) if f.criterion == 6] == [
        "c6_scoring_without_decision"]
    assert not [f for f in findings(questionnaire, {k: v for k, v in answers.items() if k != "ctx_ai_kind"})
                if f.criterion == 6]


def test_every_finding_names_the_question_it_comes_from(questionnaire):
    unknown = {"ctx_hosting": "?", "c1_sensitive": "?", "c3_measure": "?"}
    found = findings(questionnaire, _answers(questionnaire, unknown))
    assert [(f.label.fr, f.criterion) for f in found] == [
        ("Hébergement", 2), ("Données sensibles (RGPD art. 9 et 10)", 1), ("Mesure du gain", 3)]
    assert all(f.reason.fr == "Réponse « je ne sais pas » : point à vérifier." for f in found)


def test_dont_know_on_the_prohibited_practices_is_a_legal_point_to_check(questionnaire):
    summary = summarize(questionnaire, _answers(questionnaire, {"c2_prohibited": "?", "ctx_supplier": "?"}))
    legal = summary.criteria[2]
    assert legal.level is Level.TO_CHECK
    assert [f.label.fr for f in legal.findings] == ["Prestataire ou modèle",
                                                    "Pratiques interdites (règlement IA, art. 5)"]
    assert "a à h" in legal.findings[1].reason.fr
    assert summary.recommendation is Recommendation.WITH_CHECKS


def test_no_recommendation_while_questions_wait(questionnaire):
    answers = _answers(questionnaire)
    partial = {k: v for i, (k, v) in enumerate(answers.items()) if i < 11}
    summary = summarize(questionnaire, partial)
    assert summary.recommendation is Recommendation.INCOMPLETE
    assert summary.remaining == len(applicable_questions(questionnaire, partial)) - 11
    assert summary.uncovered == (1, 2, 3, 4, 5, 6, 7)
    assert summarize(questionnaire, {}).recommendation is Recommendation.INCOMPLETE
    assert summarize(questionnaire, answers).recommendation is Recommendation.FAVOURABLE


def test_an_art_5_blocker_names_its_letter_and_every_criterion_it_touches(questionnaire):
    found = [f for f in findings(questionnaire, _answers(questionnaire, {"c2_prohibited": "7"}))
             if f.level is Level.BLOCKER]
    assert [(f.criterion, f.criteria) for f in found] == [(2, (2, 1, 4))]
    assert "art. 5 (f)" in found[0].reason.fr
    emotions = [f for f in findings(questionnaire, _answers(questionnaire, {"c4_monitoring": "3"}))
                if f.level is Level.BLOCKER]
    assert [(f.criteria, "art. 5 (f)" in f.reason.fr) for f in emotions] == [((4, 1, 2), True)]


def test_blocker_stories_tell_what_became_of_each_blocker(questionnaire):
    from conversations.rules import blocker_stories

    yes, no = Answer("yes"), Answer("no")
    trail = [
        ("answer", {"question": "c1_biometric", "answer": yes.to_json()}),
        ("blocker_raised", {"question": "c1_biometric", "answer": yes.to_json()}),
        ("answer", {"question": "c1_biometric", "answer": no.to_json()}),
        ("answer", {"question": "c1_sensitive", "answer": yes.to_json()}),
        ("blocker_raised", {"question": "c1_sensitive"}),  # an older record, without the answer: read back
        ("exception_requested", {"question": "c1_sensitive", "justification": "Obligation réglementaire."}),
        ("answer", {"question": "c6_individual_decision", "answer": Answer("automatic").to_json()}),
        ("blocker_raised", {"question": "c6_individual_decision", "answer": Answer("automatic").to_json()}),
    ]
    answers = {"c1_biometric": no, "c1_sensitive": yes}  # c6's answer since dropped by another answer
    stories = blocker_stories(questionnaire, trail, answers)
    assert [(s.question_id, s.raised_with, s.changed_to, s.justification) for s in stories] == [
        ("c1_biometric", yes, no, None), ("c1_sensitive", yes, None, "Obligation réglementaire."),
        ("c6_individual_decision", Answer("automatic"), None, None)]
    assert [s.resolution(questionnaire, answers) for s in stories] == ["corrected", "exception", "dropped"]
    assert stories[0].criteria == (1,)


@pytest.mark.parametrize(("overrides", "criterion", "label"), [
    ({"c1_bias": "4"}, 1, "Biais discriminatoire"),
    ({"c2_legal_basis": "3", "ctx_operator": "2"}, 2, "Base « contrat » et tiers exploitant"),
    ({"c2_legal_text": "?"}, 2, "Texte ou délibération"),
    ({"c3_measure": "3"}, 3, "Mesure du gain"),
    ({"c4_effect": "4"}, 4, "Effet sur le travail des agents"),
    ({"c5_model_size": "3"}, 5, "Taille du modèle"),
    ({"c5_lighter": "non"}, 5, "Option plus sobre étudiée"),
    ({"c6_individual_decision": "2", "c6_human_review": "3"}, 6, "Demande de réexamen humain"),
    ({"c6_individual_decision": "2", "c6_contest": "?"}, 6, "Contestation d'un résultat"),
    ({"c6_register": "non", "c6_register_reason": "Sécurité d'un site sensible"}, 6, "Publication au registre"),
    ({"c7_alternative": "non"}, 7, "Alternative sans IA étudiée"),
    ({"c7_benefit": "3"}, 7, "Bénéfice chiffré"),
])
def test_a_rule_of_each_criterion_turns_its_answer_into_a_point_to_check(questionnaire, overrides, criterion, label):
    section = summarize(questionnaire, _answers(questionnaire, overrides)).criteria[criterion]
    assert section.level is Level.TO_CHECK
    assert label in [f.label.fr for f in section.findings]


@pytest.mark.parametrize(("overrides", "label"), [
    ({"c2_legal_basis": "7"}, "Base légale"),
    ({"c6_individual_decision": "3"}, "Décisions individuelles"),
])
def test_the_two_rules_beside_the_compass_are_blockers(questionnaire, overrides, label):
    summary = summarize(questionnaire, _answers(questionnaire, overrides))
    assert [f.label.fr for f in summary.blockers] == [label]
    assert summary.recommendation is Recommendation.BLOCKED
