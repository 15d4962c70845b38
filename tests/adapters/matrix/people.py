"""Real matrix-nio clients playing requester, reviewer and manager."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    MatrixRoom,
    MegolmEvent,
    RoomCreateError,
    RoomMessageNotice,
    RoomMessageText,
    RoomSendResponse,
)

from adapters.matrix.formatting import FIELD
from tests.helpers import wait_until


class Person:
    def __init__(self, homeserver: str, user_id: str, password: str, store: Path, *, encryption: bool,
                 device_id: str | None = None) -> None:
        store.mkdir(parents=True, exist_ok=True)
        self.user_id = user_id
        self.password = password
        self.client = AsyncClient(homeserver, user_id, device_id=device_id or user_id.split(":")[0][1:].upper(),
                                  store_path=str(store),
                                  config=AsyncClientConfig(encryption_enabled=encryption, store_sync_tokens=False))
        self.notices: list[tuple[str, Any]] = []
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> Person:
        response = await self.client.login(self.password)
        assert not hasattr(response, "message") or response.access_token, response
        self.client.add_event_callback(self._on_message, (RoomMessageNotice, RoomMessageText, MegolmEvent))
        self.client.add_event_callback(self._on_invite, (InviteMemberEvent,))
        # The server's default of 10 timeline events per room would hide what the bot posted in a room
        # it created, before the person joined (its state events come first).
        timeline = {"room": {"timeline": {"limit": 50}}}
        self.task = asyncio.create_task(self.client.sync_forever(timeout=300, full_state=True,
                                                                 sync_filter=timeline))
        await wait_until(lambda: self.client.next_batch)
        return self

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        await self.client.close()

    async def _on_message(self, room: MatrixRoom, event: Any) -> None:
        if event.sender != self.user_id:
            self.notices.append((room.room_id, event))

    async def _on_invite(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key == self.user_id and event.membership == "invite":
            await self.client.join(room.room_id)

    async def dm(self, bot: str, *, encrypted: bool = False, wait_for_join: bool = True) -> str:
        initial_state = [{"type": "m.room.encryption", "state_key": "",
                          "content": {"algorithm": "m.megolm.v1.aes-sha2"}}] if encrypted else []
        response = await self.client.room_create(is_direct=True, invite=[bot], initial_state=initial_state)
        assert not isinstance(response, RoomCreateError), response
        room_id = response.room_id
        if not wait_for_join:
            await wait_until(lambda: room_id in self.client.rooms)
            return str(room_id)
        # `users` counts invited members too: wait for the bot to have joined
        await wait_until(lambda: room_id in self.client.rooms and bot in self.client.rooms[room_id].users
                         and bot not in self.client.rooms[room_id].invited_users)
        return str(room_id)

    async def say(self, room_id: str, text: str) -> str:
        response = await self.client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": text},
                                               ignore_unverified_devices=True)
        assert isinstance(response, RoomSendResponse), response
        return str(response.event_id)

    async def react(self, room_id: str, event_id: str, key: str) -> None:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        response = await self.client.room_send(room_id, "m.reaction", content, ignore_unverified_devices=True)
        assert isinstance(response, RoomSendResponse), response

    # -- what the person sees ------------------------------------------------------------------
    def from_bot(self, room_id: str | None = None) -> list[Any]:
        self._retry_decryption()
        return [e for r, e in self.notices if (room_id is None or r == room_id) and not isinstance(e, MegolmEvent)]

    def _retry_decryption(self) -> None:
        """As real clients do: a message that came before its room key is decrypted once the key is here."""
        for index, (room_id, event) in enumerate(self.notices):
            if isinstance(event, MegolmEvent):
                try:
                    self.notices[index] = (room_id, self.client.decrypt_event(event))
                except Exception:  # the key has not arrived yet
                    continue

    @staticmethod
    def meta(event: Any) -> dict[str, Any]:
        return dict(event.source.get("content", {}).get(FIELD) or {})

    async def next_from_bot(self, after: int, condition: Callable[[Any], bool] = lambda e: True,
                            timeout: float = 20.0) -> Any:
        """The first message from the bot, among those after index `after`, that meets `condition`."""
        return await wait_until(lambda: next((e for e in self.from_bot()[after:] if condition(e)), None), timeout)

    def undecryptable(self) -> int:
        return sum(1 for _, e in self.notices if isinstance(e, MegolmEvent))
