"""The interview as a sans-I/O state machine.

`route(event, conversation, drafts, questionnaire)` reads one incoming message once: the
command it is, or None when it is the answer, comment or justification the conversation waits
for. `handle(snapshot, event, now, command)` takes what the application loaded for one user,
that message, the current instant and the command read from it, and returns an `Outcome`: the
new conversation and interview states, the replies to send, the audit entries and the signals
(blocker raised, corrected, submitted…) for the review side. It reads no clock, no database, no
network: the application commits the outcome in one transaction, then delivers the replies.
An interview is always read with the questionnaire version it was answered under
(`Snapshot.versions`); a new one or a re-evaluation takes the current version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from conversations.answers import Answer, Invalid, fold, parse_answer, yes_or_no
from conversations.commands import COMMANDS, Command, Purpose, Side, Who, names, parse_command, suggest
from conversations.model import (
    STATUS_TRANSITIONS,
    AuditEntry,
    BlockerCorrected,
    BlockerRaised,
    Brief,
    Conversation,
    ExceptionRequested,
    Incoming,
    Interview,
    Mode,
    Prompt,
    Reply,
    ReplyKind,
    Signal,
    Status,
    Submitted,
    Withdrawn,
    utc_iso,
)
from conversations.questionnaire import OTHER_CHOICE, Choice, Level, Question, Questionnaire, QuestionType
from conversations.rules import applicable_questions, findings, question_findings, summarize, with_answer

JUSTIFICATION_MIN, JUSTIFICATION_MAX = 20, 2000
LOCALES = ("fr", "en")
ENGINE_COMMANDS = names(Side.ENGINE)  # the application hands the others to the review desk


@dataclass(frozen=True)
class Snapshot:
    """What the application loads for one step of one user's conversation."""

    conversation: Conversation
    questionnaire: Questionnaire
    drafts: Mapping[int, Interview] = field(default_factory=dict)  # the user's editable interviews
    assessments: tuple[Brief, ...] = ()      # all the user's assessments, newest first
    referenced: Interview | None = None      # the assessment a command names by number
    next_id: int = 1                         # the number a new assessment gets
    directions: tuple[Choice, ...] = ()      # choices for questions with choices_from = "directions"
    may_view_referenced: bool = False        # the user may read `referenced` (the review side's access rule)
    versions: Mapping[str, Questionnaire] = field(default_factory=dict)  # earlier versions, by version
    audiences: frozenset[Who] = frozenset()  # whom else the user is than a requester: a reviewer, an admin


def questionnaire_for(interview: Interview, current: Questionnaire,
                      versions: Mapping[str, Questionnaire]) -> Questionnaire:
    """The questionnaire an interview was answered under; the current one when that version is unknown."""
    if interview.questionnaire_version == current.version:
        return current
    return versions.get(interview.questionnaire_version, current)


def asked_as(question: Question, directions: tuple[Choice, ...]) -> Question:
    """The question as it is asked: a question offering the directions is free text when none is configured,
    so that the interview never waits on a question nobody can answer."""
    if question.choices_from == "directions" and not directions:
        return replace(question, type=QuestionType.TEXT, choices_from=None, min_length=2, max_length=120)
    return question


def choices_of(question: Question, directions: tuple[Choice, ...]) -> tuple[Choice, ...]:
    """A question's choices; the configured directions and « Autre (préciser) » for the direction."""
    if question.choices_from == "directions":
        return (*directions, OTHER_CHOICE) if directions else ()
    return question.choices


@dataclass(frozen=True)
class Outcome:
    conversation: Conversation
    interviews: tuple[Interview, ...] = ()   # interviews created or changed by this step
    replies: tuple[Reply, ...] = ()
    audit: tuple[AuditEntry, ...] = ()
    signals: tuple[Signal, ...] = ()


