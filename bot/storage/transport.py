"""State a transport keeps beside the interview: values that must move in step with what was
processed (the Matrix sync token), and the Matrix rooms the bot is in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.storage.base import Queries

MATRIX_SYNC_TOKEN = "matrix.next_batch"
MATRIX_SYNC_TOKEN_AT = "matrix.next_batch_at"
MATRIX_CROSS_SIGNING = "matrix.cross_signing_keys"


@dataclass(frozen=True)
class MatrixRoom:
    room_id: str
    user: str | None      # the person whose direct room it is (or was, or who invited the bot)
    direct: bool
    joined_at: int        # milliseconds: what was said in the room before it is not for the bot

    @classmethod
    def from_row(cls, row: Any) -> MatrixRoom:
        return cls(row["room_id"], row["user"], bool(row["direct"]), int(row["joined_at"]))


class TransportQueries(Queries):
    """Transport state and Matrix rooms."""

    async def transport_state(self, key: str) -> str | None:
        row = await self.fetchone("SELECT value FROM transport_state WHERE key = ?", (key,))
        return str(row["value"]) if row else None

    async def set_transport_state(self, key: str, value: str) -> None:
        await self.execute("INSERT INTO transport_state(key, value) VALUES (?, ?) "
                           "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    # -- Matrix: the sync token with its time, and the bot's cross-signing keys ---------------------------
    async def set_matrix_sync_token(self, token: str, at: str) -> None:
        """The next sync starts from `token`; `at` (ISO 8601, UTC) says when it was stored."""
        await self.set_transport_state(MATRIX_SYNC_TOKEN, token)
        await self.set_transport_state(MATRIX_SYNC_TOKEN_AT, at)

    async def matrix_sync_token(self) -> tuple[str | None, str | None]:
        """The stored sync token and when it was stored."""
        return await self.transport_state(MATRIX_SYNC_TOKEN), await self.transport_state(MATRIX_SYNC_TOKEN_AT)

    async def matrix_cross_signing_keys(self) -> str | None:
        """The private halves of the bot's cross-signing keys (JSON), backed up with the database."""
        return await self.transport_state(MATRIX_CROSS_SIGNING)

    async def set_matrix_cross_signing_keys(self, keys: str) -> None:
        await self.set_transport_state(MATRIX_CROSS_SIGNING, keys)

    async def matrix_room(self, room_id: str) -> MatrixRoom | None:
        row = await self.fetchone("SELECT room_id, user, direct, joined_at FROM matrix_rooms WHERE room_id = ?",
                                  (room_id,))
        return MatrixRoom.from_row(row) if row else None

    async def joined_matrix_room(self, room_id: str, *, inviter: str | None, joined_at: int) -> None:
        """The bot joined a room (invited by `inviter`): what is said there from `joined_at` on is for it."""
        await self.execute("INSERT INTO matrix_rooms(room_id, user, direct, joined_at) VALUES (?, ?, 0, ?) "
                           "ON CONFLICT(room_id) DO UPDATE SET joined_at = excluded.joined_at",
                           (room_id, inviter, joined_at))

    async def remember_matrix_room(self, room_id: str, joined_at: int) -> None:
        """A room the bot finds itself in without having recorded joining it."""
        await self.execute("INSERT INTO matrix_rooms(room_id, user, direct, joined_at) VALUES (?, NULL, 0, ?) "
                           "ON CONFLICT(room_id) DO NOTHING", (room_id, joined_at))

    async def set_direct_matrix_room(self, room_id: str, user: str, joined_at: int) -> None:
        await self.execute("INSERT INTO matrix_rooms(room_id, user, direct, joined_at) VALUES (?, ?, 1, ?) "
                           "ON CONFLICT(room_id) DO UPDATE SET user = excluded.user, direct = 1",
                           (room_id, user, joined_at))

    async def set_shared_matrix_room(self, room_id: str) -> bool:
        """A room is no one's direct room any more (someone else joined); False when it was not one."""
        return await self.execute("UPDATE matrix_rooms SET direct = 0 WHERE room_id = ? AND direct = 1",
                                  (room_id,)) > 0

    async def direct_matrix_rooms(self, user: str) -> list[str]:
        """The user's direct rooms, newest first."""
        rows = await self.fetchall("SELECT room_id FROM matrix_rooms WHERE user = ? AND direct = 1 "
                                   "ORDER BY joined_at DESC", (user,))
        return [str(r["room_id"]) for r in rows]
