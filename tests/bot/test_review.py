"""Review workflow scenarios: approve, reservations, changes then resubmit, reject, alerts, refusals."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3

from bot.app import Boussole
from bot.review import add_months
from conversations.model import Status
from tests.helpers import Chat, submitted, to

ALICE, DPO, RSSI, JURISTE, NR, BOB, ADMIN = (f"console:{n}" for n in ("alice", "dpo", "rssi", "juriste", "nr", "bob",
                                                                         "admin"))


async def status_of(app, assessment: int) -> Status:
    async with app.db.reading() as tx:
        row = await tx.assessment(assessment)
    return row.interview.status


def audit_actions(db_path, assessment: int | None = None) -> list[tuple[str, str]]:
    with sqlite3.connect(db_path) as raw:
        if assessment is None:
            return raw.execute("SELECT actor, action FROM audit ORDER BY id").fetchall()
        return raw.execute("SELECT actor, action FROM audit WHERE assessment_id = ? ORDER BY id",
                           (assessment,)).fetchall()


async def test_submission_sends_requests_to_the_required_roles_only(app):
    chat = Chat(app)
    n = await submitted(chat)
    requests = [r for r in chat.inbox if r.kind == "review_request"]
    assert [r.to for r in requests] == [NR]  # a clean use: only the always-required role
    request = requests[0]
    assert "Demande de validation — évaluation n°1 « Tri du courrier entrant »" in request.text
    assert "Demandée par alice." in request.text
    assert "À lire d'abord :\n  Direction : Direction du numérique\n  Objet : Classer automatiquement" in request.text
    assert "valider 1" in request.hint
    assert [a["name"] for a in request.actions] == ["approve", "reservations", "request_changes", "reject"]
    assert await status_of(app, n) is Status.IN_REVIEW


async def test_findings_call_more_roles_and_show_the_answers_behind_them(app):
    chat = Chat(app)
    await submitted(chat, {"c2_ciso": "non", "ctx_data": "3"})
    requests = {r.to: r for r in chat.inbox if r.kind == "review_request"}
    assert set(requests) == {DPO, RSSI, JURISTE, NR}
    text = requests[DPO].text
    assert "    – Avis du RSSI : RSSI non consulté : avis de sécurité à obtenir.\n      réponse : non" in text


async def test_approve_sets_the_next_review_date(app, clock):
    chat = Chat(app)
    n = await submitted(chat)
    replies = await chat.say(f"valider {n} RAS", user=NR)
    assert to(replies, NR, "info")[0].text.startswith(
        "Décision enregistrée sur l'évaluation n°1 « Tri du courrier entrant » : validation")
    outcome = to(replies, ALICE)
    assert len(outcome) == 1  # one decision, one message
    assert outcome[0].text == ("✅ nr (Numérique responsable) : votre évaluation n°1 « Tri du courrier entrant » est "
                               "validée — « RAS ». Prochaine réévaluation le 02/03/2028.")   # level I: 24 months
    async with app.db.reading() as tx:
        row = await tx.assessment(n)
    assert row.interview.status is Status.APPROVED
    assert row.next_review_at == add_months(clock.now, 24).isoformat(timespec="seconds")


async def test_reservations_ask_for_their_comment_and_shorten_the_period(app, clock, db_path):
    chat = Chat(app)
    n = await submitted(chat)
    prompt = await chat.say(f"réserves {n}", user=NR)
    assert prompt[0].kind == "info"
    assert "Quel commentaire accompagne votre décision « validation avec réserves »" in prompt[0].text
    assert await status_of(app, n) is Status.IN_REVIEW
    await chat.say("suivi trimestriel des erreurs", user=NR)  # the next line is the comment
    async with app.db.reading() as tx:
        row = await tx.assessment(n)
    assert row.interview.status is Status.APPROVED_WITH_RESERVATIONS
    assert row.next_review_at.startswith("2026-09-02")
    with sqlite3.connect(db_path) as raw:
        comment = raw.execute("SELECT comment FROM reviews WHERE assessment_id = ?", (n,)).fetchone()[0]
    assert comment == "suivi trimestriel des erreurs"


async def test_the_decision_typed_again_with_its_comment_keeps_only_the_comment(app, db_path):
    chat = Chat(app)
    n = await submitted(chat)
    await chat.say(f"réserves {n}", user=NR)
    await chat.say(f"réserves {n} chiffrer les pièces jointes", user=NR)
    assert await status_of(app, n) is Status.APPROVED_WITH_RESERVATIONS
    with sqlite3.connect(db_path) as raw:
        comment = raw.execute("SELECT comment FROM reviews WHERE assessment_id = ?", (n,)).fetchone()[0]
    assert comment == "chiffrer les pièces jointes"


async def test_a_command_abandons_a_decision_waiting_for_its_comment(app):
    chat = Chat(app)
    n = await submitted(chat)
    await chat.say(f"refuser {n}", user=NR)
    listed = await chat.say("à valider", user=NR)  # a command: the pending refusal is dropped
    assert "n°1" in listed[0].text
    await chat.say("ceci n'est pas un commentaire", user=NR)
    assert await status_of(app, n) is Status.IN_REVIEW


async def test_every_required_role_must_approve(app):
    chat = Chat(app)
    n = await submitted(chat, {"c2_ciso": "non"})
    waiting = await chat.say(f"valider {n}", user=RSSI)
    assert "en attente de la décision de" in to(waiting, ALICE)[-1].text
    for reviewer in (JURISTE, DPO):
        await chat.say(f"valider {n}", user=reviewer)
    assert await status_of(app, n) is Status.IN_REVIEW
    final = await chat.say(f"valider {n}", user=NR)
    assert await status_of(app, n) is Status.APPROVED
    assert any("est validée" in r.text for r in to(final, ALICE))


async def test_changes_requested_then_resubmitted(app):
    chat = Chat(app)
    n = await submitted(chat)
    replies = await chat.say(f"modifications {n} précisez l'indicateur de gain", user=NR)
    told = to(replies, ALICE)
    assert len(told) == 1  # one decision, one message: no second copy of the same news
    assert "des modifications sont demandées" in told[0].text and "précisez l'indicateur" in told[0].text
    assert await status_of(app, n) is Status.CHANGES_REQUESTED
    resumed = await chat.say(f"reprendre {n}")
    assert resumed[-1].kind == "summary"  # answers kept
    asked = await chat.say("modifier c3_indicator")
    assert asked[-1].question["id"] == "c3_indicator"
    await chat.say("Délai moyen d'orientation : de 4 jours à 4 heures")
    replies = await chat.say("soumettre")
    request = to(replies, NR, "review_request")[0]
    assert "Nouvelle soumission (tour 2)" in request.text
    await chat.say(f"valider {n}", user=NR)
    assert await status_of(app, n) is Status.APPROVED


async def test_reject_then_late_decisions_are_refused(app, db_path):
    chat = Chat(app)
    n = await submitted(chat, {"c2_ciso": "non"})
    replies = await chat.say(f"refuser {n} hébergement non conforme", user=JURISTE)
    assert [r.text for r in to(replies, ALICE)] == [
        "⛔ juriste (Direction juridique) : votre évaluation n°1 « Tri du courrier entrant » est refusée — "
        "« hébergement non conforme »."]
    closed = to(replies, DPO)
    assert closed and "votre demande de validation est close" in closed[0].text
    late = await chat.say(f"valider {n}", user=DPO)
    assert late[0].kind == "error"
    assert "n'est plus en cours de validation : elle est refusée (décision prise par juriste)" in late[0].text
    assert (DPO, "decision_refused") in audit_actions(db_path, n)


async def test_nobody_decides_on_their_own_request_or_without_a_role(app, db_path):
    chat = Chat(app, user=NR)  # a reviewer who asks for their own tool
    n = await submitted(chat)
    own = await chat.say(f"valider {n}", user=NR)
    assert "propre demande" in own[0].text
    outsider = await chat.say(f"valider {n}", user=BOB)
    assert "pas relecteur" in outsider[0].text
    not_required = await chat.say(f"valider {n}", user=RSSI)
    assert "pas relecteur" in not_required[0].text
    assert await status_of(app, n) is Status.IN_REVIEW
    refused = [a for a in audit_actions(db_path, n) if a[1] == "decision_refused"]
    assert refused == [(NR, "decision_refused"), (BOB, "decision_refused"), (RSSI, "decision_refused")]
    missing = await chat.say("valider 99", user=DPO)
    assert "pas d'évaluation n°99" in missing[0].text
    assert (DPO, "decision_refused") in audit_actions(db_path)


def audit_details(db_path, action: str) -> list[dict]:
    with sqlite3.connect(db_path) as raw:
        rows = raw.execute("SELECT detail FROM audit WHERE action = ? ORDER BY id", (action,)).fetchall()
    return [json.loads(detail) for (detail,) in rows]


async def test_the_only_member_of_a_required_role_as_requester_alerts_the_admins(app, db_path):
    chat = Chat(app, user=NR)  # nr asks for a tool; every use needs numerique-responsable, where nr is alone
    n = await submitted(chat, {"c2_ciso": "non"})
    assert {r.to for r in chat.inbox if r.kind == "review_request"} == {DPO, RSSI, JURISTE}
    alert = to(chat.inbox, ADMIN)
    assert len(alert) == 1 and alert[0].kind == "warning"
    assert "L'évaluation n°1 « Tri du courrier entrant » ne peut pas aboutir" in alert[0].text
    assert "« Numérique responsable »" in alert[0].text
    assert "seul membre est le demandeur, nr" in alert[0].text
    told = [r for r in to(chat.inbox, NR, "warning") if r.key.startswith("review.")]
    assert len(told) == 1 and "tant qu'un administrateur" in told[0].text and "Numérique responsable" in told[0].text
    assert ("boussole", "review_blocked") in audit_actions(db_path, n)
    assert audit_details(db_path, "review_blocked") == [
        {"round": 1, "roles": ["numerique-responsable"], "admins": [ADMIN]}]
    # The roles with someone eligible still decide; the blocked one keeps the review open.
    for reviewer in (DPO, RSSI, JURISTE):
        await chat.say(f"valider {n}", user=reviewer)
    assert await status_of(app, n) is Status.IN_REVIEW
    assert "Numérique responsable" in to(chat.inbox, NR, "decision")[-1].text  # one message per decision


async def test_the_blocked_review_alert_speaks_each_admins_language(app):
    chat = Chat(app, user=NR)
    await chat.say("language en", user=ADMIN)
    await submitted(chat, {"c2_ciso": "non"})
    alert = to(chat.inbox, ADMIN, "warning")
    assert alert[0].text.startswith('⚠️ Assessment no. 1 "Tri du courrier entrant" cannot complete')
    assert "only member is the requester, nr" in alert[0].text


async def test_a_blocked_review_without_admins_is_logged_and_audited(app, config, questionnaire, clock, db_path,
                                                                     caplog):
    lonely = Boussole(config=config.model_copy(update={"admins": []}), questionnaire=questionnaire, db=app.db,
                      clock=clock)
    chat = Chat(lonely, user=NR)
    with caplog.at_level(logging.ERROR, logger="bot.review"):
        n = await submitted(chat, {"c2_ciso": "non"})
    assert any("no admin" in record.getMessage() and "numerique-responsable" in record.getMessage()
               for record in caplog.records)
    assert audit_details(db_path, "review_blocked") == [{"round": 1, "roles": ["numerique-responsable"],
                                                         "admins": []}]
    assert [r.assessment for r in to(chat.inbox, NR, "warning") if r.key.startswith("review.")] == [n]


async def test_roles_with_an_eligible_member_raise_no_alert(app, db_path):
    chat = Chat(app)
    n = await submitted(chat, {"c2_ciso": "non"})
    assert {r.to for r in chat.inbox if r.kind == "review_request"} == {DPO, RSSI, JURISTE, NR}
    assert to(chat.inbox, ADMIN) == []
    assert audit_details(db_path, "review_blocked") == []
    assert [r.key for r in to(chat.inbox, ALICE) if r.key.startswith("review.")] == []
    assert await status_of(app, n) is Status.IN_REVIEW


async def test_nobody_at_all_to_review_keeps_the_no_reviewer_warning(app, db_path):
    chat = Chat(app, user=NR)  # a clean use needs only numerique-responsable: nobody else to ask
    n = await submitted(chat)
    assert [r for r in chat.inbox if r.kind == "review_request"] == []
    assert {r.to for r in chat.inbox if r.key == "review.no_reviewer"} == {NR, ADMIN}
    assert ("boussole", "no_reviewer") in audit_actions(db_path, n)


async def test_a_blocker_alerts_the_criterion_reviewers_at_once(app, db_path):
    chat = Chat(app)
    await chat.say("nouveau")
    await chat.answer_all({}, stop_at="c1_biometric")
    replies = await chat.say("oui")
    alerts = [r for r in replies if r.kind == "blocker" and r.to != ALICE]
    assert {r.to for r in alerts} == {DPO}  # criterion 1 is the DPO's
    assert "Point bloquant sur l'évaluation n°1" in alerts[0].text
    assert "Identification biométrique" in alerts[0].text
    with sqlite3.connect(db_path) as raw:
        notified = raw.execute("SELECT notified_at FROM findings WHERE level = 'blocker'").fetchone()[0]
    assert notified is not None
    await chat.say("exception")
    replies = await chat.say("Contrôle d'accès d'un local sensible, obligation réglementaire de sûreté.")
    exception = [r for r in replies if r.to == DPO]
    assert "Examen exceptionnel demandé" in exception[0].text and "obligation réglementaire" in exception[0].text


async def test_withdrawing_during_review_tells_the_reviewers(app):
    chat = Chat(app)
    n = await submitted(chat)
    await chat.say(f"annuler {n}")
    replies = await chat.say("oui")
    assert "retirée par le demandeur" in to(replies, NR)[0].text
    assert await status_of(app, n) is Status.WITHDRAWN


async def test_pending_list_and_history(app):
    chat = Chat(app)
    n = await submitted(chat)
    pending = await chat.say("à valider", user=NR)
    assert "n°1 « Tri du courrier entrant » — Numérique responsable : demandée par alice" in pending[0].text
    assert "Aucune validation" in (await chat.say("à valider", user=DPO))[0].text
    history = await chat.say(f"historique {n}")
    assert "alice a commencé l'évaluation" in history[0].text and "alice a soumis" in history[0].text
    refused = await chat.say(f"historique {n}", user=BOB)
    assert refused[0].kind == "error"


async def test_reevaluation_runs_under_the_current_version_and_archives_the_old_use(app):
    chat = Chat(app)
    n = await submitted(chat)
    await chat.say(f"valider {n}", user=NR)
    replies = await chat.say(f"réévaluer {n}")
    assert "Réponse lors de la dernière évaluation : Tri du courrier entrant" in replies[-1].text
    for _ in range(60):
        if chat.last_question() is None:
            break
        await chat.say("ok")
    replies = await chat.say("soumettre")
    request = to(replies, NR, "review_request")[0]
    assert "Réévaluation de l'usage n°1 : aucune réponse modifiée" in request.text
    await chat.say("valider 2", user=NR)
    assert await status_of(app, 1) is Status.ARCHIVED
    assert await status_of(app, 2) is Status.APPROVED


async def test_english_reviewer_gets_english(app):
    chat = Chat(app)
    await chat.say("language en", user=NR)
    await submitted(chat)
    request = next(r for r in chat.inbox if r.kind == "review_request")
    assert request.text.startswith("📋 Review request — assessment no. 1")


def test_add_months_clamps_short_months():
    assert add_months(dt.datetime(2026, 1, 31, tzinfo=dt.UTC), 1).date() == dt.date(2026, 2, 28)
    assert add_months(dt.datetime(2026, 11, 15, tzinfo=dt.UTC), 14).date() == dt.date(2028, 1, 15)


async def test_a_comment_starting_with_a_command_word_is_the_comment_of_the_decision_waiting(app, db_path):
    chat = Chat(app)
    n = await submitted(chat)
    prompt = await chat.say(f"modifications {n}", user=NR)
    assert "Quel commentaire accompagne votre décision « demande de modifications »" in prompt[0].text
    await chat.say("Valider automatiquement les factures fournisseurs n'est pas décrit", user=NR)
    assert await status_of(app, n) is Status.CHANGES_REQUESTED
    with sqlite3.connect(db_path) as raw:
        comment = raw.execute("SELECT comment FROM reviews WHERE assessment_id = ?", (n,)).fetchone()[0]
    assert comment == "Valider automatiquement les factures fournisseurs n'est pas décrit"
    assert (NR, "decision_refused") not in audit_actions(db_path)


async def test_an_explicit_decision_abandons_the_comment_awaited(app):
    chat = Chat(app)
    n = await submitted(chat)
    await chat.say(f"refuser {n}", user=NR)
    await chat.say(f"valider {n} finalement conforme", user=NR, explicit=True)
    assert await status_of(app, n) is Status.APPROVED


async def test_every_review_command_of_the_table_is_answered_by_the_desk(app):
    from conversations.commands import COMMANDS, Side, names

    chat = Chat(app)
    n = await submitted(chat)
    assert names(Side.REVIEW) == app.review.COMMANDS
    for name in sorted(names(Side.REVIEW)):
        spec = COMMANDS[name]
        text = f"{spec.word('fr')} {n}" if spec.takes_number else spec.word("fr")
        replies = await chat.say(text, user=NR)
        assert to(replies, NR), name
        assert all(r.key != "error.unknown_command" for r in replies), name


async def test_a_huge_comment_is_refused_and_stored_nowhere(app, db_path):
    from tests.helpers import Chat, submitted
    await submitted(Chat(app))
    replies = await Chat(app, "console:nr").say("valider 1 " + "x" * 10_000_000)
    assert replies[0].key == "error.too_long"
    import sqlite3
    with sqlite3.connect(db_path) as raw:
        for table, column in (("reviews", "comment"), ("audit", "detail"), ("outbox", "payload"),
                              ("processed_events", "event_id")):
            longest = raw.execute(f"SELECT COALESCE(MAX(LENGTH({column})), 0) FROM {table}").fetchone()[0]
            assert longest < 50_000, table
        assert raw.execute("SELECT COUNT(*) FROM reviews WHERE decision IS NOT NULL").fetchone()[0] == 0


# -- a verdict a DPO can trust ------------------------------------------------------------------------

def _lines(text: str) -> list[str]:
    return text.splitlines()


async def test_a_corrected_blocker_stays_in_the_review_request_and_its_reviewers_hear_of_it(app, db_path):
    chat = Chat(app)
    await chat.say("nouveau")
    await chat.answer_all({}, stop_at="c1_biometric")
    await chat.say("oui")
    await chat.say("corriger")
    corrected = await chat.say("non")
    follow_up = to(corrected, DPO)
    assert [r.key for r in follow_up] == ["review.blocker_corrected"]
    assert follow_up[0].text == ("✅ Évaluation n°1 « Tri du courrier entrant » (demandeur : alice) : le point "
                                 "bloquant « Identification biométrique » est corrigé — réponse « oui » remplacée par "
                                 "« non ». Il restera visible dans la demande de validation.")
    assert audit_details(db_path, "reviewers_alerted")[-1] == {"kind": "blocker_corrected",
                                                               "question": "c1_biometric", "recipients": [DPO]}
    await chat.answer_all({})
    replies = await chat.say("soumettre")
    request = to(replies, DPO, "review_request")  # the DPO reviews it: a blocker was raised on criterion 1
    assert len(request) == 1
    blockers = request[0].text.split("Points bloquants, actuels et résolus :\n")[1].split("\nPoints à vérifier")[0]
    assert blockers == ("  ✅ Identification biométrique (critère 1) : « oui » corrigé en « non » — il bloquait : "
                        "Identification biométrique : exclue par le critère 1 de la doctrine.")


async def test_an_exceptional_review_is_in_the_request_with_its_justification(app):
    chat = Chat(app)
    await chat.say("nouveau")
    await chat.answer_all({}, stop_at="c1_biometric")
    await chat.say("oui")
    await chat.say("exception")
    await chat.say("Contrôle d'accès d'un local sensible, obligation réglementaire de sûreté.")
    await chat.answer_all({})
    replies = await chat.say("soumettre")
    request = to(replies, DPO, "review_request")[0].text
    assert ("  ⛔ Identification biométrique (critère 1) : « oui », maintenu — examen exceptionnel demandé : "
            "« Contrôle d'accès d'un local sensible, obligation réglementaire de sûreté. »") in request
    assert "Recommandation de Boussole : défavorable (point bloquant)." in request


async def test_the_review_request_opens_with_what_a_dpo_reads_first(app):
    chat = Chat(app)
    await submitted(chat, {"ctx_data": "3", "c6_individual_decision": "2", "c2_ciso": "non"})
    text = to(chat.inbox, DPO, "review_request")[0].text
    starts = [next(i for i, line in enumerate(_lines(text)) if line.startswith(head)) for head in (
        "À lire d'abord :", "  Direction : Direction du numérique", "  Objet : Classer automatiquement",
        "  Données utilisées : Données personnelles", "  Base légale : Mission d'intérêt public",
        "  Texte ou délibération : Code général des collectivités territoriales", "  Hébergement : Sur les serveurs",
        "  Décisions individuelles : Oui, un agent examine et décide dans chaque cas",
        "  Demande de réexamen humain : Une procédure est prévue", "  Contestation d'un résultat : Recours gracieux",
        "Points bloquants, actuels et résolus :", "Points à vérifier, par critère :", "Réponses :",
        "Recommandation de Boussole")]
    assert starts == sorted(starts)
    answers = text.split("Réponses :\n")[1]
    assert "    Avis du RSSI : non" in answers and "Base légale" not in answers  # read first, not twice


async def test_emotion_recognition_alerts_every_role_whose_criteria_it_touches(app):
    chat = Chat(app)
    await chat.say("nouveau")
    await chat.answer_all({}, stop_at="c4_monitoring")
    replies = await chat.say("3")  # it analyses the agents' emotions: AI Act art. 5 (f)
    alerted = {r.to for r in replies if r.kind == "blocker" and r.to != ALICE}
    assert alerted == {DPO, RSSI, JURISTE, NR}  # criterion 4, and 1 and 2 it touches
    alert = to(replies, DPO)[0].text
    assert "Observation des agents, critère 4" in alert and "concerne aussi les critères 1, 2" in alert
    assert "art. 5 (f)" in alert


async def test_dont_know_calls_the_role_competent_for_its_criterion(app):
    chat = Chat(app)
    await submitted(chat, {"c6_explainable": "?"})
    assert {r.to for r in chat.inbox if r.kind == "review_request"} == {JURISTE, NR}  # criterion 6: legal
    text = to(chat.inbox, JURISTE, "review_request")[0].text
    assert ("    – Explicabilité : Réponse « je ne sais pas » : point à vérifier.\n"
            "      réponse : je ne sais pas") in text


async def test_an_assessment_answered_under_2024_1_is_still_reviewed_with_its_own_questions(app, config, clock):
    from conversations.questionnaire import load_versions
    old = load_versions(app.questionnaire)["2024.1"]
    before = Boussole(config=config, questionnaire=old, db=app.db, clock=clock)
    chat = Chat(before)
    await chat.say("nouveau")
    await chat.answer_all({}, stop_at="c7_alternative")
    chat.app = app  # the bot is upgraded to 2025.1 mid-interview
    await chat.say("oui")
    assert chat.last_question() == "c7_why_better"  # 2024.1 does not ask what the alternative is
    await chat.answer_all({})
    replies = await chat.say("soumettre")
    request = to(replies, NR, "review_request")[0].text
    assert "Solution sans IA" not in request and "Apport de l'IA : Des règles" in request
    assert "Texte ou délibération" not in request
    await chat.say("valider 1", user=NR)
    await chat.say("réévaluer 1")
    async with app.db.reading() as tx:
        assert (await tx.assessment(1)).interview.questionnaire_version == "2024.1"
        assert (await tx.assessment(2)).interview.questionnaire_version == "2025.1"