class _Step:
    """Accumulates one step's effects; the engine's functions append to it."""

    def __init__(self, snapshot: Snapshot, event: Incoming, now: dt.datetime) -> None:
        self.snap = snapshot
        self.q = snapshot.questionnaire
        self.user = event.user
        self.now = now
        self.conversation = snapshot.conversation
        self.changed: dict[int, Interview] = {}
        self.replies: list[Reply] = []
        self.audit: list[AuditEntry] = []
        self.signals: list[Signal] = []

    # -- helpers -------------------------------------------------------------------------
    def say(self, kind: ReplyKind, key: str, assessment: int | None = None,
            actions: tuple[str, ...] = (), **params: object) -> None:
        self.replies.append(Reply(self.user, kind, key, params, assessment, None, actions))

    def record(self, action: str, assessment: int | None, **detail: object) -> None:
        self.audit.append(AuditEntry(action, assessment, detail))

    def save(self, interview: Interview) -> Interview:
        self.changed[interview.id] = interview
        return interview

    def active(self) -> Interview | None:
        active_id = self.conversation.active
        if active_id is None:
            return None
        if active_id in self.changed:
            return self.changed[active_id]
        return self.snap.drafts.get(active_id)

    def qn(self, interview: Interview) -> Questionnaire:
        """The questionnaire of this interview's version (an older draft keeps its own)."""
        return questionnaire_for(interview, self.q, self.snap.versions)

    def asked(self, interview: Interview, question_id: str) -> Question:
        return asked_as(self.qn(interview).question(question_id), self.snap.directions)

    def choices_for(self, question: Question) -> tuple[Choice, ...]:
        return choices_of(question, self.snap.directions)

    def outcome(self) -> Outcome:
        return Outcome(self.conversation, tuple(self.changed.values()), tuple(self.replies),
                       tuple(self.audit), tuple(self.signals))

    # -- interview navigation ------------------------------------------------------------
    def prompt(self, interview: Interview, question: Question, total_change: int = 0) -> Prompt:
        questionnaire = self.qn(interview)
        applicable = applicable_questions(questionnaire, interview.answers)
        number = next((i for i, q in enumerate(applicable, 1) if q.id == question.id), len(applicable))
        current = interview.answers.get(question.id)
        from_previous = False
        if current is None and question.id in interview.previous:
            current, from_previous = interview.previous[question.id], True
        return Prompt(
            question=question, choices=self.choices_for(question), number=number, total=len(applicable),
            criterion=questionnaire.criterion(question.criterion),
            criteria_total=len(questionnaire.rated_criteria),
            current=current, from_previous=from_previous, total_change=total_change,
        )

    def ask(self, interview: Interview, total_change: int = 0) -> None:
        """Show whatever the interview waits for: a blocker, the pending question, or the end.

        `total_change`: how many questions the answer just given opened or closed, said with the next one."""
        if interview.blocked_on is not None:
            self.show_blocker(interview, interview.blocked_on)
        elif interview.pending is not None:
            question = self.asked(interview, interview.pending)
            actions = ["why", "back", "summary", "withdraw"]
            if not question.required:
                actions.insert(1, "skip")
            self.replies.append(Reply(self.user, ReplyKind.QUESTION, "question", {}, interview.id,
                                      self.prompt(interview, question, total_change), tuple(actions)))
        else:
            self.show_summary(interview, final=True)

    def show_summary(self, interview: Interview, *, final: bool) -> None:
        questionnaire = self.qn(interview)
        summary = summarize(questionnaire, interview.answers)
        applicable = applicable_questions(questionnaire, interview.answers)
        answered = sum(1 for q in applicable if q.id in interview.answers)
        total = len(applicable)
        actions: tuple[str, ...] = ("submit", "edit", "withdraw") if final else ("resume",)
        self.say(ReplyKind.SUMMARY, "summary.final" if final else "summary.partial", interview.id, actions,
                 summary=summary, interview=interview, answered=answered, total=total,
                 exceptions=dict(interview.exceptions), questionnaire=questionnaire)

    def show_blocker(self, interview: Interview, question_id: str) -> None:
        q = self.qn(interview)
        question = q.question(question_id)
        blockers = [f for f in question_findings(question, interview.answers.get(question_id))
                    if f.level is Level.BLOCKER]
        criterion = q.criterion(blockers[0].criterion if blockers else question.criterion)
        self.say(ReplyKind.BLOCKER, "blocker", interview.id, ("fix", "withdraw", "exception"),
                 criterion_number=criterion.number, criterion_title=criterion.title,
                 principle=criterion.principle, reasons=[f.reason for f in blockers],
                 question_text=question.text)

    def next_pending(self, interview: Interview, after: str | None) -> tuple[str | None, bool]:
        """The next question to ask and whether we are still walking through answered ones."""
        applicable = applicable_questions(self.qn(interview), interview.answers)
        if interview.revisiting and after is not None:
            ids = [q.id for q in applicable]
            if after in ids:
                following = applicable[ids.index(after) + 1:] if ids.index(after) + 1 < len(ids) else []
                if following:
                    nxt = following[0]
                    return nxt.id, nxt.id in interview.answers
        first = next((q.id for q in applicable if q.id not in interview.answers), None)
        return first, False

    def unresolved_blockers(self, interview: Interview) -> list[str]:
        seen: list[str] = []
        for finding in findings(self.qn(interview), interview.answers):
            if finding.level is not Level.BLOCKER:
                continue
            if finding.question_id not in interview.exceptions and finding.question_id not in seen:
                seen.append(finding.question_id)
        return seen

    def open_interview(self, interview: Interview) -> None:
        self.conversation = self.conversation.to(Mode.INTERVIEW, active=interview.id, target=None)
        self.ask(interview)


