"""Digests: what each manager's directions did lately, and what waits for each reviewer.

A manager's digest covers, for their directions: new requests, reviews pending and their
age, blockers raised, decisions, re-evaluations due within 30 days and overdue. The period
runs from that manager's previous digest (at most 31 days back). A slot key makes a
scheduled digest go out once, whatever restarts or DST changes happen around it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from bot.reminders import APPROVED, Batch, Notice
from conversations.model import ReplyKind, utc_iso

if TYPE_CHECKING:
    from bot.app import Boussole

SOON_DAYS = 30
MAX_PERIOD_DAYS = 31
SECTION_LINES = 25  # a digest is read by a person: beyond this, a count


def _marks(values: list[str]) -> str:
    return ",".join("?" * len(values))


async def _period_start(batch: Batch, manager: str) -> str:
    row = await batch.tx.fetchone("SELECT MAX(sent_at) AS last FROM notices_sent WHERE kind = 'digest' "
                                  "AND recipient = ?", (manager,))
    oldest = utc_iso(batch.now - dt.timedelta(days=MAX_PERIOD_DAYS))
    floor = utc_iso(batch.now - dt.timedelta(days=7))
    return max(row["last"], oldest) if row and row["last"] else floor


async def manager_digest(app: Boussole, batch: Batch, manager: str, directions: list[str]) -> dict[str, Any]:
    tx, now = batch.tx, batch.now
    since = await _period_start(batch, manager)
    d = _marks(directions)
    new = await tx.fetchall(f"SELECT id, title, requester, status FROM assessments WHERE direction IN ({d}) "
                            "AND created_at >= ? ORDER BY id", (*directions, since))
    pending = await tx.fetchall(
        "SELECT a.id, a.title, r.role, r.requested_at FROM reviews AS r "
        "JOIN assessments AS a ON a.id = r.assessment_id AND r.round = a.review_round "
        f"WHERE r.decision IS NULL AND a.status = 'in_review' AND a.direction IN ({d}) ORDER BY r.requested_at",
        tuple(directions))
    blockers = await tx.fetchall(
        "SELECT DISTINCT a.id, a.title, f.criterion FROM findings AS f JOIN assessments AS a ON a.id = f.assessment_id "
        f"WHERE f.level = 'blocker' AND f.raised_at >= ? AND a.direction IN ({d}) ORDER BY a.id",
        (since, *directions))
    decisions = await tx.fetchall(
        "SELECT a.id, a.title, a.status FROM assessments AS a WHERE a.decided_at >= ? "
        f"AND a.direction IN ({d}) ORDER BY a.decided_at", (since, *directions))
    soon = await tx.fetchall(
        f"SELECT id, title, next_review_at FROM assessments WHERE status IN (?, ?) AND direction IN ({d}) "
        "AND next_review_at >= ? AND next_review_at <= ? ORDER BY next_review_at",
        (*APPROVED, *directions, utc_iso(now), utc_iso(now + dt.timedelta(days=SOON_DAYS))))
    overdue = await tx.fetchall(
        f"SELECT id, title, next_review_at FROM assessments WHERE status IN (?, ?) AND direction IN ({d}) "
        "AND next_review_at < ? ORDER BY next_review_at", (*APPROVED, *directions, utc_iso(now)))

    def age(iso: str) -> int:
        return (now - dt.datetime.fromisoformat(iso)).days

    content = {
        "directions": [app.config.directions[name].label for name in directions],
        "since": since,
        "new": [{"id": r["id"], "title": r["title"] or "", "requester": r["requester"], "status": r["status"]}
                for r in new],
        "pending": [{"id": r["id"], "title": r["title"] or "", "role": app.config.roles[r["role"]].label
                     if r["role"] in app.config.roles else r["role"], "days": age(r["requested_at"])}
                    for r in pending],
        "blockers": [{"id": r["id"], "title": r["title"] or "", "criterion": r["criterion"]} for r in blockers],
        "decisions": [{"id": r["id"], "title": r["title"] or "", "status": r["status"]} for r in decisions],
        "soon": [{"id": r["id"], "title": r["title"] or "", "date": r["next_review_at"]} for r in soon],
        "overdue": [{"id": r["id"], "title": r["title"] or "", "date": r["next_review_at"],
                     "days": age(r["next_review_at"])} for r in overdue],
    }
    return _capped(content)


def _capped(content: dict[str, Any]) -> dict[str, Any]:
    """Keep the first lines of each section and the number left out."""
    for name in ("new", "pending", "blockers", "decisions", "soon", "overdue"):
        items = content.get(name)
        if items is not None and len(items) > SECTION_LINES:
            content[f"{name}_more"] = len(items) - SECTION_LINES
            content[name] = items[:SECTION_LINES]
    return content


async def reviewer_digest(app: Boussole, batch: Batch, reviewer: str) -> dict[str, Any]:
    roles = app.config.roles_of(reviewer)
    rows = await batch.tx.fetchall(
        "SELECT a.id, a.title, r.role, r.requested_at FROM reviews AS r "
        "JOIN assessments AS a ON a.id = r.assessment_id AND r.round = a.review_round "
        f"WHERE r.decision IS NULL AND a.status = 'in_review' AND r.role IN ({_marks(roles)}) AND a.requester != ? "
        "ORDER BY r.requested_at", (*roles, reviewer))
    return _capped({"pending": [{"id": r["id"], "title": r["title"] or "", "role": app.config.roles[r["role"]].label,
                                 "days": (batch.now - dt.datetime.fromisoformat(r["requested_at"])).days}
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
        for manager, directions in managed.items():
            if only is not None and manager != only:
                continue
            content = await manager_digest(app, batch, manager, directions)
            if skip_empty and _empty(content):
                continue
            batch.add(f"digest:{slot}", manager, "digest", None, "digest.manager", content,
                            reply_kind=ReplyKind.DIGEST)
        for reviewer in reviewers:
            if only is not None and reviewer != only:
                continue
            content = await reviewer_digest(app, batch, reviewer)
            if skip_empty and not content["pending"]:
                continue
            batch.add(f"reviewer-digest:{slot}", reviewer, "reviewer_digest", None, "digest.reviewer",
                            content, reply_kind=ReplyKind.DIGEST)
        await batch.settle()
        if not dry_run and batch.notices:
            await app.enqueue(tx, [n.reply for n in batch.notices], batch.stamp)
    if batch.notices and not dry_run:
        app.notify_outbox()
    return batch.notices
