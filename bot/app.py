"""The application: one incoming event in, one atomic commit out, then delivery.

`Boussole.handle(event)` loads what the engine needs, runs it, and commits the new state,
the answers, the findings, the audit records and the rendered replies (the outbox) in one
`BEGIN IMMEDIATE` transaction, together with the event id so that a retried delivery is
recognised. Adapters then call `deliver()` to send what the outbox holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot import compass, dashboard
from bot.assessments import save_assessment
from bot.config import Config
from bot.escaping import visible_text
from bot.history import Glossary
from bot.i18n import Rendered, render
from bot.report import to_html
from bot.review import ReviewDesk
from bot.storage import Database, DatabaseUnavailable, InboxRow, OutboxRow, Tx, UserState
from conversations import engine
from conversations.commands import Who
from conversations.model import Incoming, Interview, Mode, Reply, ReplyKind, utc_iso
from conversations.questionnaire import Choice, LocalText, Questionnaire, load_versions

logger = logging.getLogger(__name__)
MAX_MESSAGE = 4000  # characters of one message; longer ones are refused with a message, never cut silently

Clock = Callable[[], dt.datetime]


class Undeliverable(Exception):
    """Raised by a sender for a message its transport refuses for good (unknown user, bad payload)."""


class NotYet(Exception):
    """Raised by a sender when this recipient cannot receive yet (an invitation not accepted):
    their messages wait, in order, while others' go out."""
Sender = Callable[[OutboxRow, Rendered], Awaitable[None]]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def write_report_files(attachment: Mapping[str, Any], *, zone: ZoneInfo, template_dir: Path | None) -> None:
    """Draw a report's compass picture and write it and the report's page where the reply says (blocking:
    run in a worker thread). Each file is written whole under a name of its own first, so that a reader, or
    another delivery writing the same report, never meets half of one."""
    png = compass.draw(compass.Picture.from_json(attachment["picture"]))
    page = to_html(attachment["report"], png, zone=zone, template_dir=template_dir).encode("utf-8")
    for path, data in ((Path(attachment["image"]), png), (Path(attachment["file"]), page)):
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{uuid.uuid4().hex}.partial")
        partial.write_bytes(data)
        partial.replace(path)