# -------------------------------------------------------------------------------- answers

def _answer(step: _Step, interview: Interview, text: str, *, confirm: bool = False) -> None:
    assert interview.pending is not None
    q = step.qn(interview)
    question = step.asked(interview, interview.pending)
    choices = step.choices_for(question)
    if confirm:
        prompt = step.prompt(interview, question)
        if prompt.current is None:
            step.say(ReplyKind.ERROR, "error.nothing_to_confirm", interview.id)
            step.ask(interview)
            return
        parsed: Answer | Invalid = prompt.current
        if prompt.current.value is not None and question.type in (QuestionType.CHOICE, QuestionType.MULTI):
            known = {c.id for c in prompt.choices}
            values = prompt.current.value if isinstance(prompt.current.value, list) else [prompt.current.value]
            if not all(v in known for v in values):
                parsed = Invalid("invalid.previous_gone", {})
    else:
        parsed = parse_answer(question, text, choices)
    if isinstance(parsed, Invalid):
        if confirm or not _suggested(step, interview, text, question, choices, parsed):
            step.say(ReplyKind.ERROR, parsed.key, interview.id, **parsed.params)
        step.ask(interview)
        return

    old = interview.answers.get(question.id)
    total_before = len(applicable_questions(q, interview.answers))
    before = findings(q, interview.answers)
    exceptions = {k: v for k, v in interview.exceptions.items() if k != question.id or old == parsed}
    interview = replace(interview, answers=with_answer(q, interview.answers, question.id, parsed),
                        exceptions=exceptions)
    if old is None or old.to_json() != parsed.to_json():  # a new comment is a new answer in the trail
        step.record("answer", interview.id, question=question.id, answer=parsed.to_json(),
                    previous=old.to_json() if old else None)

    found = question_findings(question, parsed)
    if old is not None and old != parsed:
        # A blocker answered away stays in the trail; the reviewers it alerted hear that it was corrected.
        lost = [f for f in question_findings(question, old) if f.level is Level.BLOCKER and f not in found]
        if lost:
            step.signals.append(BlockerCorrected(interview.id, question.id, old, parsed))
    raised = [f for f in found if f.level is Level.BLOCKER]
    unresolved = step.unresolved_blockers(interview)
    if raised and question.id in unresolved:
        interview = step.save(replace(interview, blocked_on=question.id, pending=question.id, revisiting=False))
        step.record("blocker_raised", interview.id, question=question.id, answer=parsed.to_json(),
                    criteria=sorted({n for f in raised for n in f.criteria}))
        step.signals.append(BlockerRaised(interview.id, question.id, raised[0].criterion))
        step.show_blocker(interview, question.id)
        return

    # The answer's own points to check, then those a combination of answers raises only now.
    noted = [f for f in found if f.level is Level.TO_CHECK]
    noted += [f for f in findings(q, interview.answers)
              if f.level is Level.TO_CHECK and f.question_id != question.id and f not in before]
    for finding in noted:
        step.say(ReplyKind.WARNING, "to_check_noted", interview.id, reason=finding.reason, label=finding.label)
    pending, revisiting = step.next_pending(interview, question.id)
    blocked_on = unresolved[0] if unresolved else None
    interview = step.save(replace(interview, pending=pending, revisiting=revisiting, blocked_on=blocked_on))
    step.ask(interview, len(applicable_questions(q, interview.answers)) - total_before)


