"""A fake Slack: the Web API on 127.0.0.1 recording every call, and signed requests as Slack sends them."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

from tests.helpers import wait_until


class FakeSlackAPI:
    """Answers Web API methods with canned data; failures can be queued per method."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures: dict[str, list[tuple[int, dict[str, str]]]] = {}
        self.ts = itertools.count(1)
        self.runner: web.AppRunner | None = None
        self.url = ""
        self.sockets: list[web.WebSocketResponse] = []
        self.acks: list[dict[str, Any]] = []

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/api/{method}", self._handle)
        app.router.add_get("/socket", self._socket)
        app.router.add_post("/upload/{file_id}", self._upload)
        self.uploads: dict[str, bytes] = {}
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/api/"
        return self.url

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Socket Mode: say hello, then record the acknowledgements the app sends back."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}})
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                self.acks.append(json.loads(message.data))
        return ws

    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads[request.match_info["file_id"]] = await request.read()
        return web.Response(text="OK - uploaded")

    async def push(self, envelope: dict[str, Any]) -> None:
        await self.wait_for(lambda: self.sockets)
        await self.sockets[-1].send_json(envelope)

    def fail(self, method: str, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        self.failures.setdefault(method, []).extend([(status, headers or {})] * times)

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.text()
        if request.content_type == "application/json":
            payload = json.loads(raw or "{}")
        else:
            payload = dict(urllib.parse.parse_qsl(raw))
        payload = {**dict(request.query), **payload}  # some methods send their arguments in the query string
        if self.failures.get(method):
            status, headers = self.failures[method].pop(0)
            self.calls.append((f"!{method}", payload))
            error = "ratelimited" if status == 429 else "internal_error"
            return web.json_response({"ok": False, "error": error}, status=status, headers=headers)
        answer = self._answer(method, payload)
        self.calls.append((method, {**payload, "ts": answer["ts"]} if "ts" in answer else payload))
        return web.json_response(answer)

    def _answer(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        if method == "apps.connections.open":
            return {"ok": True, "url": self.url.replace("http://", "ws://").replace("/api/", "/socket")}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self.ts):06d}"
            return {"ok": True, "file_id": file_id, "upload_url": self.url.replace("/api/", f"/upload/{file_id}")}
        if method == "files.completeUploadExternal":
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title", "")} for f in
                                          (json.loads(payload["files"]) if isinstance(payload.get("files"), str)
                                           else payload.get("files", []))]}
        if method == "auth.test":
            return {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1", "user": "boussole"}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(payload.get("users"))}}
        if method == "chat.postMessage":
            return {"ok": True, "channel": payload.get("channel"), "ts": f"1700000000.{next(self.ts):06d}"}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1700000000.{next(self.ts):06d}"}
        return {"ok": True}

    # -- what tests look at --------------------------------------------------------------
    def posted(self, channel: str | None = None) -> list[dict[str, Any]]:
        return [p for m, p in self.calls if m == "chat.postMessage" and (channel is None or p["channel"] == channel)]

    def method_calls(self, method: str) -> list[dict[str, Any]]:
        return [p for m, p in self.calls if m == method]

    async def wait_for(self, condition: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Poll a condition until it holds; on failure, say which calls came last."""
        return await wait_until(condition, timeout, what=f"last calls {[m for m, _ in self.calls][-15:]}")


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends: v0 HMAC-SHA256 of 'v0:{timestamp}:{body}'."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


class SlackClient:
    """Sends what Slack would send to the bot's HTTP endpoint, signed."""

    def __init__(self, url: str, secret: str) -> None:
        self.url = url
        self.secret = secret
        self.session = aiohttp.ClientSession()
        self.counter = itertools.count(1)

    async def close(self) -> None:
        await self.session.close()

    async def post(self, body: str, content_type: str, *, headers: dict[str, str] | None = None,
                   signed: dict[str, str] | None = None) -> aiohttp.ClientResponse:
        all_headers = {"Content-Type": content_type, **(signed if signed is not None else sign(self.secret, body)),
                       **(headers or {})}
        async with self.session.post(self.url, data=body.encode(), headers=all_headers) as response:
            await response.read()
            return response

    async def command(self, user: str, text: str, channel: str | None = None) -> aiohttp.ClientResponse:
        n = next(self.counter)
        body = urllib.parse.urlencode({"command": "/boussole", "text": text, "user_id": user, "team_id": "T1",
                                       "channel_id": channel or f"D{user}", "trigger_id": f"trig{n}.{user}",
                                       "response_url": "http://127.0.0.1:9/unused"})
        return await self.post(body, "application/x-www-form-urlencoded")

    async def message(self, user: str, text: str, event_id: str | None = None,
                      retry: int | None = None) -> aiohttp.ClientResponse:
        n = next(self.counter)
        body = json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1",
                           "event_id": event_id or f"Ev{n:08d}", "event_time": int(time.time()),
                           "event": {"type": "message", "channel_type": "im", "channel": f"D{user}", "user": user,
                                     "text": text, "ts": f"1710000000.{n:06d}"}})
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        return await self.post(body, "application/json", headers=headers)

    async def interactive(self, payload: dict[str, Any], **kwargs: Any) -> aiohttp.ClientResponse:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded", **kwargs)

    async def click(self, user: str, message: dict[str, Any], *, action_id: str | None = None,
                    label: str | None = None, checked: list[str] | None = None) -> aiohttp.ClientResponse:
        """Click a button of a message the bot posted (as recorded by the fake API)."""
        for block in message["blocks"]:
            for element in block.get("elements", []) if block.get("type") == "actions" else []:
                if element.get("type") != "button":
                    continue
                text = element["text"]["text"]
                if (action_id is None or element["action_id"] == action_id) and (label is None or label in text):
                    return await self.interactive(self.action_payload(user, message, block, element, checked))
        raise AssertionError(f"no button {action_id or label!r} in {json.dumps(message['blocks'])[:400]}")

    def action_payload(self, user: str, message: dict[str, Any], block: dict[str, Any], element: dict[str, Any],
                       checked: list[str] | None = None) -> dict[str, Any]:
        n = next(self.counter)
        state: dict[str, Any] = {}
        for other in message["blocks"]:
            for el in other.get("elements", []) if other.get("type") == "actions" else []:
                if el.get("type") == "checkboxes":
                    picked = [o for o in el["options"] if o["value"] in (checked or [])]
                    state[other["block_id"]] = {el["action_id"]: {"type": "checkboxes", "selected_options": picked}}
        return {
            "type": "block_actions", "user": {"id": user}, "team": {"id": "T1"}, "trigger_id": f"trig{n}.{user}",
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": message["channel"]},
            "channel": {"id": message["channel"]},
            "message": {"ts": message["ts"], "blocks": message["blocks"], "text": message.get("text", "")},
            "state": {"values": state},
            "actions": [{"action_id": element["action_id"], "block_id": block["block_id"], "value": element["value"],
                         "type": "button", "text": element["text"], "action_ts": f"1710000001.{n:06d}"}],
        }

    async def submit_view(self, user: str, view: dict[str, Any], text: str) -> aiohttp.ClientResponse:
        n = next(self.counter)
        input_block = view["blocks"][0]
        payload = {"type": "view_submission", "user": {"id": user}, "team": {"id": "T1"},
                   "view": {**view, "id": f"V{n:06d}",
                            "state": {"values": {input_block["block_id"]: {
                                input_block["element"]["action_id"]: {"type": "plain_text_input", "value": text}}}}}}
        return await self.interactive(payload)
