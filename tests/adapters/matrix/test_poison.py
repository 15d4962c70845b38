"""No message stops the Matrix bot: one event's failure is contained and answered, the sync goes on past
it, and a restart does not meet it again."""

from __future__ import annotations

import sqlite3

from tests.adapters.matrix.people import Person

POISON = ["!boussole statut ²", "!boussole statut ①", "!boussole statut 99999999999999999999"]


async def test_numbers_that_once_stopped_the_bot_are_answered_and_the_bot_goes_on(matrix):
    await matrix.start_bot(encryption=False)
    alice = await matrix.person("alice")
    room = await alice.dm(matrix.bot_id)
    for text in POISON:
        await alice.say(room, text)
    await alice.say(room, "!boussole nouveau")
    await alice.next_from_bot(0, lambda e: Person.meta(e).get("question") == "ctx_name")
    replies = len(alice.from_bot(room))
    assert replies >= len(POISON) + 2  # one answer to each, then the interview's start and its question

    await matrix.stop_bot()  # after a restart, nothing of it is processed again
    await matrix.start_bot(encryption=False)
    await alice.say(room, "Tri du courrier entrant")
    await alice.next_from_bot(replies, lambda e: Person.meta(e).get("question") == "ctx_purpose")
    assert len(alice.from_bot(room)) == replies + 1


async def test_an_event_the_adapter_fails_on_is_audited_and_answered(matrix, monkeypatch):
    adapter = await matrix.start_bot(encryption=False)
    alice = await matrix.person("alice")
    room = await alice.dm(matrix.bot_id)
    translate = adapter._translate

    async def failing(room_id, event, user, direct):
        if getattr(event, "body", "") == "boum":
            raise ValueError("a payload nobody expected")
        return await translate(room_id, event, user, direct)

    monkeypatch.setattr(adapter, "_translate", failing)
    await alice.say(room, "boum")
    await alice.next_from_bot(0, lambda e: "Désolé" in e.body)
    seen = len(alice.from_bot())
    await alice.say(room, "!boussole nouveau")
    await alice.next_from_bot(seen, lambda e: Person.meta(e).get("question") == "ctx_name")
    with sqlite3.connect(matrix.db_path) as raw:
        errors = [r[0] for r in raw.execute("SELECT json_extract(detail, '$.error') FROM audit "
                                            "WHERE action = 'event_failed'")]
    assert errors == ["ValueError"]