def _suggested(step: _Step, interview: Interview, text: str, question: Question, choices: tuple[Choice, ...],
               refused: Invalid) -> bool:
    """Ask "did you mean …?" when a refused answer is a close misspelling of a command, a choice or a yes/no;
    never at a free-text question, where the text is the answer. Whether it was asked."""
    if question.type is QuestionType.TEXT:
        return False
    others: list[tuple[str, str]] = []
    if question.type in (QuestionType.CHOICE, QuestionType.MULTI):
        others = [(f"choice:{c.id}", label) for c in choices for label in (c.label.fr, c.label.en)]
    elif question.type is QuestionType.YESNO:
        others = [("yes", "oui"), ("yes", "yes"), ("no", "non"), ("no", "no")]
    if refused.key == "invalid.multi":  # one of several choices is not one: that one may be a misspelt label
        found = suggest(str(refused.params.get("token", "")), others) if others else None
        if found is not None and not found[0].startswith("choice:"):
            found = None
    else:
        found = suggest(text, others)
    return _say_suggestion(step, found, interview.id)


def _say_suggestion(step: _Step, found: tuple[str, str] | None, assessment: int | None) -> bool:
    if found is None:
        return False
    key, shown = found
    spec = COMMANDS.get(key)
    # A command shown bare is offered as its button; one with an argument is typed.
    offered = (key,) if spec is not None and spec.button and not spec.argument_required and " " not in shown else ()
    step.say(ReplyKind.ERROR, "did_you_mean", assessment, offered, suggestion=shown)
    return True


# -------------------------------------------------------------------------------- commands

def _need_active(step: _Step) -> Interview | None:
    interview = step.active()
    if interview is None:
        step.say(ReplyKind.INFO, "error.no_active", actions=("new", "resume", "list"))
    return interview


def _cmd_new(step: _Step, _: Command) -> None:
    interview = Interview(id=step.snap.next_id, requester=step.user,
                          questionnaire_version=step.q.version, created_at=utc_iso(step.now))
    pending, _revisiting = step.next_pending(interview, None)
    interview = step.save(replace(interview, pending=pending))
    step.record("created", interview.id, questionnaire_version=step.q.version)
    step.say(ReplyKind.INFO, "new.started", interview.id, id=interview.id,
             total=len(applicable_questions(step.q, {})), criteria=len(step.q.rated_criteria))
    step.open_interview(interview)


def start_reevaluation(step: _Step, source: Interview) -> None:
    interview = Interview(id=step.snap.next_id, requester=step.user, questionnaire_version=step.q.version,
                          previous={k: v for k, v in source.answers.items() if step.q.has(k)},
                          previous_id=source.id, created_at=utc_iso(step.now))
    pending, _revisiting = step.next_pending(interview, None)
    interview = step.save(replace(interview, pending=pending))
    step.record("reevaluation_started", interview.id, renews=source.id, questionnaire_version=step.q.version)
    step.say(ReplyKind.INFO, "reevaluation.started", interview.id, id=interview.id, source=source.id,
             title=source.title or "")
    step.open_interview(interview)


def _cmd_reevaluate(step: _Step, command: Command) -> None:
    source = step.snap.referenced
    if source is None or source.requester != step.user:
        step.say(ReplyKind.ERROR, "error.not_found", id=command.id_argument or command.argument)
        return
    if not source.status.approved:
        step.say(ReplyKind.ERROR, "error.reevaluate_status", source.id, id=source.id, status=source.status)
        return
    start_reevaluation(step, source)


