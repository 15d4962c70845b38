"""Questions a reviewer asks the requester about an assessment in review, and the requester's replies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.storage.base import Queries


@dataclass(frozen=True)
class ReviewQuestion:
    """One question; open until the requester replies (`answered_at`, with the `answer`), or until the review
    ends (`answered_at` without an answer)."""

    id: int
    assessment_id: int
    asked_by: str
    question: str
    asked_at: str
    answer: str | None
    answered_at: str | None

    @classmethod
    def from_row(cls, row: Any) -> ReviewQuestion:
        return cls(int(row["id"]), int(row["assessment_id"]), row["asked_by"], row["question"], row["asked_at"],
                   row["answer"], row["answered_at"])


_COLUMNS = "id, assessment_id, asked_by, question, asked_at, answer, answered_at"


class QuestionQueries(Queries):
    """Questions to requesters: asked, answered, and the pauses they put on a review's waiting time."""

    async def ask_question(self, assessment_id: int, asked_by: str, question: str, now: str) -> int:
        cursor = await self.conn.execute(
            "INSERT INTO review_questions(assessment_id, asked_by, question, asked_at) VALUES (?, ?, ?, ?)",
            (assessment_id, asked_by, question, now))
        return int(cursor.lastrowid or 0)

    async def answer_questions(self, assessment_id: int, answer: str, now: str) -> list[ReviewQuestion]:
        """Answer every open question of the assessment; the questions answered."""
        open_ = await self.open_questions(assessment_id)
        await self.execute("UPDATE review_questions SET answer = ?, answered_at = ? WHERE assessment_id = ? "
                           "AND answered_at IS NULL", (answer, now, assessment_id))
        return open_

    async def close_questions(self, assessment_id: int, now: str) -> int:
        """Close, unanswered, the questions of an assessment whose review ended; how many were open."""
        return await self.execute("UPDATE review_questions SET answered_at = ? WHERE assessment_id = ? "
                                  "AND answered_at IS NULL", (now, assessment_id))

    async def open_questions(self, assessment_id: int) -> list[ReviewQuestion]:
        """The questions of an assessment still waiting for the requester's reply, oldest first."""
        rows = await self.fetchall(f"SELECT {_COLUMNS} FROM review_questions WHERE assessment_id = ? "
                                   "AND answered_at IS NULL ORDER BY id", (assessment_id,))
        return [ReviewQuestion.from_row(r) for r in rows]

    async def questions_since(self, since: str) -> list[ReviewQuestion]:
        """Every question asked, or still open, since `since` (what can pause a review waiting since then)."""
        rows = await self.fetchall(f"SELECT {_COLUMNS} FROM review_questions WHERE answered_at IS NULL "
                                   "OR answered_at >= ? ORDER BY assessment_id, id", (since,))
        return [ReviewQuestion.from_row(r) for r in rows]
