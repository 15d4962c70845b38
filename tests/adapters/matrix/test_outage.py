"""The homeserver goes away and comes back: the bot carries on without a restart."""

from __future__ import annotations

import asyncio
import logging

from adapters.matrix.adapter import MatrixAdapter
from bot.app import Boussole
from bot.config import Config, MatrixConfig
from bot.storage import Database
from tests.adapters.matrix.conftest import PASSWORD
from tests.adapters.matrix.people import Person
from tests.adapters.matrix.synapse import Synapse
from tests.helpers import wait_until


async def test_the_bot_carries_on_when_the_homeserver_returns(tmp_path, questionnaire, caplog):
    server = Synapse(tmp_path / "synapse")
    (tmp_path / "synapse").mkdir()
    await asyncio.to_thread(server.start)
    bot_id = server.register("outagebot", PASSWORD)["user_id"]
    alice_id = server.register("outagealice", PASSWORD)["user_id"]
    config = Config(matrix=MatrixConfig(enabled=True, homeserver=server.url, user_id=bot_id,
                                        store_path=tmp_path / "store", encryption=False))
    alice = Person(server.url, alice_id, PASSWORD, tmp_path / "alice", encryption=False)
    try:
        async with Database(tmp_path / "b.db") as db:
            app = Boussole(config=config, questionnaire=questionnaire, db=db)
            adapter = MatrixAdapter(app, config.matrix, {"MATRIX_PASSWORD": PASSWORD}, retry_delay=0.1,
                                    sync_timeout_ms=500)
            await adapter.start()
            await alice.start()
            room = await alice.dm(bot_id)
            await alice.say(room, "!boussole aide")
            await alice.next_from_bot(0, lambda e: "Commandes" in e.body)
            with caplog.at_level(logging.WARNING, logger="adapters.matrix.adapter"):
                await asyncio.to_thread(server.stop)   # the homeserver goes away…
                await wait_until(lambda: any("sync failed" in r.message for r in caplog.records), 60)
            await asyncio.to_thread(server.launch)  # …and comes back on the same port and data
            await alice.say(room, "!boussole liste")
            reply = await alice.next_from_bot(0, lambda e: "aucune évaluation" in e.body, timeout=60)
            assert reply is not None
            await adapter.stop()
    finally:
        await alice.stop()
        await asyncio.to_thread(server.stop)
