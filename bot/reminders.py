"""The reminder sweep: reads what is due from the database and queues each notice once.

Re-evaluation reminders before the date and on the day, escalation of overdue ones to the
direction's managers (then weekly), nudges for idle drafts and for reviews waiting too
long, and re-evaluation after a new questionnaire version. Each notice has a key recorded
in `notices_sent` in the same transaction as the message it queues, so a sweep run twice,
two sweeps at once, or a sweep after days of downtime sends each notice once; only the
latest of several missed reminders for the same date is sent.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.storage import Tx
from conversations.model import Reply, ReplyKind, utc_iso

if TYPE_CHECKING:
    from bot.app import Boussole

logger = logging.getLogger(__name__)
APPROVED = ("approved", "approved_with_reservations")


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

    CHUNK = 500

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
        keys = list(self.candidates)
        sent: set[str] = set()
        for start in range(0, len(keys), self.CHUNK):
            chunk = keys[start:start + self.CHUNK]
            rows = await self.tx.fetchall(
                f"SELECT key FROM notices_sent WHERE key IN ({','.join('?' * len(chunk))})", chunk)
            sent.update(r["key"] for r in rows)
        fresh = [n for k, n in self.candidates.items() if k not in sent]
        if not self.dry_run:
            await self.tx.executemany(
                "INSERT INTO notices_sent(key, recipient, kind, assessment_id, sent_at) VALUES (?, ?, ?, ?, ?)",
                [(n.key, n.recipient, n.kind, n.assessment, self.stamp) for n in fresh])
        self.candidates = {}
        self.notices.extend(fresh)
        return fresh


def _at(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso)


async def _reevaluations(app: Boussole, batch: Batch) -> None:
    rules = app.config.reminders
    horizon = batch.now + dt.timedelta(days=max(rules.before_days, default=0))
    rows = await batch.tx.fetchall(
        "SELECT a.id, a.requester, a.title, a.direction, a.next_review_at FROM assessments AS a "
        "WHERE a.next_review_at IS NOT NULL AND a.next_review_at <= ? AND a.status IN (?, ?) "
        "AND NOT EXISTS (SELECT 1 FROM assessments AS r WHERE r.previous_id = a.id "
        "AND r.status NOT IN ('draft', 'changes_requested', 'withdrawn'))",
        (utc_iso(horizon), *APPROVED))
    for row in rows:
        due = _at(row["next_review_at"])
        params = {"id": row["id"], "title": row["title"] or "", "date": row["next_review_at"]}
        # Only the latest reminder that fell due counts: after downtime, one message, not three.
        candidates = sorted([(due - dt.timedelta(days=d), f"before{d}") for d in rules.before_days] + [(due, "due")])
        passed = [(when, label) for when, label in candidates if when <= batch.now]
        if passed:
            label = passed[-1][1]
            days = max(0, (due.date() - batch.now.date()).days)
            batch.add(f"reeval:{row['id']}:{row['next_review_at']}:{label}", row["requester"],
                            "reevaluation_due" if label == "due" else "reevaluation_soon", row["id"],
                            "reminder.due" if label == "due" else "reminder.before", {**params, "days": days},
                            actions=("reevaluate",))
        escalate_from = due + dt.timedelta(days=rules.escalate_after_days)
        if batch.now >= escalate_from:
            week = (batch.now - escalate_from).days // 7
            direction = app.config.directions.get(row["direction"] or "")
            managers = (direction.managers if direction and direction.managers else app.config.admins)
            late = (batch.now - due).days
            for manager in managers:
                batch.add(f"escalate:{row['id']}:{row['next_review_at']}:{week}", manager, "escalation",
                                row["id"], "reminder.overdue", {
                                    **params, "days": late, "requester": row["requester"],
                                    "direction": direction.label if direction else (row["direction"] or "-")})


async def _idle_drafts(app: Boussole, batch: Batch) -> None:
    limit = batch.now - dt.timedelta(days=app.config.reminders.draft_idle_days)
    # The already-sent test is in SQL (the key is computable there): a steady sweep reads nothing.
    rows = await batch.tx.fetchall(
        "SELECT a.id, a.requester, a.title, a.updated_at FROM assessments AS a "
        "WHERE a.status IN ('draft', 'changes_requested') AND a.updated_at <= ? AND NOT EXISTS "
        "(SELECT 1 FROM notices_sent WHERE key = 'idle:' || a.id || ':' || a.updated_at || '>' || a.requester)",
        (utc_iso(limit),))
    for row in rows:
        days = (batch.now - _at(row["updated_at"])).days
        batch.add(f"idle:{row['id']}:{row['updated_at']}", row["requester"], "draft_idle", row["id"],
                        "reminder.idle", {"id": row["id"], "title": row["title"] or "", "days": days},
                        actions=("resume",))


async def _waiting_reviews(app: Boussole, batch: Batch) -> None:
    every = app.config.reminders.review_pending_days
    limit = batch.now - dt.timedelta(days=every)
    # Every member's nudge for one period is claimed together: one key in the range tells them all.
    rows = await batch.tx.fetchall(
        "SELECT * FROM (SELECT a.id, a.title, a.requester, r.round, r.role, r.requested_at, "
        "'review:' || a.id || ':' || r.round || ':' || r.role || ':' || "
        "CAST((julianday(?1) - julianday(r.requested_at)) / ?2 AS INTEGER) AS prefix FROM reviews AS r "
        "JOIN assessments AS a ON a.id = r.assessment_id AND r.round = a.review_round "
        "WHERE r.decision IS NULL AND a.status = 'in_review' AND r.requested_at <= ?3) AS w "
        "WHERE NOT EXISTS (SELECT 1 FROM notices_sent WHERE key > w.prefix || '>' AND key < w.prefix || '?')",
        (batch.stamp, every, utc_iso(limit)))
    for row in rows:
        role = app.config.roles.get(row["role"])
        if role is None:
            continue
        days = (batch.now - _at(row["requested_at"])).days
        period = days // every
        for member in role.members:
            if member == row["requester"]:
                continue
            batch.add(f"review:{row['id']}:{row['round']}:{row['role']}:{period}", member, "review_waiting",
                            row["id"], "reminder.review", {"id": row["id"], "title": row["title"] or "",
                                                           "days": days, "role": role.label},
                            actions=("approve", "reservations", "request_changes", "reject"))


async def _new_version(app: Boussole, batch: Batch) -> None:
    """A new questionnaire version: approved uses answered under an older one are re-evaluated soon."""
    version = app.questionnaire.version
    marker = f"version-applied:{version}"
    if await batch.tx.notice_sent(f"{marker}>boussole"):
        return
    deadline = utc_iso(batch.now + dt.timedelta(days=app.config.reminders.new_version_delay_days))
    rows = await batch.tx.fetchall(
        "SELECT id, requester, title, next_review_at FROM assessments "
        "WHERE status IN (?, ?) AND questionnaire_version != ?", (*APPROVED, version))
    new_dates = {}
    for row in rows:
        new_dates[row["id"]] = min(row["next_review_at"] or deadline, deadline)
        batch.add(f"version:{row['id']}:{version}", row["requester"], "new_questionnaire", row["id"],
                  "reminder.new_version", {"id": row["id"], "title": row["title"] or "", "version": version,
                                           "date": new_dates[row["id"]]}, actions=("reevaluate",))
    fresh = await batch.settle()
    if not batch.dry_run:
        await batch.tx.executemany("UPDATE assessments SET next_review_at = ? WHERE id = ?",
                                   [(new_dates[n.assessment], n.assessment) for n in fresh
                                    if n.assessment is not None])
        await batch.tx.claim_notice(f"{marker}>boussole", recipient="boussole", kind="version_applied",
                                    assessment_id=None, now=batch.stamp)


async def sweep(app: Boussole, now: dt.datetime, *, dry_run: bool = False) -> list[Notice]:
    """Queue every reminder due at `now`, once; with dry_run, only say what would be queued."""
    context = app.db.reading() if dry_run else app.db.transaction()
    async with context as tx:
        batch = Batch(tx, now, dry_run=dry_run)
        await _new_version(app, batch)
        await _reevaluations(app, batch)
        await _idle_drafts(app, batch)
        await _waiting_reviews(app, batch)
        await batch.settle()
        if not dry_run and batch.notices:
            await app.enqueue(tx, [n.reply for n in batch.notices], batch.stamp)
            await tx.audit(actor="boussole", action="reminders_sent", assessment_id=None,
                           detail={"count": len(batch.notices)}, now=batch.stamp)
    if batch.notices and not dry_run:
        app.notify_outbox()
    return batch.notices
