"""The dashboard on the terminal: my assessments and their next step, the reviews waiting for me, my directions."""

from __future__ import annotations

from adapters.matrix.formatting import MAX_PART
from bot.dashboard import MAX_ITEMS
from bot.i18n import render
from conversations.model import Reply, ReplyKind
from tests.helpers import Chat, submitted

ALICE, DPO, NR, MANAGER, MANAGER2 = (f"console:{n}" for n in ("alice", "dpo", "nr", "manager", "manager2"))


async def dashboard(chat: Chat, user: str | None = None, word: str = "tableau"):
    replies = [r for r in await chat.say(word, user=user, explicit=True) if r.key == "dashboard"]
    assert len(replies) == 1
    return replies[0]


async def test_my_assessments_each_with_its_status_and_next_step(app, clock):
    chat = Chat(app)
    first = await submitted(chat)
    await chat.say("nouveau")
    await chat.say("Aide à la rédaction")
    board = await dashboard(chat)
    assert board.heading == "🧭 Tableau de bord Boussole"
    assert "Mes évaluations (2)" in board.text
    assert "n°2 « Aide à la rédaction » — en brouillon · à poursuivre : « reprendre 2 »" in board.text
    assert (f"n°{first} « Tri du courrier entrant » — en cours de validation · attend la décision de : "
            "Numérique responsable") in board.text
    assert "Mes validations en attente" not in board.text and "Mes directions" not in board.text  # neither
    mine = board.sections[0]
    assert [item["assessment"] for item in mine["items"]] == [2, first]
    assert [a["command"] for a in mine["items"][0]["actions"]] == ["reprendre 2", "rapport 2"]
    assert [a["command"] for a in mine["items"][1]["actions"]] == [f"rapport {first}"]

    await chat.say(f"valider {first} RAS", user=NR)
    board = await dashboard(chat)
    assert f"n°{first} « Tri du courrier entrant » — validée · prochaine réévaluation le 02/03/2028" in board.text
    clock.advance(days=740)
    board = await dashboard(chat)
    assert f"réévaluation prévue le 02/03/2028, à faire : « réévaluer {first} »" in board.text


async def test_a_complete_draft_a_blocked_one_and_changes_requested_say_what_to_do(app):
    chat = Chat(app)
    await chat.say("nouveau")
    await chat.answer_all({}, stop_at=None)
    board = await dashboard(chat)
    assert "n°1 « Tri du courrier entrant » — en brouillon · toutes les réponses sont données" in board.text
    await chat.say("soumettre")
    await chat.say("modifications 1 préciser l'hébergement", user=NR)
    board = await dashboard(chat)
    assert "renvoyée pour modifications · à corriger puis soumettre à nouveau : « reprendre 1 »" in board.text
    await chat.say("nouveau")
    await chat.answer_all({"c1_biometric": "oui"}, stop_at="c1_sensitive")
    board = await dashboard(chat)
    assert "n°2 « Tri du courrier entrant » — en brouillon · un point bloquant attend votre choix" in board.text


async def test_withdrawn_ones_are_counted_not_listed(app):
    chat = Chat(app)
    await chat.say("nouveau")
    await chat.say("Projet abandonné")
    await chat.say("annuler 1", explicit=True)
    await chat.say("oui")
    board = await dashboard(chat)
    assert "Mes évaluations (0)" in board.text and "Aucune évaluation en cours" in board.text
    assert "1 autre évaluation est retirée ou archivée : « liste » les montre toutes." in board.text


async def test_a_reviewer_sees_what_waits_for_them_with_its_age_never_their_own(app, clock):
    chat = Chat(app)
    n = await submitted(chat, {"ctx_data": "3"})  # personal data: the DPD is asked too
    own = Chat(app, user=DPO)
    await submitted(own)  # the DPD's own request is not theirs to decide
    clock.advance(days=4)
    board = await dashboard(chat, user=DPO)
    assert "Mes validations en attente (1)" in board.text
    assert (f"n°{n} « Tri du courrier entrant » — Délégué à la protection des données (DPD) : demandée par alice, "
            "en attente depuis 4 jours") in board.text
    reviews = board.sections[1]
    assert reviews["name"] == "reviews" and [i["assessment"] for i in reviews["items"]] == [n]
    assert [a["name"] for a in reviews["items"][0]["actions"]] == ["approve", "reservations", "request_changes",
                                                                    "reject", "report"]
    assert "Pour décider : « valider <n°> [commentaire] »" in board.hint
    await chat.say(f"valider {n} conforme", user=DPO)
    board = await dashboard(chat, user=DPO)
    assert "Mes validations en attente (0)" in board.text and "Aucune validation ne vous attend." in board.text


