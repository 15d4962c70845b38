"""What every chat transport does with the messages it posts, whatever it draws them with.

A rendered reply may go out in several parts (a transport's size limits); each part posted is
remembered, so that a send interrupted by a crash or an outage resumes at the part not yet
posted. A review request queued for every reviewer shows once in a shared reviewers' room.
A posted message can be found again (a reaction to it, a request to redraw once decided).
`split_text` cuts a long text into parts without losing a character.
"""

from __future__ import annotations

from typing import Any

from bot.app import Boussole
from bot.i18n import Rendered
from bot.storage import OutboxRow, PostedPart
from conversations.model import utc_iso


class PostedMessages:
    """One transport's memory of what it posted, kept in the database beside the outbox."""

    def __init__(self, app: Boussole, transport: str) -> None:
        self.app = app
        self.transport = transport

    async def parts_posted(self, row: OutboxRow) -> set[int]:
        """The parts of this outbox message already posted (a resumed send skips them)."""
        async with self.app.db.reading() as tx:
            return await tx.posted_parts(row.id)

    async def shown_in_room(self, channel: str, row: OutboxRow, rendered: Rendered) -> bool:
        """Whether the copy of this message meant for another member of a shared room is already there."""
        async with self.app.db.reading() as tx:
            return await tx.same_batch_posted(self.transport, channel, row, rendered.key)

    async def remember(self, row: OutboxRow, part: int, channel: str, message_id: str, rendered: Rendered,
                       payload: dict[str, Any]) -> None:
        posted = PostedPart(row.id, part, self.transport, channel, message_id, row.recipient, rendered.assessment,
                            rendered.key, rendered.question["id"] if rendered.question else None, payload)
        async with self.app.db.transaction() as tx:
            await tx.remember_posted(posted, utc_iso(self.app.clock()))

    async def find(self, channel: str, message_id: str) -> PostedPart | None:
        async with self.app.db.reading() as tx:
            return await tx.posted_message(self.transport, channel, message_id)

    async def open_requests(self, assessment_id: int, *, recipient: str, channel: str) -> list[PostedPart]:
        """Review requests for an assessment still shown with their decision buttons."""
        async with self.app.db.reading() as tx:
            return await tx.open_requests(self.transport, assessment_id, recipient=recipient, channel=channel)

    async def close(self, part: PostedPart) -> None:
        async with self.app.db.transaction() as tx:
            await tx.close_posted(part.outbox_id, part.part, utc_iso(self.app.clock()))


def split_text(text: str, limit: int) -> list[str]:
    """Chunks of at most `limit` characters, cut at line ends when possible, never dropped."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # one line longer than a section: cut it hard, keep every character
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current or not chunks:
        chunks.append(current)
    return chunks
