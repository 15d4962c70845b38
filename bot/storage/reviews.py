"""The reviews' rows: one per required role and review round, with the role's decision once settled; each
member's decision (a vote); the stages planned for a round; and the requests handed to another person."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.storage.base import Queries, marks

CLOSED = "closed"  # a request that no longer stands (withdrawn, or settled by another role's decision)


@dataclass(frozen=True)
class ReviewRow:
    """One role's review of one round: who decided what, when (nothing yet while it waits)."""

    assessment_id: int
    round: int
    role: str
    requested_at: str
    decision: str | None
    reviewer: str | None
    comment: str | None
    decided_at: str | None

    @classmethod
    def from_row(cls, row: Any) -> ReviewRow:
        return cls(row["assessment_id"], row["round"], row["role"], row["requested_at"], row["decision"],
                   row["reviewer"], row["comment"], row["decided_at"])


@dataclass(frozen=True)
class WaitingReview:
    """A review request still waiting for its role's decision."""

    assessment_id: int
    title: str | None
    requester: str
    direction: str | None
    round: int
    role: str
    requested_at: str

    @classmethod
    def from_row(cls, row: Any) -> WaitingReview:
        return cls(row["id"], row["title"], row["requester"], row["direction"], row["round"], row["role"],
                   row["requested_at"])


@dataclass(frozen=True)
class VoteRow:
    """One person's decision in one role: `member` is the member's place it fills (the reviewer's own, or an
    absent member's when the reviewer stands in as their delegate, or the assignee's after a reassignment)."""

    assessment_id: int
    round: int
    role: str
    member: str
    reviewer: str
    decision: str
    comment: str | None
    decided_at: str

    @classmethod
    def from_row(cls, row: Any) -> VoteRow:
        return cls(row["assessment_id"], row["round"], row["role"], row["member"], row["reviewer"],
                   row["decision"], row["comment"], row["decided_at"])


@dataclass(frozen=True)
class Assignment:
    """A role's request on one assessment handed by an admin to one person, who alone decides for the role."""

    assessment_id: int
    role: str
    assignee: str
    assigned_by: str
    assigned_at: str


_VOTE_COLUMNS = "assessment_id, round, role, member, reviewer, decision, comment, decided_at"
_REVIEW_COLUMNS = "r.assessment_id, r.round, r.role, r.requested_at, r.decision, r.reviewer, r.comment, r.decided_at"
_WAITING = ("SELECT a.id, a.title, a.requester, a.direction, r.round, r.role, r.requested_at FROM reviews AS r "
            "JOIN assessments AS a ON a.id = r.assessment_id AND r.round = a.review_round "
            "WHERE r.decision IS NULL AND a.status = 'in_review'")


