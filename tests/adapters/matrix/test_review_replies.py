"""A requester's Matrix reply (or thread) on a reviewer's question is their `réponse`. No Synapse: the adapter's
event handling is fed nio events, the application runs on a temporary SQLite database."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from nio import RoomMessageText
from nio.rooms import MatrixRoom

from adapters.matrix.adapter import MatrixAdapter
from bot.app import Boussole
from bot.config import Config, DirectionConfig, MatrixConfig, RoleConfig
from bot.i18n import Rendered
from bot.storage import Database, OutboxRow
from tests.helpers import Chat, event, submitted

BOT, ALICE, BOB = "@bot:reply.test", "@alice:reply.test", "@bob:reply.test"
DIRECT = "!direct:reply.test"


class MatrixChat(Chat):
    """Talks to the application as a Matrix user; what goes out is remembered as posted in the direct room."""

    def __init__(self, app: Boussole, adapter: MatrixAdapter, user: str) -> None:
        super().__init__(app, user)
        self.adapter = adapter
        self.posted: dict[str, str] = {}  # event id → message key

    async def _post(self, row: OutboxRow, rendered: Rendered) -> None:
        event_id = f"$posted{len(self.posted) + 1}"
        await self.adapter.posted.remember(row, 0, DIRECT, event_id, rendered, {"kind": rendered.kind})
        self.posted[event_id] = rendered.key
        self.inbox.append(rendered)

    async def say(self, text: str, *, user: str | None = None, event_id: str | None = None,
                  explicit: bool = False) -> list[Rendered]:
        await self.app.handle(event(user or self.user, text, event_id, explicit=explicit))
        start = len(self.inbox)
        await self.app.deliver("matrix", self._post)
        return self.inbox[start:]


@pytest.fixture
async def chat(questionnaire: Any, tmp_path: Path) -> AsyncIterator[MatrixChat]:
    config = Config(
        roles={"nr": RoleConfig(label="Numérique responsable", members=[f"matrix:{BOB}"], criteria=[3, 4, 5, 7],
                                always=True)},
        directions={"numerique": DirectionConfig(label="Direction du numérique")},
        matrix=MatrixConfig(enabled=True, homeserver="http://127.0.0.1:9", user_id=BOT, store_path=tmp_path / "store",
                            encryption=False),
    )
    db = await Database(tmp_path / "boussole.sqlite3").open()
    app = Boussole(config=config, questionnaire=questionnaire, db=db)
    adapter = MatrixAdapter(app, config.matrix, {"MATRIX_PASSWORD": "unused"})
    direct = MatrixRoom(DIRECT, BOT)
    for member in (BOT, ALICE):
        direct.add_member(member, None, None)
    adapter.client.rooms[DIRECT] = direct
    async with db.transaction() as tx:
        await tx.remember_matrix_room(DIRECT, 0)
    try:
        yield MatrixChat(app, adapter, f"matrix:{ALICE}")
    finally:
        await adapter.client.close()
        await db.close()


def reply_event(body: str, relates_to: Any, event_id: str = "$reply") -> RoomMessageText:
    parsed = RoomMessageText.from_dict({"type": "m.room.message", "event_id": event_id, "sender": ALICE,
                                        "origin_server_ts": 1, "content": {"msgtype": "m.text", "body": body,
                                                                           "m.relates_to": relates_to}})
    assert isinstance(parsed, RoomMessageText)
    return parsed


def answered(db_path: Path) -> list[str]:
    with sqlite3.connect(db_path) as raw:
        return [row[0] for row in raw.execute("SELECT answer FROM review_questions WHERE answer IS NOT NULL")]


async def test_a_reply_to_the_question_reaches_the_reviewer(chat):
    n = await submitted(chat)
    await chat.say(f"question {n} Quel indicateur suivrez-vous ?", user=f"matrix:{BOB}")
    question = next(e for e, key in chat.posted.items() if key == "review.ask.question")
    await chat.adapter._on_event(DIRECT, reply_event(
        "> <@bob:reply.test> Quel indicateur suivrez-vous ?\n\nLe délai moyen d'orientation.",
        {"m.in_reply_to": {"event_id": question}}))
    await chat.app.deliver("matrix", chat._post)
    assert answered(chat.app.db.path) == ["Le délai moyen d'orientation."]
    told = [r for r in chat.inbox if r.to == f"matrix:{BOB}" and r.key == "review.reply.received"]
    assert len(told) == 1 and "Le délai moyen d'orientation." in told[0].text


async def test_a_thread_on_the_question_is_a_reply_too_and_other_replies_are_plain_messages(chat):
    n = await submitted(chat)
    await chat.say(f"question {n} Quelle durée de conservation ?", user=f"matrix:{BOB}")
    question = next(e for e, key in chat.posted.items() if key == "review.ask.question")
    other = next(e for e, key in chat.posted.items() if key != "review.ask.question")
    await chat.adapter._on_event(DIRECT, reply_event("Sur autre chose", {"m.in_reply_to": {"event_id": other}},
                                                     "$other"))
    await chat.adapter._on_event(DIRECT, reply_event("Un an.", {"rel_type": "m.thread", "event_id": question,
                                                                "m.in_reply_to": {"event_id": "$elsewhere"},
                                                                "is_falling_back": True}, "$thread"))
    assert answered(chat.app.db.path) == ["Un an."]
