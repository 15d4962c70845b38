"""Digests: what each manager's directions did lately, and what waits for each reviewer.

A manager's digest covers, for their directions: new requests, reviews pending and their
age, blockers raised, decisions, re-evaluations due within 30 days and overdue, each use with
its impact level once submitted; and what holds reviews up: reviews overdue by role, questions
waiting for requesters, reviewers away with no delegate. The period runs from that manager's
previous digest (at most 31 days back). A slot key makes a scheduled digest go out once, whatever
restarts or DST changes happen around it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from bot.reminders import Batch, Notice
from bot.review import WaitingRequest
from bot.storage import Tx
from conversations.impact import impact
from conversations.model import ReplyKind, Status, utc_iso

if TYPE_CHECKING:
    from bot.app import Boussole

SOON_DAYS = 30
MAX_PERIOD_DAYS = 31
SECTION_LINES = 25  # a digest is read by a person: beyond this, a count
SECTIONS = ("new", "pending", "blockers", "decisions", "soon", "overdue")
REVIEW_SECTIONS = ("overdue_reviews", "questions", "absences")


async def _period_start(batch: Batch, manager: str) -> str:
    last = await batch.tx.last_digest_at(manager)
    oldest = utc_iso(batch.now - dt.timedelta(days=MAX_PERIOD_DAYS))
    floor = utc_iso(batch.now - dt.timedelta(days=7))
    return max(last, oldest) if last else floor


async def manager_digest(app: Boussole, batch: Batch, manager: str, directions: list[str],
                         waiting: list[WaitingRequest]) -> dict[str, Any]:
    tx, now = batch.tx, batch.now
    since = await _period_start(batch, manager)
    new = await tx.created_since(directions, since)
    pending = [r for r in waiting if r.review.direction in directions]  # age: open questions' time left out
    blockers = await tx.blockers_since(directions, since)
    decisions = await tx.decided_since(directions, since)
    soon = await tx.reevaluations_within(directions, utc_iso(now), utc_iso(now + dt.timedelta(days=SOON_DAYS)))
    overdue = await tx.reevaluations_overdue(directions, utc_iso(now))

    def age(iso: str | None) -> int:
        return (now - dt.datetime.fromisoformat(iso)).days if iso else 0

    content = {
        "directions": [app.config.directions[name].label for name in directions],
        "since": since,
        "new": [{"id": r.id, "title": r.title or "", "requester": r.requester, "status": r.status} for r in new],
        "pending": [{"id": r.review.assessment_id, "title": r.review.title or "",
                     "role": app.review.label(r.review.role), "days": r.waited.days} for r in pending],
        "blockers": [{"id": r.id, "title": r.title or "", "criterion": criterion} for r, criterion in blockers],
        "decisions": [{"id": r.id, "title": r.title or "", "status": r.status} for r in decisions],
        "soon": [{"id": r.id, "title": r.title or "", "date": r.next_review_at} for r in soon],
        "overdue": [{"id": r.id, "title": r.title or "", "date": r.next_review_at, "days": age(r.next_review_at)}
                    for r in overdue],
        **await review_sections(app, batch, pending),
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


async def review_sections(app: Boussole, batch: Batch, requests: list[WaitingRequest]
                          ) -> dict[str, list[dict[str, Any]]]:
    """What holds these waiting requests up: those overdue (past `review_pending_days`, time with a question
    open to the requester left out), by role; questions still waiting for the requester; and reviewers away
    with no delegate."""
    every = app.config.reminders.review_pending_days


    overdue = sorted((r for r in requests if r.waited.days >= every),
                     key=lambda r: (app.review.label(r.review.role), -r.waited.total_seconds()))
    asked = {q.id: (r.review, q) for r in requests for q in r.open_questions}
    today = app.review.today(batch.now).isoformat()
    alone = [a for a in await batch.tx.absences_on(today) if a.delegate is None and app.config.roles_of(a.user)]
    return {
        "overdue_reviews": [{"id": r.review.assessment_id, "title": r.review.title or "",
                             "role": app.review.label(r.review.role), "days": r.waited.days} for r in overdue],
        "questions": [{"id": review.assessment_id, "title": review.title or "", "reviewer": q.asked_by,
                       "requester": review.requester,
                       "days": (batch.now - dt.datetime.fromisoformat(q.asked_at)).days}
                      for review, q in sorted(asked.values(), key=lambda pair: pair[1].id)],
        "absences": [{"reviewer": a.user, "date": a.ends_on,
                      "roles": ", ".join(app.review.label(r) for r in app.config.roles_of(a.user))} for a in alone],
    }


def _capped(content: dict[str, Any]) -> dict[str, Any]:
    """Keep the first lines of each section and the number left out."""
    for name in (*SECTIONS, *REVIEW_SECTIONS):
        items = content.get(name)
        if items is not None and len(items) > SECTION_LINES:
            content[f"{name}_more"] = len(items) - SECTION_LINES
            content[name] = items[:SECTION_LINES]
    return content


async def reviewer_digest(app: Boussole, batch: Batch, reviewer: str, waiting: list[WaitingRequest]
                          ) -> dict[str, Any]:
    """What waits for this person: in their roles, as a delegate, or handed to them (time paused by an open
    question to the requester left out)."""
    pending = app.review.pending_in(waiting, reviewer, held_only=True)
    return _capped({"pending": [{"id": p.assessment_id, "title": p.title, "role": p.role_label, "days": p.days}
                                for p in pending]})


def _empty(content: dict[str, Any]) -> bool:
    return not any(content[k] for k in ("new", "pending", "blockers", "decisions", "soon", "overdue",
                                        *REVIEW_SECTIONS) if k in content)


async def run_digests(app: Boussole, now: dt.datetime, *, slot: str, only: str | None = None,
                      dry_run: bool = False) -> list[Notice]:
    """Queue every manager's and reviewer's digest for `slot` (a scheduled instant, or 'manual:…')."""
    managed: dict[str, list[str]] = {}
    for name, direction in app.config.directions.items():
        for manager in direction.managers:
            managed.setdefault(manager, []).append(name)
    reviewers = {m for role in app.config.roles.values() for m in role.members}
    skip_empty = app.config.digest.skip_empty
    context = app.db.reading() if dry_run else app.db.transaction()
    async with context as tx:
        batch = Batch(tx, now, dry_run=dry_run)
        # Each digest carries the trail's head as it goes out: a later truncation or rewrite fails against it.
        audit_head = await tx.audit_head()
        # delegates standing in today, and people a request was handed to, hear of what waits for them too
        today = app.review.today(now).isoformat()
        reviewers |= {a.delegate for a in await tx.absences_on(today) if a.delegate}
        reviewers |= set((await tx.assignments()).values())
        waiting = await app.review.waiting_requests(tx, now)  # read once for every digest of the run
        for manager, directions in managed.items():
            if only is not None and manager != only:
                continue
            content = await manager_digest(app, batch, manager, directions, waiting)
            if skip_empty and _empty(content):
                continue
            content["audit_head"] = audit_head.as_json()
            batch.add(f"digest:{slot}", manager, "digest", None, "digest.manager", content,
                            reply_kind=ReplyKind.DIGEST)
        for reviewer in sorted(reviewers):
            if only is not None and reviewer != only:
                continue
            content = await reviewer_digest(app, batch, reviewer, waiting)
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