async def test_one_line_per_request_for_a_member_of_two_required_roles(app, config, questionnaire, clock):
    from bot.app import Boussole
    roles = dict(config.roles)
    roles["rssi"] = roles["rssi"].model_copy(update={"members": ["console:dpo"]})
    both = Boussole(config=config.model_copy(update={"roles": roles}), questionnaire=questionnaire, db=app.db,
                    clock=clock)
    chat = Chat(both)
    n = await submitted(chat, {"ctx_data": "3", "ctx_hosting": "4"})
    board = await dashboard(chat, user=DPO)
    assert "Mes validations en attente (1)" in board.text
    assert (f"n°{n} « Tri du courrier entrant » — Délégué à la protection des données (DPD), RSSI : demandée par "
            "alice") in board.text


async def test_a_manager_sees_their_directions_digest_shortened(app, clock):
    chat = Chat(app)
    for _ in range(5):
        await submitted(chat, {"ctx_data": "3"})
    clock.advance(days=1)
    board = await dashboard(chat, user=MANAGER)
    assert "Mes directions — Direction du numérique, Relation usagers, depuis le " in board.text
    assert "  Nouvelles demandes (5)\n    n°" in board.text and "— alice, en cours de validation" in board.text
    assert "… et 2 autres" in board.text  # three lines of each section: the digest itself has the rest
    assert "Validations en attente (10)" in board.text and "… et 7 autres" in board.text
    board = await dashboard(chat, user=MANAGER2)  # Mobilités: nothing happened there
    assert "Mes directions — Mobilités" in board.text and "Rien de nouveau ni en attente." in board.text


async def test_in_english_and_by_its_english_word(app):
    chat = Chat(app)
    await chat.say("langue en")
    await chat.say("new")
    await chat.say("Mail sorting")
    board = await dashboard(chat, word="dashboard")
    assert board.heading == "🧭 Boussole dashboard"
    assert 'My assessments (1)\n  no. 1 "Mail sorting" — in draft · to continue: "continue 1"' in board.text


async def test_typed_while_a_free_text_answer_is_awaited_it_is_the_answer(app):
    chat = Chat(app)
    await chat.say("nouveau")
    replies = await chat.say("tableau")  # the project's name, not the command: only « /tableau » would be
    assert not [r for r in replies if r.key == "dashboard"]
    async with app.db.reading() as tx:
        assert (await tx.assessment(1)).title == "tableau"


async def test_long_lists_stop_at_a_count_and_the_whole_fits_one_matrix_message(app):
    chat = Chat(app)
    for n in range(MAX_ITEMS + 2):
        await chat.say("nouveau", explicit=True)
        await chat.say(f"Projet {n} " + "x" * 100)
    board = await dashboard(chat)
    assert f"Mes évaluations ({MAX_ITEMS + 2})" in board.text and "… et 2 autres" in board.text
    assert len(board.sections[0]["items"]) == MAX_ITEMS
    # The longest a dashboard can be: every list full, titles at their longest, people with long ids.
    title, person = "t" * 120, "matrix:@" + "p" * 200 + ":ville.fr"
    assessment = {"id": 10**6, "title": title, "status": "in_review", "next": "waiting", "date": None,
                  "roles": ", ".join(["Délégué à la protection des données (DPD)"] * 4), "actions": ("report",)}
    review = {"id": 10**6, "title": title, "requester": person, "role": "Délégué à la protection des données (DPD)",
              "days": 400, "questions": 3, "actions": ("approve", "report")}
    digest = {"directions": ["Direction du numérique"] * 5, "since": "2026-03-01T00:00:00+00:00",
              **{name: [{"id": 10**6, "title": title, "requester": person, "status": "in_review", "role": "DPD",
                         "days": 400, "criterion": 1, "date": "2026-03-01T00:00:00+00:00"}] * 3
                 for name in ("new", "pending", "blockers", "decisions", "soon", "overdue")},
              **{f"{name}_more": 99 for name in ("new", "pending", "blockers", "decisions", "soon", "overdue")}}
    params = {"assessments": [assessment] * MAX_ITEMS, "assessments_more": 99, "closed": 99, "reviewer": True,
              "reviews": [review] * MAX_ITEMS, "reviews_more": 99, "digest": digest}
    for locale in ("fr", "en"):
        longest = render(Reply(ALICE, ReplyKind.INFO, "dashboard", params), locale)
        assert ("3 questions posées au demandeur, sans réponse" in longest.body
                or "3 unanswered questions" in longest.body)
        assert len("\n".join(filter(None, (longest.heading, longest.body, longest.hint)))) < MAX_PART


async def test_a_rejected_assessment_has_no_next_step_but_its_report(app):
    chat = Chat(app)
    n = await submitted(chat)
    await chat.say(f"refuser {n} hors doctrine", user=NR)
    board = await dashboard(chat)
    line = next(line for line in board.text.split("\n") if line.strip().startswith(f"n°{n} "))
    assert line.strip() == f"n°{n} « Tri du courrier entrant » — refusée"
    assert [a["command"] for a in board.sections[0]["items"][0]["actions"]] == [f"rapport {n}"]