def _cmd_resume(step: _Step, command: Command) -> None:
    if command.id_argument is not None:
        target = step.snap.referenced
        if target is None or target.requester != step.user:
            step.say(ReplyKind.ERROR, "error.not_found", id=command.id_argument)
            return
        if not target.status.editable:
            step.say(ReplyKind.ERROR, "error.not_editable", target.id, id=target.id, status=target.status)
            return
    else:
        target = step.active()
        if target is None and step.snap.drafts:
            target = step.snap.drafts[max(step.snap.drafts)]
        if target is None:
            step.say(ReplyKind.INFO, "resume.nothing", actions=("new", "list"))
            return
    step.say(ReplyKind.INFO, "resume.at", target.id, id=target.id, title=target.title or "")
    step.open_interview(target)


def _cmd_back(step: _Step, _: Command) -> None:
    interview = _need_active(step)
    if interview is None:
        return
    if interview.blocked_on is not None:
        _cmd_fix(step, Command("fix"))
        return
    applicable = applicable_questions(step.qn(interview), interview.answers)
    ids = [q.id for q in applicable]
    position = ids.index(interview.pending) if interview.pending in ids else len(ids)
    if position == 0:
        step.say(ReplyKind.INFO, "back.first", interview.id)
        step.ask(interview)
        return
    interview = step.save(replace(interview, pending=ids[position - 1], revisiting=True))
    step.ask(interview)


def _cmd_edit(step: _Step, command: Command) -> None:
    interview = _need_active(step)
    if interview is None:
        return
    applicable = applicable_questions(step.qn(interview), interview.answers)
    target = None
    arg = command.argument.strip().lstrip("#")
    if arg.isascii() and arg.isdigit() and 1 <= int(arg) <= len(applicable):
        target = applicable[int(arg) - 1]
    elif any(q.id == arg for q in applicable):
        target = step.qn(interview).question(arg)
    if target is None:
        step.say(ReplyKind.ERROR, "error.edit_number", interview.id, total=len(applicable))
        step.ask(interview)
        return
    interview = step.save(replace(interview, pending=target.id, revisiting=False, blocked_on=None))
    step.ask(interview)


def _cmd_skip(step: _Step, _: Command) -> None:
    interview = _need_active(step)
    if interview is None or interview.pending is None:
        if interview is not None:
            step.ask(interview)
        return
    questionnaire = step.qn(interview)
    question = questionnaire.question(interview.pending)
    if question.required:
        step.say(ReplyKind.ERROR, "error.required", interview.id)
        step.ask(interview)
        return
    total_before = len(applicable_questions(questionnaire, interview.answers))
    interview = replace(interview, answers=with_answer(questionnaire, interview.answers, question.id,
                                                       Answer(skipped=True)))
    step.record("answer", interview.id, question=question.id, answer={"skipped": True}, previous=None)
    pending, revisiting = step.next_pending(interview, question.id)
    interview = step.save(replace(interview, pending=pending, revisiting=revisiting))
    step.ask(interview, len(applicable_questions(questionnaire, interview.answers)) - total_before)


def _cmd_summary(step: _Step, _: Command) -> None:
    interview = _need_active(step)
    if interview is None:
        return
    complete = interview.pending is None and interview.blocked_on is None
    step.show_summary(interview, final=complete)
    if not complete:
        step.ask(interview)


def _cmd_submit(step: _Step, _: Command) -> None:
    interview = _need_active(step)
    if interview is None:
        return
    if step.unresolved_blockers(interview):
        step.say(ReplyKind.ERROR, "error.submit_blocked", interview.id)
        step.ask(interview)
        return
    summary = summarize(step.qn(interview), interview.answers)
    if summary.remaining:
        step.say(ReplyKind.ERROR, "error.submit_incomplete", interview.id, remaining=summary.remaining)
        step.ask(interview)
        return
    interview = step.save(replace(interview.with_status(Status.IN_REVIEW), pending=None, revisiting=False))
    step.record("submitted", interview.id, recommendation=summary.recommendation,
                exceptional=bool(interview.exceptions))
    step.signals.append(Submitted(interview.id))
    step.conversation = step.conversation.to(Mode.IDLE, active=None, target=None)
    step.say(ReplyKind.INFO, "submitted", interview.id, id=interview.id, recommendation=summary.recommendation,
             actions=("status", "list"))


