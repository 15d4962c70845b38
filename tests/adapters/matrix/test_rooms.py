"""A direct room stays private only while the bot and its one user are alone in it (real Synapse, real nio)."""

from __future__ import annotations

import sqlite3
from typing import Any

from tests.adapters.matrix.people import Person, wait_until
from tests.adapters.matrix.test_matrix import interview, question_of
from tests.helpers import CLEAN

SHARED = "Ce salon n'est plus privé"
MOVED = "Notre salon précédent n'est plus privé"


def room_of(person: Person, event: Any) -> str:
    return next(room for room, seen in person.notices if seen is event)


def rows(db: str, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as raw:
        return raw.execute(sql).fetchall()


async def joined(person: Person, room: str) -> None:
    """The person accepted the invitation (their client auto-joins) and sees themself a member."""
    await wait_until(lambda: room in person.client.rooms and person.user_id in person.client.rooms[room].users
                     and person.user_id not in person.client.rooms[room].invited_users)


async def test_someone_joining_a_direct_room_makes_it_shared_and_the_interview_moves(matrix):
    await matrix.start_bot(encryption=False)
    alice = await matrix.person("alice")
    mallory = await matrix.person("mallory")
    room = await alice.dm(matrix.bot_id)
    asked = await interview(alice, room, stop_at="ctx_direction", first="nouveau")  # plain text: her direct room
    await alice.client.room_invite(room, mallory.user_id)
    await joined(mallory, room)

    await mallory.react(room, asked.event_id, "1️⃣")  # an answer to Alice's question, by someone else
    await mallory.say(room, "nouveau")
    await mallory.say(room, CLEAN["ctx_name"])
    seen = len(alice.from_bot())
    await alice.say(room, "!boussole aide")  # a command still counts here; the bot reads the room in order
    help_reply = await alice.next_from_bot(seen, lambda e: e.body.startswith("Commandes"))
    db = str(matrix.app.db.path)
    assert rows(db, "SELECT DISTINCT requester FROM assessments") == [(f"matrix:{alice.user_id}",)], \
        "a third person's plain text in a shared room started an interview"
    assert rows(db, "SELECT COUNT(*) FROM outbox WHERE recipient LIKE '%mallory%'") == [(0,)]

    notice = await alice.next_from_bot(0, lambda e: SHARED in e.body)
    assert room_of(alice, notice) == room
    assert "message direct" in notice.body
    new_room = room_of(alice, help_reply)
    assert new_room != room, "a private reply went to the shared room"
    moved = await alice.next_from_bot(0, lambda e: MOVED in e.body and room_of(alice, e) == new_room)
    assert moved is not None

    seen = len(alice.from_bot())
    await alice.say(new_room, "reprendre")
    question = await alice.next_from_bot(seen, lambda e: question_of(e) == "ctx_direction")
    assert room_of(alice, question) == new_room
    await alice.say(new_room, CLEAN["ctx_direction"])
    following = await alice.next_from_bot(seen, lambda e: question_of(e) == "ctx_ai_kind")
    assert room_of(alice, following) == new_room
    assert rows(db, "SELECT question_id FROM answers ORDER BY id") == [("ctx_name",), ("ctx_purpose",),
                                                                        ("ctx_direction",)]

    assert [e.body for e in alice.from_bot(room)].count(notice.body) == 1, "the notice is said once"
    in_room = alice.from_bot(room)
    assert [e for e in in_room[in_room.index(notice) + 1:] if e.sender == matrix.bot_id] == [], \
        "nothing more went to the shared room"
    await mallory.next_from_bot(0, lambda e: SHARED in e.body)
    assert [e for e in mallory.from_bot() if e.sender == matrix.bot_id][-1].body == notice.body, \
        "Mallory sees nothing from the bot after its notice"
    assert rows(db, f"SELECT direct, user FROM matrix_rooms WHERE room_id IN ('{room}', '{new_room}') "
                    f"ORDER BY direct") == [(0, f"matrix:{alice.user_id}"), (1, f"matrix:{alice.user_id}")]


async def test_an_invitation_is_enough_to_stop_answering_in_the_room(matrix):
    await matrix.start_bot(encryption=False)
    alice = await matrix.person("alice")
    room = await alice.dm(matrix.bot_id)
    await interview(alice, room, stop_at="ctx_purpose", first="nouveau")
    await alice.client.room_invite(room, matrix.user("manager"))  # nobody runs the manager's client: invited only
    notice = await alice.next_from_bot(0, lambda e: SHARED in e.body)
    assert room_of(alice, notice) == room

    await alice.say(room, CLEAN["ctx_purpose"])  # the manager would read it: not taken as an answer
    seen = len(alice.from_bot())
    await alice.say(room, "!boussole aide")
    help_reply = await alice.next_from_bot(seen, lambda e: e.body.startswith("Commandes"))
    assert room_of(alice, help_reply) != room
    assert rows(str(matrix.app.db.path), "SELECT question_id FROM answers") == [("ctx_name",)]


async def test_a_room_shared_while_the_bot_was_away_is_seen_when_it_returns(matrix):
    await matrix.start_bot(encryption=False)
    alice = await matrix.person("alice")
    mallory = await matrix.person("mallory")
    room = await alice.dm(matrix.bot_id)
    await interview(alice, room, stop_at="ctx_purpose", first="nouveau")
    await matrix.stop_bot()
    await alice.client.room_invite(room, mallory.user_id)
    await joined(mallory, room)
    await matrix.start_bot(encryption=False)

    notice = await alice.next_from_bot(0, lambda e: SHARED in e.body)
    assert room_of(alice, notice) == room
    seen = len(alice.from_bot())
    await alice.say(room, "!boussole reprendre")
    question = await alice.next_from_bot(seen, lambda e: question_of(e) == "ctx_purpose")
    assert room_of(alice, question) != room


async def test_a_room_the_bot_was_removed_from_is_no_longer_used(matrix):
    await matrix.start_bot(encryption=False)
    alice = await matrix.person("alice")
    room = await alice.dm(matrix.bot_id)
    await alice.say(room, "aide")  # plain text: her direct room
    await alice.next_from_bot(0, lambda e: e.body.startswith("Commandes"))
    await alice.client.room_kick(room, matrix.bot_id)
    group = await alice.dm(matrix.bot_id)
    await alice.client.room_invite(group, matrix.user("manager"))
    await wait_until(lambda: matrix.user("manager") in alice.client.rooms[group].invited_users)
    seen = len(alice.from_bot())
    await alice.say(group, "!boussole aide")
    reply = await alice.next_from_bot(seen, lambda e: e.body.startswith("Commandes"))
    assert room_of(alice, reply) not in (room, group)


async def test_in_an_encrypted_room_the_newcomer_can_read_the_notice(matrix):
    await matrix.start_bot(encryption=True)
    alice = await matrix.person("alice", encryption=True)
    mallory = await matrix.person("mallory", encryption=True)
    room = await alice.dm(matrix.bot_id, encrypted=True)
    await interview(alice, room, stop_at="ctx_purpose", first="nouveau")
    await alice.client.room_invite(room, mallory.user_id)
    await joined(mallory, room)
    notice = await mallory.next_from_bot(0, lambda e: SHARED in e.body)
    assert notice.decrypted and room_of(mallory, notice) == room
    moved = await alice.next_from_bot(0, lambda e: MOVED in e.body)
    new_room = room_of(alice, moved)
    assert new_room != room and alice.client.rooms[new_room].encrypted and moved.decrypted
