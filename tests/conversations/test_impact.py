"""The impact level: recomputed by hand from the weights in the data, thresholds, mitigation, obligations."""

from __future__ import annotations

import copy
import tomllib
from dataclasses import replace
from fractions import Fraction

import pytest

from conversations.answers import Answer
from conversations.impact import impact, level_changes
from conversations.policy import ImpactPolicy, Obligations
from conversations.questionnaire import DEFAULT_PATH, Level, QuestionnaireError, parse_questionnaire
from conversations.rules import findings, summarize
from tests.helpers import BENEFIT_SCORER, STREET_CAMERA, WRITING_AID, answers_for

RAW = tomllib.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
SCENARIOS = {"writing aid": WRITING_AID, "street camera": STREET_CAMERA, "benefit scorer": BENEFIT_SCORER,
             "clean": {}, "dont know throughout the severity block": {
                 q["id"]: "?" for q in RAW["questions"] if q["id"].startswith("imp_")}}


def _by_hand(answers: dict[str, Answer]) -> tuple[int, int, int, int]:
    """Risk, its maximum, mitigation and its maximum, read straight from the TOML file's weights."""
    risk = risk_max = mitigation = mitigation_max = 0
    for raw in RAW["questions"]:
        answer = answers.get(raw["id"])
        weights = raw.get("weights")
        if answer is None or weights is None:
            continue
        values = answer.value if isinstance(answer.value, list) else [answer.value]
        if raw.get("risk"):
            risk_max += max(weights.values())
            risk += max(weights.values()) if answer.unknown else max(weights[v] for v in values)
        else:
            mitigation_max += sum(weights.values()) if raw["type"] == "multi" else max(weights.values())
            mitigation += 0 if answer.unknown else sum(weights[v] for v in values)
    return risk, risk_max, mitigation, mitigation_max


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_level_recomputes_from_the_weights_in_the_data(questionnaire, name):
    answers = answers_for(questionnaire, SCENARIOS[name])
    risk, risk_max, mitigation, mitigation_max = _by_hand(answers)
    lowered = 100 * mitigation >= 80 * mitigation_max
    percent = Fraction(100 * risk, risk_max) * (Fraction(85, 100) if lowered else 1)
    level = 1 + (percent >= 25) + (percent >= 50) + (percent >= 75)
    computed = impact(questionnaire, answers)
    assert computed is not None
    assert (computed.risk, computed.risk_max, computed.mitigation, computed.mitigation_max) == (
        risk, risk_max, mitigation, mitigation_max)
    assert (computed.lowered, computed.percent, computed.level) == (lowered, percent, level)


def test_the_three_uses_land_where_their_effects_say(questionnaire):
    levels = {name: impact(questionnaire, answers_for(questionnaire, SCENARIOS[name])) for name in SCENARIOS}
    assert levels["writing aid"] is not None and levels["writing aid"].level in (1, 2)
    assert levels["street camera"] is not None and levels["street camera"].level in (3, 4)
    assert levels["benefit scorer"] is not None and levels["benefit scorer"].level == 4
    assert levels["benefit scorer"].weighing_most[0].weight == 4


def test_dont_know_on_a_severity_question_weighs_its_most_and_is_a_point_to_check(questionnaire):
    known = impact(questionnaire, answers_for(questionnaire, {"imp_rights": "1"}))
    unknown_answers = answers_for(questionnaire, {"imp_rights": "?"})
    unknown = impact(questionnaire, unknown_answers)
    assert known is not None and unknown is not None
    assert unknown.risk - known.risk == 4
    assert [f.criterion for f in findings(questionnaire, unknown_answers) if f.question_id == "imp_rights"] == [2]


def test_thresholds_and_mitigation_come_from_the_policy(questionnaire):
    answers = answers_for(questionnaire, STREET_CAMERA)
    default = impact(questionnaire, answers)
    assert default is not None and not default.lowered
    strict = impact(questionnaire.with_policy(ImpactPolicy(thresholds=(10, 20, 30))), answers)
    assert strict is not None and strict.level == 4
    lenient = impact(questionnaire.with_policy(ImpactPolicy(mitigation_threshold=50, mitigation_reduction=50)),
                     answers)
    assert lenient is not None and lenient.lowered and lenient.percent == default.percent / 2


def test_a_level_that_demands_a_dpia_makes_its_absence_a_point_to_check(questionnaire):
    answers = answers_for(questionnaire, {**STREET_CAMERA, "c2_dpia": "3"})   # « non requise »
    ids = {f.question_id for f in findings(questionnaire, answers)}
    assert "c2_dpia_required_by_level" in ids
    relaxed = questionnaire.with_policy(ImpactPolicy(obligations={n: Obligations() for n in (1, 2, 3, 4)}))
    assert "c2_dpia_required_by_level" not in {f.question_id for f in findings(relaxed, answers)}


def test_a_level_that_demands_a_human_makes_a_replaced_judgement_a_point_to_check(questionnaire):
    found = [f for f in findings(questionnaire, answers_for(questionnaire, BENEFIT_SCORER))
             if f.question_id == "c6_human_required_by_level"]
    assert [(f.criterion, f.level) for f in found] == [(6, Level.TO_CHECK)]
    low = findings(questionnaire, answers_for(questionnaire, {**WRITING_AID, "imp_discretion": "3"}))
    assert "c6_human_required_by_level" not in {f.question_id for f in low}


def test_the_level_never_softens_a_blocker(questionnaire):
    summary = summarize(questionnaire, answers_for(questionnaire, {**WRITING_AID, "c1_biometric": "oui"}))
    assert summary.impact is not None and summary.impact.level == 1
    assert summary.blockers


def test_a_change_of_level_names_the_answers_that_moved_it(questionnaire):
    before = answers_for(questionnaire, STREET_CAMERA)
    worse = {"imp_rights": "4", "imp_economic": "4", "imp_service_access": "3", "imp_duration": "4"}
    after = answers_for(questionnaire, {**STREET_CAMERA, **worse, "ctx_name": "Autre"})
    old, new, moved = level_changes(questionnaire, before, after)
    assert old is not None and new is not None and new.level > old.level
    assert moved == ("imp_rights", "imp_economic", "imp_service_access", "imp_duration")


def test_a_version_without_weights_has_no_level(questionnaire):
    bare = replace(questionnaire, questions=tuple(replace(q, risk=False, mitigation=False, weights=())
                                                 for q in questionnaire.questions))
    assert impact(bare, answers_for(questionnaire)) is None


def test_weights_are_validated_at_load_like_the_rest():
    data = copy.deepcopy(RAW)
    by_id = {q["id"]: q for q in data["questions"]}
    by_id["imp_rights"]["weights"] = {"none": 0, "minor": 1, "moderate": -2, "huge": 9}   # major missing too
    by_id["c6_logging"]["risk"] = True                                                     # both scores
    by_id["ctx_name"]["weights"] = {"yes": 1}                                              # no score named
    data["combined_rules"][-1]["obligation"] = "a_human_somewhere"
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(data)
    problems = "\n".join(caught.value.problems)
    assert "(id 'imp_rights'): weights: answer 'moderate' needs a whole number, 0 or more" in problems
    assert "(id 'imp_rights'): weights: answer 'major' needs a whole number" in problems
    assert "(id 'imp_rights'): weights: 'huge' is not an answer of this question" in problems
    assert "(id 'c6_logging'): a question weighs either in the risk score or in the mitigation score" in problems
    assert "(id 'ctx_name'): weights need risk = true or mitigation = true" in problems
    assert "obligation 'a_human_somewhere' is not one of human_in_every_decision, dpia_with_personal_data" in problems