def _cmd_withdraw(step: _Step, command: Command) -> None:
    if command.id_argument is not None:
        target = step.snap.referenced
        if target is None or target.requester != step.user:
            step.say(ReplyKind.ERROR, "error.not_found", id=command.id_argument)
            return
    else:
        target = _need_active(step)
        if target is None:
            return
    if Status.WITHDRAWN not in STATUS_TRANSITIONS[target.status]:
        step.say(ReplyKind.ERROR, "error.not_withdrawable", target.id, id=target.id, status=target.status)
        return
    step.conversation = step.conversation.to(Mode.CONFIRM_WITHDRAW, target=target.id)
    step.say(ReplyKind.WARNING, "withdraw.confirm", target.id, ("yes", "no"), id=target.id,
             title=target.title or "")


def _confirm_withdraw(step: _Step, text: str) -> None:
    clear = yes_or_no(text)
    said = clear[0] if clear is not None else None
    target_id = step.conversation.target
    target = step.changed.get(target_id) if target_id is not None else None
    if target is None and target_id is not None:
        target = step.snap.drafts.get(target_id) or (
            step.snap.referenced if step.snap.referenced and step.snap.referenced.id == target_id else None)
    back_mode = Mode.INTERVIEW if step.conversation.active is not None else Mode.IDLE
    if said == "yes" and target is not None:
        withdrawn = step.save(replace(target.with_status(Status.WITHDRAWN), pending=None, blocked_on=None))
        step.record("withdrawn", withdrawn.id)
        step.signals.append(Withdrawn(withdrawn.id))
        active = None if step.conversation.active == withdrawn.id else step.conversation.active
        step.conversation = step.conversation.to(Mode.IDLE if active is None else Mode.INTERVIEW,
                                                 active=active, target=None)
        step.say(ReplyKind.INFO, "withdraw.done", withdrawn.id, ("new", "list"), id=withdrawn.id)
        return
    if said == "no" or target is None:
        step.conversation = step.conversation.to(back_mode, target=None)
        step.say(ReplyKind.INFO, "withdraw.kept", target_id)
        interview = step.active()
        if interview is not None:
            step.ask(interview)
        return
    # Anything else ("?", a question, a typo) gets what withdrawing does and what to type, not the question again.
    step.say(ReplyKind.INFO, "withdraw.explain", target_id, ("yes", "no"), id=target_id, title=target.title or "")


def available_commands(interview: Interview | None, audiences: frozenset[Who]) -> list[str]:
    """The commands someone may use now, in the table's order: those of an interview while one is open, a
    blocker's ways on while one stops it, a reviewer's or an admin's only for them."""
    shown = []
    for name, spec in COMMANDS.items():
        if spec.who not in (Who.ANYONE, Who.REQUESTER) and spec.who not in audiences:
            continue
        if spec.group is Purpose.INTERVIEW and interview is None:
            continue
        if spec.group is Purpose.BLOCKER and (interview is None or interview.blocked_on is None):
            continue
        shown.append(name)
    return shown


def _cmd_help(step: _Step, _: Command) -> None:
    interview = step.active()
    question = step.qn(interview).question(interview.pending) if interview and interview.pending else None
    step.say(ReplyKind.INFO, "help", interview.id if interview else None,
             question_help=question.help if question else None, mode=step.conversation.mode,
             commands=available_commands(interview, step.snap.audiences), interview_open=interview is not None)


def _cmd_why(step: _Step, _: Command) -> None:
    interview = step.active()
    if interview is None or interview.pending is None:
        _cmd_help(step, Command("help"))
        return
    question = step.qn(interview).question(interview.pending)
    step.say(ReplyKind.INFO, "why", interview.id, help=question.help)


def _cmd_list(step: _Step, _: Command) -> None:
    step.say(ReplyKind.INFO, "list", None, ("new", "resume"), assessments=list(step.snap.assessments))


def _cmd_status(step: _Step, command: Command) -> None:
    target = step.snap.referenced
    if target is not None and not step.snap.may_view_referenced:
        step.record("access_refused", target.id, what="status", wanted=target.id)
    if target is None or not step.snap.may_view_referenced:
        step.say(ReplyKind.ERROR, "error.not_found", id=command.id_argument or command.argument)
        return
    known = target.questionnaire_version == step.q.version or target.questionnaire_version in step.snap.versions
    # A withdrawn assessment is closed: no advice on it.
    summary = (summarize(step.qn(target), target.answers)
               if known and target.status is not Status.WITHDRAWN else None)
    step.say(ReplyKind.INFO, "status", target.id, id=target.id, title=target.title or "", status=target.status,
             recommendation=summary.recommendation if summary else None, requester=target.requester,
             remaining=summary.remaining if summary else 0)


