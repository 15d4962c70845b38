"""The user's own overview: `tableau` / `dashboard` on every transport, the Slack Home tab, the Matrix
message edited in place.

`build` reads, in the caller's transaction, what one user has in play: their assessments with
status, next step and next re-evaluation; the review requests waiting for their decision, with
their age; for a manager, their directions' digest (the digest's own builder, shortened). It
returns a Reply like any other, which `bot.i18n.render` puts into words; `rendered` puts it into
words at once, for the transports that draw it outside a step (Slack Home, the Matrix edit).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from bot.digest import manager_digest
from bot.i18n import DIGEST_SECTIONS, Rendered, render
from bot.reminders import Batch
from bot.review import DECISION_ACTIONS, PendingReview
from bot.storage import AssessmentRow, Tx
from conversations.model import Reply, ReplyKind, Status

if TYPE_CHECKING:
    from bot.app import Boussole

KEY = "dashboard"
MAX_ITEMS = 8       # per list: read at a glance, and one Matrix message; beyond, a count (`liste`, `à valider`)
DIGEST_LINES = 3    # per digest section: the digest itself, sent on its schedule, has the rest
ACTIONS = ("new", "list")


class NextStep(StrEnum):
    """What an assessment waits for, as the dashboard says it."""

    ANSWER = "answer"              # a draft with questions left
    SUBMIT = "submit"              # every question answered: read over and submit
    BLOCKED = "blocked"            # a blocker waits for the requester's choice
    CHANGES = "changes"            # the reviewers asked for changes
    QUESTION = "question"          # in review: a reviewer's question waits for the requester's reply
    WAITING = "waiting"            # in review: the roles still to decide
    REEVALUATION = "reevaluation"  # approved: the next re-evaluation
    OVERDUE = "overdue"            # approved, and the re-evaluation date has passed
    NONE = "none"                  # nothing left to do (rejected; in review with no role named)


def next_step(row: AssessmentRow, waiting_roles: list[str], now: dt.datetime, *, asked: bool = False) -> NextStep:
    interview = row.interview
    status = interview.status
    if status is Status.DRAFT:
        if interview.blocked_on is not None:
            return NextStep.BLOCKED
        return NextStep.ANSWER if interview.pending is not None else NextStep.SUBMIT
    if status is Status.CHANGES_REQUESTED:
        return NextStep.CHANGES
    if status is Status.IN_REVIEW and asked:
        return NextStep.QUESTION
    if status is Status.IN_REVIEW and waiting_roles:
        return NextStep.WAITING
    if status.approved and row.next_review_at:
        overdue = dt.datetime.fromisoformat(row.next_review_at) <= now
        return NextStep.OVERDUE if overdue else NextStep.REEVALUATION
    return NextStep.NONE


async def build(app: Boussole, tx: Tx, user: str, now: dt.datetime) -> Reply:
    """The user's dashboard as a reply (a catalogue key and its parameters), read in the caller's transaction."""

    own = await tx.own_assessments(user, MAX_ITEMS)
    waiting = await tx.roles_waited_for(user)
    assessments = []
    for row in own.newest:
        roles = waiting.get(row.interview.id, [])
        asked = row.interview.status is Status.IN_REVIEW and bool(await tx.open_questions(row.interview.id))
        assessments.append({
            "id": row.interview.id, "title": row.title or "", "status": row.interview.status.value,
            "next": next_step(row, roles, now, asked=asked).value,
            "roles": ", ".join(app.review.label(r) for r in roles),
            "date": row.next_review_at,
            "actions": ("resume", "report") if row.interview.status.editable else ("report",),
        })
    reviews, waiting_total = await reviews_waiting_for(app, tx, user, now)
    reviewer = bool(app.config.roles_of(user)) or bool(reviews)   # a delegate decides in a role not their own
    directions = app.config.directions_managed_by(user)
    digest = None
    if directions:
        waiting_here = await app.review.waiting_requests(tx, now, directions=directions)
        digest = shortened(await manager_digest(app, Batch(tx, now, dry_run=True), user, directions, waiting_here))
    return Reply(user, ReplyKind.INFO, KEY, {
        "assessments": assessments, "assessments_more": own.in_play - len(assessments), "closed": own.closed,
        "reviewer": reviewer, "reviews": reviews, "reviews_more": waiting_total - len(reviews), "digest": digest,
    }, actions=ACTIONS)


async def reviews_waiting_for(app: Boussole, tx: Tx, user: str,
                              now: dt.datetime) -> tuple[list[dict[str, Any]], int]:
    """The oldest review requests waiting for this user's decision — in their roles, as a delegate, or handed to
    them — one line per assessment (a member of two required roles decides for both at once), with their age in
    days (time with a question open to the requester left out) and their open questions; and how many there are."""
    by_assessment: dict[int, list[PendingReview]] = {}
    for pending in await app.review.pending_for(tx, user, now):
        by_assessment.setdefault(pending.assessment_id, []).append(pending)
    lines = []
    for seats in list(by_assessment.values())[:MAX_ITEMS]:
        first = seats[0]
        lines.append({"id": first.assessment_id, "title": first.title, "requester": first.requester,
                      "role": ", ".join(seat.role_label for seat in seats), "days": max(seat.days for seat in seats),
                      "questions": first.open_questions, "actions": (*DECISION_ACTIONS, "report")})
    return lines, len(by_assessment)


def shortened(digest: dict[str, Any]) -> dict[str, Any]:
    """The digest's first lines of each section, the number left out counted with those it already left out."""
    short = dict(digest)
    for name, _ in DIGEST_SECTIONS:
        items = digest.get(name) or []
        short[name] = items[:DIGEST_LINES]
        short[f"{name}_more"] = digest.get(f"{name}_more", 0) + max(0, len(items) - DIGEST_LINES)
    return short


async def rendered(app: Boussole, tx: Tx, user: str) -> Rendered:
    """The user's dashboard in their language, for a transport that draws it outside a step (in its reading
    transaction, beside what the transport remembers of the dashboard it showed last)."""
    return render(await build(app, tx, user, app.clock()), await app.locale_for(tx, user), app.config.zone)
