"""The rules that turn answers into findings, the summary per criterion and the recommendation.

Pure functions of the questionnaire and the answers: the same answers always give the same
findings, which is what lets a re-evaluation or an audit replay them. Answers are read alone
(the rules of each question) and together (the combined rules), and every finding carries the
short label of the question or rule it comes from. An incomplete assessment gets no
recommendation: the bot never says more than it knows. `blocker_stories` reads an interview's
trail back into the blockers it raised and what became of each.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Literal

from conversations.answers import Answer
from conversations.impact import Impact, impact
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
    INCOMPLETE = "incomplete"   # questions still wait for an answer: no recommendation yet


@dataclass(frozen=True)
class Finding:
    question_id: str                  # the question, or the combined rule, it comes from
    criterion: int
    level: Level
    reason: LocalText
    label: LocalText                  # the short label of that question or rule
    touches: tuple[int, ...] = ()     # other criteria it concerns (their reviewers are called too)
    questions: tuple[str, ...] = ()   # the questions whose answers raised it

    @property
    def criteria(self) -> tuple[int, ...]:
        """Every criterion it concerns: its own first."""
        return (self.criterion, *(n for n in self.touches if n != self.criterion))


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
    remaining: int = 0    # questions that apply and still wait for an answer
    impact: Impact | None = None   # the impact level; None under a version whose answers carry no weights

    @property
    def blockers(self) -> tuple[Finding, ...]:
        return tuple(f for c in self.criteria for f in c.findings if f.level is Level.BLOCKER)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for c in self.criteria for f in c.findings)

    @property
    def uncovered(self) -> tuple[int, ...]:
        """The doctrine's criteria some of whose questions are still unanswered."""
        return tuple(c.number for c in self.criteria if c.number > 0 and c.unanswered)


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
                rule.level, rule.reason, question.short, rule.touches, (question.id,))
        for rule in question.rules
        if matches(rule.match, answer)
    ]
    if answer.unknown and not found:
        found.append(Finding(question.id, question.checked_by, Level.TO_CHECK, UNKNOWN_REASON, question.short,
                             (), (question.id,)))
    return found


def combined_findings(questionnaire: Questionnaire, answers: Mapping[str, Answer],
                      level: Impact | None = None) -> list[Finding]:
    """Findings of the rules that read several answers together (each condition on an answer given); a rule
    that names an obligation holds only where the impact level demands it."""
    def demanded(obligation: str | None) -> bool:
        return obligation is None or (level is not None and questionnaire.impact.of(level.level).demands(obligation))

    return [Finding(rule.id, rule.criterion, rule.level, rule.reason, rule.short, rule.touches, rule.questions)
            for rule in questionnaire.combined_rules
            if demanded(rule.obligation) and all(matches(c.match, answers.get(c.question)) for c in rule.all)]


def findings(questionnaire: Questionnaire, answers: Mapping[str, Answer]) -> list[Finding]:
    """Every finding of the current answers to the questions that apply, then of the combined rules."""
    out: list[Finding] = []
    applying = applicable_questions(questionnaire, answers)
    for question in applying:
        out.extend(question_findings(question, answers.get(question.id)))
    asked = {q.id: answers[q.id] for q in applying if q.id in answers}
    out.extend(combined_findings(questionnaire, asked, impact(questionnaire, asked, applying)))
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
    """Status of each criterion (worst finding wins) and the bot's recommendation, if it may give one."""
    all_findings = findings(questionnaire, answers)
    waiting = [q for q in applicable_questions(questionnaire, answers) if q.id not in answers]
    sections = []
    for criterion in questionnaire.criteria:
        own = tuple(f for f in all_findings if f.criterion == criterion.number)
        level = max((f.level for f in own), key=_SEVERITY.__getitem__, default=Level.OK)
        unanswered = sum(1 for q in waiting if q.criterion == criterion.number)
        sections.append(CriterionSummary(criterion.number, criterion.title, level, own, unanswered))
    recommendation = Recommendation.INCOMPLETE if waiting else recommend(all_findings)
    return Summary(tuple(sections), recommendation, len(waiting), impact(questionnaire, answers))


def recommend(found: list[Finding]) -> Recommendation:
    """The bot's advice on complete answers: blocked by any blocker, with checks by any point to check."""
    worst = max((f.level for f in found), key=_SEVERITY.__getitem__, default=Level.OK)
    return {
        Level.OK: Recommendation.FAVOURABLE,
        Level.TO_CHECK: Recommendation.WITH_CHECKS,
        Level.BLOCKER: Recommendation.BLOCKED,
    }[worst]


# -------------------------------------------------------------------------- blockers' history

@dataclass(frozen=True)
class BlockerStory:
    """A blocker raised during an interview, and what became of it."""

    question_id: str
    blockers: tuple[Finding, ...]       # what the answer that raised it blocked on
    raised_with: Answer
    changed_to: Answer | None = None    # the next answer given to that question, if any
    justification: str | None = None    # the exceptional review asked for while it stood

    @property
    def criteria(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(n for f in self.blockers for n in f.criteria))

    def resolution(self, questionnaire: Questionnaire,
                   answers: Mapping[str, Answer]) -> Literal["corrected", "changed", "exception", "dropped", "open"]:
        """corrected: answered again without this blocker; changed: answered again, still blocking (a story
        follows); exception: kept with an exceptional review; dropped: the question no longer applies."""
        if self.changed_to is not None:
            after = question_findings(questionnaire.question(self.question_id), self.changed_to)
            return "changed" if any(f in after for f in self.blockers) else "corrected"
        if self.justification is not None:
            return "exception"
        return "open" if self.question_id in answers else "dropped"


def blocker_stories(questionnaire: Questionnaire, trail: Iterable[tuple[str, Mapping[str, Any]]],
                    answers: Mapping[str, Answer]) -> list[BlockerStory]:
    """Every blocker an interview raised, in order, from its trail of (action, detail): the answer records
    say what was answered, `blocker_raised` what blocked, `exception_requested` the justification given.
    `answers` (the current ones) tell a blocker still standing from one whose question no longer applies."""
    stories: list[BlockerStory] = []
    standing: dict[str, int] = {}         # question → index of its story not yet answered again
    latest: dict[str, Answer] = {}
    for action, detail in trail:
        question_id = detail.get("question")
        if not isinstance(question_id, str) or not questionnaire.has(question_id):
            continue
        if action == "answer" and isinstance(detail.get("answer"), dict):
            answer = Answer.from_json(detail["answer"])
            if question_id in standing:
                index = standing.pop(question_id)
                stories[index] = replace(stories[index], changed_to=answer)
            latest[question_id] = answer
        elif action == "blocker_raised":
            raw = detail.get("answer")
            raised = Answer.from_json(raw) if isinstance(raw, dict) else latest.get(question_id)
            if raised is None:
                continue
            blockers = tuple(f for f in question_findings(questionnaire.question(question_id), raised)
                             if f.level is Level.BLOCKER)
            standing[question_id] = len(stories)
            stories.append(BlockerStory(question_id, blockers, raised))
        elif action == "exception_requested" and question_id in standing:
            index = standing[question_id]
            stories[index] = replace(stories[index], justification=str(detail.get("justification", "")))
    return stories
