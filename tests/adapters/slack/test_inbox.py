"""Nothing acknowledged is lost: Slack's events are recorded before the acknowledgement and processed from
the inbox, once and in order, whatever another process does to the database meanwhile."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator

import pytest

from adapters.slack.adapter import SlackAdapter
from bot.app import Boussole
from bot.storage import Database, DatabaseUnavailable
from tests.adapters.slack.conftest import SECRET, SlackWorld, slack_config
from tests.adapters.slack.fake_slack import FakeSlackAPI, SlackClient
from tests.helpers import CLEAN

ALICE = "UALICE"
ANSWERS = ["nouveau", CLEAN["ctx_name"], CLEAN["ctx_purpose"]]


@pytest.fixture
async def impatient(questionnaire, db_path) -> AsyncIterator[SlackWorld]:
    """The Slack world on a database that waits only 200 ms for another process's write lock."""
    api = FakeSlackAPI()
    config = slack_config(await api.start(), messages_per_second=200.0)
    db = await Database(db_path, busy_timeout_ms=200).open()
    app = Boussole(config=config, questionnaire=questionnaire, db=db)
    adapter = SlackAdapter(app, config.slack, {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET},
                           retry_delay=0.01)
    await adapter.start()
    world = SlackWorld(api, app, adapter, SlackClient(f"http://127.0.0.1:{adapter.port}/slack/events", SECRET))
    try:
        yield world
    finally:
        await world.adapter.stop()
        await world.slack.close()
        await db.close()
        await api.stop()


def answers_in_order(db_path) -> list[tuple[str, str]]:
    with sqlite3.connect(db_path) as raw:
        return [(q, a) for q, a in raw.execute("SELECT question_id, json_extract(answer, '$.value') FROM answers "
                                               "ORDER BY id")]


def question_ids_asked(world: SlackWorld) -> list[str]:
    return [b["block_id"].split("|")[2] for m in world.api.posted() for b in m["blocks"]
            if str(b.get("block_id", "")).startswith("q|")]


async def test_an_event_not_recorded_is_not_acknowledged_and_slacks_retry_is_processed_once(impatient, db_path):
    world = impatient
    locker = sqlite3.connect(db_path, isolation_level=None)  # another process, holding the write lock
    locker.execute("BEGIN IMMEDIATE")
    refused = await world.slack.message(ALICE, "nouveau", event_id="EvLocked")
    assert refused.status != 200  # not acknowledged: Slack will send it again
    locker.execute("COMMIT")
    locker.close()
    for retry in (1, 2):  # Slack's retries, the second after the first was already taken
        assert (await world.slack.message(ALICE, "nouveau", event_id="EvLocked", retry=retry)).status == 200
    await world.api.wait_for(lambda: "ctx_name" in question_ids_asked(world))
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM assessments").fetchone()[0] == 1
        assert raw.execute("SELECT COUNT(*) FROM inbox WHERE processed_at IS NULL").fetchone()[0] == 0


async def test_events_acknowledged_while_processing_fails_are_processed_later_once_and_in_order(
        impatient, db_path, monkeypatch):
    world = impatient
    handle = world.app.handle
    unavailable = {"left": 4}

    async def flaky_handle(event):  # the database refuses the first steps, as when another process holds it
        if unavailable["left"]:
            unavailable["left"] -= 1
            raise DatabaseUnavailable("locked by another process")
        return await handle(event)

    monkeypatch.setattr(world.app, "handle", flaky_handle)
    for n, text in enumerate(ANSWERS):
        assert (await world.slack.message(ALICE, text, event_id=f"EvOrder{n}")).status == 200
    await world.api.wait_for(lambda: "c1_biometric" in question_ids_asked(world)
                             or len(answers_in_order(db_path)) == 2, timeout=20)
    assert unavailable["left"] == 0
    assert answers_in_order(db_path) == [("ctx_name", CLEAN["ctx_name"]), ("ctx_purpose", CLEAN["ctx_purpose"])]
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM assessments").fetchone()[0] == 1


async def test_what_the_inbox_holds_at_a_stop_is_processed_after_the_restart(impatient, db_path, monkeypatch):
    world = impatient

    async def refuse(event):
        raise DatabaseUnavailable("locked by another process")

    monkeypatch.setattr(world.app, "handle", refuse)
    assert (await world.slack.message(ALICE, "nouveau", event_id="EvBeforeStop")).status == 200
    monkeypatch.undo()
    await world.restart()
    await world.api.wait_for(lambda: "ctx_name" in question_ids_asked(world))
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM assessments").fetchone()[0] == 1