class ReviewQueries(Queries):
    """Review rounds, requests and decisions."""

    async def start_review_round(self, assessment_id: int, roles: list[str], now: str) -> int:
        """Open the next review round of an assessment with one request per role; its number."""
        row = await self.fetchone("SELECT review_round FROM assessments WHERE id = ?", (assessment_id,))
        round_ = int(row["review_round"]) + 1
        await self.execute("UPDATE assessments SET review_round = ? WHERE id = ?", (round_, assessment_id))
        await self.executemany("INSERT INTO reviews(assessment_id, round, role, requested_at) VALUES (?, ?, ?, ?)",
                               [(assessment_id, round_, role, now) for role in roles])
        return round_

    async def current_round(self, assessment_id: int) -> list[ReviewRow]:
        """The reviews of the assessment's current round."""
        rows = await self.fetchall(
            f"SELECT {_REVIEW_COLUMNS} FROM reviews AS r JOIN assessments AS a ON a.id = r.assessment_id "
            "WHERE r.assessment_id = ? AND r.round = a.review_round ORDER BY r.role", (assessment_id,))
        return [ReviewRow.from_row(r) for r in rows]

    async def record_decision(self, assessment_id: int, roles: list[str], *, decision: str, reviewer: str,
                              comment: str, now: str) -> None:
        await self.executemany(
            "UPDATE reviews SET decision = ?, reviewer = ?, comment = ?, decided_at = ? WHERE assessment_id = ? "
            "AND round = (SELECT review_round FROM assessments WHERE id = ?) AND role = ?",
            [(decision, reviewer, comment, now, assessment_id, assessment_id, role) for role in roles])

    async def close_open_reviews(self, assessment_id: int, now: str) -> list[str]:
        """Close the requests of the current round still waiting; the roles they were for."""
        waiting = [r.role for r in await self.current_round(assessment_id) if r.decision is None]
        await self.execute("UPDATE reviews SET decision = ?, decided_at = ? WHERE assessment_id = ? "
                           "AND decision IS NULL", (CLOSED, now, assessment_id))
        return waiting

    async def last_decision(self, assessment_id: int) -> ReviewRow | None:
        row = await self.fetchone(
            f"SELECT {_REVIEW_COLUMNS} FROM reviews AS r WHERE r.assessment_id = ? AND r.decision IS NOT NULL "
            "AND r.decision != ? ORDER BY r.decided_at DESC LIMIT 1", (assessment_id, CLOSED))
        return ReviewRow.from_row(row) if row else None

    async def decisions(self, assessment_id: int) -> list[ReviewRow]:
        """Every decision taken on an assessment, each member's, every round, oldest first."""
        rows = await self.fetchall(
            "SELECT v.assessment_id, v.round, v.role, r.requested_at, v.decision, v.reviewer, v.comment, "
            "v.decided_at FROM review_votes AS v JOIN reviews AS r ON r.assessment_id = v.assessment_id "
            "AND r.round = v.round AND r.role = v.role WHERE v.assessment_id = ? ORDER BY v.decided_at, v.role",
            (assessment_id,))
        return [ReviewRow.from_row(r) for r in rows]

    # -- votes, stages, assignments ----------------------------------------------------------------
    async def record_votes(self, votes: list[VoteRow]) -> None:
        await self.executemany(
            f"INSERT INTO review_votes({_VOTE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(v.assessment_id, v.round, v.role, v.member, v.reviewer, v.decision, v.comment, v.decided_at)
             for v in votes])

    async def current_votes(self, assessment_id: int) -> list[VoteRow]:
        """The members' decisions of the assessment's current round, oldest first."""
        rows = await self.fetchall(
            f"SELECT {', '.join('v.' + c for c in _VOTE_COLUMNS.split(', '))} FROM review_votes AS v "
            "JOIN assessments AS a ON a.id = v.assessment_id AND v.round = a.review_round "
            "WHERE v.assessment_id = ? ORDER BY v.decided_at, v.role, v.member", (assessment_id,))
        return [VoteRow.from_row(r) for r in rows]

    async def votes_in_review(self) -> list[VoteRow]:
        """The members' decisions of the current round of every assessment in review."""
        rows = await self.fetchall(
            f"SELECT {', '.join('v.' + c for c in _VOTE_COLUMNS.split(', '))} FROM review_votes AS v "
            "JOIN assessments AS a ON a.id = v.assessment_id AND v.round = a.review_round "
            "WHERE a.status = 'in_review' ORDER BY v.assessment_id, v.decided_at")
        return [VoteRow.from_row(r) for r in rows]

    async def plan_stages(self, assessment_id: int, round_: int, stages: list[list[str]]) -> None:
        """Record the stages of a round: the roles of stage 1 are asked first, then stage 2's…"""
        await self.executemany(
            "INSERT INTO review_plan(assessment_id, round, role, stage) VALUES (?, ?, ?, ?)",
            [(assessment_id, round_, role, number) for number, roles in enumerate(stages, 1) for role in roles])

    async def current_plan(self, assessment_id: int) -> list[list[str]]:
        """The stages of the current round, each with its roles; none for a round submitted before stages."""
        rows = await self.fetchall(
            "SELECT p.role, p.stage FROM review_plan AS p JOIN assessments AS a ON a.id = p.assessment_id "
            "AND p.round = a.review_round WHERE p.assessment_id = ? ORDER BY p.stage, p.role", (assessment_id,))
        stages: dict[int, list[str]] = {}
        for row in rows:
            stages.setdefault(int(row["stage"]), []).append(row["role"])
        return [stages[n] for n in sorted(stages)]

    async def open_stage(self, assessment_id: int, roles: list[str], now: str) -> None:
        """Open the requests of a later stage in the current round."""
        await self.executemany(
            "INSERT INTO reviews(assessment_id, round, role, requested_at) "
            "SELECT id, review_round, ?, ? FROM assessments WHERE id = ?",
            [(role, now, assessment_id) for role in roles])

    async def assign(self, assignment: Assignment) -> None:
        await self.execute(
            "INSERT INTO review_assignments(assessment_id, role, assignee, assigned_by, assigned_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (assessment_id, role) DO UPDATE SET assignee = excluded.assignee, "
            "assigned_by = excluded.assigned_by, assigned_at = excluded.assigned_at",
            (assignment.assessment_id, assignment.role, assignment.assignee, assignment.assigned_by,
             assignment.assigned_at))

    async def assignments(self, assessment_id: int | None = None) -> dict[tuple[int, str], str]:
        """(assessment, role) → the person its request was handed to: one assessment's, or every one in review."""
        if assessment_id is not None:
            rows = await self.fetchall("SELECT assessment_id, role, assignee FROM review_assignments "
                                       "WHERE assessment_id = ?", (assessment_id,))
        else:
            rows = await self.fetchall(
                "SELECT g.assessment_id, g.role, g.assignee FROM review_assignments AS g "
                "JOIN assessments AS a ON a.id = g.assessment_id WHERE a.status = 'in_review'")
        return {(int(r["assessment_id"]), r["role"]): r["assignee"] for r in rows}

    async def current_decisions(self) -> list[ReviewRow]:
        """The decisions of every assessment's current round, oldest first (the register's deciding roles)."""
        rows = await self.fetchall(
            f"SELECT {_REVIEW_COLUMNS} FROM reviews AS r JOIN assessments AS a ON a.id = r.assessment_id "
            "AND r.round = a.review_round WHERE r.decision IS NOT NULL AND r.decision != ? ORDER BY r.decided_at",
            (CLOSED,))
        return [ReviewRow.from_row(r) for r in rows]

    async def waiting_reviews(self, *, roles: list[str] | None = None, directions: list[str] | None = None,
                              not_requested_by: str | None = None) -> list[WaitingReview]:
        """Review requests still waiting, oldest first; optionally only some roles' or directions', or not
        those of one requester."""
        sql, params = _WAITING, []
        if roles is not None:
            sql += f" AND r.role IN ({marks(roles)})"
            params += roles
        if directions is not None:
            sql += f" AND a.direction IN ({marks(directions)})"
            params += directions
        if not_requested_by is not None:
            sql += " AND a.requester != ?"
            params.append(not_requested_by)
        rows = await self.fetchall(sql + " ORDER BY r.requested_at, a.id", params)
        return [WaitingReview.from_row(r) for r in rows]
