"""The audit trail in sentences: one record (when, who, what, details) as a line a person reads.

`historique` in chat and the report's audit section both call `trail_sentences`. Every action the
code writes has its own catalogue message (`history.<action>`, some with one message per case); an
action not known here still reads as a sentence. Codes become words: questions by their short
label, roles by their configured names, decisions, statuses and reasons by catalogue words. No
detail is ever shown as a code, a dict or a list, and what people typed is shown on one line,
bounded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bot.escaping import one_line
from bot.i18n import Translator, who
from conversations.answers import Answer
from conversations.engine import choices_of
from conversations.questionnaire import Choice, LocalText, Question, Questionnaire

if TYPE_CHECKING:
    from bot.config import Config

QUOTE_LIMIT = 300  # characters of a typed text shown in one line of a trail
DETAIL_LIMIT = 80  # characters of a transport value (a device id) shown
BOT = "boussole"   # the actor of what Boussole itself does
STARTS_VERSION = ("created", "reevaluation_started")  # records that name the questionnaire version answered
# Every action the code writes to the trail (`action=`, the engine's `record(…)`, the Matrix verification's
# `_audit`): each has its own message; a test reads the sources to keep this list whole.
KNOWN_ACTIONS = frozenset({
    "created", "reevaluation_started", "answer", "blocker_raised", "exception_requested", "submitted", "withdrawn",
    "reviewers_alerted", "no_reviewer", "review_requested", "review_blocked", "decision", "outcome", "archived",
    "decision_refused", "access_refused", "report_viewed", "event_failed", "reminders_sent",
    "matrix_verification_refused", "matrix_verification_cancelled", "matrix_verification_done",
    "absence_declared", "absence_ended", "review_reassigned", "question_asked", "question_answered", "stage_started",
})


class Record(Protocol):
    """One audit record, as storage reads it (`bot.storage.AuditRow`) or as a reply carries it."""

    @property
    def at(self) -> str: ...

    @property
    def actor(self) -> str: ...

    @property
    def action(self) -> str: ...

    @property
    def detail(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Entry:
    """A record carried in a reply's parameters (`at`, `actor`, `action`, `detail`)."""

    at: str
    actor: str
    action: str
    detail: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Entry:
        detail = data.get("detail")
        return cls(str(data.get("at", "")), str(data.get("actor", "")), str(data.get("action", "")),
                   detail if isinstance(detail, Mapping) else {})


@dataclass(frozen=True)
class Glossary:
    """What the trail's codes stand for: questions by questionnaire version, roles and directions by label."""

    questionnaires: Mapping[str, Questionnaire] = field(default_factory=dict)
    current: str | None = None   # the version to read a question in when the trail does not say
    roles: Mapping[str, str] = field(default_factory=dict)
    directions: tuple[Choice, ...] = ()

    @classmethod
    def of(cls, config: Config, questionnaire: Questionnaire,
           versions: Mapping[str, Questionnaire] | None = None) -> Glossary:
        return cls(questionnaires={**(versions or {}), questionnaire.version: questionnaire},
                   current=questionnaire.version,
                   roles={name: role.label for name, role in config.roles.items()},
                   directions=tuple(Choice(name, LocalText(d.label, d.label)) for name, d in config.directions.items()))

    def question(self, question_id: str, version: str | None) -> Question | None:
        """The question in the version the assessment was answered under, else in any version that has it."""
        order = [v for v in (version, self.current) if v is not None and v in self.questionnaires]
        order += [v for v in self.questionnaires if v not in order]
        for name in order:
            questionnaire = self.questionnaires[name]
            if questionnaire.has(question_id):
                return questionnaire.question(question_id)
        return None

    def label(self, t: Translator, question_id: str, version: str | None) -> str:
        """A question's or a combined rule's short label; never its id."""
        question = self.question(question_id, version)
        if question is not None:
            return t.text(question.short)
        for questionnaire in self.questionnaires.values():
            rule = next((r for r in questionnaire.combined_rules if r.id == question_id), None)
            if rule is not None:
                return t.text(rule.short)
        return t("history.question_gone")

    def role(self, name: str) -> str:
        return self.roles.get(name, name)  # a role since removed from the configuration: its configured name