def _cmd_language(step: _Step, command: Command) -> None:
    choice = fold(command.argument)[:2]
    if choice not in LOCALES:
        step.say(ReplyKind.ERROR, "error.language")
        return
    step.conversation = replace(step.conversation, locale=choice)
    step.say(ReplyKind.INFO, "language.set", language=choice)
    interview = step.active()
    if interview is not None:
        step.ask(interview)


def _cmd_fix(step: _Step, _: Command) -> None:
    interview = _need_active(step)
    if interview is None:
        return
    if interview.blocked_on is None:
        step.ask(interview)
        return
    interview = step.save(replace(interview, pending=interview.blocked_on, blocked_on=None, revisiting=False))
    step.ask(interview)


def _cmd_exception(step: _Step, _: Command) -> None:
    interview = _need_active(step)
    if interview is None:
        return
    if interview.blocked_on is None:
        step.say(ReplyKind.ERROR, "error.no_blocker", interview.id)
        step.ask(interview)
        return
    step.conversation = step.conversation.to(Mode.JUSTIFYING)
    step.say(ReplyKind.INFO, "exception.ask", interview.id, min=JUSTIFICATION_MIN, max=JUSTIFICATION_MAX)


def _justify(step: _Step, text: str) -> None:
    interview = step.active()
    if interview is None or interview.blocked_on is None:
        step.conversation = step.conversation.to(Mode.INTERVIEW if interview else Mode.IDLE)
        if interview:
            step.ask(interview)
        return
    text = text.strip()
    if not JUSTIFICATION_MIN <= len(text) <= JUSTIFICATION_MAX:
        step.say(ReplyKind.ERROR, "error.justification_length", interview.id, min=JUSTIFICATION_MIN,
                 max=JUSTIFICATION_MAX, length=len(text))
        return
    question_id = interview.blocked_on
    interview = replace(interview, exceptions={**interview.exceptions, question_id: text}, blocked_on=None)
    unresolved = step.unresolved_blockers(interview)
    pending, revisiting = step.next_pending(interview, question_id)
    interview = step.save(replace(interview, pending=pending, revisiting=revisiting,
                                  blocked_on=unresolved[0] if unresolved else None))
    step.record("exception_requested", interview.id, question=question_id, justification=text)
    step.signals.append(ExceptionRequested(interview.id, question_id, text))
    step.conversation = step.conversation.to(Mode.INTERVIEW)
    step.say(ReplyKind.INFO, "exception.recorded", interview.id)
    step.ask(interview)


def _cmd_confirm(step: _Step, _: Command) -> None:
    interview = _need_active(step)
    if interview is None:
        return
    if interview.pending is None or interview.blocked_on is not None:
        step.ask(interview)
        return
    _answer(step, interview, "", confirm=True)


HANDLERS = {
    "new": _cmd_new, "resume": _cmd_resume, "back": _cmd_back, "edit": _cmd_edit, "skip": _cmd_skip,
    "summary": _cmd_summary, "submit": _cmd_submit, "withdraw": _cmd_withdraw, "help": _cmd_help,
    "why": _cmd_why, "list": _cmd_list, "status": _cmd_status, "language": _cmd_language, "fix": _cmd_fix,
    "exception": _cmd_exception, "confirm": _cmd_confirm, "reevaluate": _cmd_reevaluate,
}


def _awaited(conversation: Conversation, active: Interview | None, questionnaire: Questionnaire,
             versions: Mapping[str, Questionnaire],
             directions: tuple[Choice, ...]) -> Literal["text", "yes/no"] | None:
    """What the conversation waits for that a command word could be mistaken for, if anything."""
    if conversation.mode in (Mode.COMMENTING, Mode.JUSTIFYING):
        return "text"
    if conversation.mode is Mode.CONFIRM_WITHDRAW:
        return "yes/no"
    if active is None or active.pending is None or active.blocked_on is not None:
        return None
    own = questionnaire_for(active, questionnaire, versions)
    if own.has(active.pending) and asked_as(own.question(active.pending), directions).type is QuestionType.TEXT:
        return "text"
    return None


