"""Verification of the bot by its administrators, to-device or in a direct room, with `sas.SasFlow`.

Who may verify the bot: a Matrix user named one by one in the configuration (`admins` as
`matrix:@…`, or `[matrix] allowed_users`), never someone allowed only through `allowed_servers`.
Anyone else's request is cancelled. The bot confirms the emojis once that person's client has
confirmed them (their MAC checks): the person compared the emojis Element shows with those the
bot writes in its log. A completed verification marks their device verified for the bot, signs
their master key with the bot's user-signing key (so trust goes both ways), and is written in
the audit trail with the emojis, as is every refusal and cancellation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nio import AsyncClient, ErrorResponse, ToDeviceError, ToDeviceMessage

from adapters.matrix.homeserver import HomeserverError
from adapters.matrix.identity import CrossSigning, IdentityError
from adapters.matrix.sas import Cancel, Device, Message, SasFlow
from bot.app import Boussole
from conversations.model import utc_iso

logger = logging.getLogger(__name__)
PREFIX = "m.key.verification."
KINDS = {"request", "ready", "start", "accept", "key", "mac", "done", "cancel"}
MAX_AGE_MS = 10 * 60 * 1000   # the specification's limit for a request, and how long a flow is kept
MAX_AHEAD_MS = 5 * 60 * 1000


@dataclass(frozen=True)
class Channel:
    """Where a flow's messages go: to one device (`room_id` None), or into a room as replies to the request."""

    their_user: str
    their_device: str | None
    transaction_id: str   # the to-device transaction id, or the in-room request's event id
    room_id: str | None = None


