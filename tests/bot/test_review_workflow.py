"""Reviews as a city runs them: roles deciding by all or by quorum, stages, absences with a delegate,
reassignment, questions to the requester, and one message per decision."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest

from bot.app import Boussole
from bot.config import Config, ConfigError, RoleConfig, load_config
from bot.digest import run_digests
from bot.reminders import sweep
from conversations.model import Status
from tests.helpers import Chat, submitted, to

ALICE, DPO, DPO2, DPO3, RSSI, JURISTE, NR, BOB, ADMIN = (
    f"console:{n}" for n in ("alice", "dpo", "dpo2", "dpo3", "rssi", "juriste", "nr", "bob", "admin"))
PERSONAL = {"ctx_data": "3"}                    # personal data: the DPO reviews too
EVERY_ROLE = {"ctx_data": "3", "c2_ciso": "non"}  # DPO, RSSI, legal and responsible digital


def with_roles(config: Config, **changes: dict) -> Config:
    roles = {name: role.model_copy(update=changes.get(name, {})) for name, role in config.roles.items()}
    return config.model_copy(update={"roles": roles})


def app_with(app: Boussole, config: Config) -> Boussole:
    return Boussole(config=config, questionnaire=app.questionnaire, db=app.db, clock=app.clock)


async def status_of(app: Boussole, assessment: int) -> Status:
    async with app.db.reading() as tx:
        row = await tx.assessment(assessment)
    return row.interview.status


def audit_details(db_path, action: str) -> list[tuple[str, dict]]:
    with sqlite3.connect(db_path) as raw:
        rows = raw.execute("SELECT actor, detail FROM audit WHERE action = ? ORDER BY id", (action,)).fetchall()
    return [(actor, json.loads(detail)) for actor, detail in rows]


# -- config -------------------------------------------------------------------------------------------------

def test_decide_and_quorum_are_validated(tmp_path):
    RoleConfig(label="DPD", members=[DPO, DPO2], decide="quorum", quorum=2)
    with pytest.raises(ValueError, match="needs the number of members"):
        RoleConfig(label="DPD", members=[DPO], decide="quorum")
    with pytest.raises(ValueError, match='counts only with decide = "quorum"'):
        RoleConfig(label="DPD", members=[DPO, DPO2], decide="all", quorum=2)
    with pytest.raises(ValueError, match="can never be met"):
        RoleConfig(label="DPD", members=[DPO, DPO2], decide="quorum", quorum=3)
    with pytest.raises(ValueError):
        RoleConfig(label="DPD", members=[DPO], decide="most")
    path = tmp_path / "c.toml"
    path.write_text('[roles.dpo]\nlabel = "DPD"\nmembers = ["console:dpo"]\n[review]\nstages = [["dpo"], ["rssi"]]\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="'rssi', which is not a configured role"):
        load_config(path)
    path.write_text('[roles.dpo]\nlabel = "DPD"\nmembers = ["console:dpo"]\n[review]\nstages = [["dpo"], ["dpo"]]\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="more than one place"):
        load_config(path)


def test_roles_in_no_stage_form_a_last_stage(config):
    staged = config.model_copy(update={"review": config.review.model_copy(update={"stages": [["juridique"],
                                                                                             ["dpo", "rssi"]]})})
    assert staged.stages_of(["dpo", "rssi", "juridique", "numerique-responsable"]) == [
        ["juridique"], ["dpo", "rssi"], ["numerique-responsable"]]
    assert staged.stages_of(["numerique-responsable", "dpo"]) == [["dpo"], ["numerique-responsable"]]
    assert config.stages_of(["dpo", "numerique-responsable"]) == [["dpo", "numerique-responsable"]]


# -- any, all, quorum ---------------------------------------------------------------------------------------

async def test_all_members_must_approve_and_the_requester_hears_of_each_decision_once(app, config):
    bot = app_with(app, with_roles(config, dpo={"members": [DPO, DPO2], "decide": "all"}))
    chat = Chat(bot)
    n = await submitted(chat, PERSONAL)
    assert {r.to for r in chat.inbox if r.kind == "review_request"} == {DPO, DPO2, NR}
    first = await chat.say(f"valider {n} conforme", user=DPO)
    told = to(first, ALICE)
    assert len(told) == 1
    assert "Toujours en attente de la décision de : " in told[0].text and "(DPD) (1/2)" in told[0].text
    again = await chat.say(f"valider {n}", user=DPO)
    assert again[0].key == "review.refused.already_decided"
    await chat.say(f"valider {n}", user=NR)
    assert await status_of(bot, n) is Status.IN_REVIEW  # the DPO role waits for its second member
    last = await chat.say(f"réserves {n} revoir la durée de conservation", user=DPO2)
    assert await status_of(bot, n) is Status.APPROVED_WITH_RESERVATIONS
    assert len(to(last, ALICE)) == 1


async def test_one_members_rejection_rejects_in_all_mode(app, config):
    bot = app_with(app, with_roles(config, dpo={"members": [DPO, DPO2], "decide": "all"}))
    chat = Chat(bot)
    n = await submitted(chat, PERSONAL)
    await chat.say(f"valider {n}", user=DPO)
    replies = await chat.say(f"refuser {n} données de santé", user=DPO2)
    assert await status_of(bot, n) is Status.REJECTED
    assert [r.key for r in to(replies, ALICE)] == ["review.outcome.rejected"]
    assert "votre demande de validation est close" in to(replies, NR)[0].text


async def test_a_quorum_of_distinct_members_approves(app, config, db_path):
    bot = app_with(app, with_roles(config, dpo={"members": [DPO, DPO2, DPO3], "decide": "quorum", "quorum": 2}))
    chat = Chat(bot)
    n = await submitted(chat, PERSONAL)
    await chat.say(f"valider {n}", user=NR)
    one = await chat.say(f"valider {n}", user=DPO3)
    assert "(1/2)" in to(one, ALICE)[0].text
    await chat.say(f"valider {n}", user=DPO)
    assert await status_of(bot, n) is Status.APPROVED
    late = await chat.say(f"valider {n}", user=DPO2)
    assert late[0].key == "review.refused.not_in_review"
    votes = [d for _actor, d in audit_details(db_path, "decision")]
    assert [v.get("settled") for v in votes] == [None, [], None]  # the first DPO's approval settled nothing yet
    from bot.audit import verify
    assert (await verify(bot.db)).reason == ""  # every member's decision is in the trail, and only those


async def test_a_quorum_the_requester_leaves_out_of_reach_is_reported_to_the_admins(app, config):
    bot = app_with(app, with_roles(config, dpo={"members": [DPO, ALICE], "decide": "quorum", "quorum": 2}))
    chat = Chat(bot)
    await submitted(chat, PERSONAL)
    assert [r.key for r in to(chat.inbox, ADMIN)] == ["review.blocked"]


async def test_the_final_approval_repeats_every_reservation(app):
    chat = Chat(app)
    n = await submitted(chat, PERSONAL)
    await chat.say(f"réserves {n} revoir la durée de conservation", user=DPO)
    final = await chat.say(f"valider {n}", user=NR)
    told = to(final, ALICE)
    assert len(told) == 1
    assert told[0].text == ("✅ nr (Numérique responsable) : votre évaluation n°1 « Tri du courrier entrant » est "
                            "validée avec réserves — dpo — revoir la durée de conservation. Prochaine réévaluation "
                            "le 02/09/2026.")


# -- stages -------------------------------------------------------------------------------------------------

def staged(config: Config) -> Config:
    return config.model_copy(update={"review": config.review.model_copy(
        update={"stages": [["juridique"], ["dpo", "rssi"]]})})


async def test_stages_ask_each_stage_once_the_one_before_approved(app, config, db_path):
    bot = app_with(app, staged(config))
    chat = Chat(bot)
    n = await submitted(chat, EVERY_ROLE)
    assert [r.to for r in chat.inbox if r.kind == "review_request"] == [JURISTE]
    early = await chat.say(f"valider {n}", user=DPO)
    assert early[0].key == "review.refused.later_stage" and "Direction juridique" in early[0].text
    second = await chat.say(f"valider {n} base légale vérifiée", user=JURISTE)
    assert sorted(r.to for r in second if r.kind == "review_request") == [DPO, RSSI]
    told = to(second, ALICE)
    assert [r.key for r in told] == ["review.decision_next_stage"]
    assert ("L'étape 2 sur 3 commence : la demande de validation est transmise à Délégué à la protection des données "
            "(DPD), RSSI") in told[0].text
    await chat.say(f"valider {n}", user=DPO)
    third = await chat.say(f"valider {n}", user=RSSI)
    assert [r.to for r in third if r.kind == "review_request"] == [NR]
    await chat.say(f"valider {n}", user=NR)
    assert await status_of(bot, n) is Status.APPROVED
    assert [d["roles"] for _a, d in audit_details(db_path, "stage_started")] == [["dpo", "rssi"],
                                                                                ["numerique-responsable"]]
    assert audit_details(db_path, "review_requested")[0][1]["stages"] == [["juridique"], ["dpo", "rssi"],
                                                                          ["numerique-responsable"]]


async def test_a_rejection_at_the_first_stage_asks_nobody_else(app, config):
    bot = app_with(app, staged(config))
    chat = Chat(bot)
    n = await submitted(chat, EVERY_ROLE)
    replies = await chat.say(f"refuser {n} aucune base légale", user=JURISTE)
    assert await status_of(bot, n) is Status.REJECTED
    assert [r for r in chat.inbox if r.kind == "review_request" and r.to != JURISTE] == []
    assert {r.to for r in replies} == {JURISTE, ALICE}


# -- absences and delegates -----------------------------------------------------------------------------------

async def test_a_delegate_receives_and_decides_for_an_absent_member(app, db_path):
    chat = Chat(app)
    declared = await chat.say("absent du 2026-03-02 au 2026-03-13 remplaçant console:bob", user=DPO)
    assert "Absence enregistrée du 02/03/2026 au 13/03/2026 : bob reçoit et décide à votre place" in (
        to(declared, DPO)[0].text)
    assert "dpo déclare une absence du 02/03/2026 au 13/03/2026 et vous désigne comme remplaçant" in (
        to(declared, BOB)[0].text)
    n = await submitted(chat, PERSONAL)
    requests = {r.to for r in chat.inbox if r.kind == "review_request"}
    assert requests == {BOB, NR}
    assert any(r.key == "review.delegated_request" and "en remplacement de dpo" in r.text for r in to(chat.inbox, BOB))
    pending = await chat.say("à valider", user=BOB)
    assert "n°1 « Tri du courrier entrant »" in pending[0].text
    await chat.say(f"valider {n}", user=BOB)
    actor, detail = audit_details(db_path, "decision")[-1]
    assert actor == BOB and detail["for"] == [DPO] and detail["roles"] == ["dpo"]
    await chat.say(f"valider {n}", user=NR)
    assert await status_of(app, n) is Status.APPROVED
    from bot.audit import verify
    assert (await verify(app.db)).reason == ""


async def test_a_delegate_may_not_decide_on_their_own_request(app, db_path):
    chat = Chat(app, user=BOB)
    await chat.say("absent du 2026-03-02 au 2026-03-13 remplaçant bob", user=DPO)
    n = await submitted(chat, PERSONAL)  # bob asks; the DPO, away, named bob: the request stays with the DPO
    assert DPO in {r.to for r in chat.inbox if r.kind == "review_request"}
    refused = await chat.say(f"valider {n}", user=BOB)
    assert refused[0].key == "review.refused.own_request"
    assert (BOB, {"reason": "own_request"}) in audit_details(db_path, "decision_refused")
    await chat.say(f"valider {n}", user=DPO)  # the member still decides, away or not


async def test_back_ends_the_absence_and_requests_return(app, db_path):
    chat = Chat(app)
    await chat.say("away from 2026-03-02 to 2026-03-13 delegate console:bob", user=DPO)
    back = await chat.say("présent", user=DPO)
    assert [r.key for r in back] == ["review.present.done", "review.present.delegate_told"]
    assert (await chat.say("présent", user=DPO))[0].key == "review.present.none"
    await submitted(chat, PERSONAL)
    assert {r.to for r in chat.inbox if r.kind == "review_request"} == {DPO, NR}
    assert [a for a, _d in audit_details(db_path, "absence_ended")] == [DPO]


async def test_back_with_no_interview_open_ends_the_absence_and_within_one_goes_back_a_question(app):
    chat = Chat(app)
    await chat.say("away from 2026-03-02 to 2026-03-13 delegate console:bob", user=DPO)
    assert [r.key for r in await chat.say("back", user=DPO)] == ["review.present.done", "review.present.delegate_told"]
    await chat.say("new", user=DPO)
    await chat.say("Outil de tri", user=DPO)
    stepped = await chat.say("back", user=DPO)
    assert stepped[-1].question is not None and stepped[-1].question["number"] == 1


@pytest.mark.parametrize(("text", "key"), [
    ("absent", "review.away.usage"),
    ("absent demain", "review.away.usage"),
    ("absent du 2026-03-10 au 2026-03-05", "review.away.bad_dates"),
    ("absent du 2026-02-01 au 2026-02-10", "review.away.bad_dates"),
    ("absent du 2026-03-10 au 2031-03-05", "review.away.bad_dates"),
    ("absent du 2026-02-30 au 2026-03-05", "review.away.bad_dates"),
    ("absent du 2026-03-03 au 2026-03-05 remplaçant <script>", "review.away.bad_identity"),
    ("absent du 2026-03-03 au 2026-03-05 remplaçant " + "b" * 300, "review.away.bad_identity"),
    ("absent du 2026-03-03 au 2026-03-05 remplaçant console:dpo", "review.away.self"),
])
async def test_an_absence_is_validated(app, db_path, text, key):
    replies = await Chat(app).say(text, user=DPO)
    assert [r.key for r in replies] == [key]
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM absences").fetchone()[0] == 0


async def test_overlapping_absences_are_refused_and_dates_may_be_french(app):
    chat = Chat(app)
    first = await chat.say("absent du 04/03/2026 au 10/03/2026", user=DPO)
    assert first[0].key == "review.away.recorded_alone"
    second = await chat.say("absent du 2026-03-08 au 2026-03-12 remplaçant bob", user=DPO)
    assert second[0].key == "review.away.overlap"


async def test_an_absence_without_delegate_and_the_holdups_show_in_the_digest(app, clock):
    chat = Chat(app)
    await chat.say("absent du 2026-03-02 au 2026-03-20", user=RSSI)
    late = await submitted(chat)
    clock.advance(days=1)
    asked = await submitted(chat, PERSONAL)
    await chat.say(f"question {asked} Combien de temps gardez-vous les courriers ?", user=DPO)
    clock.advance(days=5)
    await run_digests(app, clock.now, slot="reviews")
    reader = Chat(app, user="console:manager")
    await app.deliver("console", reader._collect)
    digest = next(r for r in reader.inbox if r.to == "console:manager" and r.kind == "digest").text
    assert ("Relecteurs absents sans remplaçant (1)\n  rssi (RSSI) — absence jusqu'au 20/03/2026, sans remplaçant"
            in digest)
    assert (f"Questions en attente de réponse du demandeur (1)\n  n°{asked} « Tri du courrier entrant » — question de "
            "dpo à alice, depuis 5 jours") in digest
    # the first use waited 6 days; the second is paused by its open question, in every section
    assert (f"Validations en attente (3)\n  n°{late} « Tri du courrier entrant » — Numérique responsable, depuis 6 "
            f"jours — niveau d'impact I\n  n°{asked} « Tri du courrier entrant » — Délégué à la protection des "
            "données (DPD), depuis 0 jour — niveau d'impact I\n") in digest
    assert (f"Validations en retard, par rôle (1)\n  Numérique responsable — n°{late} « Tri du courrier entrant », en "
            "attente depuis 6 jours\n") in digest


# -- reassignment -----------------------------------------------------------------------------------------------

async def test_an_admin_hands_a_waiting_request_to_another_person(app, db_path):
    chat = Chat(app)
    n = await submitted(chat)
    refused = await chat.say(f"réassigner {n} numerique-responsable console:bob", user=DPO)
    assert refused[0].key == "review.refused.not_admin"
    unknown = await chat.say(f"réassigner {n} dpo console:bob", user=ADMIN)
    assert unknown[0].key == "review.reassign.no_role" and "numerique-responsable" in unknown[0].text
    mine = await chat.say(f"réassigner {n} numerique-responsable alice", user=ADMIN)
    assert mine[0].key == "review.refused.assignee_is_requester"
    done = await chat.say(f"réassigner {n} Numérique responsable console:bob", user=ADMIN)
    assert done[0].key == "review.reassign.usage"  # a label of several words: use the role's name
    done = await chat.say(f"réassigner {n} numerique-responsable bob", user=ADMIN)
    assert {(r.to, r.key) for r in done} == {(ADMIN, "review.reassign.done"), (BOB, "review.reassign.to_you"),
                                             (NR, "review.reassign.away_from_you"), (BOB, "review.request")}
    assert audit_details(db_path, "review_reassigned") == [
        (ADMIN, {"role": "numerique-responsable", "assignee": BOB, "before": [NR]})]
    former = await chat.say(f"valider {n}", user=NR)
    assert former[0].key == "review.refused.reassigned" and "bob" in former[0].text
    await chat.say(f"valider {n}", user=BOB)
    assert await status_of(app, n) is Status.APPROVED


# -- questions to the requester ---------------------------------------------------------------------------------

async def test_a_question_reaches_the_requester_and_the_reply_every_reviewer(app, db_path):
    chat = Chat(app)
    n = await submitted(chat, PERSONAL)
    asked = await chat.say(f"question {n} Combien de temps gardez-vous les courriers ?", user=DPO)
    question = to(asked, ALICE)
    assert question[0].text == ("❓ dpo (Délégué à la protection des données (DPD)) vous pose une question sur votre "
                                "évaluation n°1 « Tri du courrier entrant » : « Combien de temps gardez-vous les "
                                "courriers ? ». Répondez avec « réponse 1 <votre réponse> ».")
    outsider = await chat.say(f"question {n} Et alors ?", user=BOB)
    assert outsider[0].key == "review.refused.not_reviewer"
    stranger = await chat.say(f"réponse {n} Je réponds à sa place", user=BOB)
    assert stranger[0].kind == "error"
    replied = await chat.say(f"réponse {n} Un an, puis ils sont détruits.")
    assert {r.to for r in replied} == {ALICE, DPO, NR}
    assert to(replied, DPO)[0].text == ("💬 alice répond sur l'évaluation n°1 « Tri du courrier entrant » (1 question "
                                        "close) : « Un an, puis ils sont détruits. »")
    assert [a for a, _d in audit_details(db_path, "question_asked")] == [DPO]
    assert audit_details(db_path, "question_answered") == [(ALICE, {"questions": [1],
                                                                    "text": "Un an, puis ils sont détruits."})]
    async with app.db.reading() as tx:
        assert await app.review.open_questions(tx, n) == []
    too_long = await chat.say(f"question {n} " + "x" * 1200, user=DPO)
    assert too_long[0].key == "review.text_too_long"


async def test_time_with_a_question_open_does_not_count_as_waiting(app, clock):
    chat = Chat(app)
    n = await submitted(chat)
    start = clock.now
    clock.advance(days=1)
    await chat.say(f"question {n} Quel indicateur ?", user=NR)
    assert await sweep(app, start + dt.timedelta(days=5)) == []   # 1 day waited, 4 paused
    clock.now = start + dt.timedelta(days=4)
    await chat.say(f"réponse {n} Le délai moyen d'orientation.")
    assert await sweep(app, start + dt.timedelta(days=7)) == []   # 7 days, 3 of them paused: 4
    nudged = await sweep(app, start + dt.timedelta(days=8))
    assert [(x.recipient, x.kind) for x in nudged] == [(NR, "review_waiting")]
    async with app.db.reading() as tx:
        pending = await app.review.pending_for(tx, NR, start + dt.timedelta(days=8))
    assert [(p.assessment_id, p.days, p.open_questions) for p in pending] == [(n, 5, 0)]


# -- the data ---------------------------------------------------------------------------------------------------

async def test_decisions_taken_before_the_upgrade_become_members_decisions(db_path):
    from bot import storage
    from bot.storage import Database
    with sqlite3.connect(db_path) as raw:  # a file as migration 10 left it, with one decided round
        for script in storage.MIGRATIONS[:10]:
            raw.executescript(script)
        raw.execute("PRAGMA user_version = 10")
        raw.execute("INSERT INTO assessments(id, requester, status, questionnaire_version, state, created_at, "
                    "updated_at, review_round) VALUES (1, 'console:a', 'in_review', '2025.1', '{}', 't', 't', 1)")
        raw.executemany("INSERT INTO reviews(assessment_id, round, role, requested_at, decision, reviewer, comment, "
                        "decided_at) VALUES (1, 1, ?, 't0', ?, ?, ?, ?)",
                        [("dpo", "reservations", DPO, "suivi", "t1"), ("rssi", None, None, None, None),
                         ("juridique", "closed", None, None, "t2")])
    async with Database(db_path) as db:
        assert await db.schema_version() == len(storage.MIGRATIONS)
        async with db.reading() as tx:
            votes = await tx.current_votes(1)
            assert [(v.role, v.member, v.reviewer, v.decision, v.comment) for v in votes] == [
                ("dpo", DPO, DPO, "reservations", "suivi")]
            assert await tx.current_plan(1) == []  # submitted before stages: one stage, the rows it has
            assert [(d.role, d.reviewer) for d in await tx.decisions(1)] == [("dpo", DPO)]


async def test_a_delegate_gets_the_reviewer_digest_of_what_waits_for_them(app, clock):
    chat = Chat(app)
    await chat.say("absent du 2026-03-02 au 2026-03-13 remplaçant bob", user=DPO)
    n = await submitted(chat, PERSONAL)
    clock.advance(days=2)
    notices = await run_digests(app, clock.now, slot="delegates")
    assert (BOB, "reviewer_digest") in {(x.recipient, x.kind) for x in notices}
    assert (DPO, "reviewer_digest") not in {(x.recipient, x.kind) for x in notices}  # held by bob meanwhile
    digest = next(x for x in notices if x.recipient == BOB).reply.params["pending"]
    assert digest == [{"id": n, "title": "Tri du courrier entrant", "role": "Délégué à la protection des données (DPD)",
                       "days": 2}]


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_help_shows_how_to_write_each_review_command(locale):
    from bot.i18n import render
    from conversations.model import Reply, ReplyKind
    text = render(Reply(ALICE, ReplyKind.INFO, "help", {"question_help": None}), locale).text
    expected = {"fr": ("  absent du <date> au <date> [remplaçant <identité>] — ", "  présent — ",
                       "  question <n°> <texte> — ", "  réponse <n°> <texte> — ",
                       "  réassigner <n°> <rôle> <identité> — "),
                "en": ("  away from <date> to <date> [delegate <identity>] — ", "  back at work — ",
                       "  question <no.> <text> — ", "  reply <no.> <text> — ",
                       "  reassign <no.> <role> <identity> — ")}
    for line in expected[locale]:
        assert line.removesuffix("— ") in text   # the usage, then the aligned column of what it does


async def test_a_question_left_open_closes_with_the_review_and_pauses_no_later_round(app, clock):
    chat = Chat(app)
    n = await submitted(chat)
    await chat.say(f"question {n} Quel indicateur ?", user=NR)
    await chat.say(f"modifications {n} précisez l'indicateur", user=NR)
    async with app.db.reading() as tx:
        assert await app.review.open_questions(tx, n) == []
    await chat.say(f"reprendre {n}")
    await chat.say("soumettre")
    start = clock.now
    nudged = await sweep(app, start + dt.timedelta(days=5))
    assert [(x.recipient, x.kind) for x in nudged] == [(NR, "review_waiting")]
    late = await chat.say(f"réponse {n} trop tard ?")
    assert {r.to for r in late} == {ALICE, NR}  # a reply still reaches the reviewers, with nothing to close


async def test_the_review_commands_speak_english(app):
    chat = Chat(app)
    for who in (ALICE, DPO, BOB, ADMIN, NR):
        await chat.say("language en", user=who)
    away = await chat.say("away from 2026-03-02 to 2026-03-13 delegate bob", user=DPO)
    assert to(away, DPO)[0].text.startswith("Absence recorded from 2026-03-02 to 2026-03-13: bob receives")
    n = await submitted(chat, PERSONAL)
    assert any(r.key == "review.delegated_request" and "in place of dpo" in r.text for r in to(chat.inbox, BOB))
    asked = await chat.say(f"question {n} How long are the letters kept?", user=BOB)
    assert to(asked, ALICE)[0].text.startswith("❓ bob (Délégué à la protection des données (DPD)) asks about your "
                                               "assessment no. 1")
    replied = await chat.say(f"reply {n} One year.")
    assert to(replied, ALICE)[0].text == 'Reply sent to the 2 reviewers of assessment no. 1 "Tri du courrier entrant".'
    moved = await chat.say(f"reassign {n} numerique-responsable console:admin", user=ADMIN)
    assert "no longer have to decide" in to(moved, NR)[0].text
    decided = await chat.say(f"approve {n}", user=BOB)
    assert "Still waiting for the decision of: Numérique responsable." in to(decided, ALICE)[0].text
    assert (await chat.say("back at work", user=DPO))[0].text.startswith("Welcome back")


def test_an_all_or_quorum_role_with_unreachable_members_is_a_warning(tmp_path, questionnaire):
    path = tmp_path / "c.toml"
    path.write_text('[slack]\nenabled = true\n'
                    '[roles.dpo]\nlabel = "DPO"\nalways = true\ndecide = "all"\n'
                    'members = ["slack:U0DPO", "console:dpo"]\n'
                    '[roles.rssi]\nlabel = "RSSI"\nalways = true\ndecide = "quorum"\nquorum = 1\n'
                    'members = ["slack:U0RSSI", "console:rssi"]\n'
                    '[directions.numerique]\nlabel = "Numérique"\n', encoding="utf-8")
    assert load_config(path).check_against(questionnaire) == [
        'roles.dpo: decide = "all" needs 2 approvals, but only 1 member(s) can reach the bot (console:dpo: a '
        "terminal identity, which `boussole run` on Slack or Matrix does not reach): add members the bot can reach, "
        "or lower the quorum"]


async def test_requests_waiting_when_an_absence_begins_go_to_the_delegate_once(app, clock):
    chat = Chat(app)
    n = await submitted(chat, PERSONAL)  # the DPO has it
    await chat.say("absent du 2026-03-04 au 2026-03-13 remplaçant bob", user=DPO)
    assert await sweep(app, clock.now) == []   # not away yet
    clock.advance(days=2)
    handed = await sweep(app, clock.now)
    assert [(x.recipient, x.kind, x.assessment) for x in handed] == [
        (BOB, "review_handed_over", n), (BOB, "review_handed_over", n)]
    await app.deliver("console", chat._collect)
    assert {r.key for r in to(chat.inbox, BOB)} >= {"review.request", "review.delegated_request"}
    assert [x for x in await sweep(app, clock.now) if x.kind == "review_handed_over"] == []   # once
    later = await submitted(chat, PERSONAL)   # made during the absence: straight to bob, not handed over again
    assert [x for x in await sweep(app, clock.now) if x.assessment == later] == []
    await chat.say(f"valider {n}", user=BOB)
    await chat.say(f"valider {later}", user=BOB)


async def test_a_delegate_who_is_a_member_counts_once_towards_a_quorum(app, config, db_path):
    bot = app_with(app, with_roles(config, dpo={"members": [DPO, DPO2, DPO3], "decide": "quorum", "quorum": 2}))
    chat = Chat(bot)
    await chat.say("absent du 2026-03-02 au 2026-03-13 remplaçant dpo2", user=DPO)
    n = await submitted(chat, PERSONAL)
    await chat.say(f"valider {n}", user=NR)
    once = await chat.say(f"valider {n}", user=DPO2)   # fills dpo2's place and the absent dpo's
    assert "(1/2)" in to(once, ALICE)[0].text
    assert audit_details(db_path, "decision")[-1][1]["for"] == [DPO]
    await chat.say(f"valider {n}", user=DPO3)
    assert await status_of(bot, n) is Status.APPROVED


async def test_the_dashboards_queries_read_absences_delegations_and_pending_reviews(app, clock):
    chat = Chat(app)
    await chat.say("absent du 2026-03-02 au 2026-03-13 remplaçant bob", user=DPO)
    await chat.say("absent du 2026-04-01 au 2026-04-03", user=DPO)
    n = await submitted(chat, PERSONAL)
    await chat.say(f"question {n} Quelle durée ?", user=BOB)
    async with app.db.reading() as tx:
        own, standing_in = await app.review.absences_for(tx, DPO, clock.now)
        assert [(a.starts_on, a.ends_on, a.delegate) for a in own] == [("2026-03-02", "2026-03-13", BOB),
                                                                       ("2026-04-01", "2026-04-03", None)]
        assert standing_in == []
        assert [a.user for a in (await app.review.absences_for(tx, BOB, clock.now))[1]] == [DPO]
        pending = await app.review.pending_for(tx, BOB, clock.now)
        assert [(p.assessment_id, p.role, p.open_questions, p.on_behalf_of) for p in pending] == [(n, "dpo", 1, DPO)]
        assert [q.question for q in await app.review.open_questions(tx, n)] == ["Quelle durée ?"]


async def test_a_request_is_not_handed_to_someone_whose_decision_is_already_in(app, config):
    bot = app_with(app, with_roles(config, dpo={"members": [DPO, DPO2], "decide": "all"}))
    chat = Chat(bot)
    n = await submitted(chat, PERSONAL)
    await chat.say(f"valider {n}", user=DPO)
    refused = await chat.say(f"réassigner {n} dpo dpo", user=ADMIN)
    assert refused[0].key == "review.refused.already_decided"
    await chat.say(f"réassigner {n} dpo bob", user=ADMIN)
    await chat.say(f"valider {n}", user=NR)
    await chat.say(f"valider {n}", user=BOB)   # bob alone decides for the role now
    assert await status_of(bot, n) is Status.APPROVED
