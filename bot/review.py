"""The review workflow: who must review, review requests, decisions, and their consequences.

The bot recommends, reviewers decide. On submission each required role gets a request that
opens with what a reviewer reads first, then every blocker raised during the interview with
what became of it, the points to check by criterion, and the answers. A blocker or an
exceptional-review request alerts at once the reviewers of every criterion it concerns; when
the blocking answer is corrected, the reviewers alerted hear of it.
Only members of a required role may decide, never on their own request, only while the
assessment is in review; every refused attempt is audited. One rejection rejects, one
request for changes sends it back, and approval needs every required role. A required
role whose only member is the requester can never decide: the admins are told at once.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from bot.assessments import save_assessment
from bot.config import Config
from bot.storage import Tx
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


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """The same day `months` later (the month's last day when it is shorter)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


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

    def roles_for_criterion(self, criterion: int) -> list[str]:
        named = [n for n, r in self.config.roles.items() if criterion in r.criteria]
        return named or list(self.config.roles)

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
                    out.setdefault(member, []).append(self.config.roles[name].label)
        return out

    def roles_without_decider(self, roles: list[str], requester: str) -> list[str]:
        """Those of `roles` nobody but the requester holds: on this request, nobody may decide for them."""
        return [name for name in roles if name in self.config.roles and not self.members([name], exclude=requester)]

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
        round_ = await tx.start_review_round(interview.id, roles, stamp)
        await tx.audit(actor="boussole", action="review_requested", assessment_id=interview.id,
                       detail={"round": round_, "roles": roles}, now=stamp)
        changes = await self._changes_since_previous(tx, interview)
        impact_change = await self._level_change(tx, interview)
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
        blocked = self.roles_without_decider(roles, interview.requester)
        if blocked:
            replies += await self._report_blocked(tx, interview, blocked, round_, stamp)
        return replies

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
                       "role": self.config.roles[role].label, "role_name": role,
                   }, interview.id, actions=("history",))
                   for role in blocked for admin in admins]
        labels = ", ".join(self.config.roles[role].label for role in blocked)
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
        """Tell the reviewers who still had to decide that their request no longer stands."""
        waiting = await tx.close_open_reviews(interview.id, utc_iso(now))
        roles = [role for role in waiting if role in self.config.roles]
        recipients = self.members(roles, exclude=interview.requester)
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
        return await self._decide(tx, user, DECISION_COMMANDS[command.name], command, now)

    async def _refuse(self, tx: Tx, user: str, assessment_id: int | None, reason: str, now: dt.datetime,
                      **params: Any) -> list[Reply]:
        await tx.audit(actor=user, action="decision_refused", assessment_id=assessment_id,
                       detail={"reason": reason, **{k: v for k, v in params.items() if k != "status"}},
                       now=utc_iso(now))
        return [Reply(user, ReplyKind.ERROR, f"review.refused.{reason}", {"id": assessment_id, **params},
                      assessment_id)]

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
        rows = await tx.current_round(assessment_id)
        mine = [r for r in rows if r.role in self.config.roles and user in self.config.roles[r.role].members]
        if not mine:
            return await self._refuse(tx, user, assessment_id, "not_reviewer", now)
        open_roles = [r.role for r in mine if r.decision is None]
        if not open_roles:
            done = mine[0]
            return await self._refuse(tx, user, assessment_id, "already_decided", now, by=done.reviewer or "",
                                      decision=done.decision)
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
        await tx.record_decision(assessment_id, open_roles, decision=decision.value, reviewer=user, comment=comment,
                                 now=stamp)
        await tx.audit(actor=user, action="decision", assessment_id=assessment_id,
                       detail={"decision": decision.value, "roles": open_roles, "comment": comment}, now=stamp)
        role_labels = ", ".join(self.config.roles[r].label for r in open_roles)
        common = {"id": assessment_id, "title": interview.title or "", "reviewer": user, "roles": role_labels,
                  "decision": decision.value, "comment": comment}
        replies = [Reply(user, ReplyKind.INFO, "review.recorded", common, assessment_id),
                   Reply(interview.requester, ReplyKind.DECISION, "review.decision", common, assessment_id)]
        replies += [Reply(member, ReplyKind.INFO, "review.role_decided", common, assessment_id)
                    for member in self.members(open_roles, exclude=interview.requester) if member != user]
        decided = {r.role: r.decision for r in rows}
        decided.update({role: decision.value for role in open_roles})
        replies += await self._conclude(tx, interview, decided, decision, user, comment, now)
        return replies

    async def _conclude(self, tx: Tx, interview: Interview, decided: dict[str, str | None], decision: Decision,
                        user: str, comment: str, now: dt.datetime) -> list[Reply]:
        """Apply the outcome once the decisions so far settle it."""
        stamp = utc_iso(now)
        if decision is Decision.REJECT:
            status = Status.REJECTED
        elif decision is Decision.CHANGES:
            status = Status.CHANGES_REQUESTED
        elif all(d in (Decision.APPROVE, Decision.RESERVATIONS) for d in decided.values()):
            with_reservations = any(d == Decision.RESERVATIONS for d in decided.values())
            status = Status.APPROVED_WITH_RESERVATIONS if with_reservations else Status.APPROVED
        else:
            waiting = [self.config.roles[r].label for r, d in decided.items() if d is None and r in self.config.roles]
            return [Reply(interview.requester, ReplyKind.INFO, "review.waiting",
                          {"id": interview.id, "roles": ", ".join(waiting)}, interview.id)]

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
        params = {"id": interview.id, "title": interview.title or "", "comment": comment, "date": next_review,
                  "status": status.value, "reviewer": user}
        replies = [Reply(interview.requester, ReplyKind.DECISION, f"review.outcome.{status.value}", params,
                         interview.id, actions=("resume",) if status is Status.CHANGES_REQUESTED else ())]
        replies += await self._close_reviews(tx, updated, "review.closed", {"status": status.value, "reviewer": user},
                                             now, skip=user)
        return replies

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

    async def _pending(self, tx: Tx, user: str, now: dt.datetime) -> list[Reply]:
        roles = self.config.roles_of(user)
        items = []
        if roles:
            for review in await tx.waiting_reviews(roles=roles, not_requested_by=user):
                waited = now - dt.datetime.fromisoformat(review.requested_at)
                items.append({"id": review.assessment_id, "title": review.title or "", "requester": review.requester,
                              "role": self.config.roles[review.role].label, "days": waited.days})
        return [Reply(user, ReplyKind.INFO, "review.pending", {"items": items, "reviewer": bool(roles)},
                      actions=())]

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
            return [Reply(user, ReplyKind.ERROR, "error.not_found", {"id": assessment_id or command.argument})]
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
            return [Reply(user, ReplyKind.ERROR, "error.not_found", {"id": assessment_id or command.argument})]
        trail = await tx.audit_trail(row.interview.id)
        entries = [{"at": a.at, "actor": a.actor, "action": a.action, "detail": a.detail} for a in trail]
        return [Reply(user, ReplyKind.INFO, "review.history", {"id": row.interview.id, "entries": entries},
                      row.interview.id)]
