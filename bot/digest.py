"""Digests: what each manager's directions did lately, and what waits for each reviewer.

A manager's digest covers, for their directions: new requests, reviews pending and their
age, blockers raised, decisions, re-evaluations due within 30 days and overdue, each use with
its impact level once submitted. The period runs from that manager's previous digest (at
most 31 days back). A slot key makes a scheduled digest go out once, whatever restarts or
DST changes happen around it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from bot.reminders import Batch, Notice
from bot.storage import Tx
from conversations.impact import impact
from conversations.model import ReplyKind, Status, utc_iso

if TYPE_CHECKING:
    from bot.app import Boussole

SOON_DAYS = 30
MAX_PERIOD_DAYS = 31
SECTION_LINES = 25  # a digest is read by a person: beyond this, a count
SECTIONS = ("new", "pending", "blockers", "decisions", "soon", "overdue")


async def _period_start(batch: Batch, manager: str) -> str:
    last = await batch.tx.last_digest_at(manager)
    oldest = utc_iso(batch.now - dt.timedelta(days=MAX_PERIOD_DAYS))
    floor = utc_iso(batch.now - dt.timedelta(days=7))
    return max(last, oldest) if last else floor


async def manager_digest(app: Boussole, batch: Batch, manager: str, directions: list[str]) -> dict[str, Any]:
    tx, now = batch.tx, batch.now
    since = await _period_start(batch, manager)
    new = await tx.created_since(directions, since)
    pending = await tx.waiting_reviews(directions=directions)
    blockers = await tx.blockers_since(directions, since)
    decisions = await tx.decided_since(directions, since)
    soon = await tx.reevaluations_within(directions, utc_iso(now), utc_iso(now + dt.timedelta(days=SOON_DAYS)))
    overdue = await tx.reevaluations_overdue(directions, utc_iso(now))

    def age(iso: str | None) -> int:
        return (now - dt.datetime.fromisoformat(iso)).days if iso else 0

    def role_label(role: str) -> str:
        return app.config.roles[role].label if role in app.config.roles else role

    content = {
        "directions": [app.config.directions[name].label for name in directions],
        "since": since,
        "new": [{"id": r.id, "title": r.title or "", "requester": r.requester, "status": r.status} for r in new],
        "pending": [{"id": r.assessment_id, "title": r.title or "", "role": role_label(r.role),
                     "days": age(r.requested_at)} for r in pending],
        "blockers": [{"id": r.id, "title": r.title or "", "criterion": criterion} for r, criterion in blockers],
        "decisions": [{"id": r.id, "title": r.title or "", "status": r.status} for r in decisions],
        "soon": [{"id": r.id, "title": r.title or "", "date": r.next_review_at} for r in soon],
        "overdue": [{"id": r.id, "title": r.title or "", "date": r.next_review_at, "days": age(r.next_review_at)}
                    for r in overdue],
    }
    capped = _capped(content)
    await _with_impact_levels(app, tx, capped)
    return capped


async def _with_impact_levels(app: Boussole, tx: Tx, content: dict[str, Any]) -> None:
    """Each listed use's impact level (I–IV) once it is submitted, what a manager weighs first; none for a draft,
    whose answers may still change, nor under a questionnaire version without weights."""
    levels: dict[int, str | None] = {}
    for name in SECTIONS:
        for item in content.get(name, []):
            if item["id"] not in levels:
                row = await tx.assessment(item["id"])
                level = (impact(app.review.qn(row.interview), row.interview.answers)
                         if row is not None and row.interview.status is not Status.DRAFT else None)
                levels[item["id"]] = level.roman if level is not None else None
            if levels[item["id"]]:
                item["impact"] = levels[item["id"]]


def _capped(content: dict[str, Any]) -> dict[str, Any]:
    """Keep the first lines of each section and the number left out."""
    for name in SECTIONS:
        items = content.get(name)
        if items is not None and len(items) > SECTION_LINES:
            content[f"{name}_more"] = len(items) - SECTION_LINES
            content[name] = items[:SECTION_LINES]
    return content


async def reviewer_digest(app: Boussole, batch: Batch, reviewer: str) -> dict[str, Any]:
    roles = app.config.roles_of(reviewer)
    rows = await batch.tx.waiting_reviews(roles=roles, not_requested_by=reviewer)
    return _capped({"pending": [{"id": r.assessment_id, "title": r.title or "", "role": app.config.roles[r.role].label,
                                 "days": (batch.now - dt.datetime.fromisoformat(r.requested_at)).days}
                                for r in rows]})


def _empty(content: dict[str, Any]) -> bool:
    return not any(content[k] for k in ("new", "pending", "blockers", "decisions", "soon", "overdue") if k in content)


async def run_digests(app: Boussole, now: dt.datetime, *, slot: str, only: str | None = None,
                      dry_run: bool = False) -> list[Notice]:
    """Queue every manager's and reviewer's digest for `slot` (a scheduled instant, or 'manual:…')."""
    managed: dict[str, list[str]] = {}
    for name, direction in app.config.directions.items():
        for manager in direction.managers:
            managed.setdefault(manager, []).append(name)
    reviewers = sorted({m for role in app.config.roles.values() for m in role.members})
    skip_empty = app.config.digest.skip_empty
    context = app.db.reading() if dry_run else app.db.transaction()
    async with context as tx:
        batch = Batch(tx, now, dry_run=dry_run)
        # Each digest carries the trail's head as it goes out: a later truncation or rewrite fails against it.
        audit_head = await tx.audit_head()
        for manager, directions in managed.items():
            if only is not None and manager != only:
                continue
            content = await manager_digest(app, batch, manager, directions)
            if skip_empty and _empty(content):
                continue
            content["audit_head"] = audit_head.as_json()
            batch.add(f"digest:{slot}", manager, "digest", None, "digest.manager", content,
                            reply_kind=ReplyKind.DIGEST)
        for reviewer in reviewers:
            if only is not None and reviewer != only:
                continue
            content = await reviewer_digest(app, batch, reviewer)
            if skip_empty and not content["pending"]:
                continue
            content["audit_head"] = audit_head.as_json()
            batch.add(f"reviewer-digest:{slot}", reviewer, "reviewer_digest", None, "digest.reviewer",
                            content, reply_kind=ReplyKind.DIGEST)
        await batch.settle()
        if not dry_run and batch.notices:
            await app.enqueue(tx, [n.reply for n in batch.notices], batch.stamp)
    if batch.notices and not dry_run:
        app.notify_outbox()
    return batch.notices
