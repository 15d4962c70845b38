"""The application step: one transaction per event, retries recognised, restarts resumed."""

from __future__ import annotations

import json
import sqlite3

import pytest

from bot.app import Boussole
from bot.storage import Database
from conversations.model import Status
from tests.helpers import CLEAN, Chat, event


async def test_a_step_commits_state_answer_audit_and_outbox_together(app, db_path):
    chat = Chat(app)
    await chat.say("nouveau")
    await chat.say(CLEAN["ctx_name"])
    with sqlite3.connect(db_path) as raw:
        state = json.loads(raw.execute("SELECT state FROM assessments WHERE id = 1").fetchone()[0])
        assert state["pending"] == "ctx_purpose"
        assert raw.execute("SELECT question_id, answered_by FROM answers").fetchall() == [("ctx_name", "console:alice")]
        actions = [r[0] for r in raw.execute("SELECT action FROM audit ORDER BY id")]
        assert actions == ["created", "answer"]
        assert raw.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0] == 0
        assert raw.execute("SELECT title FROM assessments").fetchone()[0] == CLEAN["ctx_name"]


async def test_a_retried_event_is_processed_once(app, db_path):
    chat = Chat(app)
    await chat.say("nouveau", event_id="slack:Ev42")
    again = await chat.say("nouveau", event_id="slack:Ev42")
    assert again == []
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM assessments").fetchone()[0] == 1


async def test_answer_history_is_kept_never_overwritten(app, db_path):
    chat = Chat(app)
    await chat.say("nouveau")
    await chat.say("Premier nom")
    await chat.say("retour")
    await chat.say("Second nom")
    with sqlite3.connect(db_path) as raw:
        values = [json.loads(r[0])["value"] for r in raw.execute(
            "SELECT answer FROM answers WHERE question_id = 'ctx_name' ORDER BY id")]
    assert values == ["Premier nom", "Second nom"]


async def test_restart_resumes_exactly_at_the_pending_question(config, questionnaire, db_path, clock):
    async with Database(db_path) as db:
        chat = Chat(Boussole(config=config, questionnaire=questionnaire, db=db, clock=clock))
        await chat.say("nouveau")
        await chat.answer_all(CLEAN, stop_at="c1_sensitive")
    async with Database(db_path) as db:
        chat = Chat(Boussole(config=config, questionnaire=questionnaire, db=db, clock=clock))
        replies = await chat.say("reprendre")
        assert replies[-1].question["id"] == "c1_sensitive"
        await chat.answer_all(CLEAN)
        await chat.say("soumettre")
        async with db.reading() as tx:
            row = await tx.assessment(1)
        assert row.interview.status is Status.IN_REVIEW and row.submitted_at is not None


async def test_findings_are_stored_and_follow_the_answers(app, db_path):
    chat = Chat(app)
    await chat.say("nouveau")
    await chat.answer_all({"c2_ciso": "non"}, stop_at="c3_problem")
    with sqlite3.connect(db_path) as raw:
        rows = raw.execute("SELECT question_id, level FROM findings").fetchall()
    assert rows == [("c2_ciso", "to_check")]


async def test_replies_are_rendered_in_the_users_language(app):
    chat = Chat(app)
    await chat.say("nouveau")
    replies = await chat.say("language en")
    assert replies[0].text == "Language: English."
    assert replies[-1].text.startswith("Project context · question 1 of about ")


async def test_undelivered_replies_survive_and_go_out_later(app, config, questionnaire, db_path, clock):
    await app.handle(__import__("tests.helpers", fromlist=["event"]).event("console:alice", "nouveau"))
    # nothing delivered yet: a crash here loses nothing, the outbox holds the replies
    async with Database(db_path) as db2:
        other = Boussole(config=config, questionnaire=questionnaire, db=db2, clock=clock)
        seen = []

        async def collect(row, rendered):
            seen.append(rendered.kind)

        assert await other.deliver("console", collect) == 2
    assert seen == ["info", "question"]


