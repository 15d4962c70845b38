"""Ack latency of signed Slack requests over HTTP, 50 concurrent users.

Baseline in the same run: a bare slack-bolt AsyncApp on the same aiohttp server whose
handlers only ack. Boussole records each request's events in its inbox (one durable SQLite
transaction) before it acks, and works after the ack; the recording waits for the database, and
the work competes for the same CPU, so the ratio shows what durability costs the acks.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
from pathlib import Path

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.adapter import SlackAdapter
from bench.common import describe, ratio
from bot.app import Boussole
from bot.config import Config, RoleConfig, SlackConfig
from bot.storage import Database
from conversations.questionnaire import load_questionnaire
from tests.adapters.slack.fake_slack import FakeSlackAPI, SlackClient

SECRET = "bench-secret"
USERS = 50
REQUESTS_PER_USER = 20


async def bare_bolt(api_url: str) -> tuple[web.AppRunner, int]:
    bolt = AsyncApp(client=AsyncWebClient(token="xoxb-bench", base_url=api_url), signing_secret=SECRET)

    async def only_ack(ack: AsyncAck) -> None:
        await ack()

    bolt.command(re.compile(r"^/boussole"))(only_ack)
    bolt.action(re.compile(r".*"))(only_ack)

    async def endpoint(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post("/slack/events", endpoint)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


async def load(port: int) -> list[float]:
    """Each user alternates a slash command and a button click (a 'help' button), as fast as acks come."""
    client = SlackClient(f"http://127.0.0.1:{port}/slack/events", SECRET)
    samples: list[float] = []

    async def user(n: int) -> None:
        uid = f"UBENCH{n:03d}"
        message = {"ts": f"1700000000.{n:06d}", "channel": f"D{uid}", "blocks": [
            {"type": "actions", "block_id": "actions|None|0", "elements": [
                {"type": "button", "action_id": "command:help", "value": "aide",
                 "text": {"type": "plain_text", "text": "Aide"}}]}]}
        for i in range(REQUESTS_PER_USER):
            start = time.perf_counter()
            if i % 2 == 0:
                response = await client.command(uid, "aide")
            else:
                response = await client.click(uid, message, action_id="command:help")
            samples.append(time.perf_counter() - start)
            assert response.status == 200, response.status

    try:
        await asyncio.gather(*(user(n) for n in range(USERS)))
    finally:
        await client.close()
    return samples


async def main() -> dict[str, float]:
    print(f"Slack ack latency over HTTP: {USERS} concurrent users, {USERS * REQUESTS_PER_USER} signed requests")
    api = FakeSlackAPI()
    url = await api.start()
    runner, port = await bare_bolt(url)
    await load(port)  # warm-up (auth.test, imports)
    bare = describe("bare bolt app, handlers only ack", await load(port))
    await runner.cleanup()
    with tempfile.TemporaryDirectory() as tmp:
        config = Config(roles={"nr": RoleConfig(label="NR", members=["slack:UNR"], always=True)},
                        slack=SlackConfig(enabled=True, mode="http", port=0, host="127.0.0.1", api_url=url,
                                          messages_per_second=1000))
        async with Database(Path(tmp) / "b.db") as db:
            app = Boussole(config=config, questionnaire=load_questionnaire(), db=db)
            adapter = SlackAdapter(app, config.slack, {"SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET})
            await adapter.start()
            assert adapter.port is not None
            await load(adapter.port)
            ours = describe("Boussole (record, ack, then work)", await load(adapter.port))
            await adapter.stop()
    await api.stop()
    print(f"  {'p99 ack':<44} {ours['p99_ms']:6.2f} ms{'  OK' if ours['p99_ms'] < 100 else '  ABOVE TARGET 100 ms'}")
    r = ratio("p99 Boussole / p99 bare bolt", ours["p99_ms"], bare["p99_ms"], target=1.5)
    ratio("median Boussole / median bare bolt", ours["median_ms"], bare["median_ms"])
    return {"bare_p99_ms": bare["p99_ms"], "p99_ms": ours["p99_ms"], "ratio": r}


if __name__ == "__main__":
    asyncio.run(main())