class Boussole:
    """The core application shared by every transport."""

    def __init__(self, *, config: Config, questionnaire: Questionnaire, db: Database,
                 clock: Clock = utc_now) -> None:
        self.config = config
        questionnaire = questionnaire.with_policy(config.impact.policy())   # the config's impact levels
        self.questionnaire = questionnaire
        self.db = db
        self.clock = clock
        self.directions = tuple(Choice(name, LocalText(d.label, d.label)) for name, d in config.directions.items())
        self.versions = load_versions(questionnaire)  # assessments answered under an earlier version keep it
        self.glossary = Glossary.of(config, questionnaire, self.versions)  # what an audit trail's codes stand for
        self.reports_dir = (db.path.parent if str(db.path) != ":memory:" else Path(".")) / "reports"
        self._outbox_changed = asyncio.Event()
        self._inbox_changed = asyncio.Event()
        self._delivering: dict[str, asyncio.Lock] = {}
        self.review = ReviewDesk(config=config, questionnaire=questionnaire, directions=self.directions,
                                 reports_dir=self.reports_dir, clock=clock, versions=self.versions)

    # -- incoming -----------------------------------------------------------------------
    async def handle(self, event: Incoming) -> bool:
        """Process one event once, in one transaction; False when its id was already processed (a retry).

        An error while processing it is contained: the event is marked done, the error audited and the
        user told, so that no message can stop a transport. Only DatabaseUnavailable (nothing written, try
        again later) reaches the caller."""
        event = replace(event, text=visible_text(event.text))
        now = self.clock()
        try:
            async with self.db.transaction() as tx:
                done = await tx.claim_event(event.id, utc_iso(now))
                if done and len(event.text) > MAX_MESSAGE:
                    await self.enqueue(tx, [Reply(event.user, ReplyKind.ERROR, "error.too_long",
                                                  {"length": len(event.text), "max": MAX_MESSAGE})], utc_iso(now))
                elif done:
                    await self._step(tx, event, now)
        except DatabaseUnavailable:
            raise
        except Exception as error:
            logger.exception("event %s from %s failed", event.id, event.user)
            done = await self.contain(event, error, now)
        if done:
            self.notify_outbox()
        else:
            logger.info("event %s already processed: ignored", event.id)
        return done

    async def contain(self, event: Incoming, error: Exception, now: dt.datetime | None = None) -> bool:
        """Mark a failed event done, audit the error and apologise (a transport calls it for an event it could
        not even translate); the original error if even that fails. False when the event was already done."""
        stamp = utc_iso(now or self.clock())
        try:
            async with self.db.transaction() as tx:
                if not await tx.claim_event(event.id, stamp):
                    return False
                await tx.audit(actor=event.user, action="event_failed", assessment_id=None, now=stamp, detail={
                    "event": event.id, "error": type(error).__name__, "message": str(error)[:300],
                    "text": event.text[:200]})
                await self.enqueue(tx, [Reply(event.user, ReplyKind.ERROR, "error.internal", {})], stamp)
        except Exception as second:
            raise error from second
        return True

    async def receive(self, events: list[Incoming]) -> None:
        """Record events durably before their transport acknowledges them; `run_inbox` processes them."""
        async with self.db.transaction() as tx:
            await tx.receive([replace(e, text=visible_text(e.text)) for e in events], utc_iso(self.clock()))
        self._inbox_changed.set()

    async def process_inbox(self, transport: str) -> int:
        """Process what the inbox holds for a transport, oldest first; how many events were processed.
        Stops at the first event the database could not take now: it stays, in order, for the next round."""
        processed = 0
        while rows := await self._inbox_waiting(transport):
            for row in rows:
                try:
                    await self.handle(row.event)
                except DatabaseUnavailable as error:
                    logger.warning("inbox: event %s waits, the database is unavailable: %s", row.event.id, error)
                    with contextlib.suppress(DatabaseUnavailable):
                        async with self.db.transaction() as tx:
                            await tx.inbox_failed(row.id, str(error))
                    return processed
                async with self.db.transaction() as tx:
                    await tx.inbox_done(row.id, utc_iso(self.clock()))
                processed += 1
        return processed

    async def _inbox_waiting(self, transport: str) -> list[InboxRow]:
        async with self.db.reading() as tx:
            return await tx.inbox_waiting(transport)

    async def run_inbox(self, transport: str, stopping: asyncio.Event, *, retry_delay: float = 1.0) -> None:
        """A transport's inbox loop: process what was received; after a failure, again after a growing delay."""
        backoff = retry_delay
        while not stopping.is_set():
            self._inbox_changed.clear()
            try:
                await self.process_inbox(transport)
                waiting = bool(await self._inbox_waiting(transport))
            except DatabaseUnavailable as error:
                logger.warning("inbox: the database is unavailable: %s", error)
                waiting = True
            except Exception:  # the loop must outlive any one round: what is left waits in the inbox
                logger.exception("inbox: processing failed; trying again")
                waiting = True
            if waiting:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._inbox_changed.wait(), backoff)
                backoff = min(backoff * 2, 60.0)
                continue
            backoff = retry_delay
            await self._inbox_changed.wait()

    async def _step(self, tx: Tx, event: Incoming, now: dt.datetime) -> None:
        stamp = utc_iso(now)
        state = await tx.user_state(event.user)
        conversation = state.conversation
        command = engine.route(event, conversation, state.drafts, self.questionnaire,
                               default_locale=self.config.locale, versions=self.versions, directions=self.directions,
                               audiences=self.audiences(event.user))
        if conversation.mode is Mode.COMMENTING:
            # The route read the text as the comment the pending decision waited for, or a command abandoning it.
            conversation = conversation.to(conversation.resting_mode, pending=None)
            state = replace(state, conversation=conversation)
            await tx.save_conversation(conversation, stamp)
        if command is not None and command.name == "dashboard":  # a read across the review side: no desk needed
            await self.enqueue(tx, [await dashboard.build(self, tx, event.user, now)], stamp)
        elif command is not None and command.name in self.review.COMMANDS:
            replies = await self.review.handle_command(tx, event.user, command, now)
            await self.enqueue(tx, replies, stamp)
        else:
            snapshot = await self.snapshot(tx, state, command.id_argument if command else None)
            outcome = engine.handle(snapshot, event, now, command)
            await self.commit_outcome(tx, snapshot, outcome, actor=event.user, now=now)

    async def refuse(self, event: Incoming, reason: str) -> bool:
        """Someone the transport does not let act: audited, told so, and nothing else changes."""
        now = self.clock()
        stamp = utc_iso(now)
        async with self.db.transaction() as tx:
            if not await tx.claim_event(event.id, stamp):
                return False
            await tx.audit(actor=event.user, action="access_refused", assessment_id=None,
                           detail={"reason": reason, "text": event.text[:200]}, now=stamp)
            await self.enqueue(tx, [Reply(event.user, ReplyKind.ERROR, "error.not_allowed", {})], stamp)
        self.notify_outbox()
        return True

    async def snapshot(self, tx: Tx, state: UserState, referenced_id: int | None) -> engine.Snapshot:
        conversation, next_id, briefs, drafts = state.conversation, state.next_id, state.briefs, state.drafts
        if referenced_id is None:
            referenced_id = conversation.target  # a pending confirmation is about this one
        referenced = drafts.get(referenced_id) if referenced_id is not None else None
        if referenced_id is not None and referenced is None:
            row = await tx.assessment(referenced_id)
            referenced = row.interview if row else None
        return engine.Snapshot(
            conversation=conversation, questionnaire=self.questionnaire, drafts=drafts,
            assessments=tuple(briefs), referenced=referenced, next_id=next_id, directions=self.directions,
            may_view_referenced=referenced is not None and self.review.may_see(conversation.user, referenced),
            versions=self.versions, audiences=self.audiences(conversation.user),
        )

    def audiences(self, user: str) -> frozenset[Who]:
        """Whom else than a requester the user is, for the help: a reviewer (holds a role), an admin."""
        return frozenset({*([Who.REVIEWER] if self.config.roles_of(user) else []),
                          *([Who.ADMIN] if self.config.is_admin(user) else [])})

    def questionnaire_for(self, interview: Interview) -> Questionnaire:
        return engine.questionnaire_for(interview, self.questionnaire, self.versions)

    async def commit_outcome(self, tx: Tx, snapshot: engine.Snapshot, outcome: engine.Outcome, *,
                             actor: str, now: dt.datetime) -> None:
        stamp = utc_iso(now)
        previous = dict(snapshot.drafts)
        if snapshot.referenced is not None:
            previous.setdefault(snapshot.referenced.id, snapshot.referenced)
        for interview in outcome.interviews:
            await save_assessment(tx, self.questionnaire_for(interview), interview, old=previous.get(interview.id),
                                  actor=actor, now=now)
        if outcome.conversation != snapshot.conversation:  # most answers leave it as it was
            await tx.save_conversation(outcome.conversation, stamp)
        await tx.audit_many([(actor, e.action, e.assessment, e.detail) for e in outcome.audit], stamp)
        replies = list(outcome.replies)
        replies += await self.review.on_signals(tx, outcome.signals, actor=actor, now=now)
        await self.enqueue(tx, replies, stamp, own=(actor, outcome.conversation.locale))

    # -- outgoing -----------------------------------------------------------------------
    async def locale_for(self, tx: Tx, user: str) -> str:
        return await tx.locale_of(user) or self.config.locale

    async def user_locale(self, user: str) -> str:
        """A user's language outside a step (an adapter drawing a modal or a message)."""
        async with self.db.reading() as tx:
            return await self.locale_for(tx, user)

    async def processed(self, event_id: str) -> bool:
        """Whether an incoming event id was already processed (a transport looking back in its history)."""
        async with self.db.reading() as tx:
            return await tx.event_processed(event_id)

    async def enqueue(self, tx: Tx, replies: Iterable[Reply], stamp: str,
                      own: tuple[str, str | None] | None = None) -> None:
        """Render each reply in its recipient's language and put it in the outbox."""
        locales: dict[str, str] = {}
        if own is not None:
            locales[own[0]] = own[1] or self.config.locale
        messages = []
        for reply in replies:
            if reply.to not in locales:
                locales[reply.to] = await self.locale_for(tx, reply.to)
            messages.append((reply.to, render(reply, locales[reply.to], self.config.zone, self.glossary).to_json()))
        await tx.enqueue(messages, stamp)

    def notify_outbox(self) -> None:
        """Wake the delivery loops: something was queued by this process."""
        self._outbox_changed.set()

    async def wait_for_outbox(self, poll_seconds: float = 2.0) -> None:
        """Return when this process queued something, or when another process committed to the database.

        Another process (`boussole reminders`, `boussole digest`) is seen through SQLite's
        data_version, a cheap pragma: the bot stays idle when nothing happens.
        """
        seen = await self.db.data_version()
        while True:
            try:
                await asyncio.wait_for(self._outbox_changed.wait(), timeout=poll_seconds)
            except TimeoutError:
                if await self.db.data_version() != seen:
                    return
                continue
            self._outbox_changed.clear()
            return

    async def run_delivery(self, transport: str, send: Sender, stopping: asyncio.Event, *,
                           retry_delay: float = 1.0) -> None:
        """An adapter's delivery loop: send what is queued; when nothing could go out but something waits
        (the transport is away, a recipient cannot receive yet), try again after a growing delay, or as soon
        as there is news (a new message, a sync), whichever comes first."""
        backoff = retry_delay
        while not stopping.is_set():
            sent = await self.deliver(transport, send)
            if sent == 0 and await self.undelivered(transport, 1):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wait_for_outbox(), backoff)
                backoff = min(backoff * 2, 60.0)
                continue
            backoff = retry_delay
            await self.wait_for_outbox()

    async def finish_delivery(self, loop: asyncio.Task[None], grace: float = 10.0) -> None:
        """Let an adapter's delivery loop (which checks its stop flag) send the message in hand and end;
        cancel it only if it lingers. A message cut between sending and marking would be sent twice."""
        self.notify_outbox()
        try:
            await asyncio.wait_for(asyncio.shield(loop), grace)
        except TimeoutError:
            loop.cancel()
            await asyncio.gather(loop, return_exceptions=True)

    async def deliver(self, transport: str, send: Sender, *, limit: int = 100) -> int:
        """Send what the outbox holds for a transport, oldest first; stop at the first failure.

        A message is marked delivered only after `send` returns, so a crash in between sends
        it again on restart (at least once); transports with idempotent sends (Matrix
        transaction ids) turn that into exactly once.
        """
        lock = self._delivering.setdefault(transport, asyncio.Lock())
        async with lock:  # two delivery loops of one transport would send a row twice
            return await self._deliver(transport, send, limit)

    async def _deliver(self, transport: str, send: Sender, limit: int) -> int:
        sent = 0
        waiting: set[str] = set()  # recipients who cannot receive yet: keep their order, skip them
        while True:
            rows = [r for r in await self.undelivered(transport, limit) if r.recipient not in waiting]
            if not rows:
                return sent
            for row in rows:
                if row.recipient in waiting:
                    continue
                try:
                    await send(row, await self.with_files(Rendered.from_json(row.payload)))
                except NotYet as exc:
                    logger.info("outbox %d to %s waits: %s", row.id, row.recipient, exc)
                    waiting.add(row.recipient)
                    continue
                except Undeliverable as exc:
                    logger.error("outbox %d to %s set aside: %s", row.id, row.recipient, exc)
                    async with self.db.transaction() as tx:
                        await tx.mark_dead(row.id, str(exc), utc_iso(self.clock()))
                    continue
                except Exception as exc:
                    logger.warning("delivery of outbox %d to %s failed: %s", row.id, row.recipient, exc)
                    async with self.db.transaction() as tx:
                        await tx.mark_failed(row.id, repr(exc))
                    return sent
                async with self.db.transaction() as tx:
                    await tx.mark_delivered(row.id, utc_iso(self.clock()))
                sent += 1
            if len(rows) < limit or not sent:
                return sent

    async def with_files(self, rendered: Rendered) -> Rendered:
        """A report's reply with its files written: the compass picture and the page, drawn from what the reply
        carries, in a worker thread, before the reply goes out. Written on every attempt, so that a crash after
        the step's commit, or between writing and sending, still ends with the files the reply names. Should
        they fail, the reply goes out without them (and the failure is logged) rather than stop the outbox."""
        attachment = rendered.attachment
        if not attachment or "picture" not in attachment:
            return rendered
        try:
            await asyncio.to_thread(write_report_files, attachment, zone=self.config.zone,
                                    template_dir=self.config.pages.template_dir)
        except Exception:
            logger.exception("the compass picture or the page of assessment %s could not be written",
                             rendered.assessment)
            return replace(rendered, attachment=None)
        return rendered

    async def undelivered(self, transport: str, limit: int = 100) -> list[OutboxRow]:
        async with self.db.reading() as tx:
            return await tx.undelivered(transport, limit)
