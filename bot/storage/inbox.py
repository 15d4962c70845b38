"""The inbox: events a transport acknowledged, recorded before the acknowledgement.

A transport that cannot ask again for an event it acknowledged (Slack never resends one) records
it here first, then acknowledges; the application processes the inbox in order and marks each
event done, so a failure or a restart in between loses nothing.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from bot.storage.base import Queries
from bot.storage.outbox import ERROR_TEXT_LIMIT, transport_of
from conversations.model import Incoming


@dataclass(frozen=True)
class InboxRow:
    id: int
    event: Incoming
    attempts: int

    @classmethod
    def from_row(cls, row: Any) -> InboxRow:
        return cls(row["id"], Incoming(**json.loads(row["payload"])), row["attempts"])


class InboxQueries(Queries):
    """Recording incoming events and marking them processed."""

    async def receive(self, events: list[Incoming], now: str) -> int:
        """Record events not recorded before (a transport's retry carries the same id); how many were new."""
        new = 0
        for event in events:
            new += await self.execute(
                "INSERT INTO inbox(event_id, user, transport, payload, received_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(event_id) DO NOTHING",
                (event.id, event.user, transport_of(event.user),
                 json.dumps(dataclasses.asdict(event), ensure_ascii=False), now))
        return new

    async def inbox_waiting(self, transport: str, limit: int = 100) -> list[InboxRow]:
        rows = await self.fetchall("SELECT id, payload, attempts FROM inbox WHERE transport = ? "
                                   "AND processed_at IS NULL ORDER BY id LIMIT ?", (transport, limit))
        return [InboxRow.from_row(r) for r in rows]

    async def inbox_done(self, inbox_id: int, now: str) -> None:
        await self.execute("UPDATE inbox SET processed_at = ?, attempts = attempts + 1 WHERE id = ?", (now, inbox_id))

    async def inbox_failed(self, inbox_id: int, error: str) -> None:
        await self.execute("UPDATE inbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                           (error[:ERROR_TEXT_LIMIT], inbox_id))