def route(event: Incoming, conversation: Conversation, drafts: Mapping[int, Interview],
          questionnaire: Questionnaire, *, default_locale: str | None = None,
          versions: Mapping[str, Questionnaire] | None = None, directions: tuple[Choice, ...] = (),
          audiences: frozenset[Who] = frozenset()) -> Command | None:
    """What one message is: a command, or None when it is what the conversation waits for.

    While free text is awaited (a text question, a justification, a reviewer's comment) the text
    is that text: a project named "Rapport mensuel des demandes" is a name, not a report. Only a
    navigation command ("retour", "aide", "langue en") or a command sent explicitly (a slash
    command, a prefix, a button) is a command then, and only when its argument has the expected
    form. A reviewer's comment comes back as the decision that waited for it. While a yes/no is
    awaited only an explicit command counts. Otherwise commands are read as typed.
    """
    if event.question is not None:  # a button or a reaction answering a question
        return None
    active = drafts.get(conversation.active) if conversation.active is not None else None
    command = parse_command(event.text, conversation.locale or default_locale)
    awaited = _awaited(conversation, active, questionnaire, versions or {}, directions)
    if awaited is None:
        if (command is not None and command.name == "back" and active is None and not command.argument
                and Who.REVIEWER in audiences):
            # with no interview to step back in, a reviewer's "back" / "retour" says they are back (issue 15's word)
            return Command("present", "")
        return command
    if command is not None and event.explicit and command.spec.fits(command.argument):
        return command
    if awaited == "text" and command is not None and command.spec.navigation and command.spec.fits(command.argument):
        return command
    decision, _, number = (conversation.pending or "").partition(" ")
    if conversation.mode is Mode.COMMENTING and decision in COMMANDS:
        if command is not None and command.name == decision and command.argument.split(" ", 1)[0] == number:
            return command   # the whole decision typed again, comment included: not a comment of itself
        return Command(decision, f"{number} {event.text.strip()}")
    return None


def handle(snapshot: Snapshot, event: Incoming, now: dt.datetime, command: Command | None) -> Outcome:
    """One step of one user's conversation: (state, event, now, what `route` read) → (new state, replies)."""
    step = _Step(snapshot, event, now)
    interview = step.active()
    mode = step.conversation.mode
    pending = step.qn(interview).question(interview.pending) if (
        interview and interview.pending and interview.blocked_on is None) else None

    if event.question is not None and (pending is None or pending.id != event.question):
        step.say(ReplyKind.INFO, "error.stale_answer", interview.id if interview else None)
        return step.outcome()
    if mode is Mode.CONFIRM_WITHDRAW and command is None:
        _confirm_withdraw(step, event.text)
        return step.outcome()
    if mode is Mode.JUSTIFYING and command is None:
        _justify(step, event.text)
        return step.outcome()
    if mode in (Mode.CONFIRM_WITHDRAW, Mode.JUSTIFYING):  # a command leaves what was awaited
        step.conversation = step.conversation.to(step.conversation.resting_mode, target=None)

    if command is not None and command.name in HANDLERS:
        HANDLERS[command.name](step, command)
    elif command is not None:
        step.say(ReplyKind.ERROR, "error.unknown_command")
    elif interview is not None and interview.pending is not None and interview.blocked_on is None:
        _answer(step, interview, event.text)
    elif _say_suggestion(step, suggest(event.text), interview.id if interview else None):
        pass  # a misspelt command: "Vouliez-vous dire « nouveau » ?"
    elif interview is not None and interview.blocked_on is not None:
        step.say(ReplyKind.ERROR, "error.blocked_choose", interview.id, ("fix", "withdraw", "exception"))
    elif interview is not None:
        step.say(ReplyKind.INFO, "complete.hint", interview.id, ("submit", "edit", "summary"))
    else:
        step.say(ReplyKind.INFO, "not_understood", None, ("new", "resume", "list", "help"))
    return step.outcome()
