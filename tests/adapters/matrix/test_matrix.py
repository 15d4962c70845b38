"""The Matrix adapter against a real Synapse, with real matrix-nio clients as people."""

from __future__ import annotations

import logging
import sqlite3

from conversations.model import Status
from tests.adapters.matrix.people import Person, wait_until
from tests.helpers import CLEAN


def question_of(event) -> str | None:
    return Person.meta(event).get("question")


async def interview(person: Person, room: str, overrides: dict[str, str] | None = None,
                    stop_at: str | None = None, first: str = "!boussole nouveau"):
    """Answer each question by typing (plain replies in the DM); return the last message seen."""
    answers = {**CLEAN, **(overrides or {})}
    seen = len(person.from_bot())
    await person.say(room, first)
    for _ in range(80):
        event = await person.next_from_bot(seen, lambda e: question_of(e) or Person.meta(e).get("kind") in
                                           ("summary", "blocker"))
        seen = person.from_bot().index(event) + 1
        qid = question_of(event)
        if qid is None or qid == stop_at:
            return event
        await person.say(room, answers[qid])
    raise AssertionError("the interview did not end")


async def test_whole_interview_in_a_direct_room_then_a_review_by_command(matrix):
    await matrix.start_bot(encryption=False)
    alice = await matrix.person("alice")
    nr = await matrix.person("nr")
    room = await alice.dm(matrix.bot_id)
    summary = await interview(alice, room)
    assert Person.meta(summary)["kind"] == "summary"
    assert summary.source["content"]["msgtype"] == "m.notice"
    assert "<h4>" in summary.source["content"]["formatted_body"]
    await alice.say(room, "soumettre")
    request = await nr.next_from_bot(0, lambda e: Person.meta(e).get("kind") == "review_request")
    assert "Demande de validation" in request.body
    nr_room = next(r for r, e in nr.notices if e is request)
    await nr.say(nr_room, "!boussole valider 1 conforme")
    outcome = await alice.next_from_bot(0, lambda e: "est validée" in e.body)
    assert "Prochaine réévaluation" in outcome.body
    async with matrix.app.db.reading() as tx:
        assert (await tx.assessment(1)).interview.status is Status.APPROVED


async def test_blocker_in_an_encrypted_direct_room_and_the_reviewer_alerted(matrix):
    await matrix.start_bot(encryption=True)
    alice = await matrix.person("alice", encryption=True)
    dpo = await matrix.person("dpo", encryption=True)
    room = await alice.dm(matrix.bot_id, encrypted=True)
    assert alice.client.rooms[room].encrypted
    await interview(alice, room, stop_at="c1_biometric")
    seen = len(alice.from_bot())
    await alice.say(room, "oui")
    blocker = await alice.next_from_bot(seen, lambda e: Person.meta(e).get("kind") == "blocker")
    assert "Point bloquant" in blocker.body and "exception" in blocker.body
    assert blocker.decrypted, "the bot answered inside the encrypted room"
    alert = await dpo.next_from_bot(0, lambda e: "Point bloquant sur l'évaluation" in e.body)
    assert alert.decrypted, "the bot opened an encrypted direct room with the reviewer"


async def test_reactions_answer_questions(matrix):
    await matrix.start_bot(encryption=False)
    alice = await matrix.person("alice")
    room = await alice.dm(matrix.bot_id)
    question = await interview(alice, room, stop_at="ctx_operator")
    assert "1️⃣ 2️⃣ 3️⃣" in question.body
    seen = len(alice.from_bot())
    await alice.react(room, question.event_id, "1️⃣")
    nxt = await alice.next_from_bot(seen, lambda e: question_of(e) == "ctx_users")
    await alice.react(room, question.event_id, "2️⃣")  # a stale reaction on an answered question
    await alice.next_from_bot(seen, lambda e: "déjà reçu une réponse" in e.body)
    yes_no = await interview(alice, room, stop_at="c1_biometric", first=CLEAN["ctx_users"])
    seen = len(alice.from_bot())
    await alice.react(room, yes_no.event_id, "❌")
    await alice.next_from_bot(seen, lambda e: question_of(e) == "c1_sensitive")
    with sqlite3.connect(matrix.app.db.path) as raw:
        answers = dict(raw.execute("SELECT question_id, answer FROM answers WHERE question_id IN "
                                   "('ctx_operator', 'c1_biometric')").fetchall())
    assert answers == {"ctx_operator": '{"value": "city"}', "c1_biometric": '{"value": "no"}'}
    assert nxt is not None


async def test_users_from_elsewhere_are_refused_and_audited(matrix):
    await matrix.start_bot(encryption=False, allowed_users=[matrix.user("alice")], allowed_servers=["ville.fr"])
    mallory = await matrix.person("mallory")
    room = await mallory.dm(matrix.bot_id, wait_for_join=False)  # the invite itself is declined: not allowed
    await wait_until(lambda: matrix.bot_id not in mallory.client.rooms[room].users
                     and matrix.bot_id not in mallory.client.rooms[room].invited_users)
    alice = await matrix.person("alice")
    shared = await alice.dm(matrix.bot_id)
    await alice.client.room_invite(shared, matrix.user("mallory"))
    await wait_until(lambda: shared in mallory.client.rooms
                     and matrix.user("mallory") not in mallory.client.rooms[shared].invited_users
                     and matrix.user("mallory") in mallory.client.rooms[shared].users)
    await mallory.say(shared, "!boussole nouveau")
    refusal = await mallory.next_from_bot(0, lambda e: "pas accès à Boussole" in e.body)
    assert refusal is not None
    await alice.say(shared, "!boussole aide")
    await alice.next_from_bot(0, lambda e: "Commandes" in e.body)
    with sqlite3.connect(matrix.app.db.path) as raw:
        refused = raw.execute("SELECT actor FROM audit WHERE action = 'access_refused'").fetchall()
        assert refused == [(f"matrix:{matrix.user('mallory')}",)]
        assert raw.execute("SELECT COUNT(*) FROM assessments").fetchone()[0] == 0


