"""What reminders and digests read, and `notices_sent`: the key of every notice queued, so that
none is sent twice whatever restarts, repeated sweeps or downtime happen around it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.storage.base import Queries, marks

APPROVED = ("approved", "approved_with_reservations")
_CHUNK = 500  # SQLite takes a limited number of values per statement


@dataclass(frozen=True)
class AssessmentLine:
    """An assessment as a notice mentions it."""

    id: int
    title: str | None
    requester: str
    direction: str | None
    status: str
    updated_at: str
    next_review_at: str | None

    @classmethod
    def from_row(cls, row: Any) -> AssessmentLine:
        return cls(row["id"], row["title"], row["requester"], row["direction"], row["status"], row["updated_at"],
                   row["next_review_at"])


_LINE = "SELECT id, title, requester, direction, status, updated_at, next_review_at FROM assessments AS a"


@dataclass(frozen=True)
class NoticeClaim:
    key: str
    recipient: str
    kind: str
    assessment_id: int | None


class NoticeQueries(Queries):
    """Notices sent, and the assessments reminders and digests are about."""

    # -- notices sent -----------------------------------------------------------------------
    async def sent_keys(self, keys: list[str]) -> set[str]:
        """Those of `keys` already recorded as sent."""
        sent: set[str] = set()
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start:start + _CHUNK]
            rows = await self.fetchall(f"SELECT key FROM notices_sent WHERE key IN ({marks(chunk)})", chunk)
            sent.update(r["key"] for r in rows)
        return sent

    async def claim_notices(self, claims: list[NoticeClaim], now: str) -> None:
        await self.executemany(
            "INSERT INTO notices_sent(key, recipient, kind, assessment_id, sent_at) VALUES (?, ?, ?, ?, ?)",
            [(c.key, c.recipient, c.kind, c.assessment_id, now) for c in claims])

    async def claim_notice(self, claim: NoticeClaim, now: str) -> bool:
        """Record one notice; False when the same key was already sent."""
        changed = await self.execute(
            "INSERT INTO notices_sent(key, recipient, kind, assessment_id, sent_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING", (claim.key, claim.recipient, claim.kind, claim.assessment_id, now))
        return changed == 1

    async def notice_sent(self, key: str) -> bool:
        return await self.fetchone("SELECT 1 FROM notices_sent WHERE key = ?", (key,)) is not None

    async def last_digest_at(self, recipient: str) -> str | None:
        row = await self.fetchone("SELECT MAX(sent_at) AS last FROM notices_sent WHERE kind = 'digest' "
                                  "AND recipient = ?", (recipient,))
        return row["last"] if row else None

    # -- reminders --------------------------------------------------------------------------
    async def reevaluations_due(self, until: str) -> list[AssessmentLine]:
        """Approved uses whose re-evaluation falls due by `until`, unless a renewal is already submitted."""
        rows = await self.fetchall(
            f"{_LINE} WHERE a.next_review_at IS NOT NULL AND a.next_review_at <= ? AND a.status IN (?, ?) "
            "AND NOT EXISTS (SELECT 1 FROM assessments AS r WHERE r.previous_id = a.id "
            "AND r.status NOT IN ('draft', 'changes_requested', 'withdrawn'))", (until, *APPROVED))
        return [AssessmentLine.from_row(r) for r in rows]

    async def idle_drafts(self, updated_before: str) -> list[AssessmentLine]:
        rows = await self.fetchall(f"{_LINE} WHERE a.status IN ('draft', 'changes_requested') AND a.updated_at <= ?",
                                   (updated_before,))
        return [AssessmentLine.from_row(r) for r in rows]

    async def approved_under_other_version(self, version: str) -> list[AssessmentLine]:
        rows = await self.fetchall(f"{_LINE} WHERE a.status IN (?, ?) AND a.questionnaire_version != ?",
                                   (*APPROVED, version))
        return [AssessmentLine.from_row(r) for r in rows]

    async def set_next_review_dates(self, dates: dict[int, str]) -> None:
        await self.executemany("UPDATE assessments SET next_review_at = ? WHERE id = ?",
                               [(date, assessment_id) for assessment_id, date in dates.items()])

    # -- digests ----------------------------------------------------------------------------
    async def created_since(self, directions: list[str], since: str) -> list[AssessmentLine]:
        rows = await self.fetchall(f"{_LINE} WHERE a.direction IN ({marks(directions)}) AND a.created_at >= ? "
                                   "ORDER BY a.id", (*directions, since))
        return [AssessmentLine.from_row(r) for r in rows]

    async def decided_since(self, directions: list[str], since: str) -> list[AssessmentLine]:
        rows = await self.fetchall(f"{_LINE} WHERE a.decided_at >= ? AND a.direction IN ({marks(directions)}) "
                                   "ORDER BY a.decided_at", (since, *directions))
        return [AssessmentLine.from_row(r) for r in rows]

    async def blockers_since(self, directions: list[str], since: str) -> list[tuple[AssessmentLine, int]]:
        """Blockers raised since `since`: each assessment with the criterion concerned."""
        rows = await self.fetchall(
            "SELECT DISTINCT a.id, a.title, a.requester, a.direction, a.status, a.updated_at, a.next_review_at, "
            "f.criterion FROM findings AS f JOIN assessments AS a ON a.id = f.assessment_id "
            f"WHERE f.level = 'blocker' AND f.raised_at >= ? AND a.direction IN ({marks(directions)}) ORDER BY a.id",
            (since, *directions))
        return [(AssessmentLine.from_row(r), int(r["criterion"])) for r in rows]

    async def reevaluations_within(self, directions: list[str], start: str, end: str) -> list[AssessmentLine]:
        """Approved uses of these directions due for re-evaluation from `start` to `end`, both included."""
        rows = await self.fetchall(
            f"{_LINE} WHERE a.status IN (?, ?) AND a.direction IN ({marks(directions)}) "
            "AND a.next_review_at >= ? AND a.next_review_at <= ? ORDER BY a.next_review_at",
            (*APPROVED, *directions, start, end))
        return [AssessmentLine.from_row(r) for r in rows]

    async def reevaluations_overdue(self, directions: list[str], now: str) -> list[AssessmentLine]:
        rows = await self.fetchall(
            f"{_LINE} WHERE a.status IN (?, ?) AND a.direction IN ({marks(directions)}) AND a.next_review_at < ? "
            "ORDER BY a.next_review_at", (*APPROVED, *directions, now))
        return [AssessmentLine.from_row(r) for r in rows]
