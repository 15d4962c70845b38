"""The Matrix adapter: matrix-nio, end-to-end encryption included, driven by its own sync loop.

The sync token is stored in the database only after every event of that sync has been
processed and committed (nio would store it before the callbacks run); a `limited`
timeline is back-filled. Each event id is processed once. Replies leave through the
outbox with a transaction id derived from the outbox row, so a resend after a crash is
deduplicated by the homeserver. No business rule here.

A user's dashboard (`!boussole tableau`) is one message, remembered in the database; each later
message to that user edits it in place (`m.replace`) when what it shows has changed.

A room is a person's direct room only while the bot and that one person are its only members,
joined or invited, as nio's room state shows after each sync: only there is plain text an
answer, and only there does the bot write to that person. When someone else joins or is
invited, the room is shared from then on: the bot says so there once and carries on in a new
direct room.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import struct
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nio import (
    AsyncClientConfig,
    ErrorResponse,
    InviteMemberEvent,
    JoinError,
    LoginError,
    MegolmEvent,
    ReactionEvent,
    RoomCreateError,
    RoomMessagesError,
    RoomMessageText,
    RoomMessageUnknown,
    RoomSendError,
    SyncError,
    SyncResponse,
    ToDeviceEvent,
    UnknownBadEvent,
    UnknownEvent,
    UploadResponse,
)
from nio.api import MessageDirection

from adapters.matrix.client import BoussoleClient
from adapters.matrix.formatting import DECISION_REACTIONS, REACTION_ANSWERS, contents, emoji_key
from adapters.matrix.homeserver import Homeserver, HomeserverError
from adapters.matrix.identity import CrossSigning, DatabaseKeys, IdentityError, Trust
from adapters.matrix.keyshare import KeySharing
from adapters.matrix.recovery import RecoveryKeyError
from adapters.matrix.verification import Verifications
from adapters.posting import PostedMessages
from bot import dashboard
from bot.app import Boussole, NotYet, Undeliverable
from bot.config import MatrixConfig
from bot.escaping import one_line
from bot.i18n import Rendered, Translator
from bot.review import answer_to_question
from bot.storage import DatabaseUnavailable, OutboxRow
from bot.storage.dashboard import DashboardMessage
from conversations.model import Incoming, Reply, ReplyKind, utc_iso

logger = logging.getLogger(__name__)
PREFIXES = ("!boussole", "/boussole")
BACKFILL_PAGES = 20
MAX_ID = 255        # the spec's limit for user, room and event ids
MAX_BODY = 65_536   # a whole event is at most 64 KiB: a longer body cannot come from a homeserver


class MatrixAdapter:
    def __init__(self, app: Boussole, config: MatrixConfig, secrets: Mapping[str, str], *,
                 retry_delay: float = 1.0, sync_timeout_ms: int = 30_000) -> None:
        self.app = app
        self.config = config
        self.secrets = dict(secrets)
        self.retry_delay = retry_delay
        self.sync_timeout_ms = sync_timeout_ms
        config.store_path.mkdir(parents=True, exist_ok=True)
        self.client = BoussoleClient(
            config.homeserver, config.user_id, device_id=config.device_id, store_path=str(config.store_path),
            config=AsyncClientConfig(store_sync_tokens=False, encryption_enabled=config.encryption,
                                     max_limit_exceeded=0, max_timeouts=2, request_timeout=60),
        )
        self.tasks: list[asyncio.Task[None]] = []
        self.stopping = asyncio.Event()
        self.synced = asyncio.Event()  # nio knows the rooms and their members: direct rooms can be told apart
        # Direct rooms the bot created whose invitation no sync has shown yet. A sync may show a room
        # half-made (the encryption and the invitation come after its first events): wait for all of it.
        self.opened: set[str] = set()
        self.posted = PostedMessages(app, "matrix")
        self.identity = CrossSigning(Homeserver(self.client), DatabaseKeys(app.db), user_id=config.user_id,
                                     device_id=config.device_id, password=self.secrets.get("MATRIX_PASSWORD"),
                                     recovery_key=self.secrets.get("MATRIX_RECOVERY_KEY"))
        self.trust: Trust | None = None  # what the last start made of the bot's cross-signing identity
        self.verifications = Verifications(self.client, self.identity, app, may_verify=self._may_verify)
        self.client.add_to_device_callback(self.verifications.on_to_device, (ToDeviceEvent, UnknownBadEvent))
        self.client.add_event_callback(self.verifications.on_room_event, (UnknownEvent, RoomMessageUnknown))
        self.client.key_requests = KeySharing(self.client, self.identity, allows=config.allows).answer

    # -- start and stop -------------------------------------------------------------------
    async def start(self) -> None:
        await self.connect()
        if self.config.encryption:
            await self._ensure_trust()
        delivery = self.app.run_delivery("matrix", self._deliver, self.stopping, retry_delay=self.retry_delay)
        self.tasks = [asyncio.create_task(self._sync_loop()), asyncio.create_task(delivery)]
        logger.info("Matrix: connected as %s (device %s)", self.config.user_id, self.client.device_id)

    async def connect(self) -> None:
        """Log in on the configured device and publish its keys (what `boussole matrix setup` needs too)."""
        if "MATRIX_ACCESS_TOKEN" in self.secrets:
            self.client.restore_login(self.config.user_id, self.config.device_id, self.secrets["MATRIX_ACCESS_TOKEN"])
        else:
            response = await self.client.login(self.secrets["MATRIX_PASSWORD"], device_name="Boussole")
            if isinstance(response, LoginError):
                raise ConnectionError(f"Matrix login as {self.config.user_id} failed: {response.message}")
        if self.client.should_upload_keys:
            await self.client.keys_upload()

    async def _ensure_trust(self) -> None:
        """Cross-sign the bot's device (creating its identity at the first start); the bot runs either way."""
        try:
            self.trust = await self.identity.ensure()
        except (IdentityError, HomeserverError, RecoveryKeyError) as error:
            logger.error("Matrix: the bot's device is not cross-signed, clients will warn about it: %s", error)
            return
        logger.info("Matrix: cross-signing identity %s (%s); device %s signed%s", self.trust.master,
                    self.trust.identity, self.config.device_id, " now" if self.trust.signed_now else "")

    async def stop(self) -> None:
        """Stop syncing at once (the token only moves after commits), let delivery finish the message in hand."""
        self.stopping.set()
        sync, delivery = self.tasks or (None, None)
        if sync is not None:
            sync.cancel()
            await asyncio.gather(sync, return_exceptions=True)
        if delivery is not None:
            await self.app.finish_delivery(delivery)
        await self.client.close()

    # -- the sync loop ----------------------------------------------------------------------
    async def _sync_loop(self) -> None:
        async with self.app.db.reading() as tx:
            token, _ = await tx.matrix_sync_token()
        delay = self.retry_delay
        full_state = True  # after a start nio knows no room (members, encryption): get their state once
        while not self.stopping.is_set():
            try:
                response = await self.client.sync(timeout=0 if full_state else self.sync_timeout_ms, since=token,
                                                  full_state=full_state, set_presence="offline")
            except Exception as exc:  # the homeserver went away: carry on when it returns
                logger.warning("Matrix sync failed (%s); retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
                continue
            if isinstance(response, SyncError):
                logger.warning("Matrix sync error %s; retrying in %.0f s", response.message, delay)
                await asyncio.sleep(getattr(response, "retry_after_ms", 0) / 1000 or delay)
                delay = min(delay * 2, 60.0)
                continue
            delay = self.retry_delay
            full_state = False
            await self._crypto_housekeeping()  # know the members' devices before any reply is encrypted
            try:
                await self._process(response, first=token is None)
            except DatabaseUnavailable as error:  # nothing of it lost: the same sync again, from the same token
                logger.warning("Matrix: events wait, the database is unavailable (%s); retrying in %.0f s",
                               error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
                continue
            token = response.next_batch
            async with self.app.db.transaction() as tx:  # only now: every event of this sync is committed
                await tx.set_matrix_sync_token(token, utc_iso(self.app.clock()))
            self.synced.set()
            self.app.notify_outbox()  # rooms and members just synced may let waiting messages out

    async def _crypto_housekeeping(self) -> None:
        if not self.config.encryption:
            return
        client = self.client
        try:
            if client.should_upload_keys:
                await client.keys_upload()
            if client.should_query_keys:
                await client.keys_query()
            if client.should_claim_keys:
                await client.keys_claim(client.get_users_for_key_claiming())
            await client.send_to_device_messages()
        except Exception as exc:
            logger.warning("Matrix key maintenance failed: %s", exc)

    async def _process(self, response: SyncResponse, *, first: bool) -> None:
        for room_id, info in response.rooms.invite.items():
            await self._on_invite(room_id, info.invite_state)
        for room_id in response.rooms.leave:
            # The bot is out (left, kicked): nio ignores such rooms and would keep their last members.
            async with self.app.db.transaction() as tx:
                await tx.set_shared_matrix_room(room_id)
        for room_id, info in response.rooms.join.items():
            await self._check_direct(room_id)  # its members may have changed since the last sync
            events = list(info.timeline.events)
            if first:
                async with self.app.db.transaction() as tx:
                    await tx.remember_matrix_room(room_id, _now_ms())
                continue  # the very first sync shows history from before the bot ran: not for it
            if info.timeline.limited and info.timeline.prev_batch:
                events = await self._backfill(room_id, info.timeline.prev_batch) + events
            done: set[str] = set()
            for event in events:
                if getattr(event, "event_id", None) not in done:
                    done.add(event.event_id)
                    await self._contained(room_id, event)

    async def _contained(self, room_id: str, event: Any) -> None:
        """One event's failure is its own: recorded and answered, and the sync goes on past it."""
        try:
            await self._on_event(room_id, event)
        except DatabaseUnavailable:
            raise
        except Exception as error:
            logger.exception("Matrix: event %s in %s failed", getattr(event, "event_id", "?"), room_id)
            sender = str(getattr(event, "sender", ""))
            if sender and hasattr(event, "event_id"):
                await self.app.contain(Incoming(f"matrix:{event.event_id}", f"matrix:{sender}", ""), error)

    async def _backfill(self, room_id: str, start: str) -> list[Any]:
        """The events a limited timeline left out, back to the first one already handled (or the join)."""
        joined_at = await self._joined_at(room_id)
        older: list[Any] = []
        token = start
        for _ in range(BACKFILL_PAGES):
            page = await self.client.room_messages(room_id, start=token, direction=MessageDirection.back, limit=50)
            if isinstance(page, RoomMessagesError) or not page.chunk:
                break
            seen = False
            for event in page.chunk:
                before_join = getattr(event, "server_timestamp", 0) < joined_at
                if before_join or await self.app.processed(f"matrix:{event.event_id}"):
                    seen = True
                    break
                older.append(event)
            if seen or not page.end:
                break
            token = page.end
        return list(reversed(older))

    # -- rooms ------------------------------------------------------------------------------
    async def _on_invite(self, room_id: str, invite_state: list[Any]) -> None:
        inviter = next((e.sender for e in invite_state if isinstance(e, InviteMemberEvent)
                        and e.state_key == self.config.user_id), None)
        if inviter is None or not self.config.allows(inviter):
            logger.info("Matrix: invite to %s by %s declined (not allowed)", room_id, inviter)
            await self.client.room_leave(room_id)
            return
        deciding = _now_ms()  # what comes after this instant is for the bot; what came before is not
        response = await self.client.join(room_id)
        if isinstance(response, JoinError):
            logger.warning("Matrix: could not join %s: %s", room_id, response.message)
            return
        async with self.app.db.transaction() as tx:
            await tx.joined_matrix_room(room_id, inviter=inviter, joined_at=deciding)

    async def _joined_at(self, room_id: str) -> int:
        async with self.app.db.transaction() as tx:
            room = await tx.matrix_room(room_id)
            if room is None:
                joined_at = _now_ms()
                await tx.remember_matrix_room(room_id, joined_at)
                return joined_at
        return room.joined_at

    def _private_to(self, room_id: str, mxid: str) -> bool:
        """Whether the bot and this one person are all the room's members, the invited ones counted."""
        room = self.client.rooms.get(room_id)
        return room is not None and set(room.users) == {self.config.user_id, mxid}

    async def _mark_direct(self, room_id: str, user: str) -> None:
        async with self.app.db.transaction() as tx:
            await tx.set_direct_matrix_room(room_id, user, _now_ms())

    async def _check_direct(self, room_id: str) -> None:
        """A stored direct room whose members changed is shared from now on."""
        async with self.app.db.reading() as tx:
            room = await tx.matrix_room(room_id)
        if room is None or not room.direct or room.user is None:
            return
        mxid = room.user.removeprefix("matrix:")
        if self._private_to(room_id, mxid):
            return
        nio_room = self.client.rooms.get(room_id)
        present = nio_room is not None and mxid in nio_room.users
        async with self.app.db.transaction() as tx:
            if not await tx.set_shared_matrix_room(room_id):
                return
            if present:  # the person is still there: the next message for them opens a new direct room
                await self.app.enqueue(tx, [Reply(room.user, ReplyKind.INFO, "matrix.moved_here", {})],
                                       utc_iso(self.app.clock()))
        logger.info("Matrix: %s is no longer the direct room of %s (other members)", room_id, mxid)
        self.app.notify_outbox()
        if present:
            await self._say_shared(room_id)

    async def _say_shared(self, room_id: str) -> None:
        text = Translator(self.app.config.locale, self.app.config.zone)("matrix.room_shared")
        content = contents(Rendered(to="", kind=str(ReplyKind.INFO), key="matrix.room_shared", body=text))[0]
        try:
            response = await self.client.room_send(room_id, "m.room.message", content,
                                                   ignore_unverified_devices=self.config.send_to_unverified_devices)
        except Exception as exc:  # a courtesy: the room is already shared, the sync loop must go on
            logger.warning("Matrix: could not say in %s that it is shared: %s", room_id, exc)
            return
        if isinstance(response, RoomSendError | ErrorResponse):
            logger.warning("Matrix: could not say in %s that it is shared: %s", room_id, response.message)

    # -- events -----------------------------------------------------------------------------
    async def _on_event(self, room_id: str, event: Any) -> None:
        sender = getattr(event, "sender", "")
        if sender == self.config.user_id or not hasattr(event, "event_id"):
            return
        if not isinstance(event, RoomMessageText | ReactionEvent | MegolmEvent):
            return
        joined_at = await self._joined_at(room_id)
        if event.server_timestamp < joined_at:
            logger.info("Matrix: %s in %s is from before the bot joined: ignored", event.event_id, room_id)
            return
        if isinstance(event, MegolmEvent):
            logger.warning("Matrix: cannot decrypt %s in %s (missing keys)", event.event_id, room_id)
            return
        user = f"matrix:{sender}"
        direct = self._private_to(room_id, sender)  # the members now, whatever the room was before
        incoming = await self._translate(room_id, event, user, direct)
        if incoming is None:
            return
        if not self.config.allows(sender):
            await self.app.refuse(incoming, "matrix: user or server not allowed")
            return
        if direct:
            await self._mark_direct(room_id, user)
        await self.app.handle(incoming)

    async def _translate(self, room_id: str, event: Any, user: str, direct: bool) -> Incoming | None:
        unreadable = _unreadable(event)
        if unreadable:
            logger.warning("Matrix: %s in %s not understood (%s): ignored", type(event).__name__, room_id, unreadable)
            return None
        event_id = f"matrix:{event.event_id}"
        if isinstance(event, ReactionEvent):
            posted = await self.posted.find(room_id, event.reacts_to)
            if posted is None:
                return None
            if posted.key == "review.request":
                # ✅ approves; ⚠️ reservations, 📝 changes, ❌ rejection: the bot then asks for the comment.
                decision = DECISION_REACTIONS.get(emoji_key(event.key))
                return Incoming(event_id, user, f"{decision} {posted.assessment_id}",
                                explicit=True) if decision else None
            answer = REACTION_ANSWERS.get(emoji_key(event.key))
            if posted.question_id is None or answer is None or not direct or posted.recipient != user:
                return None  # an answer is the asked person's own, given in their direct room
            return Incoming(event_id, user, answer, question=posted.question_id)
        text = event.body.strip()
        replied = _replied_to(event)
        if replied is not None and direct:
            answer = answer_to_question(await self.posted.find(room_id, replied), user, _without_quote(text))
            if answer is not None:
                return Incoming(event_id, user, answer, explicit=True)
        lowered = text.lower()
        for prefix in PREFIXES:
            if lowered.startswith(prefix):
                return Incoming(event_id, user, text[len(prefix):].strip() or "aide", explicit=True)
        if text.startswith("/") and direct:  # "/rapport 3": a command even while a free-text answer waits
            return Incoming(event_id, user, text[1:].strip() or "aide", explicit=True)
        return Incoming(event_id, user, text) if direct else None  # in shared rooms, only commands

    # -- verification (emoji SAS: verification.py) ----------------------------------------------------
    def _may_verify(self, user: str) -> bool:
        """Named people only: Matrix admins of the config, or `allowed_users`; never a whole allowed server."""
        return self.app.config.is_admin(f"matrix:{user}") or user in self.config.allowed_users

    # -- outgoing ---------------------------------------------------------------------------------
    async def _dm_room(self, user: str) -> str:
        """The user's newest room that is still private to them, or a new one."""
        mxid = user.removeprefix("matrix:")
        async with self.app.db.reading() as tx:
            rooms = await tx.direct_matrix_rooms(user)
        for room_id in rooms:
            room = self.client.rooms.get(room_id)
            if room_id in self.opened:
                if room is None or mxid not in room.users:
                    return room_id  # being created: `_send` waits until a sync shows it whole
                self.opened.discard(room_id)
            if self._private_to(room_id, mxid):
                return room_id
        initial_state = [{"type": "m.room.encryption", "state_key": "",
                          "content": {"algorithm": "m.megolm.v1.aes-sha2"}}] if self.config.encryption else []
        response = await self.client.room_create(is_direct=True, invite=[mxid], initial_state=initial_state,
                                                 preset=None)
        if isinstance(response, RoomCreateError):
            raise ConnectionError(f"could not open a direct room with {mxid}: {response.message}")
        self.opened.add(response.room_id)
        async with self.app.db.transaction() as tx:
            await tx.set_direct_matrix_room(response.room_id, user, _now_ms())
        return str(response.room_id)

    async def _deliver(self, row: OutboxRow, rendered: Rendered) -> None:
        await self._send(row, rendered)
        if rendered.key == dashboard.KEY:
            await self._remember_dashboard(row, rendered)
        else:
            await self.refresh_dashboard(row.recipient)

    # -- the dashboard: one message per user, edited in place (`m.replace`) when it changes ---------------
    async def _remember_dashboard(self, row: OutboxRow, rendered: Rendered) -> None:
        """The dashboard just posted is the user's from now on: the one later changes edit."""
        async with self.app.db.transaction() as tx:
            posted = await tx.posted_message_id(row.id)
            if posted is not None:
                room_id, event_id = posted
                await tx.set_matrix_dashboard(row.recipient, DashboardMessage(room_id, event_id,
                                                                             _fingerprint(_one(rendered))))

    async def refresh_dashboard(self, user: str) -> None:
        """After a message to someone whose dashboard was posted: that message edited to show what it shows now,
        when that changed, and only while the room is still theirs alone. A failure here is the dashboard's
        alone: the message it follows was delivered."""
        try:
            async with self.app.db.reading() as tx:
                posted = await tx.matrix_dashboard(user)
                if posted is None or not self._private_to(posted.channel, user.removeprefix("matrix:")):
                    return
                shown = await dashboard.rendered(self.app, tx, user)
            content = _one(shown)
            fingerprint = _fingerprint(content)
            if fingerprint == posted.fingerprint:
                return
            room = self.client.rooms[posted.channel]
            if room.encrypted:
                await self._crypto_housekeeping()
            response = await self.client.room_send(posted.channel, "m.room.message",
                                                   _replacement(posted.message_id, content),
                                                   ignore_unverified_devices=self.config.send_to_unverified_devices)
            if isinstance(response, RoomSendError | ErrorResponse):
                logger.warning("Matrix: could not edit the dashboard of %s: %s", user, response.message)
                return
            async with self.app.db.transaction() as tx:
                await tx.set_matrix_dashboard(user, DashboardMessage(posted.channel, posted.message_id, fingerprint))
        except Exception as error:
            logger.warning("Matrix: could not edit the dashboard of %s: %s", user, error)

    async def _send(self, row: OutboxRow, rendered: Rendered) -> None:
        if not self.synced.is_set():
            raise NotYet("no sync yet: which rooms are private is not known")
        if rendered.kind == "review_request" and self.config.reviewers_room:
            room_id = self.config.reviewers_room
            if await self.posted.shown_in_room(room_id, row, rendered):
                return
        else:
            room_id = await self._dm_room(row.recipient)
        room = self.client.rooms.get(room_id)
        if room is None:
            raise NotYet(f"room {room_id} not synced yet")
        mxid = row.recipient.removeprefix("matrix:")
        if room_id != self.config.reviewers_room and mxid not in room.users:
            raise NotYet(f"{mxid} is not invited to {room_id} yet")
        if room.encrypted and mxid in room.invited_users:
            raise NotYet(f"{mxid} has not accepted the invitation to {room_id} yet: keys go to members")
        posted = await self.posted.parts_posted(row)
        if room.encrypted:
            await self._crypto_housekeeping()
        for part, content in enumerate(contents(rendered)):
            if part in posted:
                continue
            # A stable transaction id: if we crash after sending and send again, the homeserver dedupes.
            response = await self.client.room_send(room_id, "m.room.message", content,
                                                   tx_id=f"boussole.{row.id}.{part}",
                                                   ignore_unverified_devices=self.config.send_to_unverified_devices)
            if isinstance(response, RoomSendError | ErrorResponse):
                retry_after = getattr(response, "retry_after_ms", None)
                if response.status_code == "M_LIMIT_EXCEEDED" or retry_after:
                    await asyncio.sleep((retry_after or 1000) / 1000)
                    raise ConnectionError("rate limited by the homeserver")
                if response.status_code in ("M_FORBIDDEN", "M_UNKNOWN_TOKEN"):
                    raise Undeliverable(f"{response.status_code}: {response.message}")
                raise ConnectionError(f"{response.status_code}: {response.message}")
            await self.posted.remember(row, part, room_id, response.event_id, rendered, {"kind": rendered.kind})
        attachment = rendered.attachment or {}
        image = attachment.get("image")
        if image and len(contents(rendered)) not in posted:
            await self._send_image(row, rendered, room_id, Path(image), attachment.get("alt"),
                                   part=len(contents(rendered)))

    async def _send_image(self, row: OutboxRow, rendered: Rendered, room_id: str, path: Path, alt: str | None, *,
                          part: int) -> None:
        """The compass picture as m.image; encrypted as a file in an encrypted room."""
        data = path.read_bytes()
        encrypted = self.client.rooms[room_id].encrypted
        response, keys = await self.client.upload(lambda *_: io.BytesIO(data), content_type="image/png",
                                                  filename=path.name, encrypt=encrypted, filesize=len(data))
        if not isinstance(response, UploadResponse):
            raise ConnectionError(f"image upload failed: {response}")
        content = image_content(path.name, data, alt)
        if encrypted and keys:
            content["file"] = {**keys, "url": response.content_uri}
        else:
            content["url"] = response.content_uri
        sent = await self.client.room_send(room_id, "m.room.message", content, tx_id=f"boussole.{row.id}.{part}",
                                           ignore_unverified_devices=self.config.send_to_unverified_devices)
        if isinstance(sent, RoomSendError | ErrorResponse):
            raise ConnectionError(f"{sent.status_code}: {sent.message}")
        await self.posted.remember(row, part, room_id, sent.event_id, rendered, {"kind": rendered.kind})


def image_content(filename: str, png: bytes, alt: str | None) -> dict[str, Any]:
    """An m.image event's content, without its url: `body` is the image's textual representation, its alt
    text (statuses in words) when there is one; with a `filename` that differs, clients since Matrix 1.10
    show it as the caption."""
    width, height = struct.unpack(">II", png[16:24])   # the PNG header's IHDR
    return {"msgtype": "m.image", "body": one_line(alt, MAX_BODY) if alt else filename, "filename": filename,
            "info": {"mimetype": "image/png", "size": len(png), "w": width, "h": height}}


def _one(rendered: Rendered) -> dict[str, Any]:
    """A dashboard's content: one message (its lists are short by construction), its parts joined if not."""
    parts = contents(rendered)
    if len(parts) == 1:
        return parts[0]
    return {**parts[0], "body": "\n".join(p["body"] for p in parts),
            "formatted_body": "".join(p["formatted_body"] for p in parts)}


def _fingerprint(content: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _replacement(event_id: str, content: dict[str, Any]) -> dict[str, Any]:
    """An edit of `event_id` (Matrix spec, "Event replacements"): the new content whole in `m.new_content`, and a
    fallback, marked "* ", for clients that do not know edits."""
    return {**content, "body": f"* {content['body']}", "formatted_body": f"* {content['formatted_body']}",
            "m.new_content": content, "m.relates_to": {"rel_type": "m.replace", "event_id": event_id}}


def _now_ms() -> int:
    return int(time.time() * 1000)


def _is_text(value: Any, limit: int) -> bool:
    """A string of at most `limit` characters that UTF-8 can encode (JSON can carry lone surrogates)."""
    if not isinstance(value, str) or len(value) > limit:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _replied_to(event: Any) -> str | None:
    """The event a message answers: its thread's root, else the message it replies to; None for neither (or
    for a relation that is not what the spec describes)."""
    source = getattr(event, "source", None)
    content = source.get("content") if isinstance(source, dict) else None
    relation = content.get("m.relates_to") if isinstance(content, dict) else None
    if not isinstance(relation, dict):
        return None
    target: Any = relation.get("event_id") if relation.get("rel_type") == "m.thread" else None
    if target is None:
        in_reply_to = relation.get("m.in_reply_to")
        target = in_reply_to.get("event_id") if isinstance(in_reply_to, dict) else None
    return target if _is_text(target, MAX_ID) and target and target.isprintable() else None


def _without_quote(body: str) -> str:
    """A reply's own text, without the quoted lines (`> …`) clients put first as a fallback."""
    lines = body.splitlines()
    while lines and lines[0].startswith(">"):
        lines.pop(0)
    return "\n".join(lines).strip()


def _unreadable(event: Any) -> str | None:
    """The field of a message or reaction that is not what a homeserver sends (ids are printable text of at
    most 255 characters, a body fits in an event), or None when every field the adapter reads is."""
    reaction = isinstance(event, ReactionEvent)
    for name in ("event_id", "sender", "reacts_to") if reaction else ("event_id", "sender"):
        value = getattr(event, name, None)
        if not (_is_text(value, MAX_ID) and value and value.isprintable()):
            return name
    name, limit = ("key", MAX_ID) if reaction else ("body", MAX_BODY)
    return None if _is_text(getattr(event, name, None), limit) else name
