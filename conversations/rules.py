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


class _Recent:
    """The last results of a rule function, by the identity of its arguments.

    One step asks the same question of the same answers several times (the engine to move on and
    show progress, the application to store findings), and most answers of a step are the very
    objects of the previous one. Questionnaires, answers and answer mappings are immutable:
    replaced, never changed, so identity is enough. An entry holds its arguments, which keeps their
    ids theirs.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: dict[tuple[int, int], tuple[object, object, list[Any]]] = {}

    def get(self, first: object, second: object) -> list[Any] | None:
        entry = self.entries.get((id(first), id(second)))
        return list(entry[2]) if entry is not None else None

    def put(self, first: object, second: object, result: list[Any]) -> list[Any]:
        if len(self.entries) >= self.size:
            del self.entries[next(iter(self.entries))]  # the oldest: dicts keep insertion order
        self.entries[(id(first), id(second))] = (first, second, list(result))
        return result


_applicable = _Recent(32)
_findings = _Recent(32)
_answer_findings = _Recent(4096)


def applicable_questions(questionnaire: Questionnaire, answers: Mapping[str, Answer]) -> list[Question]:
    known = _applicable.get(questionnaire, answers)
    if known is not None:
        return known
    # Most questions have no condition: skip the call for them.
    return _applicable.put(questionnaire, answers,
                           [q for q in questionnaire.questions if not q.when or is_applicable(q, answers)])


def question_findings(question: Question, answer: Answer | None) -> list[Finding]:
    """Findings raised by one answer; 'I don't know' is never a silent pass."""
    if answer is None:
        return []
    known = _answer_findings.get(question, answer)
    if known is not None:
        return known
    found = [
        Finding(question.id, rule.criterion if rule.criterion is not None else question.criterion,
                rule.level, rule.reason)
        for rule in question.rules
        if matches(rule.match, answer)
    ]
    if answer.unknown and not found:
        found.append(Finding(question.id, question.criterion, Level.TO_CHECK, UNKNOWN_REASON))
    return _answer_findings.put(question, answer, found)


def findings(questionnaire: Questionnaire, answers: Mapping[str, Answer]) -> list[Finding]:
    """Every finding of the current answers to the questions that apply."""
    known = _findings.get(questionnaire, answers)
    if known is not None:
        return known
    out: list[Finding] = []
    for question in applicable_questions(questionnaire, answers):
        answer = answers.get(question.id)
        if answer is not None and (question.rules or answer.unknown):
            out.extend(question_findings(question, answer))
    return _findings.put(questionnaire, answers, out)


def with_answer(questionnaire: Questionnaire, answers: Mapping[str, Answer], question_id: str, answer: Answer,
                *, pruned: bool) -> dict[str, Answer]:
    """The answers with one set, in questionnaire order, without the answers to questions whose
    conditions no longer hold (conditions look backwards). `pruned`: `answers` are known to hold only
    answers to this questionnaire's questions that apply (the engine keeps them so).

    When no condition reads this question, the others still apply and so do the same questions:
    those found for the old answers are the new answers' too."""
    changed = {**answers, question_id: answer}
    if pruned and _keeps_the_others(questionnaire, answers, question_id):
        applicable, found = _applicable.get(questionnaire, answers), _findings.get(questionnaire, answers)
        if applicable is not None:
            _applicable.put(questionnaire, changed, applicable)
        if applicable is not None and found is not None:
            question = questionnaire.question(question_id)
            own = question_findings(question, answer) if is_applicable(question, changed) else []
            at = questionnaire.position(question_id)
            before = [f for f in found if questionnaire.position(f.question_id) < at]
            after = [f for f in found if questionnaire.position(f.question_id) > at]
            _findings.put(questionnaire, changed, before + own + after)
        return changed
    kept: dict[str, Answer] = {}
    for question in questionnaire.questions:
        if question.id in changed and is_applicable(question, kept):
            kept[question.id] = changed[question.id]
    return kept


def _keeps_the_others(questionnaire: Questionnaire, answers: Mapping[str, Answer], question_id: str) -> bool:
    """Whether setting this answer leaves the others applying, and in questionnaire order."""
    if questionnaire.is_condition_source(question_id):
        return False
    if question_id in answers or not answers:
        return True
    last = next(reversed(answers)) if isinstance(answers, dict) else list(answers)[-1]
    return questionnaire.has(last) and questionnaire.position(last) < questionnaire.position(question_id)


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
