"""The reminder sweep: reads what is due from the database and queues each notice once.

Re-evaluation reminders before the date and on the day (one sent after its day says how
late it is), escalation of overdue ones to the direction's managers (then weekly), nudges
for idle drafts and for reviews waiting too long, escalation of reviews still undecided
after `escalate_after_days` to the admins (then weekly), and re-evaluation after a new
questionnaire version. Each notice has a key recorded in `notices_sent` in the same
transaction as the message it queues, so a sweep run twice, two sweeps at once, or a sweep
after days of downtime sends each notice once; only the latest of several missed reminders
for the same date is sent.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.review import WaitingRequest
from bot.storage import NoticeClaim, Tx
from conversations.model import Reply, ReplyKind, utc_iso

if TYPE_CHECKING:
    from bot.app import Boussole

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notice:
    """One message a sweep or a digest run queued (or, dry, would queue)."""

    key: str
    recipient: str
    kind: str
    assessment: int | None
    reply: Reply

    def line(self) -> str:
        return f"{self.recipient}\t{self.kind}\t{self.assessment if self.assessment is not None else '-'}"


class Batch:
    """Collects the candidate notices of one run, then keeps and claims those not sent before.

    Candidates are checked against `notices_sent` in bulk, so a sweep that finds nothing
    new costs a few queries, not one per item still due.
    """

    def __init__(self, tx: Tx, now: dt.datetime, *, dry_run: bool) -> None:
        self.tx = tx
        self.now = now
        self.stamp = utc_iso(now)
        self.dry_run = dry_run
        self.candidates: dict[str, Notice] = {}
        self.notices: list[Notice] = []

    def add(self, key: str, recipient: str, kind: str, assessment: int | None, reply_key: str,
            params: dict[str, Any], reply_kind: ReplyKind = ReplyKind.REMINDER,
            actions: tuple[str, ...] = ()) -> None:
        full_key = f"{key}>{recipient}"
        reply = Reply(recipient, reply_kind, reply_key, params, assessment, actions=actions)
        self.candidates.setdefault(full_key, Notice(full_key, recipient, kind, assessment, reply))

    async def settle(self) -> list[Notice]:
        """Drop the candidates already sent; claim the others (unless dry). Returns the new ones."""
        sent = await self.tx.sent_keys(list(self.candidates))
        fresh = [n for k, n in self.candidates.items() if k not in sent]
        if not self.dry_run:
            await self.tx.claim_notices([NoticeClaim(n.key, n.recipient, n.kind, n.assessment) for n in fresh],
                                        self.stamp)
        self.candidates = {}
        self.notices.extend(fresh)
        return fresh


def _at(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso)


async def _reevaluations(app: Boussole, batch: Batch) -> None:
    rules = app.config.reminders
    zone = app.config.zone
    horizon = batch.now + dt.timedelta(days=max(rules.before_days, default=0))
    for row in await batch.tx.reevaluations_due(utc_iso(horizon)):
        assert row.next_review_at is not None
        due = _at(row.next_review_at)
        params = {"id": row.id, "title": row.title or "", "date": row.next_review_at}
        # Only the latest reminder that fell due counts: after downtime, one message, not three.
        candidates = sorted([(due - dt.timedelta(days=d), f"before{d}") for d in rules.before_days] + [(due, "due")])
        passed = [(when, label) for when, label in candidates if when <= batch.now]
        if passed:
            label = passed[-1][1]
            # Days counted between dates in the configured zone: a reminder sent after its day says it is late.
            days = (due.astimezone(zone).date() - batch.now.astimezone(zone).date()).days
            message = "reminder.before" if days > 0 else "reminder.due" if days == 0 else "reminder.late"
            batch.add(f"reeval:{row.id}:{row.next_review_at}:{label}", row.requester,
                      "reevaluation_due" if label == "due" else "reevaluation_soon", row.id,
                      message, {**params, "days": abs(days)}, actions=("reevaluate",))
        escalate_from = due + dt.timedelta(days=rules.escalate_after_days)
        if batch.now >= escalate_from:
            week = (batch.now - escalate_from).days // 7
            direction = app.config.directions.get(row.direction or "")
            managers = (direction.managers if direction and direction.managers else app.config.admins)
            late = (batch.now - due).days
            for manager in managers:
                batch.add(f"escalate:{row.id}:{row.next_review_at}:{week}", manager, "escalation", row.id,
                          "reminder.overdue", {**params, "days": late, "requester": row.requester,
                                               "direction": direction.label if direction else (row.direction or "-")})


async def _idle_drafts(app: Boussole, batch: Batch) -> None:
    limit = batch.now - dt.timedelta(days=app.config.reminders.draft_idle_days)
    for row in await batch.tx.idle_drafts(utc_iso(limit)):
        days = (batch.now - _at(row.updated_at)).days
        batch.add(f"idle:{row.id}:{row.updated_at}", row.requester, "draft_idle", row.id,
                  "reminder.idle", {"id": row.id, "title": row.title or "", "days": days}, actions=("resume",))


async def _waiting_reviews(app: Boussole, batch: Batch, requests: list[WaitingRequest]) -> None:
    """Requests waiting `review_pending_days` or more (time with a question open to the requester left out):
    each holder of a seat still open is nudged (a delegate in place of an absent member), then each period."""
    every = app.config.reminders.review_pending_days
    for request in requests:
        review, days = request.review, request.waited.days
        role = app.config.roles.get(review.role)
        if role is None or days < every:
            continue
        period = days // every
        for holder in dict.fromkeys(seat.holder for seat in request.open_seats):
            if holder == review.requester:
                continue
            batch.add(f"review:{review.assessment_id}:{review.round}:{review.role}:{period}", holder,
                      "review_waiting", review.assessment_id, "reminder.review",
                      {"id": review.assessment_id, "title": review.title or "", "days": days, "role": role.label},
                      actions=("approve", "reservations", "request_changes", "reject"))


async def _handed_over(app: Boussole, batch: Batch, requests: list[WaitingRequest]) -> None:
    """An absence has begun: the requests that were waiting for the absent member go to their delegate, once."""
    for key, reply in await app.review.requests_to_hand_over(batch.tx, batch.now, requests):
        batch.add(key, reply.to, "review_handed_over", reply.assessment, reply.key, dict(reply.params), reply.kind,
                  reply.actions)


async def _stalled_reviews(app: Boussole, batch: Batch, requests: list[WaitingRequest]) -> None:
    """Reviews undecided past `escalate_after_days` (time with a question open to the requester left out): one
    notice per assessment to each admin, then weekly.

    The roles' own members are nudged by `_waiting_reviews`; the admins are the ones who can
    name other reviewers when those do not answer, or when only the requester holds a role.
    """
    after = app.config.reminders.escalate_after_days
    rounds: dict[tuple[int, int], list[WaitingRequest]] = {}
    for request in requests:
        if request.waited >= dt.timedelta(days=after):
            rounds.setdefault((request.review.assessment_id, request.review.round), []).append(request)
    for (assessment_id, round_), requests in rounds.items():
        first = requests[0].review
        longest = max(request.waited for request in requests)
        week = (longest - dt.timedelta(days=after)).days // 7
        roles = [r.review.role for r in requests]
        # A role since removed from the configuration is still waited for: show its name.
        labels = [app.review.label(r) for r in roles]
        blocked = app.review.roles_without_decider(roles, first.requester)
        params: dict[str, Any] = {"id": assessment_id, "title": first.title or "", "requester": first.requester,
                                  "days": longest.days, "roles": ", ".join(labels)}
        key = "reminder.review_escalated"
        if blocked:
            key = "reminder.review_escalated_blocked"
            params["blocked"] = ", ".join(app.review.label(r) for r in blocked)
        for admin in app.config.admins:
            batch.add(f"review-escalate:{assessment_id}:{round_}:{week}", admin, "review_escalated", assessment_id,
                      key, params, actions=("history",))


async def _new_version(app: Boussole, batch: Batch) -> None:
    """A new questionnaire version: approved uses answered under an older one are re-evaluated soon."""
    version = app.questionnaire.version
    marker = f"version-applied:{version}"
    if await batch.tx.notice_sent(f"{marker}>boussole"):
        return
    deadline = utc_iso(batch.now + dt.timedelta(days=app.config.reminders.new_version_delay_days))
    new_dates = {}
    for row in await batch.tx.approved_under_other_version(version):
        new_dates[row.id] = min(row.next_review_at or deadline, deadline)
        batch.add(f"version:{row.id}:{version}", row.requester, "new_questionnaire", row.id,
                  "reminder.new_version", {"id": row.id, "title": row.title or "", "version": version,
                                           "date": new_dates[row.id]}, actions=("reevaluate",))
    fresh = await batch.settle()
    if not batch.dry_run:
        await batch.tx.set_next_review_dates({n.assessment: new_dates[n.assessment] for n in fresh
                                              if n.assessment is not None})
        await batch.tx.claim_notice(NoticeClaim(f"{marker}>boussole", "boussole", "version_applied", None),
                                    batch.stamp)


async def sweep(app: Boussole, now: dt.datetime, *, dry_run: bool = False) -> list[Notice]:
    """Queue every reminder due at `now`, once; with dry_run, only say what would be queued."""
    context = app.db.reading() if dry_run else app.db.transaction()
    async with context as tx:
        batch = Batch(tx, now, dry_run=dry_run)
        await _new_version(app, batch)
        await _reevaluations(app, batch)
        await _idle_drafts(app, batch)
        waiting = await app.review.waiting_requests(tx, now)  # read once: nudges, hand-overs, escalations
        await _waiting_reviews(app, batch, waiting)
        await _handed_over(app, batch, waiting)
        await _stalled_reviews(app, batch, waiting)
        await batch.settle()
        if not dry_run and batch.notices:
            await app.enqueue(tx, [n.reply for n in batch.notices], batch.stamp)
            await tx.audit(actor="boussole", action="reminders_sent", assessment_id=None,
                           detail={"count": len(batch.notices)}, now=batch.stamp)
    if batch.notices and not dry_run:
        app.notify_outbox()
    return batch.notices
