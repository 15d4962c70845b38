"""The audit trail's rows: append-only (triggers refuse updates and deletes) and hash-chained,
each record's hash covering the previous record's hash and its own content; its head; and the rows of
other tables that `audit verify` holds against it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.storage.base import Queries
from bot.storage.reviews import CLOSED, ReviewRow

GENESIS_HASH = "0" * 64


def audit_hash(prev_hash: str, at: str, actor: str, action: str, assessment_id: int | None, detail: str) -> str:
    material = json.dumps([prev_hash, at, actor, action, assessment_id, detail], ensure_ascii=False)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def detail_json(detail: Mapping[str, Any]) -> str:
    """The one text form of a record's detail: what its hash covers."""
    return json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: str
    actor: str
    action: str
    assessment_id: int | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def from_row(cls, row: Any) -> AuditRow:
        return cls(row["id"], row["at"], row["actor"], row["action"], row["assessment_id"],
                   json.loads(row["detail"]), row["prev_hash"], row["hash"])


@dataclass(frozen=True)
class AuditHead:
    """The number of records and the hash of the last one (the genesis hash when there is none).

    Published (in a digest, a register), it pins the trail as it was: a record later deleted, changed or
    inserted before it, even with every hash recomputed, no longer leaves that hash as the count-th record's.
    """

    count: int
    hash: str

    def as_json(self) -> dict[str, int | str]:
        return {"count": self.count, "hash": self.hash}

    @property
    def checkpoint(self) -> str:
        """What `boussole audit verify --checkpoint` takes."""
        return f"{self.count}:{self.hash}"


@dataclass(frozen=True)
class RecordedStatus:
    """What the trail is held against in `assessments`: who asked, and the status now."""

    assessment_id: int
    requester: str
    status: str


AuditEntry = tuple[str, str, int | None, Mapping[str, Any]]  # actor, action, assessment, detail


class AuditQueries(Queries):
    """Appending to the trail and reading it back."""

    async def audit(self, *, actor: str, action: str, assessment_id: int | None,
                    detail: Mapping[str, Any], now: str) -> None:
        await self.audit_many([(actor, action, assessment_id, detail)], now)

    async def audit_many(self, entries: list[AuditEntry], now: str) -> None:
        """Append records to the chain, in order."""
        if not entries:
            return
        last = await self.fetchone("SELECT hash FROM audit ORDER BY id DESC LIMIT 1")
        previous = last["hash"] if last else GENESIS_HASH
        rows = []
        for actor, action, assessment_id, detail in entries:
            text = detail_json(detail)
            digest = audit_hash(previous, now, actor, action, assessment_id, text)
            rows.append((now, actor, action, assessment_id, text, previous, digest))
            previous = digest
        await self.executemany("INSERT INTO audit(at, actor, action, assessment_id, detail, prev_hash, hash) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    async def audit_trail(self, assessment_id: int | None = None) -> list[AuditRow]:
        if assessment_id is None:
            rows = await self.fetchall("SELECT * FROM audit ORDER BY id")
        else:
            rows = await self.fetchall("SELECT * FROM audit WHERE assessment_id = ? ORDER BY id", (assessment_id,))
        return [AuditRow.from_row(r) for r in rows]

    async def audit_head(self) -> AuditHead:
        row = await self.fetchone("SELECT COUNT(*) AS records, (SELECT hash FROM audit ORDER BY id DESC LIMIT 1) "
                                  "AS last FROM audit")
        return AuditHead(int(row["records"]), row["last"] or GENESIS_HASH)

    async def assessment_statuses(self) -> list[RecordedStatus]:
        rows = await self.fetchall("SELECT id, requester, status FROM assessments ORDER BY id")
        return [RecordedStatus(r["id"], r["requester"], r["status"]) for r in rows]

    async def decided_reviews(self) -> list[ReviewRow]:
        """Every decision taken, every round, by assessment then time: each role's settling decision as `reviews`
        holds it, and each other member's decision as `review_votes` holds it (once per person, even when one
        decision filled an absent member's place too). Not the requests closed without a decision."""
        rows = await self.fetchall(
            "SELECT assessment_id, round, role, requested_at, decision, reviewer, comment, decided_at FROM reviews "
            "WHERE decision IS NOT NULL AND decision != ? "
            "UNION ALL SELECT DISTINCT v.assessment_id, v.round, v.role, r.requested_at, v.decision, v.reviewer, "
            "v.comment, v.decided_at FROM review_votes AS v JOIN reviews AS r ON r.assessment_id = v.assessment_id "
            "AND r.round = v.round AND r.role = v.role "
            "WHERE r.decision IS NULL OR r.decision = ? OR r.reviewer != v.reviewer OR r.decided_at != v.decided_at "
            "ORDER BY assessment_id, decided_at, role", (CLOSED, CLOSED))
        return [ReviewRow.from_row(r) for r in rows]