async def test_rate_limited_replies_wait_and_arrive_in_order_once(matrix, caplog):
    await matrix.start_bot(encryption=False)
    matrix.synapse.limit_messages(matrix.bot_id, matrix.user("admin_token"), per_second=1, burst=2)
    alice = await matrix.person("alice")
    room = await alice.dm(matrix.bot_id)
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        for text in ("!boussole aide", "!boussole liste", "!boussole pourquoi", "!boussole aide"):
            await alice.say(room, text)
        await wait_until(lambda: len(alice.from_bot(room)) >= 4, timeout=40)
    bodies = [e.body for e in alice.from_bot(room)]
    assert bodies[0].startswith("Commandes") and bodies[3].startswith("Commandes")
    assert "Vous n'avez aucune évaluation" in bodies[1]
    assert len(bodies) == 4
    assert any("rate limited" in r.message for r in caplog.records)


async def test_report_arrives_with_the_compass_as_an_image(matrix):
    from nio import RoomMessageImage

    await matrix.start_bot(encryption=False)
    alice = await matrix.person("alice")
    images: list = []

    async def on_image(room, event) -> None:
        images.append(event)

    alice.client.add_event_callback(on_image, (RoomMessageImage,))
    room = await alice.dm(matrix.bot_id)
    await interview(alice, room)
    await alice.say(room, "soumettre")
    await alice.say(room, "rapport 1")
    await alice.next_from_bot(0, lambda e: "Fiche de l'usage n°1" in e.body)
    image = await wait_until(lambda: images and images[0])
    assert image.url.startswith("mxc://") and image.source["content"]["info"]["mimetype"] == "image/png"
    assert "Critère 1, Absence d'identification biométrique et de données sensibles : conforme." in image.body
    assert image.source["content"]["filename"] == "boussole-1.png"


async def test_a_reaction_on_a_review_request_then_the_comment_prompt(matrix):
    await matrix.start_bot(encryption=False)
    alice = await matrix.person("alice")
    nr = await matrix.person("nr")
    room = await alice.dm(matrix.bot_id)
    await interview(alice, room)
    await alice.say(room, "soumettre")
    request = await nr.next_from_bot(0, lambda e: Person.meta(e).get("kind") == "review_request")
    nr_room = next(r for r, e in nr.notices if e is request)
    await nr.react(nr_room, request.event_id, "❌")
    await nr.next_from_bot(0, lambda e: "votre décision « refus »" in e.body)
    await nr.say(nr_room, "pas de base légale solide")
    outcome = await alice.next_from_bot(0, lambda e: "est refusée" in e.body)
    assert "pas de base légale solide" in outcome.body


async def test_a_reviewers_room_gets_one_request_per_submission(matrix):
    await matrix.start_bot(encryption=False)
    alice = await matrix.person("alice")
    nr = await matrix.person("nr")
    reviewers = await nr.dm(matrix.bot_id)  # a room of reviewers with the bot in it
    await nr.client.room_invite(reviewers, matrix.user("dpo"))
    matrix.adapter.config = matrix.adapter.config.model_copy(update={"reviewers_room": reviewers})
    room = await alice.dm(matrix.bot_id)
    await interview(alice, room, {"c2_ciso": "non"})  # a finding on criterion 2: the DPO joins NR as reviewer
    await alice.say(room, "soumettre")
    await nr.next_from_bot(0, lambda e: Person.meta(e).get("kind") == "review_request")

    def drained() -> bool:
        with sqlite3.connect(matrix.app.db.path) as raw:
            return raw.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0] == 0

    await wait_until(drained)
    await alice.say(room, "aide")  # one more round trip: everything before it has reached the room
    await alice.next_from_bot(0, lambda e: "Commandes" in e.body)
    requests = [e for e in nr.from_bot(reviewers) if Person.meta(e).get("kind") == "review_request"]
    assert len(requests) == 1


async def test_a_project_named_after_commands_is_stored_and_a_slash_sends_a_command(matrix):
    await matrix.start_bot(encryption=False)
    alice = await matrix.person("alice")
    room = await alice.dm(matrix.bot_id)
    purpose = await interview(alice, room, {"ctx_name": "Rapport mensuel des demandes"}, stop_at="ctx_purpose")
    seen = alice.from_bot().index(purpose) + 1
    await alice.say(room, "/statut 1")  # a leading slash: a command even at a text question
    status = await alice.next_from_bot(seen, lambda e: "brouillon" in e.body)
    assert "Rapport mensuel des demandes" in status.body
    await alice.say(room, "Valider automatiquement les factures fournisseurs")
    nxt = await alice.next_from_bot(seen, lambda e: question_of(e) is not None)
    assert question_of(nxt) == "ctx_direction"
    with sqlite3.connect(matrix.app.db.path) as raw:
        answers = raw.execute("SELECT question_id, answer FROM answers ORDER BY id").fetchall()
        title = raw.execute("SELECT title FROM assessments WHERE id = 1").fetchone()[0]
        refused = raw.execute("SELECT COUNT(*) FROM audit WHERE action LIKE '%refused'").fetchone()[0]
    assert answers == [("ctx_name", '{"value": "Rapport mensuel des demandes"}'),
                       ("ctx_purpose", '{"value": "Valider automatiquement les factures fournisseurs"}')]
    assert title == "Rapport mensuel des demandes" and refused == 0
