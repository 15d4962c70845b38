"""The review workflow: who must review, review requests, decisions, and their consequences.

The bot recommends, reviewers decide. On submission each required role gets a request that
opens with what a reviewer reads first, then every blocker raised during the interview with
what became of it, the points to check by criterion, and the answers. A blocker or an
exceptional-review request alerts at once the reviewers of every criterion it concerns; when
the blocking answer is corrected, the reviewers alerted hear of it.
Only members of a required role may decide, never on their own request, only while the
assessment is in review; every refused attempt is audited. One rejection rejects, one
request for changes sends it back, and approval needs every required role. A role decides
when one member decides ("any"), when every member approved ("all") or `quorum` of them.
The required roles are asked stage by stage (`[review] stages`). A member away names a
delegate, who receives and decides in the member's place ("X for Y" in the trail); an admin
may hand a role's request on one assessment to another person. A reviewer's question reaches
the requester, whose reply reaches every reviewer; the review's waiting time pauses meanwhile.
A required role whose only member is the requester can never decide: the admins are told at once.
The requester hears of each decision in one message; the final approval repeats the reservations.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from bot.assessments import save_assessment
from bot.config import IDENTITY, Config
from bot.i18n import mention
from bot.storage import Absence, Assignment, PostedPart, ReviewQuestion, ReviewRow, Tx, VoteRow, WaitingReview
from conversations.answers import Answer
from conversations.commands import COMMANDS, Command, Side, names
from conversations.engine import choices_of, questionnaire_for
from conversations.impact import Impact, impact, level_changes
from conversations.model import (
    BlockerCorrected,
    BlockerRaised,
    ExceptionRequested,
    Interview,
    Mode,
    Reply,
    ReplyKind,
    Signal,
    Status,
    Submitted,
    Withdrawn,
    utc_iso,
)
from conversations.questionnaire import OTHER_CHOICE, Choice, Level, Match, Questionnaire
from conversations.rules import Finding, blocker_stories, findings, matches, summarize

logger = logging.getLogger(__name__)


class Decision(StrEnum):
    APPROVE = "approve"
    RESERVATIONS = "reservations"
    CHANGES = "request_changes"
    REJECT = "reject"


DECISION_COMMANDS = {d.value: d for d in Decision}
NEEDS_COMMENT = {d for d in Decision if COMMANDS[d.value].comment_required}
DECISION_ACTIONS = tuple(d.value for d in Decision)  # the buttons of a review request


MAX_TEXT = 1000          # characters of a question to the requester or of a reply
MAX_IDENTITY = 200       # characters of an identity typed in a command
MAX_AWAY_DAYS = 366      # how far ahead an absence may start or end
MAX_SHOWN_ARGUMENT = 20  # characters of a mistyped assessment number repeated in an answer
APPROVALS = (Decision.APPROVE.value, Decision.RESERVATIONS.value)
_DATE = r"(\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4})"
_AWAY = re.compile(rf"^(?:du|from)\s+{_DATE}\s+(?:au|to|until)\s+{_DATE}"
                   r"(?:\s+(?:remplaçant|remplaçante|remplacant|remplacante|délégué|déléguée|delegate)\s+(\S+))?$",
                   re.IGNORECASE)
_SLACK_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")


@dataclass(frozen=True)
class Seat:
    """A member's place in a role's decision on one assessment, and who holds it now: the member, the delegate
    standing in while the member is away, or the one person the request was handed to."""

    role: str
    member: str
    holder: str

    def open_to(self, user: str) -> bool:
        return user in (self.holder, self.member)


@dataclass(frozen=True)
class PendingReview:
    """A review waiting for one person (the dashboard's "my pending reviews")."""

    assessment_id: int
    title: str
    requester: str
    role: str
    role_label: str
    requested_at: str
    days: int                # waited, not counting the time questions to the requester were open
    open_questions: int
    on_behalf_of: str | None  # the absent member this person stands in for


@dataclass(frozen=True)
class WaitingRequest:
    """A role's request still waiting: its seats not filled yet, how long it waited, its open questions."""

    review: WaitingReview
    open_seats: list[Seat]
    waited: dt.timedelta
    open_questions: list[ReviewQuestion]
    handed: bool


def _day(text: str) -> dt.date | None:
    """A date as typed: 2027-01-04 or 04/01/2027."""
    try:
        if "/" in text:
            day, month, year = (int(part) for part in text.split("/"))
            return dt.date(year, month, day)
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def asked_number(command: Command) -> int | str:
    """The assessment number a command asked for, or what was typed instead, cut short: it is repeated to the
    user who typed it."""
    if command.id_argument is not None:
        return command.id_argument
    typed = command.argument.strip()
    return typed if len(typed) <= MAX_SHOWN_ARGUMENT else f"{typed[:MAX_SHOWN_ARGUMENT]}…"


def parse_identity(text: str, author: str) -> str | None:
    """A person as typed in a command: `console:bob`, `slack:U0123`, a Slack mention `<@U0123>`, a Matrix id
    `@bob:server`, or, on the terminal, a bare name; None when it names nobody."""
    text = text.strip()
    if not text or len(text) > MAX_IDENTITY:
        return None
    if IDENTITY.match(text):
        return text
    slack = _SLACK_MENTION.match(text)
    if slack:
        return f"slack:{slack.group(1)}"
    if text.startswith("@") and IDENTITY.match(f"matrix:{text}"):
        return f"matrix:{text}"
    if author.startswith("console:") and IDENTITY.match(f"console:{text}"):
        return f"console:{text}"
    return None


def paused_seconds(start: dt.datetime, now: dt.datetime, questions: Iterable[ReviewQuestion]) -> float:
    """How long, between `start` and `now`, at least one question to the requester was open."""
    spans = sorted((max(start, dt.datetime.fromisoformat(q.asked_at)),
                    min(now, dt.datetime.fromisoformat(q.answered_at) if q.answered_at else now)) for q in questions)
    total, reached = 0.0, start
    for begin, end in spans:
        begin = max(begin, reached)
        if end > begin:
            total += (end - begin).total_seconds()
            reached = end
    return total


def waited(requested_at: str, now: dt.datetime, questions: Iterable[ReviewQuestion]) -> dt.timedelta:
    """How long a request has waited, the time a question to the requester was open left out."""
    start = dt.datetime.fromisoformat(requested_at)
    return now - start - dt.timedelta(seconds=paused_seconds(start, now, questions))


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """The same day `months` later (the month's last day when it is shorter)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


QUESTION_KEY = "review.ask.question"  # a reviewer's question to the requester, as posted


def answer_to_question(posted: PostedPart | None, sender: str, text: str) -> str | None:
    """A reply to a reviewer's question (in its thread, or quoting it), by the requester it reached, is their
    `réponse <n°> <texte>`; None for a reply to anything else."""
    if posted is None or posted.key != QUESTION_KEY or posted.recipient != sender or posted.assessment_id is None:
        return None
    return f"{COMMANDS['reply'].fr[0]} {posted.assessment_id} {text}"


def _text_refused(user: str, text: str, usage: str) -> list[Reply]:
    """A question or reply without its number or text (`usage` shows how to write it), or too long."""
    if len(text) > MAX_TEXT:
        return [Reply(user, ReplyKind.ERROR, "review.text_too_long", {"length": len(text), "max": MAX_TEXT})]
    return [Reply(user, ReplyKind.ERROR, usage, {})]


class ReviewDesk:
    """The review side of the application; works inside the caller's transaction."""

    COMMANDS: frozenset[str] = names(Side.REVIEW)

    def __init__(self, *, config: Config, questionnaire: Questionnaire, directions: tuple[Choice, ...],
                 reports_dir: Path, clock: Callable[[], dt.datetime],
                 versions: Mapping[str, Questionnaire] | None = None) -> None:
        self.config = config
        self.q = questionnaire
        self.versions = versions or {questionnaire.version: questionnaire}
        self.directions = directions
        self.reports_dir = reports_dir
        self.clock = clock

    def qn(self, interview: Interview) -> Questionnaire:
        """The questionnaire the interview was answered under."""
        return questionnaire_for(interview, self.q, self.versions)

    # -- who reviews ----------------------------------------------------------------------
    def required_roles(self, interview: Interview, found: list[Finding],
                       raised: tuple[int, ...] = ()) -> list[str]:
        """Roles that must decide: always-on ones, those an answer calls for, those a finding concerns, and
        those of the criteria a blocker was raised on during the interview, corrected since or not."""
        flagged = {n for f in found if f.level is not Level.OK for n in f.criteria} | set(raised)
        level = impact(self.qn(interview), interview.answers)
        by_level = set(self.config.impact_roles(level.level if level is not None else None))
        required = []
        for name, role in self.config.roles.items():
            by_answer = any(
                matches(Match(any_of=tuple(values)), interview.answers.get(question_id))
                for question_id, values in role.when_answers.items()
            )
            if role.always or by_answer or flagged & set(role.criteria) or name in by_level:
                required.append(name)
        return required

    def period_months(self, interview: Interview, *, reservations: bool) -> int:
        """Months to the next re-evaluation: the impact level's period where it sets one, else the single
        period; with reservations, the shorter of that and the reservations period."""
        level = impact(self.qn(interview), interview.answers)
        own = self.config.impact.level(level.level).period_months if level is not None else None
        months = own if own is not None else self.config.reminders.period_months
        return min(months, self.config.reminders.reservations_period_months) if reservations else months

    def roles_for_criteria(self, criteria: tuple[int, ...]) -> list[str]:
        """Every role of any of the criteria, in config order; every role when none is named for them."""
        named = [n for n, r in self.config.roles.items() if set(criteria) & set(r.criteria)]
        return named or list(self.config.roles)

    def members(self, roles: list[str], *, exclude: str | None = None) -> dict[str, list[str]]:
        """Each member of the roles, with the labels of the roles they hold among them."""
        out: dict[str, list[str]] = {}
        for name in roles:
            for member in self.config.roles[name].members:
                if member != exclude:
                    out.setdefault(member, []).append(self.label(name))
        return out

    def roles_without_decider(self, roles: list[str], requester: str) -> list[str]:
        """Those of `roles` that cannot decide on this request: nobody but the requester holds them, or fewer
        members than the quorum are left once the requester, who never decides on their own request, is out."""
        blocked = []
        for name in roles:
            role = self.config.roles.get(name)
            if role is None:
                continue
            eligible = len([m for m in role.members if m != requester])
            needed = role.approvals_needed or 1
            if eligible < needed:
                blocked.append(name)
        return blocked

    # -- seats: who decides for a role on one assessment, now --------------------------------------
    def today(self, now: dt.datetime) -> dt.date:
        """The local date (absences are written in local dates)."""
        return now.astimezone(self.config.zone).date()

    async def away(self, tx: Tx, now: dt.datetime) -> dict[str, Absence]:
        """Everyone away today, with their absence (the one that started first when several overlap)."""
        away: dict[str, Absence] = {}
        for absence in await tx.absences_on(self.today(now).isoformat()):
            away.setdefault(absence.user, absence)
        return away

    def seats(self, role: str, requester: str, assignee: str | None, away: Mapping[str, Absence]) -> list[Seat]:
        """The places in a role's decision on one request: the one person it was handed to; else each member but
        the requester, held by their delegate while they are away (unless the delegate is the requester), or by
        the delegate's own delegate when the delegate is away too."""
        if assignee is not None:
            return [Seat(role, assignee, assignee)]
        config = self.config.roles.get(role)
        seats = []
        for member in config.members if config else []:
            if member == requester:
                continue
            holder, passed = member, {member}
            absence = away.get(member)
            while absence is not None and absence.delegate is not None and absence.delegate not in passed \
                    and absence.delegate != requester:
                holder = absence.delegate
                passed.add(holder)
                absence = away.get(holder)
            seats.append(Seat(role, member, holder))
        return seats

    def settled(self, role: str, seats: list[Seat], votes: list[VoteRow], *, assigned: bool) -> str | None:
        """The role's decision once its members' decisions settle it: any rejection or request for changes at
        once; approval when one member ("any", or a handed request), every member ("all"), or the quorum of
        distinct persons approved (or every member's place was filled); None while that is not reached."""
        mine = [v for v in votes if v.role == role]
        for vote in mine:
            if vote.decision not in APPROVALS:
                return vote.decision
        approving = [v for v in mine if v.decision in APPROVALS]
        if not approving:
            return None
        last = approving[-1].decision
        config = self.config.roles.get(role)
        if assigned or config is None or config.decide == "any":
            return last
        filled = {v.member for v in approving}
        every_seat = bool(seats) and all(seat.member in filled for seat in seats)
        if config.decide == "all":
            return last if every_seat else None
        # A delegate who is also a member counts once; but once every place is filled nobody is left to ask,
        # and the request would wait for ever.
        return last if every_seat or len({v.reviewer for v in approving}) >= (config.quorum or 1) else None

    def progress(self, role: str, seats: list[Seat], votes: list[VoteRow], *, assigned: bool) -> str:
        """A waiting role as the requester reads it: its label, with approvals so far when several must approve."""
        config = self.config.roles.get(role)
        label = config.label if config else role
        if assigned or config is None or config.decide == "any":
            return label
        approving = [v for v in votes if v.role == role and v.decision in APPROVALS]
        if config.decide == "all":
            return f"{label} ({len({v.member for v in approving})}/{len(seats)})"
        return f"{label} ({len({v.reviewer for v in approving})}/{config.quorum})"

    def label(self, role: str) -> str:
        """A role's label; its bare name once the role left the configuration (a request made before still waits,
        for an admin to hand on)."""
        config = self.config.roles.get(role)
        return config.label if config else role

    def holders(self, seats: Iterable[Seat], *, exclude: Iterable[str] = ()) -> dict[str, list[str]]:
        """Each person holding one of the seats, with the labels of the roles they hold them in."""
        left_out = set(exclude)
        out: dict[str, list[str]] = {}
        for seat in seats:
            if seat.holder in left_out:
                continue
            label = self.label(seat.role)
            labels = out.setdefault(seat.holder, [])
            if label not in labels:
                labels.append(label)
        return out

    def direction_label(self, interview: Interview) -> str:
        direction = self.config.directions.get(interview.direction or "")
        return direction.label if direction else (interview.direction or "")

    # -- signals from the interview -----------------------------------------------------------
    async def on_signals(self, tx: Tx, signals: tuple[Signal, ...], *, actor: str, now: dt.datetime) -> list[Reply]:
        replies: list[Reply] = []
        for signal in signals:
            row = await tx.assessment(signal.assessment)
            if row is None:
                continue
            interview = row.interview
            if isinstance(signal, BlockerRaised | ExceptionRequested):
                replies += await self._alert(tx, interview, signal, now)
            elif isinstance(signal, BlockerCorrected):
                replies += await self._follow_up(tx, interview, signal, now)
            elif isinstance(signal, Submitted):
                replies += await self._request_reviews(tx, interview, now)
            elif isinstance(signal, Withdrawn):
                replies += await self._close_reviews(tx, interview, "review.withdrawn_notice", {}, now)
        return replies

    async def _alert(self, tx: Tx, interview: Interview, signal: BlockerRaised | ExceptionRequested,
                     now: dt.datetime) -> list[Reply]:
        questionnaire = self.qn(interview)
        question = questionnaire.question(signal.question_id)
        blockers = [f for f in findings(questionnaire, interview.answers)
                    if f.question_id == signal.question_id and f.level is Level.BLOCKER]
        criterion = blockers[0].criterion if blockers else question.criterion
        # A blocker concerns its own criterion and those it touches (art. 5 (f): criteria 1, 2 and 4).
        concerned = tuple(dict.fromkeys(n for f in blockers for n in f.criteria)) or (criterion,)
        recipients = self.members(self.roles_for_criteria(concerned), exclude=interview.requester)
        params: dict[str, Any] = {
            "id": interview.id, "title": interview.title or "", "requester": interview.requester,
            "criterion": criterion, "criterion_title": questionnaire.criterion(criterion).title,
            "reasons": [f.reason for f in blockers], "label": question.short,
            "others": ", ".join(str(n) for n in concerned if n != criterion),
        }
        if isinstance(signal, ExceptionRequested):
            key = "review.exception_alert"
            params["justification"] = signal.justification
        else:
            key = "review.blocker_alert"
            await tx.mark_blocker_notified(interview.id, signal.question_id, utc_iso(now))
        await tx.audit(actor="boussole", action="reviewers_alerted", assessment_id=interview.id,
                       detail={"kind": key.split(".")[1], "question": signal.question_id,
                               "recipients": sorted(recipients)}, now=utc_iso(now))
        return [Reply(member, ReplyKind.BLOCKER, key, params, interview.id) for member in recipients]

    async def _follow_up(self, tx: Tx, interview: Interview, signal: BlockerCorrected,
                         now: dt.datetime) -> list[Reply]:
        """The reviewers alerted to a blocker hear, in a line, that its answer was corrected."""
        alerted: list[str] = []
        for record in await tx.audit_trail(interview.id):
            detail = record.detail
            if (record.action == "reviewers_alerted" and detail.get("question") == signal.question_id
                    and detail.get("kind") in ("blocker_alert", "exception_alert")):
                alerted += [r for r in detail.get("recipients", []) if r not in alerted]
        if not alerted:
            return []
        questionnaire = self.qn(interview)
        question = questionnaire.question(signal.question_id)
        choices = choices_of(question, self.directions)
        await tx.audit(actor="boussole", action="reviewers_alerted", assessment_id=interview.id,
                       detail={"kind": "blocker_corrected", "question": signal.question_id,
                               "recipients": sorted(alerted)}, now=utc_iso(now))
        params = {"id": interview.id, "title": interview.title or "", "requester": interview.requester,
                  "label": question.short, "question": question, "choices": choices,
                  "previous": signal.previous, "answer": signal.answer}
        return [Reply(member, ReplyKind.INFO, "review.blocker_corrected", params, interview.id) for member in alerted]

    async def _request_reviews(self, tx: Tx, interview: Interview, now: dt.datetime) -> list[Reply]:
        stamp = utc_iso(now)
        questionnaire = self.qn(interview)
        found = findings(questionnaire, interview.answers)
        # Nothing found is ever hidden: the blockers raised on the way, corrected or not, read from the trail;
        # the reviewers of their criteria see them.
        stories = blocker_stories(questionnaire, [(a.action, a.detail) for a in await tx.audit_trail(interview.id)],
                                  interview.answers)
        roles = self.required_roles(interview, found, tuple(n for story in stories for n in story.criteria))
        recipients = self.members(roles, exclude=interview.requester)
        if not recipients:
            await tx.audit(actor="boussole", action="no_reviewer", assessment_id=interview.id,
                           detail={"roles": roles}, now=stamp)
            return [Reply(who, ReplyKind.WARNING, "review.no_reviewer", {"id": interview.id}, interview.id)
                    for who in [interview.requester, *self.config.admins]]
        stages = self.config.stages_of(roles)
        round_ = await tx.start_review_round(interview.id, stages[0], stamp)
        await tx.plan_stages(interview.id, round_, stages)
        await tx.audit(actor="boussole", action="review_requested", assessment_id=interview.id,
                       detail={"round": round_, "roles": roles, "stages": stages}, now=stamp)
        replies = await self._ask_roles(tx, interview, stages[0], round_, now)
        blocked = self.roles_without_decider(roles, interview.requester)
        if blocked:
            replies += await self._report_blocked(tx, interview, blocked, round_, stamp)
        return replies

    async def _ask_roles(self, tx: Tx, interview: Interview, roles: list[str], round_: int, now: dt.datetime,
                         *, only: str | None = None) -> list[Reply]:
        """The review request to whoever holds a seat of these roles now (or to `only`); a delegate also hears
        whom they stand in for."""
        away = await self.away(tx, now)
        assigned = await tx.assignments(interview.id)
        seats = [seat for role in roles
                 for seat in self.seats(role, interview.requester, assigned.get((interview.id, role)), away)]
        recipients = {who: labels for who, labels in self.holders(seats).items() if only is None or who == only}
        if not recipients:
            return []
        questionnaire = self.qn(interview)
        changes = await self._changes_since_previous(tx, interview)
        impact_change = await self._level_change(tx, interview)
        stories = await self._stories(tx, interview)
        replies = []
        for member, labels in recipients.items():
            replies.append(Reply(member, ReplyKind.REVIEW_REQUEST, "review.request", {
                "interview": interview, "summary": summarize(questionnaire, interview.answers),
                "questionnaire": questionnaire, "requester": interview.requester,
                "direction": self.direction_label(interview), "roles": labels, "round": round_, "changes": changes,
                "impact_change": impact_change,
                "directions": (*self.directions, OTHER_CHOICE),
                "blockers": stories,
            }, interview.id, actions=DECISION_ACTIONS))
        for seat in seats:
            if seat.holder != seat.member and seat.holder in recipients:
                absence = away[seat.member]
                replies.append(Reply(seat.holder, ReplyKind.INFO, "review.delegated_request", {
                    "id": interview.id, "title": interview.title or "", "member": mention(seat.member),
                    "role": self.label(seat.role), "date": absence.ends_on}, interview.id))
        return replies

    async def _stories(self, tx: Tx, interview: Interview) -> Any:
        questionnaire = self.qn(interview)
        return blocker_stories(questionnaire, [(a.action, a.detail) for a in await tx.audit_trail(interview.id)],
                               interview.answers)

    async def _report_blocked(self, tx: Tx, interview: Interview, blocked: list[str], round_: int,
                              stamp: str) -> list[Reply]:
        """The review waits for good on `blocked`: only an admin can unblock it, by adding a member to the role."""
        admins = list(self.config.admins)
        if not admins:
            logger.error("assessment %s cannot complete: only its requester %s holds the role(s) %s, "
                         "and no admin is configured to be told", interview.id, interview.requester,
                         ", ".join(blocked))
        await tx.audit(actor="boussole", action="review_blocked", assessment_id=interview.id,
                       detail={"round": round_, "roles": blocked, "admins": admins}, now=stamp)
        title = interview.title or ""
        replies = [Reply(admin, ReplyKind.WARNING, "review.blocked", {
                       "id": interview.id, "title": title, "requester": interview.requester,
                       "role": self.label(role), "role_name": role,
                   }, interview.id, actions=("history",))
                   for role in blocked for admin in admins]
        labels = ", ".join(self.label(role) for role in blocked)
        replies.append(Reply(interview.requester, ReplyKind.WARNING, "review.blocked_requester",
                             {"id": interview.id, "title": title, "roles": labels}, interview.id))
        return replies

    async def _level_change(self, tx: Tx, interview: Interview
                            ) -> tuple[Impact | None, Impact | None, tuple[str, ...]] | None:
        """A re-evaluation: the impact level before and now, and the answers whose weight moved it."""
        if interview.previous_id is None:
            return None
        previous = await tx.assessment(interview.previous_id)
        before: Mapping[str, Answer] = previous.interview.answers if previous else {}
        return level_changes(self.qn(interview), before, interview.answers)

    async def _changes_since_previous(self, tx: Tx, interview: Interview) -> list[str] | None:
        if interview.previous_id is None:
            return None
        previous = await tx.assessment(interview.previous_id)
        before: Mapping[str, Answer] = previous.interview.answers if previous else {}
        return [q.id for q in self.qn(interview).questions
                if (q.id in before or q.id in interview.answers) and before.get(q.id) != interview.answers.get(q.id)]

    async def _close_reviews(self, tx: Tx, interview: Interview, key: str, params: dict[str, Any],
                             now: dt.datetime, *, skip: str | None = None) -> list[Reply]:
        """Tell whoever held a request that still waited that it no longer stands. Questions to the requester
        still open close with the review: a later round's waiting time is not paused by them."""
        waiting = await tx.close_open_reviews(interview.id, utc_iso(now))
        await tx.close_questions(interview.id, utc_iso(now))
        roles = [role for role in waiting if role in self.config.roles]
        away = await self.away(tx, now)
        assigned = await tx.assignments(interview.id)
        seats = [seat for role in roles
                 for seat in self.seats(role, interview.requester, assigned.get((interview.id, role)), away)]
        recipients = self.holders(seats, exclude=(interview.requester,))
        return [Reply(m, ReplyKind.INFO, key, {"id": interview.id, "title": interview.title or "", **params},
                      interview.id) for m in recipients if m != skip]

    # -- commands --------------------------------------------------------------------------
    async def handle_command(self, tx: Tx, user: str, command: Command, now: dt.datetime) -> list[Reply]:
        if command.name == "pending_reviews":
            return await self._pending(tx, user, now)
        if command.name == "history":
            return await self._history(tx, user, command)
        if command.name == "report":
            return await self._report(tx, user, command, now)
        if command.name == "away":
            return await self._away(tx, user, command, now)
        if command.name == "present":
            return await self._present(tx, user, now)
        if command.name == "ask":
            return await self._ask(tx, user, command, now)
        if command.name == "reply":
            return await self._reply(tx, user, command, now)
        if command.name == "reassign":
            return await self._reassign(tx, user, command, now)
        return await self._decide(tx, user, DECISION_COMMANDS[command.name], command, now)

    async def _refuse(self, tx: Tx, user: str, assessment_id: int | None, reason: str, now: dt.datetime,
                      **params: Any) -> list[Reply]:
        await tx.audit(actor=user, action="decision_refused", assessment_id=assessment_id,
                       detail={"reason": reason, **{k: v for k, v in params.items() if k != "status"}},
                       now=utc_iso(now))
        return [Reply(user, ReplyKind.ERROR, f"review.refused.{reason}", {"id": assessment_id, **params},
                      assessment_id)]

    async def _round_state(self, tx: Tx, interview: Interview, now: dt.datetime
                           ) -> tuple[list[ReviewRow], dict[str, list[Seat]], list[VoteRow], set[str]]:
        """The current round: its requests, the seats of each (now), the members' decisions, the handed roles."""
        rows = await tx.current_round(interview.id)
        away = await self.away(tx, now)
        assigned = await tx.assignments(interview.id)
        seats = {r.role: self.seats(r.role, interview.requester, assigned.get((interview.id, r.role)), away)
                 for r in rows}
        handed = {role for (_id, role) in assigned}
        return rows, seats, await tx.current_votes(interview.id), handed

    async def _decide(self, tx: Tx, user: str, decision: Decision, command: Command,
                      now: dt.datetime) -> list[Reply]:
        assessment_id = command.id_argument
        comment = command.rest
        if assessment_id is None:
            return [Reply(user, ReplyKind.ERROR, "review.refused.no_id", {"command": command.name})]
        row = await tx.assessment(assessment_id)
        if row is None:
            return await self._refuse(tx, user, None, "not_found", now, wanted=assessment_id)
        interview = row.interview
        if interview.requester == user:
            return await self._refuse(tx, user, assessment_id, "own_request", now)
        if interview.status is not Status.IN_REVIEW:
            last = await tx.last_decision(assessment_id)
            return await self._refuse(tx, user, assessment_id, "not_in_review", now, status=interview.status,
                                      by=last.reviewer if last and last.reviewer else "")
        rows, seats, votes, handed = await self._round_state(tx, interview, now)
        filled = {(v.role, v.member) for v in votes}
        open_roles = {r.role for r in rows if r.decision is None}
        mine = [seat for role in open_roles for seat in seats.get(role, [])
                if seat.open_to(user) and (role, seat.member) not in filled]
        if not mine:
            return await self._why_not(tx, user, interview, rows, seats, votes, handed, now)
        if decision in NEEDS_COMMENT and not comment:
            # Not a refusal: the decision waits for its comment, typed next (or given by a reaction first).
            conversation = await tx.conversation(user)
            if conversation.mode is not Mode.COMMENTING:
                conversation = conversation.to(conversation.resting_mode)
            await tx.save_conversation(conversation.to(Mode.COMMENTING, pending=f"{command.name} {assessment_id}"),
                                       utc_iso(now))
            return [Reply(user, ReplyKind.INFO, "review.comment_prompt",
                          {"id": assessment_id, "title": interview.title or "", "decision": decision.value},
                          assessment_id)]

        stamp = utc_iso(now)
        round_ = rows[0].round
        cast = [VoteRow(assessment_id, round_, seat.role, seat.member, user, decision.value, comment, stamp)
                for seat in sorted(mine, key=lambda s: (s.role, s.member))]
        await tx.record_votes(cast)
        votes = [*votes, *cast]
        voted_roles = sorted({v.role for v in cast})
        settled = {role: outcome for role in voted_roles
                   if (outcome := self.settled(role, seats[role], votes, assigned=role in handed)) is not None}
        for role, outcome in settled.items():
            await tx.record_decision(assessment_id, [role], decision=outcome, reviewer=user, comment=comment, now=stamp)
        stood_in_for = sorted({v.member for v in cast if v.member != user and v.role not in handed})
        detail: dict[str, Any] = {"decision": decision.value, "roles": voted_roles, "comment": comment}
        if stood_in_for:
            detail["for"] = stood_in_for
        if sorted(settled) != voted_roles:
            detail["settled"] = sorted(settled)
        await tx.audit(actor=user, action="decision", assessment_id=assessment_id, detail=detail, now=stamp)
        role_labels = ", ".join(self.label(r) for r in voted_roles)
        common = {"id": assessment_id, "title": interview.title or "", "reviewer": user, "roles": role_labels,
                  "decision": decision.value, "comment": comment}
        replies = [Reply(user, ReplyKind.INFO, "review.recorded", common, assessment_id)]
        told: set[str] = {user, interview.requester}
        for role, outcome in settled.items():
            for member in self.holders(seats[role], exclude=told):
                told.add(member)
                replies.append(Reply(member, ReplyKind.INFO, "review.role_decided",
                                     {**common, "roles": self.label(role), "decision": outcome}, assessment_id))
        decided = {r.role: r.decision for r in rows}
        decided.update(settled)
        replies += await self._conclude(tx, interview, decided, decision, user, comment, now,
                                        common=common, seats=seats, votes=votes, handed=handed)
        return replies

    async def _why_not(self, tx: Tx, user: str, interview: Interview, rows: list[ReviewRow],
                       seats: dict[str, list[Seat]], votes: list[VoteRow], handed: set[str],
                       now: dt.datetime) -> list[Reply]:
        """Refuse a decision from someone with no seat left open to them, saying why."""
        assessment_id = interview.id
        own = [v for v in votes if v.reviewer == user or v.member == user]
        if own:
            return await self._refuse(tx, user, assessment_id, "already_decided", now, by=own[-1].reviewer,
                                      decision=own[-1].decision)
        held = [r for r in rows if any(seat.open_to(user) for seat in seats.get(r.role, []))]
        if held:
            done = held[0]
            return await self._refuse(tx, user, assessment_id, "already_decided", now, by=done.reviewer or "",
                                      decision=done.decision)
        member_of = [r.role for r in rows if r.role in self.config.roles and user in self.config.roles[r.role].members]
        handed_away = [role for role in member_of if role in handed]
        if handed_away:
            holder = seats[handed_away[0]][0].holder if seats[handed_away[0]] else ""
            return await self._refuse(tx, user, assessment_id, "reassigned", now, by=holder,
                                      role=self.label(handed_away[0]))
        plan = await tx.current_plan(assessment_id)
        opened = {r.role for r in rows}
        later = [role for stage in plan for role in stage if role not in opened and role in self.config.roles
                 and user in self.config.roles[role].members]
        if later:
            waiting = ", ".join(self.label(r.role) for r in rows if r.decision is None)
            return await self._refuse(tx, user, assessment_id, "later_stage", now,
                                      role=self.label(later[0]), waiting=waiting)
        return await self._refuse(tx, user, assessment_id, "not_reviewer", now)

    async def _conclude(self, tx: Tx, interview: Interview, decided: dict[str, str | None], decision: Decision,
                        user: str, comment: str, now: dt.datetime, *, common: dict[str, Any],
                        seats: dict[str, list[Seat]], votes: list[VoteRow], handed: set[str]) -> list[Reply]:
        """Apply the outcome once the decisions so far settle it, open the next stage once a stage approved, or
        tell the requester who is still awaited: one message to the requester for one decision."""
        stamp = utc_iso(now)
        settled = [d for d in decided.values() if d is not None]
        if Decision.REJECT.value in settled:
            status = Status.REJECTED
        elif Decision.CHANGES.value in settled:
            status = Status.CHANGES_REQUESTED
        elif all(d in APPROVALS for d in decided.values()):
            later = [stage for stage in await tx.current_plan(interview.id) if not set(stage) & set(decided)]
            if later:
                return await self._next_stage(tx, interview, later, common, now)
            reserving = any(v.decision == Decision.RESERVATIONS.value for v in votes)
            status = Status.APPROVED_WITH_RESERVATIONS if reserving else Status.APPROVED
        else:
            waiting = [self.progress(r, seats.get(r, []), votes, assigned=r in handed)
                       for r, d in decided.items() if d is None]
            return [Reply(interview.requester, ReplyKind.DECISION, "review.decision",
                          {**common, "waiting": ", ".join(waiting)}, interview.id)]

        old = interview
        updated = interview.with_status(status)
        if status is Status.CHANGES_REQUESTED:
            updated = replace(updated, pending=None, revisiting=False, blocked_on=None)
        await save_assessment(tx, self.qn(updated), updated, old=old, actor=user, now=now)
        next_review = None
        if status.approved:
            months = self.period_months(updated, reservations=status is Status.APPROVED_WITH_RESERVATIONS)
            next_review = utc_iso(add_months(now, months))
            await self._archive_renewed(tx, updated, user, now)
        await tx.set_review_dates(interview.id, decided_at=stamp, next_review_at=next_review)
        await tx.audit(actor="boussole", action="outcome", assessment_id=interview.id,
                       detail={"status": status.value, "next_review_at": next_review}, now=stamp)
        # The final approval repeats every reservation of the round, whoever made it.
        reserved = dict.fromkeys((v.reviewer, v.comment or "") for v in votes
                                 if v.decision == Decision.RESERVATIONS.value)
        reservations = [f"{mention(reviewer)} — {text}" if text else mention(reviewer) for reviewer, text in reserved]
        params = {**common, "date": next_review, "status": status.value, "reservations": reservations}
        replies = [Reply(interview.requester, ReplyKind.DECISION, f"review.outcome.{status.value}", params,
                         interview.id, actions=("resume",) if status is Status.CHANGES_REQUESTED else ())]
        replies += await self._close_reviews(tx, updated, "review.closed", {"status": status.value, "reviewer": user},
                                             now, skip=user)
        return replies

    async def _next_stage(self, tx: Tx, interview: Interview, later: list[list[str]], common: dict[str, Any],
                          now: dt.datetime) -> list[Reply]:
        """Every role of the stage approved: the next stage's roles are asked now."""
        stage = later[0]
        stamp = utc_iso(now)
        await tx.open_stage(interview.id, stage, stamp)
        plan = await tx.current_plan(interview.id)
        number = plan.index(stage) + 1 if stage in plan else 0
        await tx.audit(actor="boussole", action="stage_started", assessment_id=interview.id,
                       detail={"stage": number, "roles": stage}, now=stamp)
        labels = ", ".join(self.label(r) for r in stage)
        rows = await tx.current_round(interview.id)
        replies = [Reply(interview.requester, ReplyKind.DECISION, "review.decision_next_stage",
                         {**common, "stage": number, "stages": len(plan), "waiting": labels}, interview.id)]
        return replies + await self._ask_roles(tx, interview, stage, rows[0].round, now)

    async def _archive_renewed(self, tx: Tx, renewal: Interview, user: str, now: dt.datetime) -> None:
        if renewal.previous_id is None:
            return
        previous = await tx.assessment(renewal.previous_id)
        if previous is None or previous.interview.status not in (Status.APPROVED, Status.APPROVED_WITH_RESERVATIONS):
            return
        await save_assessment(tx, self.qn(previous.interview), previous.interview.with_status(Status.ARCHIVED),
                              old=previous.interview, actor=user, now=now)
        await tx.set_review_dates(previous.interview.id, decided_at=previous.decided_at, next_review_at=None)
        await tx.audit(actor="boussole", action="archived", assessment_id=previous.interview.id,
                       detail={"renewed_by": renewal.id}, now=utc_iso(now))

    async def waiting_requests(self, tx: Tx, now: dt.datetime, *, directions: list[str] | None = None,
                               roles: list[str] | None = None, not_requested_by: str | None = None
                               ) -> list[WaitingRequest]:
        """Every request still waiting (or only some directions' or roles'), oldest first, with the seats still
        open in it (whom to nudge), how long it waited (time with a question open to the requester left out)
        and its open questions."""
        waiting = await tx.waiting_reviews(directions=directions, roles=roles, not_requested_by=not_requested_by)
        if not waiting:
            return []
        away = await self.away(tx, now)
        assigned = await tx.assignments()
        filled = {(v.assessment_id, v.role, v.member) for v in await tx.votes_in_review()}
        questions = await self._questions_by_assessment(tx, waiting)
        out = []
        for review in waiting:
            seats = self.seats(review.role, review.requester, assigned.get((review.assessment_id, review.role)),
                               away)
            asked = questions.get(review.assessment_id, [])
            out.append(WaitingRequest(
                review, [s for s in seats if (review.assessment_id, s.role, s.member) not in filled],
                waited(review.requested_at, now, asked), [q for q in asked if q.answered_at is None],
                (review.assessment_id, review.role) in assigned))
        return out

    def absence_began(self, absence: Absence) -> dt.datetime:
        """When an absence took effect: the start of its first day, or its declaration if later that day. A
        request made before went to the member; one made since went straight to the delegate."""
        first_day = dt.datetime.combine(dt.date.fromisoformat(absence.starts_on), dt.time(0), tzinfo=self.config.zone)
        return max(first_day, dt.datetime.fromisoformat(absence.created_at))

    async def requests_to_hand_over(self, tx: Tx, now: dt.datetime, requests: list[WaitingRequest]
                                    ) -> list[tuple[str, Reply]]:
        """Of the `requests` waiting, those that waited for a member since before their absence began, as their
        delegate receives them now, each with a key that says which hand-over it is (to send it once)."""
        away = await self.away(tx, now)
        out: list[tuple[str, Reply]] = []
        for request in requests:
            review = request.review
            for seat in request.open_seats:
                if request.handed or seat.holder == seat.member:
                    continue
                # The seat passed from the member to its holder through one absence or more (a delegate away
                # too): it was handed over when the last of them began.
                chain: list[Absence] = []
                step = away.get(seat.member)
                while step is not None and step not in chain:
                    chain.append(step)
                    step = away.get(step.delegate) if step.delegate not in (None, seat.holder) else None
                if not chain:
                    continue
                absence = max(chain, key=self.absence_began)
                if dt.datetime.fromisoformat(review.requested_at) >= self.absence_began(absence):
                    continue
                key = f"handover:{absence.id}:{review.assessment_id}:{review.round}:{review.role}"
                if await tx.notice_sent(f"{key}:review.request>{seat.holder}"):
                    continue
                row = await tx.assessment(review.assessment_id)
                if row is None:
                    continue
                replies = await self._ask_roles(tx, row.interview, [review.role], review.round, now, only=seat.holder)
                out += [(f"{key}:{reply.key}", reply) for reply in replies]
        return out

    async def pending_for(self, tx: Tx, user: str, now: dt.datetime, *, held_only: bool = False
                          ) -> list[PendingReview]:
        """The reviews waiting for this person now, oldest first: in their roles, as a delegate, or handed to
        them; each with its waiting time (open questions to the requester left out) and open questions.
        `held_only` leaves out the seats a delegate holds for them while they are away (what to send them)."""
        # Only the roles this person may hold a seat in are read: their own, those of the members they stand
        # in for today, and those of the requests handed to them.
        roles = set(self.config.roles_of(user))
        for absence in (await self.away(tx, now)).values():
            if absence.delegate == user:
                roles.update(self.config.roles_of(absence.user))
        roles.update(role for (_, role), assignee in (await tx.assignments()).items() if assignee == user)
        if not roles:
            return []
        requests = await self.waiting_requests(tx, now, roles=sorted(roles), not_requested_by=user)
        return self.pending_in(requests, user, held_only=held_only)

    def pending_in(self, requests: list[WaitingRequest], user: str, *, held_only: bool = False
                   ) -> list[PendingReview]:
        """`pending_for` over requests already read (a digest run reads them once for every reader)."""
        out = []
        for request in requests:
            review = request.review
            mine = [s for s in request.open_seats if (s.holder == user if held_only else s.open_to(user))]
            if not mine or review.requester == user:
                continue
            stood_for = next((s.member for s in mine if s.member != user and not request.handed), None)
            out.append(PendingReview(
                review.assessment_id, review.title or "", review.requester, review.role,
                self.label(review.role),
                review.requested_at, request.waited.days, len(request.open_questions), stood_for))
        return out

    @staticmethod
    async def _questions_by_assessment(tx: Tx, waiting: list[WaitingReview]) -> dict[int, list[ReviewQuestion]]:
        """The questions that may pause these requests (asked since the oldest was made), by assessment."""
        oldest = min(review.requested_at for review in waiting)
        out: dict[int, list[ReviewQuestion]] = {}
        for question in await tx.questions_since(oldest):
            out.setdefault(question.assessment_id, []).append(question)
        return out

    async def _pending(self, tx: Tx, user: str, now: dt.datetime) -> list[Reply]:
        pending = await self.pending_for(tx, user, now)
        items = [{"id": p.assessment_id, "title": p.title, "requester": p.requester, "role": p.role_label,
                  "days": p.days} for p in pending]
        reviewer = bool(self.config.roles_of(user)) or bool(items)
        return [Reply(user, ReplyKind.INFO, "review.pending", {"items": items, "reviewer": reviewer}, actions=())]

    # -- absences -----------------------------------------------------------------------------
    async def _away(self, tx: Tx, user: str, command: Command, now: dt.datetime) -> list[Reply]:
        """`absent du 2027-01-04 au 2027-01-15 [remplaçant <identité>]`: recorded, audited, the delegate told."""
        found = _AWAY.match(" ".join(command.argument.split()))
        if found is None:
            return [Reply(user, ReplyKind.ERROR, "review.away.usage", {})]
        start, end = _day(found.group(1)), _day(found.group(2))
        today = self.today(now)
        horizon = today + dt.timedelta(days=MAX_AWAY_DAYS)
        if start is None or end is None or end < start or end < today or start > horizon or end > horizon:
            return [Reply(user, ReplyKind.ERROR, "review.away.bad_dates", {"max": MAX_AWAY_DAYS})]
        delegate = None
        if found.group(3) is not None:
            delegate = parse_identity(found.group(3), user)
            if delegate is None:
                return [Reply(user, ReplyKind.ERROR, "review.away.bad_identity", {})]
            if delegate == user:
                return [Reply(user, ReplyKind.ERROR, "review.away.self", {})]
        starts_on, ends_on = max(start, today).isoformat(), end.isoformat()
        clash = [a for a in await tx.absences_of(user, from_day=today.isoformat())
                 if a.starts_on <= ends_on and starts_on <= a.ends_on]
        if clash:
            return [Reply(user, ReplyKind.ERROR, "review.away.overlap",
                          {"from_day": clash[0].starts_on, "to_day": clash[0].ends_on})]
        stamp = utc_iso(now)
        await tx.add_absence(user=user, starts_on=starts_on, ends_on=ends_on, delegate=delegate, now=stamp)
        await tx.audit(actor=user, action="absence_declared", assessment_id=None,
                       detail={"from": starts_on, "to": ends_on, "delegate": delegate}, now=stamp)
        roles = ", ".join(self.label(r) for r in self.config.roles_of(user))
        params = {"from_day": starts_on, "to_day": ends_on, "roles": roles or "—"}
        if delegate is None:
            return [Reply(user, ReplyKind.INFO, "review.away.recorded_alone", params)]
        return [Reply(user, ReplyKind.INFO, "review.away.recorded", {**params, "delegate": mention(delegate)}),
                Reply(delegate, ReplyKind.INFO, "review.away.delegate_told", {**params, "member": mention(user)})]

    async def absences_for(self, tx: Tx, user: str, now: dt.datetime) -> tuple[list[Absence], list[Absence]]:
        """A person's absences, current and to come, and those in which they stand in for someone (the
        dashboard's "my absences and delegations")."""
        today = self.today(now).isoformat()
        return await tx.absences_of(user, from_day=today), await tx.delegations_to(user, from_day=today)

    async def _present(self, tx: Tx, user: str, now: dt.datetime) -> list[Reply]:
        """`présent`: the person's absences in progress or to come end now; their delegates are told."""
        stamp = utc_iso(now)
        ended = await tx.end_absences(user, from_day=self.today(now).isoformat(), now=stamp)
        if not ended:
            return [Reply(user, ReplyKind.INFO, "review.present.none", {})]
        await tx.audit(actor=user, action="absence_ended", assessment_id=None,
                       detail={"absences": [{"from": a.starts_on, "to": a.ends_on, "delegate": a.delegate}
                                            for a in ended]}, now=stamp)
        delegates = list(dict.fromkeys(a.delegate for a in ended if a.delegate))
        return [Reply(user, ReplyKind.INFO, "review.present.done", {}),
                *(Reply(d, ReplyKind.INFO, "review.present.delegate_told", {"member": mention(user)})
                  for d in delegates)]

    # -- reassignment ---------------------------------------------------------------------------
    async def _reassign(self, tx: Tx, user: str, command: Command, now: dt.datetime) -> list[Reply]:
        """`réassigner <n°> <rôle> <identité>` (admins): one person alone decides for the role on this request."""
        words = command.rest.split()
        assessment_id = command.id_argument
        if assessment_id is None or len(words) != 2:
            return [Reply(user, ReplyKind.ERROR, "review.reassign.usage", {})]
        if not self.config.is_admin(user):
            return await self._refuse(tx, user, assessment_id, "not_admin", now)
        row = await tx.assessment(assessment_id)
        if row is None:
            return await self._refuse(tx, user, None, "not_found", now, wanted=assessment_id)
        interview = row.interview
        if interview.status is not Status.IN_REVIEW:
            return await self._refuse(tx, user, assessment_id, "not_in_review", now, status=interview.status, by="")
        plan = [r for stage in await tx.current_plan(assessment_id) for r in stage]
        rows, seats, votes, _handed = await self._round_state(tx, interview, now)
        waiting = [r.role for r in rows if r.decision is None] + [r for r in plan if r not in {x.role for x in rows}]
        # A role taken out of the configuration since the request was made is named as the request names it.
        role = self._role_named(words[0]) or (words[0] if words[0] in waiting else None)
        if role is None or role not in waiting:
            listing = ", ".join(waiting)
            return [Reply(user, ReplyKind.ERROR, "review.reassign.no_role",
                          {"id": assessment_id, "role": words[0][:50], "roles": listing or "—"}, assessment_id)]
        assignee = parse_identity(words[1], user)
        if assignee is None:
            return [Reply(user, ReplyKind.ERROR, "review.away.bad_identity", {})]
        if assignee == interview.requester:
            return await self._refuse(tx, user, assessment_id, "assignee_is_requester", now)
        if (await tx.assignments(assessment_id)).get((assessment_id, role)) == assignee:
            return [Reply(user, ReplyKind.INFO, "review.reassign.already", {
                "id": assessment_id, "title": interview.title or "", "role": self.label(role),
                "assignee": mention(assignee)}, assessment_id)]
        already = [v for v in votes if v.role == role and assignee in (v.reviewer, v.member)]
        if already:  # their decision is in: handing them the request would leave nobody to settle it
            return await self._refuse(tx, user, assessment_id, "already_decided", now, by=already[0].reviewer,
                                      decision=already[0].decision)
        stamp = utc_iso(now)
        before = self.holders(seats.get(role, []))
        await tx.assign(Assignment(assessment_id, role, assignee, user, stamp))
        await tx.audit(actor=user, action="review_reassigned", assessment_id=assessment_id,
                       detail={"role": role, "assignee": assignee, "before": sorted(before)}, now=stamp)
        params = {"id": assessment_id, "title": interview.title or "", "role": self.label(role),
                  "assignee": mention(assignee), "by": mention(user)}
        replies = [Reply(user, ReplyKind.INFO, "review.reassign.done", params, assessment_id),
                   Reply(assignee, ReplyKind.INFO, "review.reassign.to_you", params, assessment_id)]
        replies += [Reply(holder, ReplyKind.INFO, "review.reassign.away_from_you", params, assessment_id)
                    for holder in before if holder not in (assignee, user)]
        if role in {r.role for r in rows}:
            replies += await self._ask_roles(tx, interview, [role], rows[0].round, now, only=assignee)
        return replies

    def _role_named(self, word: str) -> str | None:
        """A role by its name in the configuration (`dpo`) or its label (`RSSI`), case and accents aside."""
        from conversations.answers import fold
        wanted = fold(word)
        for name, role in self.config.roles.items():
            if fold(name) == wanted or fold(role.label) == wanted:
                return name
        return None

    # -- questions to the requester -----------------------------------------------------------------
    async def _reviewers_of(self, tx: Tx, interview: Interview, now: dt.datetime) -> tuple[list[ReviewRow],
                                                                                          list[Seat]]:
        rows, seats, _votes, _handed = await self._round_state(tx, interview, now)
        return rows, [seat for role_seats in seats.values() for seat in role_seats]

    async def _ask(self, tx: Tx, user: str, command: Command, now: dt.datetime) -> list[Reply]:
        """`question <n°> <texte>`: a reviewer of the assessment asks its requester; the review's clock pauses."""
        assessment_id, text = command.id_argument, command.rest
        if assessment_id is None or not text or len(text) > MAX_TEXT:
            return _text_refused(user, text, "review.ask.usage")
        row = await tx.assessment(assessment_id)
        if row is None:
            return await self._refuse(tx, user, None, "not_found", now, wanted=assessment_id)
        interview = row.interview
        if interview.requester == user:
            return await self._refuse(tx, user, assessment_id, "own_request", now)
        if interview.status is not Status.IN_REVIEW:
            return await self._refuse(tx, user, assessment_id, "not_in_review", now, status=interview.status, by="")
        _rows, seats = await self._reviewers_of(tx, interview, now)
        mine = [seat for seat in seats if seat.open_to(user)]
        if not mine:
            return await self._refuse(tx, user, assessment_id, "not_reviewer", now)
        stamp = utc_iso(now)
        number = await tx.ask_question(assessment_id, user, text, stamp)
        await tx.audit(actor=user, action="question_asked", assessment_id=assessment_id,
                       detail={"question": number, "text": text}, now=stamp)
        labels = ", ".join(dict.fromkeys(self.label(s.role) for s in mine))
        params = {"id": assessment_id, "title": interview.title or "", "reviewer": user, "roles": labels,
                  "text": text}
        return [Reply(user, ReplyKind.INFO, "review.ask.sent", params, assessment_id),
                Reply(interview.requester, ReplyKind.DECISION, QUESTION_KEY, params, assessment_id)]

    async def _reply(self, tx: Tx, user: str, command: Command, now: dt.datetime) -> list[Reply]:
        """`réponse <n°> <texte>`: the requester's reply reaches every reviewer; the open questions close."""
        assessment_id, text = command.id_argument, command.rest
        if assessment_id is None or not text or len(text) > MAX_TEXT:
            return _text_refused(user, text, "review.reply.usage")
        row = await tx.assessment(assessment_id)
        if row is None or row.interview.requester != user:
            await tx.audit(actor=user, action="access_refused", assessment_id=row.interview.id if row else None,
                           detail={"what": "reply", "wanted": assessment_id}, now=utc_iso(now))
            return [Reply(user, ReplyKind.ERROR, "error.not_found", {"id": assessment_id})]
        interview = row.interview
        if interview.status is not Status.IN_REVIEW:
            return [Reply(user, ReplyKind.ERROR, "review.reply.not_in_review",
                          {"id": assessment_id, "status": interview.status}, assessment_id)]
        stamp = utc_iso(now)
        answered = await tx.answer_questions(assessment_id, text, stamp)
        await tx.audit(actor=user, action="question_answered", assessment_id=assessment_id,
                       detail={"questions": [q.id for q in answered], "text": text}, now=stamp)
        _rows, seats = await self._reviewers_of(tx, interview, now)
        readers = list(dict.fromkeys([*(s.holder for s in seats), *(q.asked_by for q in answered)]))
        params = {"id": assessment_id, "title": interview.title or "", "requester": user, "text": text,
                  "count": len(answered)}
        # With no question open, the reply is a note the requester adds: it closes nothing.
        received = "review.reply.received" if answered else "review.reply.unasked"
        return [Reply(user, ReplyKind.INFO, "review.reply.sent", {**params, "count": len(readers)}, assessment_id),
                *(Reply(reader, ReplyKind.INFO, received, params, assessment_id)
                  for reader in readers if reader != user)]

    async def open_questions(self, tx: Tx, assessment_id: int) -> list[ReviewQuestion]:
        """The questions of an assessment still waiting for its requester (the dashboard)."""
        return await tx.open_questions(assessment_id)

    def may_see(self, user: str, interview: Interview) -> bool:
        """Who may read an assessment (its status, report and history): the requester, admins, reviewers, and
        the managers of its direction."""
        if user == interview.requester or self.config.is_admin(user) or self.config.roles_of(user):
            return True
        return interview.direction in self.config.directions_managed_by(user)

    async def _report(self, tx: Tx, user: str, command: Command, now: dt.datetime) -> list[Reply]:
        """The fiche and its compass picture. The step records the audit and the reply only: the reply carries
        what to draw, in its reader's language, and the picture and the page are written beside the database
        when it is delivered (`Boussole.deliver`), outside this transaction."""
        from bot.compass import criteria_of, describe
        from bot.i18n import Translator
        from bot.report import build
        assessment_id = command.id_argument
        row = await tx.assessment(assessment_id) if assessment_id is not None else None
        if row is None or not self.may_see(user, row.interview):
            await tx.audit(actor=user, action="access_refused", assessment_id=row.interview.id if row else None,
                           detail={"what": "report", "wanted": assessment_id}, now=utc_iso(now))
            return [Reply(user, ReplyKind.ERROR, "error.not_found", {"id": asked_number(command)})]
        questionnaire = self.qn(row.interview)
        report = await build(tx, questionnaire, self.config, row.interview.id, self.versions)
        assert report is not None
        t = Translator(await tx.locale_of(user) or self.config.locale, self.config.zone)
        picture = describe(number=row.interview.id, title=row.title or "", version=questionnaire.version,
                           when=utc_iso(now), t=t,
                           criteria=criteria_of(summarize(questionnaire, row.interview.answers), t))
        image = self.reports_dir / f"boussole-{row.interview.id}.png"
        page = self.reports_dir / f"boussole-{row.interview.id}.html"
        await tx.audit(actor=user, action="report_viewed", assessment_id=row.interview.id, detail={},
                       now=utc_iso(now))
        return [Reply(user, ReplyKind.INFO, "report.ready", {
            "id": row.interview.id, "title": row.title or "", "levels": report["levels"],
            "recommendation": report["recommendation"], "page": str(page), "image": str(image),
            "attachment": {"image": str(image), "file": str(page), "alt": picture.alt,
                           "picture": picture.to_json(), "report": report}}, row.interview.id)]

    async def _history(self, tx: Tx, user: str, command: Command) -> list[Reply]:
        assessment_id = command.id_argument
        row = await tx.assessment(assessment_id) if assessment_id is not None else None
        if row is None or not self.may_see(user, row.interview):
            await tx.audit(actor=user, action="access_refused", assessment_id=row.interview.id if row else None,
                           detail={"what": "history", "wanted": assessment_id}, now=utc_iso(self.clock()))
            return [Reply(user, ReplyKind.ERROR, "error.not_found", {"id": asked_number(command)})]
        trail = await tx.audit_trail(row.interview.id)
        entries = [{"at": a.at, "actor": a.actor, "action": a.action, "detail": a.detail} for a in trail]
        return [Reply(user, ReplyKind.INFO, "review.history", {"id": row.interview.id, "entries": entries},
                      row.interview.id)]
