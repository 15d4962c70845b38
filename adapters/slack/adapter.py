"""The Slack adapter: slack-bolt (async) in HTTP or Socket Mode, and the Slack side of the outbox.

Every Slack request's events are recorded in the inbox, then acknowledged (within Slack's 3-second
limit), then processed from the inbox; one that cannot be recorded is not acknowledged, and Slack
sends it again. Delivery paces messages per channel, waits on 429 for Retry-After, retries 5xx and
connection errors with backoff, and leaves what it cannot send in the outbox, in order.
No business rule here: the adapter translates payloads and draws replies.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt import BoltResponse
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.posting import PostedMessages
from adapters.slack.blocks import answered, build, escape, home_view
from adapters.slack.translate import PREFIX, Click, Modal, Translated, translate
from bot import dashboard
from bot.app import Boussole, Undeliverable
from bot.config import SlackConfig
from bot.escaping import one_line
from bot.i18n import Rendered, Translator
from bot.review import answer_to_question
from bot.storage import OutboxRow, StorageError
from conversations.commands import COMMANDS, Argument

logger = logging.getLogger(__name__)

# Messages that settle a review request: the request is then redrawn without its buttons.
SETTLING_KEYS = {"review.recorded", "review.closed", "review.role_decided", "review.withdrawn_notice"}
RETRIES = 5
SLACK_ALT_TEXT = 1000  # characters of an image's alt_txt (files.getUploadURLExternal: alt_txt_too_large)


class Pacer:
    """At most `rate` messages per second per channel, after a burst of `burst`."""

    def __init__(self, rate: float, burst: int = 3, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.interval = 1.0 / rate
        self.burst = burst
        self.clock = clock
        self.sleep = sleep
        self.next_free: dict[str, float] = {}

    async def wait(self, channel: str) -> None:
        now = self.clock()
        earliest = now - (self.burst - 1) * self.interval  # unused credit is capped at one burst
        slot = max(self.next_free.get(channel, earliest), earliest)
        self.next_free[channel] = slot + self.interval
        if slot > now:
            await self.sleep(slot - now)


class SlackAdapter:
    def __init__(self, app: Boussole, config: SlackConfig, secrets: Mapping[str, str], *,
                 retry_delay: float = 0.5) -> None:
        self.app = app
        self.retry_delay = retry_delay
        self.config = config
        self.secrets = dict(secrets)
        self.client = AsyncWebClient(token=secrets["SLACK_BOT_TOKEN"], base_url=config.api_url)
        self.bolt = AsyncApp(client=self.client, signing_secret=secrets.get("SLACK_SIGNING_SECRET", ""),
                             # The listener runs before the response: an event that could not be recorded gets
                             # an error, not an acknowledgement, and Slack sends it again. Listeners only record.
                             process_before_response=True, request_verification_enabled=config.mode == "http")
        self.bolt.command(re.compile(r"^/boussole"))(self._on_command)
        self.bolt.event("message")(self._on_event)
        self.bolt.event("app_home_opened")(self._on_home_opened)
        self.bolt.action(re.compile(r".*"))(self._on_action)
        self.bolt.view(re.compile(r"^boussole:"))(self._on_view)
        self.bolt.error(self._on_error)
        self.pacer = Pacer(config.messages_per_second)
        self.posted = PostedMessages(app, "slack")
        self.dm_channels: dict[str, str] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.runner: web.AppRunner | None = None
        self.socket_handler: Any = None
        self.delivery: asyncio.Task[None] | None = None
        self.inbox: asyncio.Task[None] | None = None
        self.port: int | None = None
        self.stopping = asyncio.Event()

    # -- incoming -----------------------------------------------------------------------
    # A request's events are recorded before Slack gets its acknowledgement (Slack never resends an
    # acknowledged event): when they cannot be recorded, no acknowledgement goes out and Slack retries.
    async def _receive_then_ack(self, ack: AsyncAck, translated: Translated, **ack_args: Any) -> None:
        if translated.events:
            await self.app.receive(list(translated.events))
        await ack(**ack_args)
        if translated.click is not None:
            self._spawn(self._settle_click(translated.click))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(self._quietly(work))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    @staticmethod
    async def _quietly(work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except Exception:
            logger.exception("a Slack side task failed")

    async def _on_command(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        in_dm = str(body.get("channel_id", "")).startswith("D")
        ack_args = {} if in_dm else {"text": Translator(self.app.config.locale, self.app.config.zone)("slack.ack")}
        await self._receive_then_ack(ack, translate("command", body), **ack_args)

    async def _on_event(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await self._receive_then_ack(ack, await self._in_thread(translate("event_callback", body)))

    async def _in_thread(self, translated: Translated) -> Translated:
        """A reply in the thread of a reviewer's question is the requester's `réponse <n°> …`."""
        if translated.thread is None or len(translated.events) != 1:
            return translated
        incoming = translated.events[0]
        text = answer_to_question(await self.posted.find(*translated.thread), incoming.user, incoming.text)
        if text is None:
            return translated
        return replace(translated, events=[replace(incoming, text=text, explicit=True)])

    async def _on_home_opened(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        translated = translate("event_callback", body)
        await ack()
        if translated.home is not None:
            self._spawn(self.publish_home(translated.home))

    async def _on_action(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        translated = translate("block_actions", body)
        if translated.modal is not None:
            await ack()
            self._spawn(self._open_modal(translated.modal))
        else:
            await self._receive_then_ack(ack, translated)

    async def _on_view(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await self._receive_then_ack(ack, translate("view_submission", body))

    async def _on_error(self, error: Exception) -> BoltResponse | None:
        """Bolt's one error handler. Events that could not be recorded are not acknowledged (500): Slack sends
        them again. Anything else is a request bolt or Boussole could not read (bolt reads many fields of the
        payload without checking their type): refused (400)."""
        if isinstance(error, StorageError):
            return None
        logger.warning("Slack request not understood: refused (%s: %s)", type(error).__name__, str(error)[:200],
                       exc_info=error)
        return BoltResponse(status=400, body="request not understood")

    async def _open_modal(self, modal: Modal) -> None:
        t = Translator(await self.app.user_locale(modal.user), self.app.config.zone)
        spec = COMMANDS[modal.action]
        optional = spec.argument is Argument.NUMBER_COMMENT and not spec.comment_required
        label = t("slack.modal.justification") if modal.action == "exception" else (
            t("slack.modal.comment_optional") if optional else t("slack.modal.comment"))
        view = {
            "type": "modal", "callback_id": f"boussole:{modal.action}",
            "private_metadata": json.dumps({"action": modal.action, "command": modal.command,
                                            "assessment": modal.assessment}),
            "title": {"type": "plain_text", "text": t("slack.modal.title")},
            "submit": {"type": "plain_text", "text": t("slack.modal.submit")},
            "close": {"type": "plain_text", "text": t("slack.modal.cancel")},
            "blocks": [{"type": "input", "block_id": "text", "optional": optional,
                        "label": {"type": "plain_text", "text": label},
                        "element": {"type": "plain_text_input", "action_id": "value", "multiline": True,
                                    "max_length": 2000}}],
        }
        try:
            await self._call("views.open", trigger_id=modal.trigger_id, view=view)
        except Exception:
            logger.exception("could not open the modal")

    async def _settle_click(self, click: Click) -> None:
        """The clicked question loses its buttons and shows the answer given: an old button cannot answer twice."""
        if not click.blocks:
            return
        t = Translator(self.app.config.locale, self.app.config.zone)
        blocks = answered(click.blocks, t("slack.answered", answer=click.note))
        try:
            await self._call("chat.update", channel=click.channel, ts=click.ts, blocks=blocks,
                             text=t("slack.answered", answer=click.note))
        except Exception:
            logger.warning("could not update the clicked message %s", click.ts)

    # -- HTTP and Socket Mode -------------------------------------------------------------
    async def _http(self, request: web.Request) -> web.Response:
        # Bolt's signature check turns a timestamp that is not a number into an error of its own (500):
        # a request that cannot be from Slack is unauthorised, whatever is wrong with it.
        stamp = request.headers.get("X-Slack-Request-Timestamp", "")
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
            return web.Response(status=401, text="invalid request timestamp")
        try:
            return await to_aiohttp_response(await self.bolt.async_dispatch(await to_bolt_request(request)))
        except Exception as error:
            # Bolt reads the body (JSON that is no object, fields of odd types) before it checks the signature,
            # and its error handler reads it again: what it cannot read is refused, and the server goes on.
            logger.warning("Slack request not understood: refused (%s: %s)", type(error).__name__, str(error)[:200])
            return web.Response(status=400, text="request not understood")

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def start(self) -> None:
        if self.config.mode == "http":
            web_app = web.Application()
            web_app.router.add_post(self.config.path, self._http)
            web_app.router.add_get("/healthz", self._healthz)
            self.runner = web.AppRunner(web_app, access_log=None)
            await self.runner.setup()
            site = web.TCPSite(self.runner, self.config.host, self.config.port)
            await site.start()
            server = site._server
            sockets = getattr(server, "sockets", None) or []
            self.port = sockets[0].getsockname()[1] if sockets else self.config.port
            logger.info("Slack HTTP mode listening on %s:%s%s", self.config.host, self.port, self.config.path)
        else:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
            self.socket_handler = AsyncSocketModeHandler(self.bolt, self.secrets["SLACK_APP_TOKEN"])
            await self.socket_handler.connect_async()
            logger.info("Slack Socket Mode connected")
        self.inbox = asyncio.create_task(self.app.run_inbox("slack", self.stopping, retry_delay=self.retry_delay))
        self.delivery = asyncio.create_task(
            self.app.run_delivery("slack", self._deliver, self.stopping, retry_delay=self.retry_delay))

    async def stop(self) -> None:
        """Stop taking requests, let in-flight steps finish, then stop delivering."""
        self.stopping.set()
        if self.runner is not None:
            await self.runner.cleanup()
        if self.socket_handler is not None:
            await self.socket_handler.close_async()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.inbox is not None:  # what it did not process stays in the inbox for the next start
            self.inbox.cancel()
            await asyncio.gather(self.inbox, return_exceptions=True)
        if self.delivery is not None:
            await self.app.finish_delivery(self.delivery)

    # -- outgoing -------------------------------------------------------------------------
    async def _call(self, method: str, **payload: Any) -> dict[str, Any]:
        """A Web API call that waits out 429s and retries 5xx and network errors with backoff."""
        delay = self.retry_delay
        for attempt in range(RETRIES + 1):
            try:
                response = await self.client.api_call(method, json=payload)
                return dict(response.data) if isinstance(response.data, dict) else {}
            except SlackApiError as exc:
                status = exc.response.status_code
                if status == 429:
                    retry_after = float(exc.response.headers.get("Retry-After", exc.response.headers.get(
                        "retry-after", 1)))
                    logger.info("Slack asks to slow down: waiting %.0f s", retry_after)
                    await asyncio.sleep(min(retry_after, 120.0))
                    continue
                if status >= 500 and attempt < RETRIES:
                    await asyncio.sleep(delay)
                    delay *= 2
                    continue
                if status >= 500:
                    raise
                raise Undeliverable(f"{method}: {exc.response.get('error', status)}") from exc
            except (aiohttp.ClientError, TimeoutError, OSError):
                if attempt == RETRIES:
                    raise
                await asyncio.sleep(delay)
                delay *= 2
        raise ConnectionError(f"{method}: Slack kept refusing")

    async def _dm(self, user_id: str) -> str:
        if user_id not in self.dm_channels:
            response = await self._call("conversations.open", users=user_id)
            self.dm_channels[user_id] = response["channel"]["id"]
        return self.dm_channels[user_id]

    def labels(self, locale: str) -> dict[str, str]:
        t = Translator(locale, self.app.config.zone)
        return {k: t(f"slack.{k}") for k in ("yes", "no", "unknown", "confirm")}

    async def _deliver(self, row: OutboxRow, rendered: Rendered) -> None:
        await self._send(row, rendered)
        await self.refresh_home(row.recipient)

    # -- the Home tab: the user's dashboard -------------------------------------------------------------
    async def publish_home(self, user: str, *, opened: bool = True) -> None:
        """Publish the user's dashboard on their Home tab. Opened, it is published, and that it was opened is
        remembered: from then on each message delivered to them refreshes it (`opened=False`), when it changed."""
        async with self.app.db.reading() as tx:
            published = await tx.slack_home_fingerprint(user)
            if published is None and not opened:
                return
            shown = await dashboard.rendered(self.app, tx, user)
        view = home_view(shown)
        fingerprint = _fingerprint(view)
        if fingerprint == published and not opened:
            return
        await self._call("views.publish", user_id=user.removeprefix(PREFIX), view=view)
        if fingerprint != published:
            async with self.app.db.transaction() as tx:
                await tx.set_slack_home_fingerprint(user, fingerprint)

    async def refresh_home(self, user: str) -> None:
        """After a message to someone who opened the Home tab: their dashboard again, when it changed.
        A failure here is the Home tab's alone: the message it follows was delivered."""
        try:
            await self.publish_home(user, opened=False)
        except Exception as error:
            logger.warning("could not refresh the Home tab of %s: %s", user, error)

    async def _send(self, row: OutboxRow, rendered: Rendered) -> None:
        user_id = row.recipient.removeprefix("slack:")
        locale = await self.app.user_locale(row.recipient)
        channel = await self._dm(user_id)
        if rendered.kind == "review_request" and self.config.reviewers_channel:
            channel = self.config.reviewers_channel
            if await self.posted.shown_in_room(channel, row, rendered):
                return
        posted = await self.posted.parts_posted(row)
        messages = build(rendered, self.labels(locale))
        for part, message in enumerate(messages):
            if part in posted:
                continue  # a split message interrupted earlier: resume at the part not yet posted
            await self.pacer.wait(channel)
            if rendered.kind == "error":
                await self._call("chat.postEphemeral", channel=channel, user=user_id, text=message.text,
                                 blocks=message.blocks)
                ts = f"ephemeral:{row.id}:{part}"
            else:
                response = await self._call("chat.postMessage", channel=channel, text=message.text,
                                            blocks=message.blocks)
                ts = str(response.get("ts", ""))
            await self.posted.remember(row, part, channel, ts, rendered, {"blocks": message.blocks})
        attachment = rendered.attachment or {}
        image = attachment.get("image")
        if image and rendered.kind != "error" and len(messages) not in posted:
            # The compass picture as a file in the conversation (files.getUploadURLExternal / complete), with
            # its statuses in words for screen readers (alt_txt: Slack refuses more than 1000 characters).
            await self.pacer.wait(channel)
            alt = attachment.get("alt")
            title = (attachment.get("picture") or {}).get("heading")
            try:
                await self.client.files_upload_v2(channel=channel, file=image, filename=Path(image).name,
                                                  title=title or rendered.heading or Path(image).name,
                                                  alt_txt=one_line(alt, SLACK_ALT_TEXT) if alt else None)
            except SlackApiError as exc:
                raise Undeliverable(f"file upload: {exc.response.get('error')}") from exc
            await self.posted.remember(row, len(messages), channel, f"file:{row.id}", rendered, {"blocks": []})
        if rendered.key in SETTLING_KEYS and rendered.assessment is not None:
            await self._settle_requests(row.recipient, rendered, rendered.assessment)

    async def _settle_requests(self, recipient: str, rendered: Rendered, assessment_id: int) -> None:
        """Redraw this reviewer's (or the channel's) request: who decided what, when; no buttons left."""
        requests = await self.posted.open_requests(assessment_id, recipient=recipient,
                                                   channel=self.config.reviewers_channel or "")
        t = Translator(self.app.config.locale, self.app.config.zone)
        when = t.when(self.app.clock().isoformat())  # in the configured zone, as every time people read
        for request in requests:
            blocks = answered(request.payload["blocks"], f"{t('slack.decided', text=rendered.body)} ({when})")
            await self.pacer.wait(request.channel)
            await self._call("chat.update", channel=request.channel, ts=request.message_id, blocks=blocks,
                             text=escape(rendered.body)[:300])
            await self.posted.close(request)


def _fingerprint(view: dict[str, Any]) -> str:
    """What tells two Home views apart: a refresh that would publish the same view is skipped."""
    return hashlib.sha256(json.dumps(view, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
