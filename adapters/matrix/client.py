"""matrix-nio's client, minus nio's own answers to key verification, plus other people's key requests.

nio 0.26 answers an `m.key.verification.start` by itself (its own key, then a MAC on
confirmation), with a commitment in hexadecimal and the older MAC computed with the newer
base64, which Element's Rust crypto rejects; and it knows neither `request`, `ready`, `done`, nor
the in-room form. Boussole plays verification itself (`sas.py`, `verification.py`): nio's olm
machine is not handed verification events, the to-device callbacks still are.

nio answers `m.room_key_request` from the bot's own devices only, and hands no one the others'.
Those are collected here and given, once per sync, to `key_requests` (`keyshare.py` decides).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nio import AsyncClient, KeyVerificationEvent, RoomKeyRequest, RoomKeyRequestCancellation


class BoussoleClient(AsyncClient):  # type: ignore[misc]  # nio ships no types
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_requests: Callable[[list[Any]], Awaitable[None]] | None = None
        self._others_key_requests: list[Any] = []

    def _handle_decrypt_to_device(self, to_device_event: Any) -> Any:
        if isinstance(to_device_event, KeyVerificationEvent):
            return None
        if isinstance(to_device_event, RoomKeyRequest | RoomKeyRequestCancellation) \
                and to_device_event.sender != self.user_id:
            self._others_key_requests.append(to_device_event)
            return None
        return super()._handle_decrypt_to_device(to_device_event)

    async def _handle_to_device(self, response: Any) -> None:
        await super()._handle_to_device(response)
        pending, self._others_key_requests = self._others_key_requests, []
        if pending and self.key_requests is not None:
            await self.key_requests(pending)