async def test_a_failed_delivery_stays_in_the_outbox_in_order(app):
    chat = Chat(app)
    await chat.say("nouveau")
    from tests.helpers import event
    await app.handle(event("console:alice", "aide"))
    await app.handle(event("console:alice", "pourquoi"))

    async def broken(row, rendered):
        raise ConnectionError("transport down")

    assert await app.deliver("console", broken) == 0
    kinds = []

    async def ok(row, rendered):
        kinds.append(rendered.text[:6])

    assert await app.deliver("console", ok) == 2
    assert kinds[0].startswith("Comman") and kinds[1].startswith("Pourqu")


@pytest.fixture
async def other_process(config, questionnaire, db_path, clock):
    """The application again, on its own connection to the same file: another process."""
    async with Database(db_path) as db:
        yield Boussole(config=config, questionnaire=questionnaire, db=db, clock=clock)


def _answers(db_path) -> list[tuple[str, str]]:
    with sqlite3.connect(db_path) as raw:
        return [(q, json.loads(a)["value"]) for q, a in raw.execute(
            "SELECT question_id, answer FROM answers ORDER BY id")]


async def test_a_step_whose_write_fails_leaves_nothing_and_can_come_again(app, db_path):
    chat = Chat(app)
    await chat.say("nouveau")
    with sqlite3.connect(db_path) as raw:
        raw.execute("CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        audited = raw.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
    with pytest.raises(sqlite3.IntegrityError, match="disk full"):
        await app.handle(event("console:alice", "Nom", event_id="slack:Ev8"))
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM processed_events WHERE event_id = 'slack:Ev8'").fetchone()[0] == 0
        assert raw.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == audited
        raw.execute("DROP TRIGGER refuse_outbox")
    assert _answers(db_path) == []
    assert await app.handle(event("console:alice", "Nom", event_id="slack:Ev8"))  # the transport's retry
    assert _answers(db_path) == [("ctx_name", "Nom")]


async def test_a_step_after_another_process_wrote_for_the_same_user_reads_again(app, other_process, db_path):
    chat = Chat(app)
    await chat.say("nouveau")
    assert await other_process.handle(event(chat.user, "Nom écrit ailleurs"))
    replies = await chat.say("Un outil qui résume les courriers reçus par le service.")
    assert replies[-1].question["id"] == chat.app.questionnaire.questions[2].id
    assert _answers(db_path) == [("ctx_name", "Nom écrit ailleurs"),
                                 ("ctx_purpose", "Un outil qui résume les courriers reçus par le service.")]


async def test_an_event_that_fails_is_contained_audited_and_answered(app, db_path, monkeypatch):
    chat = Chat(app)
    await chat.say("nouveau")
    step = app._step

    async def failing_step(tx, event, now):
        if event.text == "boum":
            raise RuntimeError("a bug met by this message")
        return await step(tx, event, now)

    monkeypatch.setattr(app, "_step", failing_step)
    replies = await chat.say("boum", event_id="slack:EvPoison")
    assert [r.key for r in replies] == ["error.internal"]
    assert not await app.handle(event(chat.user, "boum", event_id="slack:EvPoison"))  # a retry: done already
    with sqlite3.connect(db_path) as raw:
        failed = [json.loads(d) for (d,) in raw.execute("SELECT detail FROM audit WHERE action = 'event_failed'")]
    assert failed == [{"event": "slack:EvPoison", "error": "RuntimeError", "message": "a bug met by this message",
                       "text": "boum"}]
    assert (await chat.say(CLEAN["ctx_name"]))[-1].question["id"] == "ctx_purpose"  # the next one goes on


@pytest.mark.parametrize("text", ["statut ²", "statut ①", "statut 99999999999999999999", "modifier ³",
                                  "valider ² ok", "rapport 99999999999999999999"])
async def test_numbers_from_other_scripts_or_beyond_sqlite_never_fail(app, text):
    chat = Chat(app)
    replies = await chat.say(text)
    assert replies and "error.internal" not in [r.key for r in replies]


async def test_control_characters_are_never_stored_and_long_messages_are_refused(app, db_path):
    chat = Chat(app)
    await chat.say("nouveau")
    await chat.say("Tri\x00 du \x1b[31mcourrier\u202e entrant\r\nsuite")
    with sqlite3.connect(db_path) as raw:
        (stored,) = raw.execute("SELECT json_extract(answer, '$.value') FROM answers").fetchone()
    assert stored == "Tri du [31mcourrier entrant\nsuite"
    replies = await chat.say("x" * 5000)
    assert replies[0].key == "error.too_long" and "5000" in replies[0].text


async def test_a_project_named_after_a_command_is_stored_and_nothing_is_refused(app, db_path):
    chat = Chat(app)
    await chat.say("nouveau")
    named = await chat.say("Rapport mensuel des demandes")
    assert named[-1].question["id"] == "ctx_purpose"
    described = await chat.say("Valider automatiquement les factures fournisseurs")
    assert described[-1].question["id"] == "ctx_direction"
    assert _answers(db_path) == [("ctx_name", "Rapport mensuel des demandes"),
                                 ("ctx_purpose", "Valider automatiquement les factures fournisseurs")]
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT title FROM assessments WHERE id = 1").fetchone()[0] == "Rapport mensuel des demandes"
        actions = {r[0] for r in raw.execute("SELECT action FROM audit")}
    assert actions == {"created", "answer"}


async def test_an_explicit_report_at_a_text_question_is_the_report(app, db_path):
    chat = Chat(app)
    await chat.say("nouveau")
    await chat.say("Rapport mensuel des demandes")
    replies = await chat.say("rapport 1", explicit=True)
    assert replies[0].key == "report.ready" and "Rapport mensuel des demandes" in replies[0].text
    assert _answers(db_path) == [("ctx_name", "Rapport mensuel des demandes")]  # not taken as the description


async def test_status_follows_the_access_rule_of_report_and_history(app, db_path):
    alice = Chat(app)
    await alice.say("nouveau")
    await alice.say(CLEAN["ctx_name"])  # a use of the Direction du numérique, once its direction is answered
    await alice.answer_all(CLEAN, stop_at="c1_biometric")
    outsider = Chat(app, "console:manager2")  # manages Mobilités only
    for command in ("statut 1", "rapport 1", "historique 1"):
        replies = await outsider.say(command)
        assert replies[0].key == "error.not_found", command
    assert (await Chat(app, "console:manager").say("statut 1"))[0].key == "status"  # the direction's manager
    with sqlite3.connect(db_path) as raw:
        refused = [json.loads(d)["what"] for (d,) in raw.execute(
            "SELECT detail FROM audit WHERE action = 'access_refused' AND actor = 'console:manager2' ORDER BY id")]
    assert refused == ["status", "report", "history"]


async def test_without_directions_configured_the_interview_goes_on_with_the_direction_typed(config, questionnaire,
                                                                                          db_path, clock):
    bare = config.model_copy(update={"directions": {}})
    async with Database(db_path) as db:
        chat = Chat(Boussole(config=bare, questionnaire=questionnaire, db=db, clock=clock))
        await chat.say("nouveau")
        asked = await chat.answer_all({}, stop_at="ctx_direction")
        assert asked[-1].question["type"] == "text" and asked[-1].question["choices"] == []
        assert "tapez un numéro" not in asked[-1].text
        replies = await chat.say("Direction des sports")
        assert replies[-1].question["id"] == "ctx_ai_kind"
        await chat.answer_all({})
        submitted = await chat.say("soumettre")
        request = next(r for r in submitted if r.kind == "review_request")
        assert "  Direction : Direction des sports" in request.text
        async with db.reading() as tx:
            assert (await tx.assessment(1)).direction == "Direction des sports"


async def test_a_summary_of_work_under_way_recommends_nothing(app):
    chat = Chat(app)
    await chat.say("nouveau")
    for _ in range(11):
        await chat.say(CLEAN[chat.last_question()])
    summary = (await chat.say("résumé"))[0]
    assert summary.kind == "summary"
    assert "Incomplète — " in summary.body and "critères pas encore couverts : 1, 2, 3, 4, 5, 6, 7" in summary.body
    assert "favorable" not in summary.body


async def test_a_withdrawn_assessment_has_no_recommendation(app):
    chat = Chat(app)
    await chat.say("nouveau")
    await chat.answer_all({})
    await chat.say("annuler")
    await chat.say("oui")
    status = (await chat.say("statut 1"))[0]
    assert status.text == "Évaluation n°1 « Tri du courrier entrant » : retirée."
