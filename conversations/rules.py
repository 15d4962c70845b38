"""The rules that turn answers into findings, the summary per criterion and the recommendation.

Pure functions of the questionnaire and the answers: the same answers always give the same
findings, which is what lets a re-evaluation or an audit replay them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from conversations.answers import Answer
from conversations.questionnaire import Level, LocalText, Match, Question, Questionnaire

UNKNOWN_REASON = LocalText(
    fr="Réponse « je ne sais pas » : point à vérifier.",
    en="Answer \"I don't know\": point to check.",
)
_SEVERITY = {Level.OK: 0, Level.TO_CHECK: 1, Level.BLOCKER: 2}


class Recommendation(StrEnum):
    FAVOURABLE = "favourable"
    WITH_CHECKS = "favourable_with_checks"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class Finding:
    question_id: str
    criterion: int
    level: Level
    reason: LocalText


@dataclass(frozen=True)
class CriterionSummary:
    number: int
    title: LocalText
    level: Level
    findings: tuple[Finding, ...]
    unanswered: int = 0   # questions of this criterion that apply and still wait for an answer


@dataclass(frozen=True)
class Summary:
    criteria: tuple[CriterionSummary, ...]
    recommendation: Recommendation

    @property
    def blockers(self) -> tuple[Finding, ...]:
        return tuple(f for c in self.criteria for f in c.findings if f.level is Level.BLOCKER)


def matches(match: Match, answer: Answer | None) -> bool:
    """Whether an answer satisfies a match; a missing or skipped answer satisfies nothing."""
    if answer is None or answer.skipped:
        return False
    if match.unknown is not None:
        return answer.unknown == match.unknown
    if answer.unknown:
        return match.equals == "unknown" or "unknown" in match.any_of
    value: Any = answer.value
    if match.equals is not None:
        return bool(value == match.equals)
    if match.any_of:
        if isinstance(value, list):
            return any(v in match.any_of for v in value)
        return value in match.any_of
    if match.includes is not None:
        return isinstance(value, list) and match.includes in value
    if isinstance(value, int | float):
        if match.above is not None:
            return value > match.above
        if match.below is not None:
            return value < match.below
    return False


def is_applicable(question: Question, answers: Mapping[str, Answer]) -> bool:
    """A question is asked only when every one of its conditions holds."""
    return all(matches(c.match, answers.get(c.question)) for c in question.when)


def applicable_questions(questionnaire: Questionnaire, answers: Mapping[str, Answer]) -> list[Question]:
    return [q for q in questionnaire.questions if is_applicable(q, answers)]


def question_findings(question: Question, answer: Answer | None) -> list[Finding]:
    """Findings raised by one answer; 'I don't know' is never a silent pass."""
    if answer is None:
        return []
    found = [
        Finding(question.id, rule.criterion if rule.criterion is not None else question.criterion,
                rule.level, rule.reason)
        for rule in question.rules
        if matches(rule.match, answer)
    ]
    if answer.unknown and not found:
        found.append(Finding(question.id, question.criterion, Level.TO_CHECK, UNKNOWN_REASON))
    return found


def findings(questionnaire: Questionnaire, answers: Mapping[str, Answer]) -> list[Finding]:
    """Every finding of the current answers to the questions that apply."""
    out: list[Finding] = []
    for question in applicable_questions(questionnaire, answers):
        out.extend(question_findings(question, answers.get(question.id)))
    return out


def with_answer(questionnaire: Questionnaire, answers: Mapping[str, Answer], question_id: str,
                answer: Answer) -> dict[str, Answer]:
    """The answers with one set, in questionnaire order, without the answers to questions whose
    conditions no longer hold (conditions look backwards, so one pass in order settles them)."""
    changed = {**answers, question_id: answer}
    kept: dict[str, Answer] = {}
    for question in questionnaire.questions:
        if question.id in changed and is_applicable(question, kept):
            kept[question.id] = changed[question.id]
    return kept


def summarize(questionnaire: Questionnaire, answers: Mapping[str, Answer]) -> Summary:
    """Status of each criterion (worst finding wins) and the bot's recommendation."""
    all_findings = findings(questionnaire, answers)
    waiting = [q for q in applicable_questions(questionnaire, answers) if q.id not in answers]
    sections = []
    for criterion in questionnaire.criteria:
        own = tuple(f for f in all_findings if f.criterion == criterion.number)
        level = max((f.level for f in own), key=_SEVERITY.__getitem__, default=Level.OK)
        unanswered = sum(1 for q in waiting if q.criterion == criterion.number)
        sections.append(CriterionSummary(criterion.number, criterion.title, level, own, unanswered))
    return Summary(tuple(sections), recommend(all_findings))


def recommend(found: list[Finding]) -> Recommendation:
    """The bot's advice: blocked by any blocker, with checks by any point to check."""
    worst = max((f.level for f in found), key=_SEVERITY.__getitem__, default=Level.OK)
    return {
        Level.OK: Recommendation.FAVOURABLE,
        Level.TO_CHECK: Recommendation.WITH_CHECKS,
        Level.BLOCKER: Recommendation.BLOCKED,
    }[worst]