def quoted(text: Any, limit: int = QUOTE_LIMIT) -> str:
    """Typed text for one line: no control characters, no line breaks, at most `limit` characters."""
    return one_line(str(text), limit)


def _text(detail: Mapping[str, Any], key: str) -> str:
    value = detail.get(key)
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""


def _listed(detail: Mapping[str, Any], key: str) -> list[Any]:
    value = detail.get(key)
    return list(value) if isinstance(value, list | tuple) else []


def _names(detail: Mapping[str, Any], key: str) -> list[str]:
    return [v for v in _listed(detail, key) if isinstance(v, str)]


class _Teller:
    """Turns records of one trail into sentences, in one language."""

    def __init__(self, t: Translator, glossary: Glossary, person: Callable[[str], str]) -> None:
        self.t = t
        self.glossary = glossary
        self.person = person

    def actor(self, identity: str) -> str:
        return self.t("history.boussole") if identity == BOT else self.person(identity)

    def roles(self, detail: Mapping[str, Any]) -> str:
        return ", ".join(self.glossary.role(r) for r in _names(detail, "roles")) or self.t("history.nobody")

    def people(self, detail: Mapping[str, Any], key: str) -> list[str]:
        return [self.actor(p) for p in _names(detail, key)]

    def comment(self, detail: Mapping[str, Any]) -> str:
        text = _text(detail, "comment")
        return self.t("history.comment", comment=quoted(text)) if text.strip() else ""

    def answer(self, question: Question | None, raw: Any) -> str:
        if not isinstance(raw, Mapping):
            return ""
        answer = Answer.from_json(dict(raw))
        if question is not None:
            return quoted(self.t.answer(question, answer, choices_of(question, self.glossary.directions)))
        if answer.unknown:
            return self.t("answer.unknown")
        if answer.skipped:
            return self.t("answer.skipped")
        value = answer.value
        if isinstance(value, list):
            return quoted(", ".join(str(v) for v in value))
        return quoted(value) if value is not None else ""

    def word(self, prefix: str, case: str, fallback: str) -> str:
        """The catalogue's word for a code (`prefix.case`), or `fallback` for a code it does not know."""
        key = f"{prefix}.{case}"
        return self.t(key) if key in self.t.strings else fallback

    def sentence(self, record: Record, version: str | None) -> str:
        t, detail, action = self.t, record.detail, record.action
        actor = self.actor(record.actor)
        question_id = _text(detail, "question")
        question = self.glossary.question(question_id, version) if question_id else None
        label = self.glossary.label(t, question_id, version) if question_id else t("history.question_gone")
        if action in STARTS_VERSION:
            return t(f"history.{action}", actor=actor, version=quoted(_text(detail, "questionnaire_version"), 40),
                     renews=_text(detail, "renews"))
        if action == "answer":
            previous = detail.get("previous")
            current = detail.get("answer")
            if isinstance(current, Mapping) and current.get("skipped"):
                return t("history.answer_skipped", actor=actor, label=label)
            if isinstance(previous, Mapping):
                return t("history.answer_changed", actor=actor, label=label,
                         previous=self.answer(question, previous), answer=self.answer(question, current))
            return t("history.answer", actor=actor, label=label, answer=self.answer(question, current))
        if action == "blocker_raised":
            criteria = tuple(n for n in _listed(detail, "criteria") if isinstance(n, int) and not isinstance(n, bool))
            return t("history.blocker_raised", actor=actor, label=label,
                     criteria=t.criteria(criteria or ((question.criterion,) if question else ())),
                     answer=self.answer(question, detail.get("answer")))
        if action == "exception_requested":
            return t("history.exception_requested", actor=actor, label=label,
                     justification=quoted(_text(detail, "justification")))
        if action == "submitted":
            recommendation = self.word("recommendation", _text(detail, "recommendation"), "—")
            key = "history.submitted_exceptional" if detail.get("exceptional") else "history.submitted"
            return t(key, actor=actor, recommendation=recommendation)
        if action == "reviewers_alerted":
            people = self.people(detail, "recipients")
            kind = f"history.reviewers_alerted.{_text(detail, 'kind')}"
            key = kind if kind in t.strings else "history.reviewers_alerted"
            return t(key, actor=actor, label=label, count=len(people),
                     people=", ".join(people) or t("history.nobody"))
        if action in ("no_reviewer", "review_requested", "review_blocked"):
            return t(f"history.{action}", actor=actor, roles=self.roles(detail), round=_text(detail, "round") or "1")
        if action == "decision":
            decision = _text(detail, "decision")
            key = f"history.decision.{decision}"
            stood_in_for = self.people(detail, "for")   # a delegate decides in the absent member's place
            if stood_in_for:
                actor = t("history.for", actor=actor, members=", ".join(stood_in_for))
            return t(key if key in t.strings else "history.decision", actor=actor, roles=self.roles(detail),
                     comment=self.comment(detail))
        if action == "absence_declared":
            delegate = _text(detail, "delegate")
            return t("history.absence_declared" if delegate else "history.absence_declared.alone", actor=actor,
                     from_day=t.date(_text(detail, "from")) or "—", to_day=t.date(_text(detail, "to")) or "—",
                     delegate=self.actor(delegate) if delegate else "")
        if action == "review_reassigned":
            assignee = _text(detail, "assignee")
            return t("history.review_reassigned", actor=actor, role=self.glossary.role(_text(detail, "role")),
                     assignee=self.actor(assignee) if assignee else t("history.nobody"))
        if action in ("question_asked", "question_answered"):
            return t(f"history.{action}", actor=actor, text=quoted(_text(detail, "text")) or "—")
        if action == "stage_started":
            return t("history.stage_started", stage=_text(detail, "stage") or "—", roles=self.roles(detail))
        if action == "outcome":
            status = _text(detail, "status")
            key = f"history.outcome.{status}"
            if key in t.strings:
                return t(key, date=t.date(_text(detail, "next_review_at"), long=True) or "—")
            return t("history.outcome", status=self.word("state", status, "—"))
        if action == "archived":
            return t("history.archived", renewed_by=_text(detail, "renewed_by") or "—")
        if action in ("decision_refused", "access_refused"):
            case = f"history.{action}.{_text(detail, 'reason' if action == 'decision_refused' else 'what')}"
            return t(case if case in t.strings else f"history.{action}", actor=actor)
        if action == "reminders_sent":
            count = detail.get("count")
            return t("history.reminders_sent", actor=actor, count=count if isinstance(count, int) else 0)
        if action == "matrix_verification_done":
            return t("history.matrix_verification_done", actor=actor, device=quoted(_text(detail, "device"),
                                                                                    DETAIL_LIMIT))
        if action in ("withdrawn", "report_viewed", "event_failed", "matrix_verification_refused",
                      "matrix_verification_cancelled", "absence_ended"):
            return t(f"history.{action}", actor=actor)
        return t("history.other", actor=actor, action=quoted(action.replace("_", " "), DETAIL_LIMIT))


def sentence(t: Translator, record: Record, glossary: Glossary, *, version: str | None = None,
             person: Callable[[str], str] = who) -> str:
    """One record as a sentence, without its time: 'bob (DPD) a validé l'évaluation avec réserves : « … ».'

    `version`: the questionnaire version the assessment was answered under (its question labels);
    `person`: how a person is named (plain names by default; chat passes `bot.i18n.mention`)."""
    return _Teller(t, glossary, person).sentence(record, version)


def trail_sentences(t: Translator, records: Iterable[Record], glossary: Glossary, *,
                    person: Callable[[str], str] = who) -> list[str]:
    """An assessment's trail, one line per record: '12/03/2027 14:05 — bob (DPD) a validé l'évaluation.'

    Times in the translator's zone; each question read in the version its assessment was answered under."""
    teller = _Teller(t, glossary, person)
    version: str | None = None
    lines = []
    for record in records:
        if record.action in STARTS_VERSION and _text(record.detail, "questionnaire_version"):
            version = _text(record.detail, "questionnaire_version")
        lines.append(t("history.line", at=t.when(record.at), sentence=teller.sentence(record, version)))
    return lines
