"""What the user's dashboard reads, and what its transports remember of it.

The dashboard reads a user's own assessments and which roles each one still waits for, and the
requests waiting for a reviewer's decision, a page of each with its count. Its
transports remember, per user, in `transport_state`: on Slack, that the user opened the Home tab
and a fingerprint of the view published there last; on Matrix, which event is the user's
dashboard message (to edit it in place) and a fingerprint of what it shows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.storage.base import Queries
from bot.storage.interviews import ASSESSMENT_COLUMNS, AssessmentRow

SLACK_HOME = "slack.home:"            # + user: the fingerprint of the Home view last published there
MATRIX_DASHBOARD = "matrix.dashboard:"  # + user: the dashboard message, as JSON
CLOSED_STATUSES = ("withdrawn", "archived")


@dataclass(frozen=True)
class DashboardMessage:
    """A user's dashboard as a transport posted it: where, which message, and a fingerprint of its content."""

    channel: str
    message_id: str
    fingerprint: str

    def as_json(self) -> str:
        return json.dumps({"channel": self.channel, "message_id": self.message_id, "fingerprint": self.fingerprint})

    @classmethod
    def from_json(cls, text: str) -> DashboardMessage:
        data = json.loads(text)
        return cls(str(data["channel"]), str(data["message_id"]), str(data["fingerprint"]))


@dataclass(frozen=True)
class OwnAssessments:
    """A requester's newest assessments still in play, and how many they have in play and closed."""

    newest: list[AssessmentRow]
    in_play: int
    closed: int


class DashboardQueries(Queries):
    """The dashboard's reads, and its transports' memory of it."""

    async def own_assessments(self, requester: str, limit: int) -> OwnAssessments:
        """The requester's `limit` newest assessments still in play (not withdrawn or archived), and the counts."""
        rows = await self.fetchall(
            f"SELECT {ASSESSMENT_COLUMNS} FROM assessments WHERE requester = ? AND status NOT IN (?, ?) "
            "ORDER BY id DESC LIMIT ?", (requester, *CLOSED_STATUSES, limit))
        counts = await self.fetchone(
            "SELECT COALESCE(SUM(status NOT IN (?, ?)), 0) AS in_play, COALESCE(SUM(status IN (?, ?)), 0) AS closed "
            "FROM assessments WHERE requester = ?", (*CLOSED_STATUSES, *CLOSED_STATUSES, requester))
        return OwnAssessments([AssessmentRow.from_row(r) for r in rows], int(counts["in_play"]), int(counts["closed"]))

    async def roles_waited_for(self, requester: str) -> dict[int, list[str]]:
        """For each of the requester's assessments in review, the roles whose decision it still waits for."""
        rows = await self.fetchall(
            "SELECT r.assessment_id, r.role FROM reviews AS r JOIN assessments AS a ON a.id = r.assessment_id "
            "AND r.round = a.review_round WHERE a.requester = ? AND a.status = 'in_review' AND r.decision IS NULL "
            "ORDER BY r.assessment_id, r.role", (requester,))
        waiting: dict[int, list[str]] = {}
        for row in rows:
            waiting.setdefault(int(row["assessment_id"]), []).append(str(row["role"]))
        return waiting

    async def posted_message_id(self, outbox_id: int, part: int = 0) -> tuple[str, str] | None:
        """Where a part of an outbox message was posted: its channel and its message id."""
        row = await self.fetchone("SELECT channel, message_id FROM transport_messages WHERE outbox_id = ? AND part = ?",
                                  (outbox_id, part))
        return (str(row["channel"]), str(row["message_id"])) if row else None

    # -- Slack: the Home tab -----------------------------------------------------------------------
    async def slack_home_fingerprint(self, user: str) -> str | None:
        """None when the user never opened the Home tab; else the fingerprint of the view last published."""
        return await self._state(SLACK_HOME + user)

    async def set_slack_home_fingerprint(self, user: str, fingerprint: str) -> None:
        await self._set_state(SLACK_HOME + user, fingerprint)

    # -- Matrix: the dashboard message -------------------------------------------------------------
    async def matrix_dashboard(self, user: str) -> DashboardMessage | None:
        value = await self._state(MATRIX_DASHBOARD + user)
        return DashboardMessage.from_json(value) if value else None

    async def set_matrix_dashboard(self, user: str, message: DashboardMessage) -> None:
        await self._set_state(MATRIX_DASHBOARD + user, message.as_json())

    async def _state(self, key: str) -> str | None:
        row = await self.fetchone("SELECT value FROM transport_state WHERE key = ?", (key,))
        return str(row["value"]) if row else None

    async def _set_state(self, key: str, value: str) -> None:
        await self.execute("INSERT INTO transport_state(key, value) VALUES (?, ?) "
                           "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))
