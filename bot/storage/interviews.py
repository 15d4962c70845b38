"""The interview's rows: conversations, assessments with their answering state, answer history,
findings, and the ids of incoming events already processed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.storage.base import Queries, marks
from conversations.answers import Answer
from conversations.model import Brief, Conversation, Interview, Mode, Status
from conversations.rules import Finding

CLEARED_ANSWER = {"cleared": True}  # the history's entry for an answer dropped (its question no longer applies)
ASSESSMENT_COLUMNS = ("id, requester, status, questionnaire_version, title, direction, state, previous_id, "
                      "recommendation, created_at, updated_at, submitted_at, decided_at, next_review_at")


def state_json(interview: Interview) -> str:
    """What `assessments.state` holds: the answering state of an interview."""
    return json.dumps({
        "answers": {k: a.to_json() for k, a in interview.answers.items()},
        "previous": {k: a.to_json() for k, a in interview.previous.items()},
        "pending": interview.pending,
        "revisiting": interview.revisiting,
        "blocked_on": interview.blocked_on,
        "exceptions": dict(interview.exceptions),
    }, ensure_ascii=False)


def _answers(data: Mapping[str, Any]) -> dict[str, Answer]:
    return {question_id: Answer.from_json(value) for question_id, value in data.items()}


@dataclass(frozen=True)
class AssessmentRow:
    """One row of `assessments`, with the interview it holds."""

    interview: Interview
    title: str | None
    direction: str | None
    recommendation: str | None
    updated_at: str
    submitted_at: str | None
    decided_at: str | None
    next_review_at: str | None

    @classmethod
    def from_row(cls, row: Any) -> AssessmentRow:
        state = json.loads(row["state"])
        interview = Interview(
            id=row["id"], requester=row["requester"], questionnaire_version=row["questionnaire_version"],
            status=Status(row["status"]), answers=_answers(state.get("answers", {})),
            pending=state.get("pending"), revisiting=bool(state.get("revisiting")),
            blocked_on=state.get("blocked_on"), exceptions=dict(state.get("exceptions", {})),
            previous=_answers(state.get("previous", {})), previous_id=row["previous_id"],
            created_at=row["created_at"],
        )
        return cls(interview, row["title"], row["direction"], row["recommendation"], row["updated_at"],
                   row["submitted_at"], row["decided_at"], row["next_review_at"])


@dataclass(frozen=True)
class UserState:
    """What a step reads about its user."""

    conversation: Conversation
    next_id: int                      # the number a new assessment would get
    briefs: list[Brief]               # the user's assessments, newest first
    drafts: dict[int, Interview]      # the editable ones, in full


class InterviewQueries(Queries):
    """Conversations, assessments, answers, findings and processed events."""

    # -- events ---------------------------------------------------------------------------
    async def claim_event(self, event_id: str, now: str) -> bool:
        """Record an incoming event id; False when it was already processed (a transport's retry)."""
        changed = await self.execute(
            "INSERT INTO processed_events(event_id, processed_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (event_id, now))
        return changed == 1

    async def event_processed(self, event_id: str) -> bool:
        return await self.fetchone("SELECT 1 FROM processed_events WHERE event_id = ?", (event_id,)) is not None

    # -- conversations ----------------------------------------------------------------------
    async def conversation(self, user: str) -> Conversation:
        row = await self.fetchone("SELECT mode, active, target, locale, pending FROM conversations WHERE user = ?",
                                  (user,))
        if row is None:
            return Conversation(user)
        return Conversation(user, Mode(row["mode"]), row["active"], row["target"], row["locale"], row["pending"])

    async def save_conversation(self, conversation: Conversation, now: str) -> None:
        await self.execute(
            "INSERT INTO conversations(user, mode, active, target, locale, pending, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(user) DO UPDATE SET mode = excluded.mode, active = excluded.active, "
            "target = excluded.target, locale = excluded.locale, pending = excluded.pending, "
            "updated_at = excluded.updated_at",
            (conversation.user, conversation.mode.value, conversation.active, conversation.target,
             conversation.locale, conversation.pending, now))

    async def locale_of(self, user: str) -> str | None:
        row = await self.fetchone("SELECT locale FROM conversations WHERE user = ?", (user,))
        return row["locale"] if row else None

    # -- assessments ------------------------------------------------------------------------
    async def user_state(self, user: str) -> UserState:
        """The user's conversation, the next assessment number and the user's assessments."""
        conversation = await self.conversation(user)
        next_row = await self.fetchone("SELECT COALESCE(MAX(id), 0) + 1 AS next_id FROM assessments")
        rows = await self.fetchall(f"SELECT {ASSESSMENT_COLUMNS} FROM assessments WHERE requester = ? "
                                   "ORDER BY id DESC", (user,))
        briefs = [Brief(r["id"], r["title"], Status(r["status"]), r["updated_at"], r["next_review_at"]) for r in rows]
        drafts = {r["id"]: AssessmentRow.from_row(r).interview for r in rows if Status(r["status"]).editable}
        return UserState(conversation, int(next_row["next_id"]), briefs, drafts)

    async def assessment(self, assessment_id: int) -> AssessmentRow | None:
        row = await self.fetchone(f"SELECT {ASSESSMENT_COLUMNS} FROM assessments WHERE id = ?", (assessment_id,))
        return AssessmentRow.from_row(row) if row else None

    async def assessments_with_status(self, statuses: tuple[str, ...]) -> list[AssessmentRow]:
        rows = await self.fetchall(f"SELECT {ASSESSMENT_COLUMNS} FROM assessments WHERE status IN ({marks(statuses)}) "
                                   "ORDER BY id", statuses)
        return [AssessmentRow.from_row(r) for r in rows]

    async def save_interview(self, interview: Interview, *, actor: str, now: str,
                             recommendation: str | None, old: Interview | None) -> None:
        """Insert or update the assessment row, and append every changed answer to the answer history."""
        if old is None:
            interview = replace(interview, created_at=interview.created_at or now)
            await self.execute(
                "INSERT INTO assessments(id, requester, status, questionnaire_version, title, direction, state, "
                "previous_id, recommendation, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (interview.id, interview.requester, interview.status.value, interview.questionnaire_version,
                 interview.title, interview.direction, state_json(interview), interview.previous_id,
                 recommendation, interview.created_at, now))
        else:
            await self.execute(
                "UPDATE assessments SET status = ?1, title = ?2, direction = ?3, state = ?4, recommendation = ?5, "
                "updated_at = ?6, submitted_at = CASE WHEN ?1 = 'in_review' AND status != 'in_review' THEN ?6 "
                "ELSE submitted_at END WHERE id = ?7",
                (interview.status.value, interview.title, interview.direction, state_json(interview),
                 recommendation, now, interview.id))
        before = old.answers if old is not None else {}
        history = [(question_id, answer.to_json()) for question_id, answer in interview.answers.items()
                   if before.get(question_id) != answer]
        history += [(question_id, CLEARED_ANSWER) for question_id in before if question_id not in interview.answers]
        await self.executemany(
            "INSERT INTO answers(assessment_id, question_id, answer, answered_by, answered_at) VALUES (?, ?, ?, ?, ?)",
            [(interview.id, question_id, json.dumps(value, ensure_ascii=False), actor, now)
             for question_id, value in history])

    async def answer_history(self, assessment_id: int) -> list[Any]:
        return await self.fetchall(
            "SELECT question_id, answer, answered_by, answered_at FROM answers WHERE assessment_id = ? ORDER BY id",
            (assessment_id,))

    async def set_review_dates(self, assessment_id: int, *, decided_at: str | None,
                               next_review_at: str | None) -> None:
        await self.execute("UPDATE assessments SET decided_at = ?, next_review_at = ? WHERE id = ?",
                           (decided_at, next_review_at, assessment_id))

    # -- findings ---------------------------------------------------------------------------
    async def save_findings(self, assessment_id: int, before: list[Finding], after: list[Finding],
                            now: str) -> list[Finding]:
        """Store the change from the findings of the old answers to those of the new; return the new ones."""
        def key(f: Finding) -> tuple[Any, ...]:
            return (assessment_id, f.question_id, f.criterion, f.level.value,
                    json.dumps([f.reason.fr, f.reason.en], ensure_ascii=False))

        old, new = set(before), set(after)
        added = list(dict.fromkeys(f for f in after if f not in old))
        await self.executemany(
            "DELETE FROM findings WHERE assessment_id = ? AND question_id = ? AND criterion = ? AND level = ? "
            "AND reason = ?", [key(f) for f in old - new])
        await self.executemany(
            "INSERT INTO findings(assessment_id, question_id, criterion, level, reason, raised_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", [(*key(f), now) for f in added])
        return added

    async def mark_blocker_notified(self, assessment_id: int, question_id: str, now: str) -> None:
        await self.execute("UPDATE findings SET notified_at = ? WHERE assessment_id = ? AND question_id = ? "
                           "AND level = 'blocker'", (now, assessment_id, question_id))
