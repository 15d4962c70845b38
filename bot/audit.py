"""The audit trail's integrity: its head, `verify`, and the records exported as JSON lines.

Every record carries the hash of the one before it; changing, inserting or deleting a record
breaks the chain at that point, and `verify` names the first record where it breaks. Someone who
can write the database file can recompute every hash after their change, so `verify` also checks:
- checkpoints: a head published earlier (every digest and register export carries the head of
  the moment) names the count-th record's hash; truncating the trail, or rewriting, inserting or
  deleting any record up to it, leaves another hash there (or no record at all);
- the tables against the trail: each assessment's status is the one its last status record sets,
  its requester the one who created it, and each decision in `reviews` is one a `decision` record
  holds, and the other way round; so editing a table without the trail, or the trail alone, shows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from bot.storage import GENESIS_HASH, AuditHead, AuditRow, Database, RecordedStatus, ReviewRow, audit_hash, detail_json

# The status each action leaves an assessment in; an `outcome` record names it in its detail.
STATUS_SET_BY = {"created": "draft", "reevaluation_started": "draft", "submitted": "in_review",
                 "withdrawn": "withdrawn", "archived": "archived"}
_HASH = re.compile(r"[0-9a-f]{64}")

DecisionKey = tuple[int, str | None, str, str, str, str]  # assessment, role, decision, reviewer, comment, at


@dataclass(frozen=True)
class Verification:
    """What `verify` found: nothing wrong (`intact`), or the first problem and where it is."""

    records: int
    head: AuditHead
    reason: str = ""                  # what is wrong; empty when everything holds
    first_broken: int | None = None   # id of the first record that does not match the chain
    assessment: int | None = None     # the assessment whose rows the trail contradicts
    checkpoints: int = 0              # how many checkpoints were checked

    @property
    def intact(self) -> bool:
        return not self.reason


def parse_checkpoint(text: str) -> AuditHead:
    """`N:HASH`, as `boussole audit head` prints it; ValueError otherwise."""
    count, colon, digest = text.strip().partition(":")
    digest = digest.lower()
    if not colon or not (count.isascii() and count.isdigit()) or not _HASH.fullmatch(digest):
        raise ValueError(f"{text!r} is not a checkpoint: give N:HASH, a number of records and a 64-hex-digit hash, "
                         "as `boussole audit head` prints them")
    return AuditHead(int(count), digest)


def _chain_break(rows: list[AuditRow]) -> tuple[int, str] | None:
    previous = GENESIS_HASH
    for row in rows:
        if row.prev_hash != previous:
            return row.id, ("its link to the previous record does not match "
                            "(a record before it was changed, inserted or deleted)")
        if audit_hash(row.prev_hash, row.at, row.actor, row.action, row.assessment_id,
                      detail_json(row.detail)) != row.hash:
            return row.id, "its content does not match its hash (the record was changed)"
        previous = row.hash
    return None


def _checkpoint_miss(rows: list[AuditRow], checkpoint: AuditHead) -> str | None:
    name = f"checkpoint {checkpoint.count}:{checkpoint.hash[:16]}…"
    if checkpoint.count == 0:
        return None if checkpoint.hash == GENESIS_HASH else f"{name} is not the head of an empty trail"
    if checkpoint.count > len(rows):
        return (f"{name} does not hold: the trail has only {len(rows)} record(s) "
                f"(records were deleted since it was published)")
    record = rows[checkpoint.count - 1]
    if record.hash != checkpoint.hash:
        return (f"{name} does not hold: record {checkpoint.count} (id {record.id}) now has hash {record.hash[:16]}… "
                f"(records up to it were changed, inserted or deleted, and the hashes recomputed)")
    return None


def _detail(row: AuditRow, key: str) -> Any:
    return row.detail.get(key) if isinstance(row.detail, dict) else None


def _review_key(review: ReviewRow) -> DecisionKey:
    return (review.assessment_id, review.role, review.decision or "", review.reviewer or "", review.comment or "",
            review.decided_at or "")


def _disagreement(rows: list[AuditRow], statuses: list[RecordedStatus],
                  reviews: list[ReviewRow]) -> tuple[int, str] | None:
    """The first assessment whose rows in `assessments` or `reviews` the trail contradicts, and how."""
    last_status: dict[int, tuple[str, AuditRow]] = {}
    creation: dict[int, AuditRow] = {}
    recorded: dict[DecisionKey, list[AuditRow]] = {}
    for row in rows:
        if row.assessment_id is None:
            continue
        status = _detail(row, "status") if row.action == "outcome" else STATUS_SET_BY.get(row.action)
        if status is not None:
            last_status[row.assessment_id] = (str(status), row)
        if row.action in ("created", "reevaluation_started"):
            creation.setdefault(row.assessment_id, row)
        if row.action == "decision":
            for role in _detail(row, "roles") or [None]:  # a decision for no role matches no review
                key = (row.assessment_id, role, str(_detail(row, "decision") or ""), row.actor,
                       str(_detail(row, "comment") or ""), row.at)
                recorded.setdefault(key, []).append(row)

    problems: dict[int, str] = {}

    def note(assessment_id: int, text: str) -> None:
        problems.setdefault(assessment_id, f"assessment no. {assessment_id}: {text}")

    by_id = {s.assessment_id: s for s in statuses}
    for assessment_id in sorted(by_id.keys() | last_status.keys()):
        stored = by_id.get(assessment_id)
        said = last_status.get(assessment_id)
        if stored is None:
            note(assessment_id, "the trail records it but `assessments` has no such row")
        elif said is None:
            note(assessment_id, f"`assessments` says status '{stored.status}', but the trail has no record "
                                "that sets its status (created, submitted, outcome…)")
        elif said[0] != stored.status:
            note(assessment_id, f"`assessments` says status '{stored.status}', the trail's last status record "
                                f"(id {said[1].id}, {said[1].action}) says '{said[0]}'")
        elif assessment_id in creation and creation[assessment_id].actor != stored.requester:
            note(assessment_id, f"`assessments` says it was requested by {stored.requester}, the trail's record of "
                                f"its creation (id {creation[assessment_id].id}) says {creation[assessment_id].actor}")
    for review in reviews:
        matching = recorded.get(_review_key(review))
        if matching:
            matching.pop(0)
            continue
        note(review.assessment_id, f"`reviews` holds a decision the trail does not record: "
                                   f"round {review.round}, role {review.role}, '{review.decision}' by "
                                   f"{review.reviewer}, comment {review.comment or ''!r}, at {review.decided_at}")
    for (assessment_id, role, decision, actor, comment, _at), left in sorted(recorded.items(), key=lambda kv: kv[0][0]):
        for row in left:
            note(assessment_id, f"the trail's decision record (id {row.id}: '{decision}' by {actor} for role {role}, "
                                f"comment {comment!r}) has no matching row in reviews")
    if not problems:
        return None
    first = min(problems)
    return first, problems[first]


async def head(db: Database) -> AuditHead:
    async with db.reading() as tx:
        return await tx.audit_head()


async def verify(db: Database, checkpoints: Sequence[AuditHead] = ()) -> Verification:
    """Check the chain, then each checkpoint, then the tables against the trail; stop at the first problem."""
    async with db.reading() as tx:
        rows = await tx.audit_trail()
        statuses = await tx.assessment_statuses()
        reviews = await tx.decided_reviews()
    now = AuditHead(len(rows), rows[-1].hash if rows else GENESIS_HASH)
    broken = _chain_break(rows)
    if broken is not None:
        return Verification(len(rows), now, broken[1], first_broken=broken[0])
    for checkpoint in checkpoints:
        missed = _checkpoint_miss(rows, checkpoint)
        if missed is not None:
            return Verification(len(rows), now, missed, checkpoints=len(checkpoints))
    contradicted = _disagreement(rows, statuses, reviews)
    if contradicted is not None:
        return Verification(len(rows), now, contradicted[1], assessment=contradicted[0],
                            checkpoints=len(checkpoints))
    return Verification(len(rows), now, checkpoints=len(checkpoints))


async def export_jsonl(db: Database, assessment_id: int | None = None) -> Iterator[str]:
    async with db.reading() as tx:
        rows = await tx.audit_trail(assessment_id)
    return (json.dumps({"id": r.id, "at": r.at, "actor": r.actor, "action": r.action,
                        "assessment": r.assessment_id, "detail": r.detail, "prev_hash": r.prev_hash,
                        "hash": r.hash}, ensure_ascii=False) for r in rows)
