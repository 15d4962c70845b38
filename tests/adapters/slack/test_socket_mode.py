"""Socket Mode, the default: a websocket to (fake) Slack, envelopes acknowledged, retries collapsed."""

from __future__ import annotations

import sqlite3

from adapters.slack.adapter import SlackAdapter
from bot.app import Boussole
from bot.storage import Database
from tests.adapters.slack.conftest import slack_config
from tests.adapters.slack.fake_slack import FakeSlackAPI


def envelope(envelope_id: str, event_id: str, text: str, retry: int = 0) -> dict:
    return {"envelope_id": envelope_id, "type": "events_api", "accepts_response_payload": False,
            "retry_attempt": retry, "retry_reason": "timeout" if retry else "",
            "payload": {"type": "event_callback", "team_id": "T1", "event_id": event_id, "event_time": 1,
                        "event": {"type": "message", "channel_type": "im", "channel": "DUALICE", "user": "UALICE",
                                  "text": text, "ts": "1710000000.000100"}}}


async def test_socket_mode_events_are_acknowledged_and_processed_once(questionnaire, db_path):
    api = FakeSlackAPI()
    url = await api.start()
    config = slack_config(url, mode="socket", messages_per_second=200.0)
    async with Database(db_path) as db:
        app = Boussole(config=config, questionnaire=questionnaire, db=db)
        adapter = SlackAdapter(app, config.slack, {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xapp-test"},
                               retry_delay=0.01)
        await adapter.start()
        try:
            await api.push(envelope("env-1", "EvS1", "nouveau"))
            await api.push(envelope("env-2", "EvS1", "nouveau", retry=1))  # Slack redelivers the same event
            await api.push(envelope("env-3", "EvS2", "aide"))
            await api.wait_for(lambda: {"env-1", "env-2", "env-3"} <= {a.get("envelope_id") for a in api.acks})
            await api.wait_for(lambda: any("Commandes" in m["text"] for m in api.posted("DUALICE")))
            assert api.method_calls("apps.connections.open")
        finally:
            await adapter.stop()
            await api.stop()
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM assessments").fetchone()[0] == 1
        assert raw.execute("SELECT COUNT(*) FROM processed_events").fetchone()[0] == 2
