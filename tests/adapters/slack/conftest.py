"""A Boussole with its Slack adapter in HTTP mode, against the fake Web API, all on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from adapters.slack.adapter import SlackAdapter
from bot.app import Boussole
from bot.config import Config, DirectionConfig, RoleConfig, SlackConfig
from bot.storage import Database
from tests.adapters.slack.fake_slack import FakeSlackAPI, SlackClient

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def slack_config(api_url: str, **slack: object) -> Config:
    return Config(
        roles={
            "dpo": RoleConfig(label="DPD", members=["slack:UDPO"], criteria=[1, 2],
                              when_answers={"ctx_data": ["personal"]}),
            "rssi": RoleConfig(label="RSSI", members=["slack:URSSI"], criteria=[2]),
            "numerique-responsable": RoleConfig(label="Numérique responsable", members=["slack:UNR", "slack:UNR2"],
                                                criteria=[3, 4, 5, 7], always=True),
        },
        directions={"numerique": DirectionConfig(label="Direction du numérique", managers=["slack:UMGR"])},
        slack=SlackConfig(**{"enabled": True, "mode": "http", "port": 0, "host": "127.0.0.1", "api_url": api_url,
                             **slack}),
    )


@dataclass
class SlackWorld:
    api: FakeSlackAPI
    app: Boussole
    adapter: SlackAdapter
    slack: SlackClient

    async def restart(self) -> None:
        """Stop the adapter and start a new one on the same database, as after a restart."""
        await self.adapter.stop()
        await self.slack.close()
        self.adapter = SlackAdapter(self.app, self.app.config.slack, {"SLACK_BOT_TOKEN": "xoxb-test",
                                                                     "SLACK_SIGNING_SECRET": SECRET},
                                    retry_delay=0.01)
        await self.adapter.start()
        self.slack = SlackClient(f"http://127.0.0.1:{self.adapter.port}/slack/events", SECRET)


@pytest.fixture
async def world(questionnaire, db_path, clock) -> AsyncIterator[SlackWorld]:
    api = FakeSlackAPI()
    url = await api.start()
    config = slack_config(url, messages_per_second=200.0)  # pacing has its own test
    db = await Database(db_path).open()
    app = Boussole(config=config, questionnaire=questionnaire, db=db)
    adapter = SlackAdapter(app, config.slack, {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET},
                           retry_delay=0.01)
    await adapter.start()
    client = SlackClient(f"http://127.0.0.1:{adapter.port}/slack/events", SECRET)
    w = SlackWorld(api, app, adapter, client)
    try:
        yield w
    finally:
        await w.adapter.stop()
        await w.slack.close()
        await db.close()
        await api.stop()
