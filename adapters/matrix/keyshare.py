"""Room keys for someone's new device: answering `m.room_key_request` from other users.

nio answers only the bot's own devices. The bot forwards a room key to another person's device
when all of this holds, and otherwise says no in its log:
- the person may talk to the bot (`allowed_users` / `allowed_servers`);
- the key is one of the bot's own Megolm sessions (it never forwards what others sent);
- the room is one the person is a member of now;
- the requesting device is cross-signed by its owner (signed by their self-signing key, itself
  signed by their master key, as the homeserver publishes them now).
Element (Rust crypto) asks only the person's own devices for keys, and Element and matrix-nio take
forwarded keys only from those: this serves clients that also trust the key's own sender.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from nio import AsyncClient, ErrorResponse, RoomKeyRequest, RoomKeyRequestCancellation

from adapters.matrix.identity import CrossSigning

logger = logging.getLogger(__name__)
MEGOLM = "m.megolm.v1.aes-sha2"


class Refused(Exception):
    pass


class KeySharing:
    def __init__(self, client: AsyncClient, identity: CrossSigning, *, allows: Callable[[str], bool]) -> None:
        self.client = client
        self.identity = identity
        self.allows = allows

    async def answer(self, events: list[Any]) -> None:
        """Answer the requests of one sync, leaving out those cancelled in the same sync."""
        cancelled = {(e.sender, e.request_id) for e in events if isinstance(e, RoomKeyRequestCancellation)}
        for event in events:
            if not isinstance(event, RoomKeyRequest) or (event.sender, event.request_id) in cancelled:
                continue
            try:
                await self._share(event)
            except Refused as refusal:
                logger.info("Matrix: room key %s not shared with %s (device %s): %s", event.session_id,
                            event.sender, event.requesting_device_id, refusal)
            except Exception:  # one request's failure is its own: the sync goes on
                logger.exception("Matrix: room key request from %s failed", event.sender)

    async def _share(self, request: Any) -> None:
        client = self.client
        user, device_id = request.sender, request.requesting_device_id
        if not self.allows(user):
            raise Refused("not allowed to talk to the bot")
        if request.algorithm != MEGOLM or request.sender_key != client.olm.account.identity_keys["curve25519"]:
            raise Refused("not one of the bot's own sessions")
        room = client.rooms.get(request.room_id)
        if room is None or user not in room.users or user in room.invited_users:
            raise Refused("not a member of that room")
        if not (await self.identity.published(user)).device_cross_signed(device_id):
            raise Refused("device not cross-signed by its owner")
        group_session = client.olm.inbound_group_store.get(request.room_id, request.sender_key, request.session_id)
        if group_session is None:
            raise Refused("no such session")
        device = await self._device(user, device_id)
        session = client.olm.session_store.get(device.curve25519)
        if session is None:
            await client.keys_claim({user: [device_id]})
            session = client.olm.session_store.get(device.curve25519)
            if session is None:
                raise Refused("no Olm session could be opened with that device")
        # nio's own way of wrapping a forwarded key (what it sends the bot's own devices), Olm-encrypted.
        message = client.olm._encrypt_forwarding_key(request.room_id, group_session, session, device)
        response = await client.to_device(message)
        if isinstance(response, ErrorResponse):
            raise Refused(f"sending failed: {response.message}")
        logger.info("Matrix: room key %s forwarded to %s (device %s)", request.session_id, user, device_id)

    async def _device(self, user: str, device_id: str) -> Any:
        """The device as nio knows it (its keys queried again if it is new)."""
        client = self.client
        device = client.device_store[user].get(device_id)
        if device is None:
            client.olm.users_for_key_query.add(user)
            await client.keys_query()
            device = client.device_store[user].get(device_id)
        if device is None:
            raise Refused("unknown device")
        return device
