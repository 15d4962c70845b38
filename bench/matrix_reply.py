"""Reply latency through a real Synapse: a user's message to the bot's reply seen by that user's client.

20 concurrent users, each answering the interview's questions one after the other. Baseline
in the same run, same homeserver, same clients: a bare matrix-nio echo bot that answers each
message with a notice. Unencrypted rooms for both, so the comparison is the bots' own cost.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from nio import AsyncClient, InviteMemberEvent, MatrixRoom, RoomMessageNotice, RoomMessageText

from adapters.matrix.adapter import MatrixAdapter
from adapters.matrix.formatting import FIELD
from bench.common import describe, ratio
from bot.app import Boussole
from bot.config import Config, DirectionConfig, MatrixConfig, RoleConfig
from bot.storage import Database
from conversations.questionnaire import load_questionnaire
from tests.adapters.matrix.synapse import Synapse
from tests.helpers import CLEAN

USERS = 20
MESSAGES = 10
PASSWORD = "bench password long enough"


class User:
    def __init__(self, url: str, user_id: str) -> None:
        self.client = AsyncClient(url, user_id)
        self.replies: asyncio.Queue[Any] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.client.login(PASSWORD)

        async def on_message(room: MatrixRoom, event: Any) -> None:
            if event.sender != self.client.user_id:
                await self.replies.put(event)

        self.client.add_event_callback(on_message, (RoomMessageNotice,))
        await self.client.sync(timeout=0, full_state=True)
        self.task = asyncio.create_task(self.client.sync_forever(timeout=30000))

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        await self.client.close()

    async def dm(self, bot: str) -> str:
        response = await self.client.room_create(is_direct=True, invite=[bot])
        room_id = response.room_id
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # poll until the bot has joined
            room = self.client.rooms.get(room_id)
            if room and bot in room.users and bot not in room.invited_users:
                return str(room_id)
            await asyncio.sleep(0.05)
        raise TimeoutError("the bot did not join")

    async def exchange(self, room: str, text: str, wanted: Any = None) -> tuple[float, Any]:
        start = time.perf_counter()
        await self.client.room_send(room, "m.room.message", {"msgtype": "m.text", "body": text})
        while True:
            event = await asyncio.wait_for(self.replies.get(), 60)
            if wanted is None or wanted(event):
                return time.perf_counter() - start, event


async def echo_bot(url: str, user_id: str) -> tuple[AsyncClient, asyncio.Task[None]]:
    client = AsyncClient(url, user_id)
    await client.login(PASSWORD)

    async def on_invite(room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key == user_id:
            await client.join(room.room_id)

    async def on_text(room: MatrixRoom, event: RoomMessageText) -> None:
        if event.sender != user_id:
            await client.room_send(room.room_id, "m.room.message", {"msgtype": "m.notice", "body": event.body})

    client.add_event_callback(on_invite, (InviteMemberEvent,))
    client.add_event_callback(on_text, (RoomMessageText,))
    await client.sync(timeout=0, full_state=True)
    return client, asyncio.create_task(client.sync_forever(timeout=30000))


def question(event: Any) -> str | None:
    return (event.source.get("content", {}).get(FIELD) or {}).get("question")


async def run_echo(server: Synapse, users: list[User], bot_id: str) -> list[float]:
    client, task = await echo_bot(server.url, bot_id)
    samples: list[float] = []

    async def one(user: User) -> None:
        room = await user.dm(bot_id)
        for i in range(MESSAGES):
            latency, _ = await user.exchange(room, f"message {i}")
            samples.append(latency)

    await asyncio.gather(*(one(u) for u in users))
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await client.close()
    return samples


async def run_boussole(server: Synapse, users: list[User], bot_id: str, tmp: Path) -> list[float]:
    config = Config(
        roles={"nr": RoleConfig(label="NR", members=["matrix:@nobody:localhost"], always=True)},
        directions={"numerique": DirectionConfig(label="Numérique")},
        matrix=MatrixConfig(enabled=True, homeserver=server.url, user_id=bot_id, store_path=tmp / "store",
                            encryption=False),
    )
    samples: list[float] = []
    async with Database(tmp / "b.db") as db:
        app = Boussole(config=config, questionnaire=load_questionnaire(), db=db)
        adapter = MatrixAdapter(app, config.matrix, {"MATRIX_PASSWORD": PASSWORD})
        await adapter.start()

        async def one(user: User) -> None:
            room = await user.dm(bot_id)
            _, event = await user.exchange(room, "nouveau", lambda e: question(e))
            for _ in range(MESSAGES):
                latency, event = await user.exchange(room, CLEAN[question(event)], lambda e: question(e))
                samples.append(latency)

        await asyncio.gather(*(one(u) for u in users))
        await adapter.stop()
    return samples


async def main() -> dict[str, float]:
    print(f"Matrix reply latency through Synapse: {USERS} concurrent users, {MESSAGES} messages each")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        server = Synapse(tmp / "synapse")
        (tmp / "synapse").mkdir()
        server.start()
        try:
            ids = {name: server.register(name, PASSWORD)["user_id"] for name in
                   ["echo", "boussole", *(f"user{i}" for i in range(USERS * 2))]}
            first = [User(server.url, ids[f"user{i}"]) for i in range(USERS)]
            second = [User(server.url, ids[f"user{i}"]) for i in range(USERS, USERS * 2)]
            for user in first + second:
                await user.start()
            echo = describe("bare matrix-nio echo bot", await run_echo(server, first, ids["echo"]))
            ours = describe("Boussole (interview steps)", await run_boussole(server, second, ids["boussole"], tmp))
            for user in first + second:
                await user.stop()
        finally:
            server.stop()
    r = ratio("p50 Boussole / p50 echo bot", ours["median_ms"], echo["median_ms"], target=1.3)
    ratio("p99 Boussole / p99 echo bot", ours["p99_ms"], echo["p99_ms"])
    return {"echo_p50_ms": echo["median_ms"], "p50_ms": ours["median_ms"], "ratio": r}


if __name__ == "__main__":
    asyncio.run(main())
