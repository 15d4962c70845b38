"""The Matrix dashboard against a real Synapse: one message, edited in place (`m.replace`) when it changes."""

from __future__ import annotations

import urllib.parse

import aiohttp

from tests.adapters.matrix.people import Person, wait_until


def edited(event) -> str | None:
    """The event an edit replaces, if it is one."""
    relation = event.source.get("content", {}).get("m.relates_to") or {}
    return relation.get("event_id") if relation.get("rel_type") == "m.replace" else None


async def test_the_dashboard_is_one_message_edited_in_place_in_an_encrypted_room(matrix):
    await matrix.start_bot(encryption=True)
    alice = await matrix.person("alice", encryption=True)
    room = await alice.dm(matrix.bot_id, encrypted=True)
    await alice.say(room, "!boussole tableau")
    board = await alice.next_from_bot(0, lambda e: "Tableau de bord Boussole" in e.body and not edited(e))
    assert board.decrypted and "Mes évaluations (0)" in board.body
    assert Person.meta(board)["kind"] == "info"

    seen = len(alice.from_bot())
    await alice.say(room, "!boussole nouveau")
    first = await alice.next_from_bot(seen, lambda e: edited(e) == board.event_id)
    assert "n°1 — en brouillon · à poursuivre : « reprendre 1 »" in first.source["content"]["m.new_content"]["body"]
    assert first.body.startswith("* 🧭 Tableau de bord Boussole")  # the fallback for clients without edits
    await alice.next_from_bot(seen, lambda e: Person.meta(e).get("question") == "ctx_name")
    seen = len(alice.from_bot())
    await alice.say(room, "Tri du courrier")
    await alice.next_from_bot(seen, lambda e: Person.meta(e).get("question") == "ctx_purpose")
    second = await alice.next_from_bot(seen, lambda e: edited(e) == board.event_id)
    assert "n°1 « Tri du courrier » — en brouillon" in second.source["content"]["m.new_content"]["body"]
    # Three messages reached Alice after the dashboard; two changed it: two edits, none for the unchanged.
    assert [e.event_id for e in alice.from_bot() if edited(e)] == [first.event_id, second.event_id]

    # The homeserver ties the edits to the dashboard: their relation travels in the clear, beside the ciphertext.
    url = (f"{matrix.synapse.url}/_matrix/client/v1/rooms/{urllib.parse.quote(room)}/relations/"
           f"{urllib.parse.quote(board.event_id)}/m.replace")
    async with aiohttp.ClientSession() as session, session.get(
            url, headers={"Authorization": f"Bearer {alice.client.access_token}"}) as response:
        relations = await response.json()
    assert response.status == 200, relations
    assert {e["event_id"] for e in relations["chunk"]} == {first.event_id, second.event_id}
    assert all(e["type"] == "m.room.encrypted" for e in relations["chunk"])

    # Someone else joins: the room is no longer Alice's alone, and her dashboard there is edited no more.
    mallory = await matrix.person("mallory", encryption=True)
    await alice.client.room_invite(room, mallory.user_id)
    await wait_until(lambda: room in mallory.client.rooms and mallory.user_id in mallory.client.rooms[room].users
                     and mallory.user_id not in mallory.client.rooms[room].invited_users)
    seen = len(alice.from_bot())
    await alice.say(room, "!boussole nouveau")  # a second assessment: the dashboard would change
    started = await alice.next_from_bot(seen, lambda e: "Nouvelle évaluation n°2" in e.body)
    new_room = next(r for r, e in alice.notices if e is started)
    assert new_room != room
    await alice.say(new_room, "!boussole aide")  # delivered after the refreshes the new assessment caused
    await alice.next_from_bot(seen, lambda e: e.body.startswith("Commandes"))
    assert [e.event_id for e in alice.from_bot() if edited(e)] == [first.event_id, second.event_id]
