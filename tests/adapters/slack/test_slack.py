"""The Slack adapter in HTTP mode: signed requests as Slack sends them, a fake Web API that records."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from typing import Any

from adapters.slack.blocks import MAX_BLOCKS, MAX_BUTTON, MAX_SECTION
from conversations.model import Status
from tests.adapters.slack.fake_slack import sign
from tests.helpers import CLEAN

ALICE = "UALICE"


def dm(user: str) -> str:
    return f"D{user}"


def question_of(message: dict[str, Any]) -> str | None:
    for block in message["blocks"]:
        if str(block.get("block_id", "")).startswith("q|"):
            return block["block_id"].split("|")[2]
    return None


def is_summary(message: dict[str, Any]) -> bool:
    return any(b["type"] == "header" and "Synthèse" in b["text"]["text"] for b in message["blocks"])


def check_limits(message: dict[str, Any]) -> None:
    blocks = message["blocks"]
    assert len(blocks) <= MAX_BLOCKS
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= MAX_SECTION
        for element in block.get("elements", []):
            if element.get("type") == "button":
                assert len(element["text"]["text"]) <= MAX_BUTTON


async def next_prompt(world, user: str, after: str) -> dict[str, Any]:
    """The first question or summary the bot posts to `user` after the message `after`."""
    def found() -> dict[str, Any] | None:
        for message in world.api.posted(dm(user)):
            if message["ts"] > after and (question_of(message) or is_summary(message)):
                return message
        return None
    return await world.api.wait_for(found)


async def answer(world, user: str, message: dict[str, Any], text: str) -> None:
    qid = question_of(message)
    kinds = {el.get("type") for b in message["blocks"] if b["type"] == "actions" for el in b["elements"]}
    if "checkboxes" in kinds:
        await world.slack.click(user, message, action_id="multi_confirm", checked=text.split(","))
    elif any(b["type"] == "actions" and b.get("block_id", "").startswith("q|") for b in message["blocks"]):
        value = {"oui": "oui", "non": "non"}.get(text, text)
        for block in message["blocks"]:
            for element in block.get("elements", []) if block["type"] == "actions" else []:
                if element.get("value") == value and element["action_id"].startswith("answer:"):
                    await world.slack.interactive(world.slack.action_payload(user, message, block, element))
                    return
        raise AssertionError(f"no button for {text!r} on {qid}")
    else:
        await world.slack.message(user, text)


async def interview(world, user: str = ALICE, overrides: dict[str, str] | None = None,
                    stop_at: str | None = None) -> dict[str, Any]:
    """Start with /boussole nouveau and answer by clicking; return the summary (or the `stop_at` question)."""
    response = await world.slack.command(user, "nouveau")
    assert response.status == 200
    message = await next_prompt(world, user, "0")
    answers = {**CLEAN, **(overrides or {})}
    for _ in range(80):
        check_limits(message)
        qid = question_of(message)
        if qid is None or qid == stop_at:
            return message
        await answer(world, user, message, answers[qid])
        message = await next_prompt(world, user, message["ts"])
    raise AssertionError("the interview did not end")


def audit(world, action: str) -> list[tuple[str, str]]:
    with sqlite3.connect(world.app.db.path) as raw:
        return raw.execute("SELECT actor, detail FROM audit WHERE action = ?", (action,)).fetchall()


async def test_healthz(world):
    async with world.slack.session.get(f"http://127.0.0.1:{world.adapter.port}/healthz") as response:
        assert response.status == 200 and await response.text() == "ok"


async def test_slash_command_is_acknowledged_at_once_then_answered_in_dm(world):
    start = time.perf_counter()
    response = await world.slack.command(ALICE, "nouveau", channel="C0GENERAL")
    assert response.status == 200 and time.perf_counter() - start < 3
    first = await next_prompt(world, ALICE, "0")
    assert first["channel"] == dm(ALICE)
    assert any(b["type"] == "context" and "question 1 sur environ" in b["elements"][0]["text"] for b in first["blocks"])
    assert world.api.method_calls("conversations.open")[0]["users"] == ALICE


async def test_whole_interview_by_clicking_then_a_review_through_the_modal(world):
    summary = await interview(world)
    assert is_summary(summary)
    clicked = world.api.method_calls("chat.update")
    assert clicked and all(not any(b["type"] == "actions" for b in c["blocks"]) for c in clicked)
    await world.slack.click(ALICE, summary, label="Soumettre")
    request = await world.api.wait_for(lambda: world.api.posted(dm("UNR")))
    request = request[0]
    check_limits(request)
    assert request["blocks"][0]["type"] == "header" and "Demande de validation" in request["blocks"][0]["text"]["text"]
    assert await world.api.wait_for(lambda: world.api.posted(dm("UNR2"))), "every member of the role gets it"
    await world.slack.click("UNR", request, label="Valider")
    view = (await world.api.wait_for(lambda: world.api.method_calls("views.open")))[0]["view"]
    await world.slack.submit_view("UNR", view, "Conforme à la doctrine")
    outcome = await world.api.wait_for(lambda: [m for m in world.api.posted(dm(ALICE)) if "est validée" in m["text"]])
    assert "Prochaine réévaluation" in outcome[0]["text"]
    # the request is redrawn for everyone of the role: who decided, no buttons left
    def redrawn() -> list[dict[str, Any]]:
        return [u for u in world.api.method_calls("chat.update")
                if "Décision prise" in json.dumps(u, ensure_ascii=False)]

    decided = await world.api.wait_for(lambda: len(redrawn()) >= 2 and redrawn())
    assert {u["channel"] for u in decided} == {dm("UNR"), dm("UNR2")}
    assert all(not any(b["type"] == "actions" for b in u["blocks"]) for u in decided)
    assert re.search(r"\(\d\d/\d\d/\d{4} \d\d:\d\d\)", json.dumps(decided[0], ensure_ascii=False))  # as chat dates
    async with world.app.db.reading() as tx:
        assert (await tx.assessment(1)).interview.status is Status.APPROVED


async def test_blocker_stands_out_and_the_justification_comes_from_a_modal(world):
    await interview(world, stop_at="c1_biometric")
    question = [m for m in world.api.posted(dm(ALICE)) if question_of(m) == "c1_biometric"][-1]
    await answer(world, ALICE, question, "oui")
    blocker = (await world.api.wait_for(lambda: [m for m in world.api.posted(dm(ALICE))
                                                 if m["blocks"][0]["type"] == "header"
                                                 and "Point bloquant" in m["blocks"][0]["text"]["text"]]))[0]
    labels = [e["text"]["text"] for b in blocker["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert labels == ["Corriger la réponse", "Retirer", "Demander un examen exceptionnel"]
    alert = await world.api.wait_for(lambda: world.api.posted(dm("UDPO")))
    assert "Point bloquant sur l'évaluation n°1" in alert[0]["text"]
    await world.slack.click(ALICE, blocker, label="examen exceptionnel")
    view = (await world.api.wait_for(lambda: world.api.method_calls("views.open")))[0]["view"]
    assert view["blocks"][0]["label"]["text"].startswith("Justification")
    await world.slack.submit_view(ALICE, view, "Badge biométrique imposé par l'arrêté préfectoral de sûreté.")
    nxt = await next_prompt(world, ALICE, blocker["ts"])
    assert question_of(nxt) == "c1_sensitive"
    exception = await world.api.wait_for(lambda: [m for m in world.api.posted(dm("UDPO"))
                                                  if "Examen exceptionnel" in m["text"]])
    assert exception


async def test_bad_signature_and_stale_timestamp_are_refused(world):
    body = json.dumps({"type": "event_callback", "event_id": "EvFORGED", "event": {
        "type": "message", "channel_type": "im", "user": ALICE, "text": "nouveau"}})
    forged = await world.slack.post(body, "application/json", signed=sign("not-the-secret", body))
    assert forged.status == 401
    stale = await world.slack.post(body, "application/json", signed=sign(world.slack.secret, body,
                                                                           int(time.time()) - 6 * 60))
    assert stale.status == 401
    for stamp in ("not-a-number", "", "1e99", "-1", "99999999999999999999999"):
        signature = sign(world.slack.secret, body)["X-Slack-Signature"]
        odd = await world.slack.post(body, "application/json",
                                     signed={"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature})
        assert odd.status == 401, stamp
    fresh = await world.slack.message(ALICE, "aide")
    assert fresh.status == 200
    await world.api.wait_for(lambda: world.api.posted(dm(ALICE)))
    with sqlite3.connect(world.app.db.path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM processed_events WHERE event_id LIKE '%FORGED%'").fetchone()[0] == 0
        assert raw.execute("SELECT COUNT(*) FROM assessments").fetchone()[0] == 0


async def test_a_redelivered_event_has_one_effect_even_after_a_restart(world):
    await world.slack.message(ALICE, "nouveau", event_id="Ev0001")
    await next_prompt(world, ALICE, "0")
    await world.slack.message(ALICE, "nouveau", event_id="Ev0001", retry=1)
    await world.restart()
    await world.slack.message(ALICE, "nouveau", event_id="Ev0001", retry=3)
    await world.slack.message(ALICE, "aide", event_id="Ev0002")  # a marker: processed after the copies
    await world.api.wait_for(lambda: any("Commandes" in m["text"] for m in world.api.posted(dm(ALICE))))
    with sqlite3.connect(world.app.db.path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM assessments").fetchone()[0] == 1


async def test_double_click_has_one_effect_and_the_buttons_go(world):
    message = await interview(world, stop_at="ctx_operator")
    block = next(b for b in message["blocks"] if b["type"] == "actions" and b["block_id"].startswith("q|"))
    first = world.slack.action_payload(ALICE, message, block, block["elements"][0])
    second = world.slack.action_payload(ALICE, message, block, block["elements"][1])
    await world.slack.interactive(first)
    await world.slack.interactive(second)
    await world.api.wait_for(lambda: [u for u in world.api.method_calls("chat.update") if u["ts"] == message["ts"]])
    await next_prompt(world, ALICE, message["ts"])
    await world.slack.message(ALICE, "résumé")
    await world.api.wait_for(lambda: any(is_summary(m) for m in world.api.posted(dm(ALICE))))
    with sqlite3.connect(world.app.db.path) as raw:
        values = raw.execute("SELECT answer FROM answers WHERE question_id = 'ctx_operator'").fetchall()
    assert values == [('{"value": "city"}',)]


async def test_forged_or_refused_review_clicks_get_an_ephemeral_refusal_and_an_audit_record(world):
    summary = await interview(world)
    await world.slack.click(ALICE, summary, label="Soumettre")
    request = (await world.api.wait_for(lambda: world.api.posted(dm("UNR"))))[0]
    # someone who is not a reviewer replays the reviewer's button
    await world.slack.click("UMALLORY", request, label="Valider")
    view = (await world.api.wait_for(lambda: world.api.method_calls("views.open")))[0]["view"]
    await world.slack.submit_view("UMALLORY", view, "")
    ephemeral = await world.api.wait_for(lambda: world.api.method_calls("chat.postEphemeral"))
    assert ephemeral[0]["user"] == "UMALLORY" and "pas relecteur" in ephemeral[0]["text"]
    assert [a for a, _ in audit(world, "decision_refused")] == ["slack:UMALLORY"]
    async with world.app.db.reading() as tx:
        assert (await tx.assessment(1)).interview.status is Status.IN_REVIEW
    # the late clicker is told who decided
    await world.slack.click("UNR", request, label="Valider")
    await world.slack.submit_view("UNR", world.api.method_calls("views.open")[-1]["view"], "")
    await world.api.wait_for(lambda: any("est validée" in m["text"] for m in world.api.posted(dm(ALICE))))
    await world.slack.click("UNR2", world.api.posted(dm("UNR2"))[0], label="Valider")
    await world.api.wait_for(lambda: len(world.api.method_calls("views.open")) == 3)
    await world.slack.submit_view("UNR2", world.api.method_calls("views.open")[-1]["view"], "")
    late = await world.api.wait_for(lambda: [e for e in world.api.method_calls("chat.postEphemeral")
                                             if e["user"] == "UNR2"])
    assert "décision prise par <@UNR>" in late[0]["text"]


async def test_429_storm_waits_for_retry_after_and_delivers_in_order_once(world):
    world.api.fail("chat.postMessage", 429, times=3, headers={"Retry-After": "1"})
    await world.slack.command(ALICE, "nouveau")
    await world.api.wait_for(lambda: len(world.api.posted(dm(ALICE))) >= 2, timeout=20)
    posted = world.api.posted(dm(ALICE))
    assert "Nouvelle évaluation n°1" in posted[0]["text"] and question_of(posted[1]) == "ctx_name"
    assert len([m for m, _ in world.api.calls if m == "!chat.postMessage"]) == 3


async def test_slack_down_keeps_the_reply_in_the_outbox_until_it_is_back(world):
    world.api.fail("chat.postMessage", 500, times=9)  # more than one delivery attempt retries
    await world.slack.command(ALICE, "nouveau")
    await world.api.wait_for(lambda: len([m for m, _ in world.api.calls if m == "!chat.postMessage"]) >= 6)
    with sqlite3.connect(world.app.db.path) as raw:
        waiting = raw.execute("SELECT COUNT(*) FROM outbox WHERE transport = 'slack' AND delivered_at IS NULL")
        assert waiting.fetchone()[0] == 2
    posted = await world.api.wait_for(lambda: len(world.api.posted(dm(ALICE))) >= 2 and world.api.posted(dm(ALICE)),
                                      timeout=30)
    assert "Nouvelle évaluation" in posted[0]["text"] and question_of(posted[1]) == "ctx_name"
    assert len(posted) == 2


async def test_restart_mid_interview_carries_on(world):
    message = await interview(world, stop_at="ctx_users")
    await world.restart()
    await answer(world, ALICE, message, "1")
    nxt = await next_prompt(world, ALICE, message["ts"])
    assert question_of(nxt) == "ctx_hosting"


async def test_report_command_uploads_the_compass_picture(world):
    summary = await interview(world)
    await world.slack.click(ALICE, summary, label="Soumettre")
    await world.api.wait_for(lambda: world.api.posted(dm("UNR")))
    await world.slack.command(ALICE, "rapport 1")
    text = await world.api.wait_for(lambda: [m for m in world.api.posted(dm(ALICE)) if "Fiche de l" in m["text"]])
    assert "1✅" in text[0]["text"]
    completed = await world.api.wait_for(lambda: world.api.method_calls("files.completeUploadExternal"))
    assert completed[0].get("channel_id", completed[0].get("channels")) == dm(ALICE)
    assert any(data.startswith(b"\x89PNG") for data in world.api.uploads.values())
    asked = world.api.method_calls("files.getUploadURLExternal")[0]
    assert asked["alt_txt"].startswith("Boussole des sept critères de l'usage n°1")
    assert "Critère 1, Absence d'identification biométrique et de données sensibles : conforme." in asked["alt_txt"]
    assert json.loads(completed[0]["files"])[0]["title"] == "Boussole — usage n°1"


async def test_a_reviewers_channel_gets_one_request_redrawn_when_decided(world):
    config = world.app.config.model_copy(update={"slack": world.app.config.slack.model_copy(
        update={"reviewers_channel": "CREVIEW"})})
    world.app.config = config
    world.adapter.config = config.slack
    summary = await interview(world, overrides={"ctx_data": "3"})  # personal data: the DPO is required too
    await world.slack.click(ALICE, summary, label="Soumettre")
    posted = await world.api.wait_for(lambda: world.api.posted("CREVIEW"))

    def drained() -> bool:
        with sqlite3.connect(world.app.db.path) as raw:
            return raw.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0] == 0

    await world.api.wait_for(drained)  # every member's copy was handled before we count
    assert len([m for m in world.api.posted("CREVIEW") if "Demande de validation" in m["text"]]) == 1
    assert not world.api.posted(dm("UNR")) and not world.api.posted(dm("UDPO"))
    request = posted[0]
    await world.slack.click("UDPO", request, label="Refuser")
    view = (await world.api.wait_for(lambda: world.api.method_calls("views.open")))[0]["view"]
    await world.slack.submit_view("UDPO", view, "données de santé sans AIPD")
    redrawn = await world.api.wait_for(lambda: [u for u in world.api.method_calls("chat.update")
                                                if u["channel"] == "CREVIEW" and u["ts"] == request["ts"]])
    assert not any(b["type"] == "actions" for b in redrawn[0]["blocks"])


async def test_a_project_named_after_commands_is_stored_as_typed_in_a_direct_message(world):
    await world.slack.command(ALICE, "nouveau")
    first = await next_prompt(world, ALICE, "0")
    assert question_of(first) == "ctx_name"
    await world.slack.message(ALICE, "Rapport mensuel des demandes")
    second = await next_prompt(world, ALICE, first["ts"])
    assert question_of(second) == "ctx_purpose"
    await world.slack.command(ALICE, "statut 1")  # the slash command is a command even at a text question
    status = await world.api.wait_for(lambda: [m for m in world.api.posted(dm(ALICE)) if "brouillon" in m["text"]])
    assert "Rapport mensuel des demandes" in status[0]["text"]
    await world.slack.message(ALICE, "Valider automatiquement les factures fournisseurs")
    third = await next_prompt(world, ALICE, second["ts"])
    assert question_of(third) == "ctx_direction"
    with sqlite3.connect(world.app.db.path) as raw:
        answers = raw.execute("SELECT question_id, answer FROM answers ORDER BY id").fetchall()
        title = raw.execute("SELECT title FROM assessments WHERE id = 1").fetchone()[0]
    assert [(q, json.loads(a)["value"]) for q, a in answers] == [
        ("ctx_name", "Rapport mensuel des demandes"),
        ("ctx_purpose", "Valider automatiquement les factures fournisseurs")]
    assert title == "Rapport mensuel des demandes"
    assert not audit(world, "access_refused") and not audit(world, "decision_refused")


def mrkdwn_texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "mrkdwn" else []
        return own + [t for value in node.values() for t in mrkdwn_texts(value)]
    if isinstance(node, list):
        return [t for item in node for t in mrkdwn_texts(item)]
    return []


HOSTILE_NAME = "Projet <!channel> <!everyone> <@UMALLORY> <https://x.example|clic> R&amp;D"
TYPED_NAME = "Projet <!channel> <!everyone> <@UMALLORY> <https://x.example|clic> R&D"


async def test_user_text_never_mentions_anyone_and_slacks_entities_are_decoded(world):
    summary = await interview(world, overrides={"ctx_name": HOSTILE_NAME})
    with sqlite3.connect(world.app.db.path) as raw:
        assert raw.execute("SELECT title FROM assessments WHERE id = 1").fetchone()[0] == TYPED_NAME
    await world.slack.message(ALICE, "soumettre")
    request = await world.api.wait_for(lambda: next(
        (m for m in world.api.posted(dm("UNR")) if "Demande de validation" in m["text"]), None))
    shown = "\n".join([request["text"], *mrkdwn_texts(request["blocks"])])  # what Slack interprets
    for live in ("<!channel>", "<!everyone>", "<@UMALLORY>", "<https://x.example|clic>", "&amp;amp;"):
        assert live not in shown, live
    assert "&lt;!channel&gt;" in shown and "R&amp;D" in shown
    assert "<@UALICE>" in shown  # the requester, named by Boussole itself, stays a mention
    assert summary  # the interview reached its summary with that name


async def test_numbers_that_once_were_dropped_are_answered_and_the_bot_goes_on(world):
    for text in ("statut ²", "statut ①", "statut 99999999999999999999"):
        assert (await world.slack.command(ALICE, text)).status == 200
    await world.api.wait_for(lambda: len([m for m in world.api.posted(dm(ALICE))
                                          + world.api.method_calls("chat.postEphemeral")]) >= 3)
    await world.slack.message(ALICE, "nouveau")
    await next_prompt(world, ALICE, "0")
    assert not audit(world, "event_failed")


async def test_a_reply_in_the_thread_of_a_reviewers_question_is_the_requesters_answer(world):
    from tests.adapters.test_console import script_for
    from tests.helpers import event
    for text in ["nouveau", *script_for(), "soumettre"]:
        await world.app.handle(event(f"slack:{ALICE}", text))
    await world.app.handle(event("slack:UNR", "question 1 Quel indicateur suivrez-vous ?"))
    asked = await world.api.wait_for(lambda: [m for m in world.api.posted(dm(ALICE)) if "vous pose une question" in
                                              m["text"]])
    n = int(time.time())
    for ts, text in ((asked[0]["ts"], "Le délai moyen d'orientation."), (None, "Un message à part")):
        body = json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": f"EvThread{ts}",
                           "event_time": n, "event": {"type": "message", "channel_type": "im", "channel": dm(ALICE),
                                                      "user": ALICE, "text": text, "ts": f"1720000000.{n}",
                                                      **({"thread_ts": ts} if ts else {})}})
        assert (await world.slack.post(body, "application/json")).status == 200

    def answered() -> list[str]:
        with sqlite3.connect(world.app.db.path) as raw:
            return [a for (a,) in raw.execute("SELECT answer FROM review_questions WHERE answer IS NOT NULL")]
    assert await world.api.wait_for(answered) == ["Le délai moyen d'orientation."]
    told = await world.api.wait_for(lambda: [m for m in world.api.posted(dm("UNR")) if "répond sur" in m["text"]])
    assert "Le délai moyen d'orientation." in told[0]["text"]
