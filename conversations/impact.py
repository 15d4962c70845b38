"""The impact level I–IV of a use: arithmetic on the weights the questionnaire gives its answers.

Modelled on the Canada Algorithmic Impact Assessment (canada-ca/aia-eia-js): a raw risk score
against the most it could be, and a mitigation score that lowers it when high enough. Anyone can
redo it by hand from the weights in questionnaire.toml:

1. risk = the weight of each answer to a `risk = true` question that applies (a multi question
   counts its heaviest answer; « je ne sais pas » counts the question's highest weight: a risk
   nobody assessed is never low); risk_max = the sum of those highest weights.
2. mitigation = the weight of each answer to a `mitigation = true` question that applies (a multi
   question adds its measures; « je ne sais pas » counts 0); mitigation_max likewise.
3. When mitigation ≥ mitigation_threshold % of mitigation_max, the risk is lowered by
   mitigation_reduction %.
4. percent = risk / risk_max × 100; level I below the first threshold, II below the second, III
   below the third, IV from it.

Questions not yet answered count in neither score. The level never softens a blocker: blockers
are the rules' business, whatever the score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from conversations.answers import Answer
from conversations.policy import ROMAN
from conversations.questionnaire import LocalText, Question, Questionnaire, QuestionType


@dataclass(frozen=True)
class Weighed:
    """One answer's part in a score."""

    question_id: str
    weight: int
    most: int
    label: LocalText


@dataclass(frozen=True)
class Impact:
    level: int                    # 1..4 (I..IV)
    risk: int                     # raw risk score
    risk_max: int
    mitigation: int
    mitigation_max: int
    lowered: bool                 # the mitigation score reached its threshold
    percent: Fraction             # the (lowered) risk as a share of its maximum, in %
    risks: tuple[Weighed, ...]    # every risk answer that weighs, heaviest first
    mitigations: tuple[Weighed, ...]

    @property
    def weighing_most(self) -> tuple[Weighed, ...]:
        """The answers that weigh most: the three heaviest risk answers."""
        return self.risks[:3]

    @property
    def roman(self) -> str:
        return ROMAN[self.level]

    @property
    def percent_shown(self) -> int:
        return round(self.percent)

    @property
    def mitigation_percent(self) -> int:
        return round(Fraction(100 * self.mitigation, self.mitigation_max)) if self.mitigation_max else 0


def answer_weight(question: Question, answer: Answer) -> int:
    """What one answer weighs, as the module's docstring says."""
    if answer.skipped:
        return 0
    if answer.unknown:
        return question.max_weight if question.risk else 0
    value = answer.value
    if question.type is QuestionType.MULTI and isinstance(value, list):
        weights = [question.weight(v) for v in value]
        return sum(weights) if question.mitigation else max(weights, default=0)
    return question.weight(str(value))


def level_of(percent: Fraction, thresholds: tuple[int, int, int]) -> int:
    return 1 + sum(1 for threshold in thresholds if percent >= threshold)


def impact(questionnaire: Questionnaire, answers: Mapping[str, Answer],
           applying: list[Question] | None = None) -> Impact | None:
    """The impact level of these answers, or None when no answer weighs in a risk (a version without weights)."""
    from conversations.rules import applicable_questions  # rules reads the level for its obligations

    questions = applying if applying is not None else applicable_questions(questionnaire, answers)
    risks: list[Weighed] = []
    mitigations: list[Weighed] = []
    for question in questions:
        answer = answers.get(question.id)
        if answer is None or not (question.risk or question.mitigation):
            continue
        weighed = Weighed(question.id, answer_weight(question, answer), question.max_weight, question.short)
        (risks if question.risk else mitigations).append(weighed)
    risk_max = sum(w.most for w in risks)
    if risk_max == 0:
        return None
    policy = questionnaire.impact
    risk = sum(w.weight for w in risks)
    mitigation, mitigation_max = sum(w.weight for w in mitigations), sum(w.most for w in mitigations)
    lowered = mitigation_max > 0 and 100 * mitigation >= policy.mitigation_threshold * mitigation_max
    score = Fraction(risk) * (100 - policy.mitigation_reduction) / 100 if lowered else Fraction(risk)
    percent = 100 * score / risk_max
    heaviest = tuple(sorted((w for w in risks if w.weight), key=lambda w: -w.weight))
    return Impact(level_of(percent, policy.thresholds), risk, risk_max, mitigation, mitigation_max, lowered,
                  percent, heaviest, tuple(w for w in mitigations if w.weight))


def level_changes(questionnaire: Questionnaire, before: Mapping[str, Answer],
                  after: Mapping[str, Answer]) -> tuple[Impact | None, Impact | None, tuple[str, ...]]:
    """The level before and after a re-evaluation, and the weighed answers whose weight moved."""
    old, new = impact(questionnaire, before), impact(questionnaire, after)
    moved: list[str] = []
    for question in questionnaire.weighted:
        a, b = before.get(question.id), after.get(question.id)
        wa = answer_weight(question, a) if a is not None else 0
        wb = answer_weight(question, b) if b is not None else 0
        if wa != wb:
            moved.append(question.id)
    return old, new, tuple(moved)
