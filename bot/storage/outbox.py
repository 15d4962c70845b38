"""The outbox (rendered replies waiting for their transport) and the messages as a transport posted
them: each part of a split message, so that an interrupted send resumes at the part not yet posted,
and a review request can be redrawn once decided."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.storage.base import Queries

ERROR_TEXT_LIMIT = 500


def transport_of(identity: str) -> str:
    return identity.split(":", 1)[0]


@dataclass(frozen=True)
class OutboxRow:
    id: int
    recipient: str
    transport: str
    payload: dict[str, Any]
    attempts: int
    created_at: str

    @classmethod
    def from_row(cls, row: Any) -> OutboxRow:
        return cls(row["id"], row["recipient"], row["transport"], json.loads(row["payload"]), row["attempts"],
                   row["created_at"])


@dataclass(frozen=True)
class PostedPart:
    """One part of an outbox message as its transport posted it."""

    outbox_id: int
    part: int
    transport: str
    channel: str
    message_id: str
    recipient: str
    assessment_id: int | None
    key: str
    question_id: str | None
    payload: dict[str, Any]

    @classmethod
    def from_row(cls, row: Any) -> PostedPart:
        return cls(row["outbox_id"], row["part"], row["transport"], row["channel"], row["message_id"],
                   row["recipient"], row["assessment_id"], row["key"], row["question_id"], json.loads(row["payload"]))


_PART_COLUMNS = ("outbox_id, part, transport, channel, message_id, recipient, assessment_id, key, question_id, "
                 "payload")


class OutboxQueries(Queries):
    """What waits to be sent, what was sent, and where."""

    async def enqueue(self, messages: list[tuple[str, dict[str, Any]]], now: str) -> None:
        """Queue (recipient, payload) messages for delivery, in order."""
        await self.executemany(
            "INSERT INTO outbox(recipient, transport, payload, created_at) VALUES (?, ?, ?, ?)",
            [(to, transport_of(to), json.dumps(payload, ensure_ascii=False), now) for to, payload in messages])

    async def undelivered(self, transport: str, limit: int = 100) -> list[OutboxRow]:
        rows = await self.fetchall(
            "SELECT id, recipient, transport, payload, attempts, created_at FROM outbox "
            "WHERE transport = ? AND delivered_at IS NULL ORDER BY id LIMIT ?", (transport, limit))
        return [OutboxRow.from_row(r) for r in rows]

    async def mark_delivered(self, outbox_id: int, now: str) -> None:
        await self.execute("UPDATE outbox SET delivered_at = ?, attempts = attempts + 1 WHERE id = ?",
                           (now, outbox_id))

    async def mark_dead(self, outbox_id: int, error: str, now: str) -> None:
        """A message the transport will never accept: set aside (kept, with why) so the queue moves on."""
        await self.execute("UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = ? WHERE id = ?",
                           (now, f"undeliverable: {error}"[:ERROR_TEXT_LIMIT], outbox_id))

    async def mark_failed(self, outbox_id: int, error: str) -> None:
        await self.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                           (error[:ERROR_TEXT_LIMIT], outbox_id))

    # -- messages as posted -----------------------------------------------------------------
    async def posted_parts(self, outbox_id: int) -> set[int]:
        rows = await self.fetchall("SELECT part FROM transport_messages WHERE outbox_id = ?", (outbox_id,))
        return {int(r["part"]) for r in rows}

    async def remember_posted(self, part: PostedPart, now: str) -> None:
        await self.execute(
            f"INSERT INTO transport_messages({_PART_COLUMNS}, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (part.outbox_id, part.part, part.transport, part.channel, part.message_id, part.recipient,
             part.assessment_id, part.key, part.question_id, json.dumps(part.payload, ensure_ascii=False), now))

    async def posted_message(self, transport: str, channel: str, message_id: str) -> PostedPart | None:
        row = await self.fetchone(f"SELECT {_PART_COLUMNS} FROM transport_messages WHERE transport = ? "
                                  "AND channel = ? AND message_id = ?", (transport, channel, message_id))
        return PostedPart.from_row(row) if row else None

    async def same_batch_posted(self, transport: str, channel: str, row: OutboxRow, key: str) -> bool:
        """Whether a message queued with `row` (same step, same assessment, same kind) is already in `channel`.

        Messages to a shared room (a reviewers' channel or room) are queued once per member; the room
        shows one copy per submission."""
        found = await self.fetchone(
            "SELECT 1 FROM transport_messages AS t JOIN outbox AS o ON o.id = t.outbox_id "
            "WHERE t.transport = ? AND t.channel = ? AND t.key = ? AND o.id != ? AND t.assessment_id IS ? "
            "AND o.created_at = ? LIMIT 1",
            (transport, channel, key, row.id, row.payload.get("assessment"), row.created_at))
        return found is not None

    async def open_requests(self, transport: str, assessment_id: int, *, recipient: str,
                            channel: str) -> list[PostedPart]:
        """The review requests for an assessment still shown with their buttons, to a reviewer or in a room."""
        rows = await self.fetchall(
            f"SELECT {_PART_COLUMNS} FROM transport_messages WHERE transport = ? AND assessment_id = ? "
            "AND key = 'review.request' AND closed_at IS NULL AND (recipient = ? OR channel = ?)",
            (transport, assessment_id, recipient, channel))
        return [PostedPart.from_row(r) for r in rows]

    async def close_posted(self, outbox_id: int, part: int, now: str) -> None:
        await self.execute("UPDATE transport_messages SET closed_at = ? WHERE outbox_id = ? AND part = ?",
                           (now, outbox_id, part))