class Verifications:
    def __init__(self, client: AsyncClient, identity: CrossSigning, app: Boussole, *,
                 may_verify: Callable[[str], bool]) -> None:
        self.client = client
        self.identity = identity
        self.app = app
        self.may_verify = may_verify
        self.flows: dict[str, tuple[SasFlow, Channel, float]] = {}

    # -- what nio hands over ---------------------------------------------------------------------------
    async def on_to_device(self, event: Any) -> None:
        source = getattr(event, "source", None) or {}
        kind = str(source.get("type", "")).removeprefix(PREFIX)
        content = source.get("content") or {}
        if not str(source.get("type", "")).startswith(PREFIX) or kind not in KINDS or "transaction_id" not in content:
            return
        sender = str(source.get("sender", ""))
        channel = Channel(sender, content.get("from_device"), str(content["transaction_id"]))
        await self._contained(kind, sender, content, channel, content.get("timestamp"))

    async def on_room_event(self, room: Any, event: Any) -> None:
        source = getattr(event, "source", None) or {}
        sender = str(source.get("sender", ""))
        content = source.get("content") or {}
        if sender == self.client.user_id:
            return
        if source.get("type") == "m.room.message" and content.get("msgtype") == PREFIX + "request":
            if content.get("to") != self.client.user_id:
                return
            kind, transaction_id = "request", str(source.get("event_id", ""))
        elif str(source.get("type", "")).startswith(PREFIX):
            kind = str(source["type"]).removeprefix(PREFIX)
            transaction_id = str((content.get("m.relates_to") or {}).get("event_id", ""))
        else:
            return
        if kind not in KINDS or not transaction_id:
            return
        channel = Channel(sender, content.get("from_device"), transaction_id, room.room_id)
        await self._contained(kind, sender, content, channel, source.get("origin_server_ts"))

    async def _contained(self, kind: str, sender: str, content: dict[str, Any], channel: Channel,
                         timestamp: Any) -> None:
        try:
            await self._handle(kind, sender, content, channel, timestamp)
        except Exception:  # a verification never stops the sync loop
            logger.exception("Matrix: verification step %s from %s failed", kind, sender)

    # -- the flows -----------------------------------------------------------------------------------------
    async def _handle(self, kind: str, sender: str, content: dict[str, Any], channel: Channel,
                      timestamp: Any) -> None:
        now = time.monotonic()
        self.flows = {k: v for k, v in self.flows.items() if now - v[2] < MAX_AGE_MS / 1000}
        key = channel.transaction_id
        if kind == "request" or (kind == "start" and key not in self.flows):
            if kind == "request" and not _recent(timestamp):
                return  # an old request seen again (a first sync): not for now
            if channel.their_device is None:
                return
            if not self.may_verify(sender):
                await self._send(channel, [Cancel("m.user", "Boussole is verified by its administrators only")
                                           .message()])
                await self._audit(sender, "matrix_verification_refused", {"device": channel.their_device})
                logger.warning("Matrix: verification requested by %s refused (not an administrator)", sender)
                return
            flow = SasFlow(me=self._me(), their_user=sender, transaction_id=key, requested=kind == "request")
            self.flows[key] = (flow, channel, now)
        elif key in self.flows and self.flows[key][0].their_user == sender:
            flow, channel, _ = self.flows[key]
        else:
            return  # someone else's flow, or one already over
        try:
            messages = await self._step(flow, kind, content, channel)
        except Cancel as cancel:
            self.flows.pop(key, None)
            flow.state = "cancelled"
            await self._send(channel, [cancel.message()])
            await self._audit(sender, "matrix_verification_cancelled", {"device": channel.their_device,
                                                                       "by": "bot", "code": cancel.code,
                                                                       "reason": cancel.reason})
            logger.warning("Matrix: verification with %s cancelled: %s", sender, cancel)
            return
        await self._send(channel, messages)
        if flow.state == "done" and (flow.their_done or not flow.requested):
            self.flows.pop(key, None)

    async def _step(self, flow: SasFlow, kind: str, content: dict[str, Any], channel: Channel) -> list[Message]:
        if kind == "request":
            return flow.request(content)
        if kind == "start":
            return flow.start(content, await self._device(flow.their_user, str(content.get("from_device", ""))))
        if kind == "key":
            messages = flow.key(content)
            emojis = " ".join(f"{emoji} ({name})" for emoji, name in flow.emojis)
            logger.warning("Matrix device verification with %s (device %s): emojis %s", flow.their_user,
                           channel.their_device, emojis)
            return messages
        if kind == "mac":
            flow.their_mac(content)
            messages = flow.confirm()
            await self._verified(flow)
            return messages
        if kind == "done":
            flow.their_done = True
            return []
        if kind == "cancel":
            self.flows.pop(channel.transaction_id, None)
            flow.state = "cancelled"
            await self._audit(flow.their_user, "matrix_verification_cancelled", {
                "device": channel.their_device, "by": flow.their_user, "code": content.get("code"),
                "reason": content.get("reason")})
            logger.warning("Matrix: %s cancelled the verification: %s", flow.their_user, content.get("reason"))
            return []
        raise Cancel("m.unexpected_message", f"Boussole does not expect {kind} here")

    def _me(self) -> Device:
        keys = self.identity.keys
        return Device(self.client.user_id, self.client.device_id, self.client.olm.account.identity_keys["ed25519"],
                      keys.master.public if keys else None)

    async def _device(self, user_id: str, device_id: str) -> Device:
        published = await self.identity.published(user_id)
        key = ((published.devices.get(device_id) or {}).get("keys") or {}).get(f"ed25519:{device_id}")
        if not key:
            raise Cancel("m.key_mismatch", f"device {device_id} of {user_id} has published no keys")
        return Device(user_id, device_id, str(key), published.master_key)

    async def _verified(self, flow: SasFlow) -> None:
        assert flow.them is not None
        signed = False
        if flow.verified_master and self.identity.keys is not None:
            try:
                await self.identity.sign_user(flow.their_user, flow.verified_master)
                signed = True
            except (HomeserverError, IdentityError) as error:
                logger.error("Matrix: could not sign the master key of %s: %s", flow.their_user, error)
        device = self.client.device_store.active_user_devices(flow.their_user)
        for known in device:
            if known.device_id == flow.them.device_id and known.ed25519 == flow.them.ed25519:
                self.client.verify_device(known)
        await self._audit(flow.their_user, "matrix_verification_done", {
            "device": flow.them.device_id, "emojis": [f"{emoji} {name}" for emoji, name in flow.emojis],
            "master_key": flow.verified_master, "master_key_signed": signed})
        logger.warning("Matrix: %s verified the bot (device %s)%s", flow.their_user, flow.them.device_id,
                       "; their master key is signed by the bot" if signed else "")

    # -- out ------------------------------------------------------------------------------------------------------
    async def _send(self, channel: Channel, messages: list[Message]) -> None:
        for event_type, content in messages:
            if channel.room_id is None:
                if channel.their_device is None:
                    continue
                message = ToDeviceMessage(event_type, channel.their_user, channel.their_device,
                                          {**content, "transaction_id": channel.transaction_id})
                response = await self.client.to_device(message)
                failed = isinstance(response, ToDeviceError | ErrorResponse)
            else:
                relation = {"rel_type": "m.reference", "event_id": channel.transaction_id}
                response = await self.client.room_send(channel.room_id, event_type,
                                                       {**content, "m.relates_to": relation},
                                                       ignore_unverified_devices=True)
                failed = isinstance(response, ErrorResponse)
            if failed:
                logger.warning("Matrix: could not send %s to %s: %s", event_type, channel.their_user,
                               getattr(response, "message", response))

    async def _audit(self, user: str, action: str, detail: dict[str, Any]) -> None:
        async with self.app.db.transaction() as tx:
            await tx.audit(actor=f"matrix:{user}", action=action, assessment_id=None, detail=detail,
                           now=utc_iso(self.app.clock()))


def _recent(timestamp: Any) -> bool:
    if not isinstance(timestamp, int):
        return True
    age = time.time() * 1000 - timestamp
    return -MAX_AHEAD_MS < age < MAX_AGE_MS
